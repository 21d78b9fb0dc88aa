"""`/mentoring`: personal commands open a dialog or answer at once; admin commands run `bot.slack.admin` after the ack."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack import store
from bot.slack.core import NOT_ON_ROSTER, SlackCore
from bot.slack.listeners.views import open_flow

logger = logging.getLogger(__name__)


async def on_command(channel: SlackCore, ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
    """`/mentoring ...`: acknowledge, then answer by response_url."""
    await ack()
    await channel.guarded(command["user_id"], _command(channel, command, respond))


async def _command(channel: SlackCore, command: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
    user_id = command["user_id"]
    try:
        parsed: admin.Command | None = admin.parse(command.get("text") or "")
        usage = None
    except admin.UsageError as exc:
        parsed, usage = None, exc
    if parsed is not None and parsed.name in ("profile", "opt-in"):
        await _personal_flow(channel, user_id, parsed.name, command.get("trigger_id"), respond, program_name=parsed.program)
        return
    member = await channel.member(user_id)
    # A command about oneself needs no admin verdict (users.info); for the rest the action decides who may.
    site_admin = not (parsed is not None and parsed.about_self) and await channel.is_admin(user_id)
    actor = admin.slack_actor(user_id, site_admin=site_admin, member=member)
    blocks = await channel.db(admin.answer, channel.engine, channel.settings, parsed if parsed is not None else usage, actor=actor, now=channel.clock())
    await channel.reply(respond, user_id, blocks)

async def _personal_flow(
    channel: SlackCore, user_id: str, name: str, trigger_id: str | None, respond: Callable[..., Awaitable[Any]], *, program_name: str | None = None
) -> None:
    member = await channel.member(user_id)
    if member is None:
        await channel.reply(respond, user_id, [bk.section(NOT_ON_ROSTER)])
        return
    contexts = await channel.db(store.term_dialogs, channel.engine, channel.settings, person_id=member.person_id, program_name=program_name)
    if contexts is None:
        where = f" in *{bk.escape(program_name)}* for you" if program_name else ""
        await channel.reply(respond, user_id, [bk.section(f"No mentoring term is open right now{where}; I'll message you when the next one opens.")])
        return
    flow, context = ("profile", contexts[1]) if name == "profile" else ("opt_in", contexts[0])
    snap = await channel.db(store.snapshot, channel.engine, channel.settings, person_id=member.person_id, flow=flow, context=context)
    await open_flow(channel, user_id, snap, trigger_id, edit=snap.complete)
