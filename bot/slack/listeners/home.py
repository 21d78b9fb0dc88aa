"""The Home tab opened: link the person by their Slack profile's email on a first visit, then publish their Home."""

from __future__ import annotations

from typing import Any

from bot.slack.core import SlackCore


async def on_home_opened(channel: SlackCore, event: dict[str, Any]) -> None:
    """`app_home_opened`: publish the Home tab (the Messages tab needs nothing)."""
    if event.get("tab") == "home":
        await channel.guarded(None, _home_opened(channel, event["user"]))


async def _home_opened(channel: SlackCore, user_id: str) -> None:
    await channel.member(user_id)  # links a roster person by their Slack profile's email on first visit
    await channel.publish_home(user_id)
