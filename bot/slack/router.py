"""Slack over HTTP: one endpoint, POST /slack/events, for events, interactivity and slash commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.slack.app import SlackChannel, build_slack_app

EVENTS_PATH = "/slack/events"


def slack_router(channel: SlackChannel) -> APIRouter:
    """The route Slack's request URLs point at.

    A signed event, click, command or closed modal is kept in the inbox and answered at once (`SlackChannel.accept`);
    everything else (modal submissions, URL verification, bad or stale signatures: 401) goes through Bolt.
    """
    handler = AsyncSlackRequestHandler(channel.app)
    router = APIRouter()

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        if await channel.accept(await request.body(), request.headers):
            return Response(status_code=200)
        return await handler.handle(request)  # Starlette keeps the body read above for Bolt to read again

    return router


def mount_slack(app: FastAPI, settings: Settings, *, engine: Engine, clock: Callable[[], datetime]) -> SlackChannel:
    """Add the Slack endpoint to the web app; the channel is kept on `app.state.slack` (Socket Mode reuses it)."""
    channel = build_slack_app(settings, engine=engine, clock=clock, handle_inline=settings.slack_handlers == "inline")
    app.include_router(slack_router(channel))
    app.state.slack = channel
    return channel
