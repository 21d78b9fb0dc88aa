"""Slack over Socket Mode: the same Bolt app, reached through a websocket instead of a public HTTPS address.

`mentorbot serve` uses it when SLACK_APP_TOKEN is set: the web app (health, email webhook, the scheduler) still
runs under uvicorn, and the Bolt app connects out to Slack beside it, on the same event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.settings import Settings
from bot.slack.app import SlackChannel

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def socket_mode(channel: SlackChannel, settings: Settings) -> AsyncIterator[AsyncSocketModeHandler]:
    """A Socket Mode connection for the channel's Bolt app while the block runs (apps.connections.open goes to SLACK_API_URL)."""
    if not settings.slack_app_token:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN (an xapp- token with connections:write)")
    handler = AsyncSocketModeHandler(channel.app, settings.slack_app_token)
    await handler.connect_async()
    logger.info("connected to Slack over Socket Mode")
    try:
        yield handler
    finally:
        await handler.close_async()


async def serve_with_socket_mode(app: FastAPI, settings: Settings, *, host: str, port: int) -> None:
    """Run the web app and keep a Socket Mode connection to Slack until the server stops."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=settings.log_level.lower(), lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)  # the schema is upgraded on startup; connect once the app is ready
    if serving.done():
        await serving
        return
    async with socket_mode(app.state.slack, settings):
        await serving
