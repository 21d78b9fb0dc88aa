"""Limits on inbound mail, checked before the MIME parser sees it, so one hostile message can't hold up the app.

Python's email parser takes seconds on a message of ten thousand parts and raises RecursionError on multiparts
nested a few hundred deep. `structure_problem` scans the raw bytes once (a regular expression over the lines
that start with ``--``) and says why a message is refused before any parsing is done; `check_parsed` walks the
parsed tree without recursion as a second guard for structures the scan can't see (an RFC 2231-encoded boundary).

`off_loop` runs the parsing away from the event loop. A worker thread is enough for everyday mail, but not for a
big one: the standard parser makes single C calls over a whole part (a regular expression over a 20 MB attachment,
a 20 MB StringIO) that hold the GIL for up to 150 ms, and the event loop's thread waits that long for it. A message
over SEPARATE_PROCESS_BYTES is parsed in a separate process instead, which shares no GIL with the app.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import re
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email.message import Message
from typing import Any, TypeVar

SEPARATE_PROCESS_BYTES = 2 * 1024 * 1024  # under this, the parser's longest GIL hold is a few milliseconds
T = TypeVar("T")

_BOUNDARY_RE = re.compile(rb"""boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))""", re.IGNORECASE)
_DELIMITER_RE = re.compile(rb"^--([^\r\n]{1,204})", re.MULTILINE)


class MailRefused(ValueError):
    """An inbound message over one of the limits; the message says which, for the log and the webhook's answer."""


@dataclass(frozen=True)
class MimeLimits:
    """How big and how complex an inbound message may be."""

    max_bytes: int = 25 * 1024 * 1024
    max_parts: int = 500
    max_depth: int = 20

    @classmethod
    def from_settings(cls, settings: object) -> MimeLimits:
        """The limits in INBOUND_MAX_MB, INBOUND_MAX_PARTS and INBOUND_MAX_DEPTH."""
        return cls(
            max_bytes=int(getattr(settings, "inbound_max_mb") * 1024 * 1024),
            max_parts=int(getattr(settings, "inbound_max_parts")),
            max_depth=int(getattr(settings, "inbound_max_depth")),
        )


def _windows(raw: bytes, size: int = 256 * 1024):
    """(start, end) slices of about `size` bytes that end after a newline. A regular expression holds the GIL for
    as long as it runs; scanning 20 MB in one call would stall the event loop's thread for a tenth of a second."""
    start = 0
    while start < len(raw):
        newline = raw.find(b"\n", start + size)
        end = len(raw) if newline < 0 else newline + 1
        yield start, end
        start = end


def structure_problem(raw: bytes, limits: MimeLimits) -> str | None:
    """Why `raw` is refused (too big, too many parts, nested too deep), or None; no MIME parsing is done.

    Only the boundaries the message declares count, so a text line such as ``-----Original Message-----`` is not
    taken for a part. A boundary opens a level when its first delimiter line appears; its closing line (or a
    delimiter of an outer boundary) ends every level opened inside it.
    """
    if len(raw) > limits.max_bytes:
        return f"message of {len(raw):,} bytes is over the {limits.max_bytes:,}-byte limit"
    declared: set[bytes] = set()
    parts, open_levels = 0, []
    for start, end in _windows(raw):
        declared.update(quoted or bare for quoted, bare in _BOUNDARY_RE.findall(raw, start, end))
        if not declared:
            continue
        for match in _DELIMITER_RE.finditer(raw, start, end):
            line = match.group(1).rstrip(b" \t")
            closing = line.endswith(b"--") and line[:-2] in declared and line not in declared
            boundary = line[:-2] if closing else line
            if boundary not in declared:
                continue
            if boundary in open_levels:
                del open_levels[open_levels.index(boundary) + (0 if closing else 1) :]
            elif not closing:
                open_levels.append(boundary)
            if not closing:
                parts += 1
            if parts > limits.max_parts:
                return f"message has more than {limits.max_parts} MIME parts"
            if len(open_levels) > limits.max_depth:
                return f"message nests multiparts more than {limits.max_depth} deep"
    return None


def check_parsed(message: Message, limits: MimeLimits) -> str | None:
    """Why a parsed message is refused (too many parts, nested too deep), or None; walks the tree without recursion."""
    stack, parts = [(message, 0)], -1  # the message itself is not one of its parts
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > limits.max_parts:
            return f"message has more than {limits.max_parts} MIME parts"
        if depth > limits.max_depth:
            return f"message nests multiparts more than {limits.max_depth} deep"
        payload = part.get_payload() if part.is_multipart() else None
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in payload)
    return None


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _parser_pool() -> ProcessPoolExecutor:
    """One worker process for big messages, started on first use (most instances never need it)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            # A fresh interpreter: a fork of a process with running threads and open connections is unsafe.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


async def off_loop(function: Callable[..., T], /, *args: Any, size: int, **kwargs: Any) -> T:
    """`function(*args, **kwargs)` away from the event loop: in a worker thread, or for `size` bytes over
    SEPARATE_PROCESS_BYTES in a separate process (`function` and its arguments must then pickle)."""
    global _pool
    if size <= SEPARATE_PROCESS_BYTES:
        return await asyncio.to_thread(function, *args, **kwargs)
    pool = _parser_pool()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(function, *args, **kwargs))
    except BrokenProcessPool:
        with _pool_lock:  # the worker died (out of memory, killed): the next big message gets a new one
            if _pool is pool:
                _pool = None
        raise
