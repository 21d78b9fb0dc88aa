"""Every Slack listener, registered in one place (`register`); each lives in a small module by what it answers.

`home.py` the Home tab opened · `messages.py` a DM typed to the bot · `actions.py` clicks on a dialog's buttons ·
`signups.py` joining a round that announced itself · `erasure.py` the delete-my-data buttons · `views.py` a dialog in
a modal · `commands.py` `/mentoring`. A listener takes the channel's shared plumbing (`bot.slack.core.SlackCore`)
first; the rest of its parameters are named as Bolt names what it passes (`ack`, `body`, `action`, `view`...).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack.core import SlackCore
from bot.slack.listeners import actions, commands, erasure, home, messages, signups, views

logger = logging.getLogger(__name__)


def register(app: AsyncApp, channel: SlackCore) -> None:
    """Attach every listener to a Bolt app, each one handed `channel` first."""
    app.event("app_home_opened")(_given(channel, home.on_home_opened))
    app.event("message")(_given(channel, messages.on_message))
    app.action(re.compile(r"^answer:"))(_given(channel, actions.on_answer))
    app.action(re.compile(r"^open_flow"))(_given(channel, actions.on_open_flow))
    app.action(re.compile(r"^guide_link"))(actions.on_link)
    app.action(re.compile(r"^signup:"))(_given(channel, signups.on_signup))
    app.action(admin.ERASE_CONFIRM_ACTION)(_given(channel, erasure.on_erase_confirmed))
    app.action(admin.ERASE_CANCEL_ACTION)(_given(channel, erasure.on_erase_cancelled))
    app.view(bk.FLOW_CALLBACK)(_given(channel, views.on_submit))
    app.view_closed(bk.FLOW_CALLBACK)(_given(channel, views.on_closed))
    # Any other view (an old modal, a forged callback_id) is acknowledged and closed, not answered 404.
    app.view(re.compile(".*"))(views.on_other_view)
    app.view_closed(re.compile(".*"))(views.on_other_view)
    app.command(admin.COMMAND)(_given(channel, commands.on_command))
    app.error(on_error)


def _given(channel: SlackCore, listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """The listener with `channel` passed first; Bolt reads the parameters left to know what else to pass."""
    bound = functools.partial(listener, channel)
    bound.__name__ = listener.__name__  # type: ignore[attr-defined]  # Bolt names listeners in its logs by __name__
    return bound


async def on_error(error: Exception, body: dict[str, Any]) -> None:
    """What no listener handled (a listener's own failures are handled in `SlackCore.guarded`): logged."""
    logger.error("unhandled Slack error for %s: %s", body.get("type") or body.get("command"), error)
