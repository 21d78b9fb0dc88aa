"""Request body limits per route (`BodyLimit`), enforced as the body streams in, before any route reads, parses or
authenticates it.

Without them, an unsigned 800 MB POST to /slack/events was held whole in memory (Starlette's `request.body()`), a
roster upload with no session was spooled to disk before the 401, and an inbound-mail post was read before its
signature could be checked. Here a request whose Content-Length is over its route's limit is answered 413 without
reading a byte of it, and a body sent without one (chunked) is cut off as soon as it passes the limit: the route
sees an error instead of the next chunk and its answer is replaced by the 413. Nothing is buffered here: a refused
request holds at most what its route read before the limit, however big it claims or turns out to be.

The 413 closes the connection (an attacker's endless chunked body is not read and dropped forever). A client that
waits for 100 Continue (curl does, for big bodies) gets the 413 before it sends a byte; one that sends its whole body
without reading may see the connection reset under it instead.

The limits: Slack's own payloads are a few KiB (SLACK_MAX_BODY_KB); the inbound-mail webhook keeps its own, politer
answer for posts over INBOUND_MAX_MB (providers must not retry them) and is cut off only at twice that; a roster
upload may be ADMIN_UPLOAD_MB plus the form around it; anything else HTTP_MAX_BODY_KB.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from bot.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
MIB = 1024 * 1024
FORM_ALLOWANCE = 64 * KIB  # a roster upload's multipart framing and CSRF field, beside the file itself


class BodyTooLarge(Exception):
    """Raised to the route reading a body that passed its limit; the middleware answers 413 instead of the route."""


@dataclass(frozen=True)
class BodyLimits:
    """The most bytes of body each path may send: exact paths first, then the default."""

    default: int
    by_path: tuple[tuple[str, int], ...] = ()

    def limit_for(self, path: str) -> int:
        """The limit of the route at `path` (a trailing slash is the same route)."""
        path = path.rstrip("/") or "/"
        return next((limit for route, limit in self.by_path if route == path), self.default)


def body_limits(settings: Settings) -> BodyLimits:
    """The limits these settings give each route."""
    return BodyLimits(
        default=settings.http_max_body_kb * KIB,
        by_path=(
            ("/slack/events", settings.slack_max_body_kb * KIB),
            # The webhook answers posts over INBOUND_MAX_MB itself, in words providers don't retry; past twice that
            # nothing is a real email any more.
            ("/email/inbound", int(2 * settings.inbound_max_mb * MIB)),
            ("/admin/roster", settings.admin_upload_mb * MIB + FORM_ALLOWANCE),
        ),
    )


class BodyLimit:
    """Pure-ASGI middleware: refuse a request body over its route's limit with 413 while it streams in."""

    def __init__(self, app: ASGIApp, *, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits
        self._exact = dict(limits.by_path)  # one lookup per request instead of a scan of the routes

    def _limit_for(self, path: str) -> int:
        return self._exact.get(path.rstrip("/") or "/", self.limits.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)  # not a byte of it read: the route never runs
            return

        received = 0
        cut_off = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, cut_off
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut_off = True
                    raise BodyTooLarge(f"request body over the {limit}-byte limit")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if cut_off and not response_started:
                return  # the route's answer to a body cut short (a 400, an error page) is replaced by the 413
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not cut_off:
                raise
            # Whatever the route raised after its body was cut off (BodyTooLarge itself, or the error a parser made
            # of it) is the cut-off's doing, not a fault to log with a traceback.
        if cut_off and not response_started:
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None  # the server refuses worse ones itself
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = f"Request body too large: this address takes at most {_size(limit)}.\n".encode()
    await send({
        "type": "http.response.start", "status": 413,
        "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _size(limit: int) -> str:
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MiB"
    if limit >= MIB:
        return f"{limit / MIB:.1f} MiB"
    return f"{max(1, limit // KIB)} KiB"
