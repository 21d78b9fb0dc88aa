"""A local SMTP sink (aiosmtpd) for when no mail server is set: every message lands as an .eml file.

`mentorbot serve` and `mentorbot demo` use it when SMTP_HOST is unset, so mail can be read in
``DATA_DIR/mail`` (and in the admin pages) without sending anything anywhere. Files are written to a
temporary name and renamed, so a reader never sees half a message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP as SMTPServer

from bot.email.smtp import SmtpConfig

logger = logging.getLogger(__name__)


class MaildirHandler:
    """aiosmtpd handler that writes each accepted message to a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8")
        header = f"X-Sink-Envelope-From: {envelope.mail_from}\r\nX-Sink-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n".encode()
        temporary = self.folder / f".{name}.tmp"
        with open(temporary, "wb") as handle:
            handle.write(header + data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.folder / name)
        return f"250 OK stored as {name}"


async def start_smtp_server(handler: object, host: str = "127.0.0.1", port: int = 0, **smtp_options: object) -> tuple[asyncio.base_events.Server, int]:
    """Run an aiosmtpd server in the current event loop; returns the server and the port it listens on."""
    loop = asyncio.get_running_loop()
    options = {"enable_SMTPUTF8": True, "decode_data": False, **smtp_options}
    server = await loop.create_server(lambda: SMTPServer(handler, loop=loop, **options), host=host, port=port)
    return server, server.sockets[0].getsockname()[1]


class LocalSink:
    """The local sink's lifecycle: started on first use (or at app start), on a free loopback port."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = Path(folder)
        self.host, self.port = host, port
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def running(self) -> bool:
        return self._server is not None and self._loop is asyncio.get_running_loop()

    async def start(self) -> None:
        if self.running:
            return
        if self._lock is None or self._loop is not asyncio.get_running_loop():
            self._lock, self._loop, self._server = asyncio.Lock(), asyncio.get_running_loop(), None
        async with self._lock:
            if self._server is None:
                self._server, self.port = await start_smtp_server(MaildirHandler(self.folder), self.host, self.port)
                logger.info("no SMTP_HOST set: mail goes to the local sink on %s:%s, kept in %s", self.host, self.port, self.folder)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def smtp_config(self) -> SmtpConfig:
        """How the sender reaches this sink."""
        return SmtpConfig(host=self.host, port=self.port, security="none", timeout=10.0)


def read_folder(folder: Path) -> list[tuple[Path, EmailMessage]]:
    """The messages in a sink folder, oldest first (for the admin pages, the demo and tests)."""
    found = []
    for path in sorted(Path(folder).glob("*.eml")):
        found.append((path, message_from_bytes(path.read_bytes(), policy=policy.default)))
    return found
