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
    if parsed is not None and parsed.name == "me":
        member = await channel.member(user_id)
        await channel.reply(respond, user_id, await channel.db(admin.me_blocks, channel.engine, channel.settings, person_id=member.person_id if member else None))
        return
    if parsed is not None and parsed.name in ("my-data", "delete-my-data"):
        member = await channel.member(user_id)
        person_id = member.person_id if member else None
        if parsed.name == "my-data":
            blocks = await channel.db(admin.my_data_blocks, channel.engine, channel.settings, person_id=person_id, slack_user_id=user_id, now=channel.clock())
        else:
            blocks = admin.delete_confirm_blocks(person_id=person_id)
        await channel.reply(respond, user_id, blocks)
        return
    is_admin = await channel.is_admin(user_id)
    if not is_admin and parsed is not None and not parsed.personal and parsed.name not in admin.WHOLE_SITE_ONLY:
        # A program's own admins (its definition names them) run admin commands for that program only.
        is_admin = await channel.db(admin.is_program_admin, channel.engine, channel.settings, parsed, slack_user_id=user_id)
    if usage is not None:
        await channel.reply(respond, user_id, admin.usage_blocks(usage, admin=is_admin))
    elif parsed.name == "help":
        await channel.reply(respond, user_id, [bk.section(admin.ADMIN_HELP), bk.section(admin.PERSONAL_HELP)] if is_admin else [bk.section(admin.PERSONAL_HELP)])
    elif not is_admin:
        await channel.reply(respond, user_id, admin.refusal_blocks())
    else:
        parsed.args.admin_user = user_id  # who asked, for the data-rights log
        try:
            result = await channel.db(admin.run, channel.engine, channel.settings, parsed, now=channel.clock())
        except admin.UsageError as exc:
            result = admin.usage_blocks(exc, admin=True)
        except Exception:
            logger.exception("/mentoring %s failed", command.get("text"))
            result = [bk.section(":warning: Something went wrong on our side while doing that; the details are in the server log. Please try again.")]
        await channel.reply(respond, user_id, result)


async def _personal_flow(
    channel: SlackCore, user_id: str, name: str, trigger_id: str | None, respond: Callable[..., Awaitable[Any]], *, program_name: str | None = None
) -> None:
    member = await channel.member(user_id)
    if member is None:
        await channel.reply(respond, user_id, [bk.section(NOT_ON_ROSTER)])
        return
    contexts = await channel.db(store.term_dialogs, channel.engine, channel.settings, person_id=member.person_id, program_name=program_name)
    if contexts is None:
        where = f" in *{program_name}* for you" if program_name else ""
        await channel.reply(respond, user_id, [bk.section(f"No mentoring term is open right now{where}; I'll message you when the next one opens.")])
        return
    flow, context = ("profile", contexts[1]) if name == "profile" else ("opt_in", contexts[0])
    snap = await channel.db(store.snapshot, channel.engine, channel.settings, person_id=member.person_id, flow=flow, context=context)
    await open_flow(channel, user_id, snap, trigger_id, edit=snap.complete)
