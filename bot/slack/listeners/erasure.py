"""The buttons under `/mentoring delete-my-data`: erase the clicker's own record, or leave everything as it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack.core import SlackCore


async def on_erase_confirmed(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
    """The confirm button: acknowledge, erase, then say what was erased in place of the question."""
    await ack()
    await channel.guarded(body["user"]["id"], _erase_confirmed(channel, body, respond))


async def _erase_confirmed(channel: SlackCore, body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
    # The clicker's own record is erased, whatever the button carries: nobody can erase someone else this way.
    user_id = body["user"]["id"]
    member = await channel.member(user_id)
    if member is None:
        text = "I can't find you on the program's roster; there is no data of yours to delete (or it was deleted already)."
    else:
        text = await channel.db(admin.erase_self, channel.engine, channel.settings, person_id=member.person_id, slack_user_id=user_id, now=channel.clock())
    try:
        await respond(text=text, blocks=bk.text_sections(text), replace_original=True)
    except Exception:  # an expired response_url: say it in a DM instead
        await channel.say_text(user_id, text)


async def on_erase_cancelled(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
    """The cancel button: nothing is deleted, and the question says so."""
    await ack()
    text = "Nothing was deleted."
    try:
        await respond(text=text, blocks=bk.text_sections(text), replace_original=True)
    except Exception:  # no (or an expired) response_url: say it in a DM instead
        await channel.say_text(body["user"]["id"], text)
