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
    """The route Slack's request URLs point at; Bolt verifies every signature (401 when bad or older than 5 minutes)."""
    handler = AsyncSlackRequestHandler(channel.app)
    router = APIRouter()

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return router


def mount_slack(app: FastAPI, settings: Settings, *, engine: Engine, clock: Callable[[], datetime]) -> SlackChannel:
    """Add the Slack endpoint to the web app; the channel is kept on `app.state.slack` (Socket Mode reuses it)."""
    channel = build_slack_app(settings, engine=engine, clock=clock)
    app.include_router(slack_router(channel))
    app.state.slack = channel
    return channel
