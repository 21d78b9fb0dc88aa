"""Clicks on a dialog's buttons: an answer button or select (in a DM or on the Home tab), the button that opens a
dialog's form, and link buttons (which only need acknowledging)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import blocks as bk
from bot.slack import store
from bot.slack.core import NOT_ON_ROSTER, SlackCore, as_object
from bot.slack.listeners.views import open_flow
from bot.slack.messages import render_prompt
from bot.slack.sender import slack_error

logger = logging.getLogger(__name__)


async def on_link(ack: Callable[..., Awaitable[Any]]) -> None:
    """`guide_link...`: a link button opens its URL in Slack; the click only needs acknowledging."""
    await ack()


async def on_answer(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
    """`answer:...`: acknowledge, then save the answer and show the dialog's next step where it was clicked."""
    await ack()
    await channel.guarded(body["user"]["id"], _answer(channel, body, action))


async def _answer(channel: SlackCore, body: dict[str, Any], action: dict[str, Any]) -> None:
    user_id = body["user"]["id"]
    target = bk.parse_ask_block_id(action.get("block_id", ""))
    value = action.get("value") or as_object(action.get("selected_option")).get("value")
    if target is None or value is None:
        return
    flow, context, key = target
    member = await channel.member(user_id)
    if member is None:
        await channel.say_text(user_id, NOT_ON_ROSTER)
        return
    try:
        applied = await channel.db(store.apply, channel.engine, channel.settings, person_id=member.person_id, flow=flow, context=context, replies={key: value}, now=channel.clock())
    except store.NotAllowed as exc:
        await channel.say_text(user_id, f"Sorry, {bk.escape(exc)}.")
        return
    snap = applied.snapshot
    container = as_object(body.get("container"))
    if container.get("type") == "message":
        rendered = render_prompt(snap)
        if applied.errors:
            rendered.blocks.insert(1, bk.section(f":warning: {bk.escape(next(iter(applied.errors.values())))}"))
        channel_id, ts = container.get("channel_id"), container.get("message_ts")
        updated = False
        if isinstance(channel_id, str) and isinstance(ts, str):
            try:
                # The text is the whole updated message in words: it is what notifications and screen readers give.
                shown = rendered.blocks[: bk.MESSAGE_BLOCKS]
                await channel.client.chat_update(channel=channel_id, ts=ts, text=bk.plain_text_of(shown), blocks=shown)
                updated = True
            except SlackApiError as exc:
                logger.warning("could not update the message: %s", slack_error(exc))
        if not updated:  # the click names no message we could update: the next question comes as a new DM
            await channel.post(user_id, bk.with_plain_text(rendered))
    elif any(q.required for q in snap.pending):
        # Clicked on the Home tab and the dialog needs more (a mentor's number of mentees): ask in a modal.
        await open_flow(channel, user_id, snap, body.get("trigger_id"), edit=False)
    await channel.publish_home(user_id, fresh=snap)


async def on_open_flow(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
    """`open_flow...`: acknowledge, then open the dialog the button names in a modal."""
    await ack()
    await channel.guarded(body["user"]["id"], _open_from_button(channel, body, action))


async def _open_from_button(channel: SlackCore, body: dict[str, Any], action: dict[str, Any]) -> None:
    user_id = body["user"]["id"]
    try:
        data = json.loads(action.get("value") or "{}")
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("f"), str) or not isinstance(data.get("c"), str):
        logger.info("ignored an open-form button whose value names no dialog")
        return
    member = await channel.member(user_id)
    if member is None:
        await channel.say_text(user_id, NOT_ON_ROSTER)
        return
    try:
        snap = await channel.db(store.snapshot, channel.engine, channel.settings, person_id=member.person_id, flow=data["f"], context=data["c"])
    except store.NotAllowed as exc:
        await channel.say_text(user_id, f"Sorry, {bk.escape(exc)}.")
        return
    await open_flow(channel, user_id, snap, body.get("trigger_id"), edit=bool(data.get("e")))
