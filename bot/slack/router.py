"""Slack over HTTP: one endpoint, POST /slack/events, for events, interactivity and slash commands."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.slack.app import SlackChannel, build_slack_app

EVENTS_PATH = "/slack/events"
MAX_SKEW_SECONDS = 5 * 60  # Slack's own rule: a request signed longer ago may be a replay
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_SIGNATURE_RE = re.compile(r"v0=[0-9a-f]{64}")

logger = logging.getLogger(__name__)


def signed_by_slack(secret: bytes, body: bytes, headers: Mapping[str, str], *, now: float) -> bool:
    """True when the request carries a fresh v0 signature of `body` made with the signing secret.

    Checked on the raw bytes before anything parses them, and never raising: a missing, non-numeric or 5,000-digit
    timestamp or a signature of the wrong shape is simply not signed (Bolt's own check raised on those, and on a
    body that is not UTF-8: a 500 that Slack would retry).
    """
    timestamp, signature = headers.get("x-slack-request-timestamp") or "", headers.get("x-slack-signature") or ""
    if not (_TIMESTAMP_RE.fullmatch(timestamp) and _SIGNATURE_RE.fullmatch(signature)) or not secret:
        return False
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _malformed() -> JSONResponse:
    logger.warning("refused a signed Slack request whose body could not be read")
    return JSONResponse({"error": "malformed request"}, status_code=400)


def readable_by_bolt(body: bytes, content_type: str | None) -> bool:
    """Whether Bolt can read this (signed) body: UTF-8, and JSON objects where it expects them.

    Bolt parses a body before it dispatches, and a JSON list, a string or broken JSON raised from that parsing (a 500).
    Only the parsing runs here; listeners run later, through Bolt, so their own failures are never hidden by this.
    """
    try:
        text = body.decode("utf-8")
        AsyncBoltRequest(body=text, headers={"content-type": [content_type or ""]}, mode="http")
    except Exception:  # noqa: BLE001 - Bolt's parsing raises JSON, Unicode, attribute and type errors on odd input
        return False
    return True


def slack_router(channel: SlackChannel) -> APIRouter:
    """The route Slack's request URLs point at.

    A signed event, click, command or closed modal is kept in the inbox and answered at once (`SlackChannel.accept`);
    everything else signed (modal submissions, URL verification) goes through Bolt. A request that is not signed,
    whatever its headers and body, gets 401 here, and a signed one Bolt could not read 400: never a 500 Slack retries.
    """
    handler = AsyncSlackRequestHandler(channel.app)
    router = APIRouter()
    secret = (channel.settings.slack_signing_secret or "").encode()

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()  # at most SLACK_MAX_BODY_KB: bot.web.limits cuts off anything bigger
        if not signed_by_slack(secret, body, request.headers, now=time.time()):
            return JSONResponse({"error": "invalid request"}, status_code=401)  # what Bolt answers a bad signature
        if not _is_utf8(body):
            return _malformed()
        if await channel.accept(body, request.headers):
            return Response(status_code=200)
        if not readable_by_bolt(body, request.headers.get("content-type")):
            return _malformed()
        return await handler.handle(request)  # Starlette keeps the body read above for Bolt to read again

    return router


def mount_slack(app: FastAPI, settings: Settings, *, engine: Engine, clock: Callable[[], datetime]) -> SlackChannel:
    """Add the Slack endpoint to the web app; the channel is kept on `app.state.slack` (Socket Mode reuses it)."""
    channel = build_slack_app(settings, engine=engine, clock=clock, handle_inline=settings.slack_handlers == "inline")
    app.include_router(slack_router(channel))
    app.state.slack = channel
    return channel
