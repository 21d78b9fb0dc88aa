"""Joining a round that announced itself: a topic button or an interview pick on the announcement, or `join 2` typed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.rounds import events
from bot.slack import blocks as bk
from bot.slack.core import NOT_ON_ROSTER, SlackCore, as_object


async def on_signup(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
    """`signup:...` actions: acknowledge, then join (or leave) and say so."""
    await ack()
    await channel.guarded(body["user"]["id"], _signup(channel, body, action))


async def _signup(channel: SlackCore, body: dict[str, Any], action: dict[str, Any]) -> None:
    """A click on a round announcement's topic button (or a pick in an interview's select): join, then say so."""
    user_id = body["user"]["id"]
    parts = str(action.get("action_id", "")).split(":")
    member = await channel.member(user_id)
    if member is None:
        await channel.say_text(user_id, NOT_ON_ROSTER)
        return
    if len(parts) < 3 or not parts[2].isdecimal():
        return
    round_id = int(parts[2])
    if parts[1] == "pick":
        interest = as_object(action.get("selected_option")).get("value")
        outcome = await channel.db(events.join, channel.engine, round_id=round_id, person_id=member.person_id, interest=interest, source="slack", now=channel.clock())
    else:
        topic = parts[3] if len(parts) > 3 else None
        outcome = await channel.db(events.join, channel.engine, round_id=round_id, person_id=member.person_id, topic=topic, source="slack", now=channel.clock())
    await channel.say_text(user_id, (":white_check_mark: " if outcome.changed else "") + bk.escape(outcome.text, keep_commands=True))
    await channel.publish_home(user_id)


async def typed_signup(channel: SlackCore, user_id: str, person_id: int, text: str) -> bool:
    """"join 2" / "leave SEL" typed in a DM, for the newest open round that announces itself; False if none is open."""
    round_id = await channel.db(events.latest_open_round_for, channel.engine, person_id=person_id)
    if round_id is None:
        return False
    outcome = await channel.db(events.apply_reply, channel.engine, round_id=round_id, person_id=person_id, text=text, source="slack", now=channel.clock())
    await channel.say_text(user_id, (":white_check_mark: " if outcome.changed else "") + bk.escape(outcome.text, keep_commands=True))
    await channel.publish_home(user_id)
    return True
