"""Helpers for the body-limit tests: a raw HTTP/1.1 client that streams a huge body lazily (one reused chunk, so the
client holds nothing) while it listens for an early answer, and the memory of a process as /proc reports it."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = b"x" * (1024 * 1024)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Sent:
    """What came of one streamed request: the status (None when the server closed without one), how long the answer
    took, and how much of the body got out of the client before the answer (or the close)."""

    status: int | None
    seconds: float
    bytes_sent: int
    body: bytes


async def stream_post(
    base_url: str, path: str, *, size: int, chunked: bool = False, prefix: bytes = b"", expect_continue: bool = False,
    headers: dict[str, str] | None = None, timeout: float = 60.0,
) -> Sent:
    """POST `size` bytes to `path` (`prefix`, then filler), declared in Content-Length or sent chunked, stopping as
    soon as an answer comes. With `expect_continue`, the body waits for the server's 100 Continue, as curl does."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"POST {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    if expect_continue:
        lines.append("Expect: 100-continue")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    started = time.monotonic()
    sent = 0
    first_answer: bytes | None = None

    async def send_body() -> None:
        nonlocal sent, first_answer
        if expect_continue:
            first_answer = await reader.readuntil(b"\r\n\r\n")
            if not first_answer.startswith(b"HTTP/1.1 100"):
                return
            first_answer = None
        while sent < size:
            piece = prefix if sent == 0 and prefix else CHUNK if size - sent >= len(CHUNK) else CHUNK[: size - sent]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
            sent += len(piece)
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    sender = asyncio.create_task(send_body())
    try:
        if expect_continue:  # the sender reads the first answer: a 100 Continue, or the refusal itself
            await asyncio.wait_for(asyncio.shield(sender), timeout)
        head = first_answer or await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, ConnectionError):
        head = b""
    seconds = time.monotonic() - started
    sender.cancel()
    try:
        await sender
    except (asyncio.CancelledError, ConnectionError):
        pass
    found = re.match(rb"HTTP/1\.1 (\d{3})", head)
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = b""
    if found and length:
        try:
            body = await asyncio.wait_for(reader.readexactly(int(length.group(1))), 5)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
    return Sent(int(found.group(1)) if found else None, seconds, sent, body)


def memory_of(pid: int | str = "self") -> tuple[int, int]:
    """(resident, peak resident) bytes of a process, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        text = status.read()
    rss = int(re.search(r"VmRSS:\s*(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s*(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]
    return rss, peak


def reset_peak(pid: int | str = "self") -> None:
    """Start the process's peak resident size (VmHWM) again from its current size (Linux: clear_refs 5)."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as control:
        control.write("5")
