"""IMAP polling (aioimaplib): read new mail from a mailbox and hand each message to the one inbound handler.

Each poll logs in, selects IMAP_FOLDER, asks for UNSEEN messages by UID, fetches each with BODY.PEEK[]
(which does not mark it read), handles it, and only then sets \\Seen. A crash between handling and
flagging means the message is read again on the next poll; the handler recognises it by its Message-ID
and does nothing twice. A message the handler fails on stays unseen and is tried on the next poll.

Messages are parsed away from the event loop (bot.email.limits.off_loop) within the same limits as the webhook's (INBOUND_MAX_MB, _PARTS, _DEPTH);
one over a limit is logged, flagged read and \\Flagged, and left in the mailbox for a person to look at.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Callable
from datetime import datetime

from aioimaplib import IMAP4, IMAP4_SSL
from sqlalchemy.engine import Engine

from bot.email.inbound import InboundMail, InboundResult
from bot.email.limits import MailRefused, MimeLimits, off_loop
from bot.settings import Settings

logger = logging.getLogger(__name__)


MAX_FAILURES = 3


class ImapError(Exception):
    """The mailbox could not be read this time (the next poll tries again)."""


def _check(response, what: str) -> None:
    if response.result != "OK":
        detail = b" ".join(line for line in response.lines if isinstance(line, (bytes, bytearray))).decode("utf-8", "replace")
        raise ImapError(f"IMAP {what} failed: {response.result} {detail[:200]}")


class ImapPoller:
    """Polls one mailbox every IMAP_POLL_SECONDS while the app runs."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self.settings, self.engine, self.clock = settings, engine, clock
        self.last_poll_at: datetime | None = None
        self.last_error: str | None = None
        self.handled = 0
        self._task: asyncio.Task | None = None
        self._failures: dict[str, int] = {}

    def _client(self) -> IMAP4:
        s = self.settings
        if s.imap_security == "ssl":
            return IMAP4_SSL(host=s.imap_host, port=s.imap_port, timeout=s.imap_timeout, ssl_context=ssl.create_default_context())
        return IMAP4(host=s.imap_host, port=s.imap_port, timeout=s.imap_timeout)

    async def poll_once(self) -> list[InboundResult]:
        """Read and handle every unseen message once; returns what happened to each."""
        client = self._client()
        results: list[InboundResult] = []
        try:
            await client.wait_hello_from_server()
            _check(await client.login(self.settings.imap_username or "", self.settings.imap_password or ""), "login")
            _check(await client.select(self.settings.imap_folder), f"select {self.settings.imap_folder}")
            found = await client.uid_search("UNSEEN")
            _check(found, "search")
            uids = [uid for line in found.lines[:1] for uid in line.decode().split() if uid.isdecimal()]
            for uid in uids:
                fetched = await client.uid("fetch", uid, "(BODY.PEEK[])")
                _check(fetched, f"fetch {uid}")
                raw = next((bytes(line) for line in fetched.lines if isinstance(line, (bytes, bytearray)) and len(line) > 0 and not re.match(rb"^\d+ FETCH|^\)$|^Success|^Fetch completed", bytes(line))), None)
                if raw is None:
                    logger.warning("IMAP message %s had no body; skipped", uid)
                    continue
                limits = MimeLimits.from_settings(self.settings)
                try:
                    if len(raw) > limits.max_bytes:
                        raise MailRefused(f"message of {len(raw):,} bytes is over the {limits.max_bytes:,}-byte limit")
                    mail = await off_loop(InboundMail.from_bytes, raw, limits=limits, authserv_id=self.settings.inbound_authserv_id, size=len(raw))
                    from bot.email.router import handle_mail  # data requests and round sign-ups, then the dialogs, as the webhook does

                    result = await asyncio.to_thread(handle_mail, self.engine, self.settings, mail, now=self.clock())
                except MailRefused as exc:
                    # The same bytes would be refused on every poll: flag it for a person and move on.
                    logger.warning("IMAP message %s refused unparsed: %s; flagged read and left in the mailbox", uid, exc)
                    results.append(InboundResult("refused", str(exc)))
                    _check(await client.uid("store", uid, "+FLAGS", "(\\Seen \\Flagged)"), f"flag {uid}")
                    continue
                except Exception:
                    self._failures[uid] = self._failures.get(uid, 0) + 1
                    if self._failures[uid] < MAX_FAILURES:
                        logger.exception("IMAP message %s could not be handled; it stays unseen and is tried again", uid)
                        continue
                    # A message that fails every time must not be retried forever: flag it read and say so.
                    logger.exception("IMAP message %s failed %d times; flagged read and left in the mailbox for a person", uid, MAX_FAILURES)
                    _check(await client.uid("store", uid, "+FLAGS", "(\\Seen \\Flagged)"), f"flag {uid}")
                    continue
                results.append(result)
                _check(await client.uid("store", uid, "+FLAGS", "(\\Seen)"), f"flag {uid}")
            self.handled += len(results)
            self.last_poll_at, self.last_error = self.clock(), None
        finally:
            try:
                await asyncio.wait_for(client.logout(), timeout=5)
            except Exception:
                pass
        return results

    async def run(self) -> None:
        """Poll until cancelled; a failed poll is logged and the next one tries again."""
        while True:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("IMAP poll failed: %s", self.last_error)
            await asyncio.sleep(self.settings.imap_poll_seconds)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="imap-poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
