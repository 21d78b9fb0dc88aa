"""A DM typed to the bot: help, status, starting a dialog, `join`/`leave`, or the answer to the question asked last."""

from __future__ import annotations

from typing import Any

from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack import store
from bot.slack.core import NOT_ON_ROSTER, SlackCore
from bot.slack.listeners.signups import typed_signup
from bot.slack.messages import render_prompt

HELP_WORDS = {"help", "?", "hi", "hello", "hey", "menu", "start"}
TYPED_HELP = (
    "*I'm mentorbot.* Here is what you can do:\n"
    "• Answer my questions with the buttons, or by typing here when I ask one\n"
    "• Type `profile` to fill in or edit your mentoring profile\n"
    "• Type `opt in` to take part this term or change your answer\n"
    "• Type `join 2` (or `leave 2`) for a topic of an open event, or `join` and a position for interviews\n"
    "• Open my *Home* tab for your status, pairings and upcoming sessions"
)


async def on_message(channel: SlackCore, event: dict[str, Any]) -> None:
    """`message`: a person's own DM to the bot (not an edit, a bot's message or a channel message)."""
    if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return
    await channel.guarded(event["user"], _typed(channel, event["user"], (event.get("text") or "").strip()))


async def _typed(channel: SlackCore, user_id: str, text: str) -> None:
    member = await channel.member(user_id)
    if member is None:
        await channel.say_text(user_id, NOT_ON_ROSTER)
        return
    word = text.lower().strip(" .!")
    if word in HELP_WORDS:
        await channel.say_text(user_id, TYPED_HELP)
        return
    if word in ("status", "me", "home"):
        blocks = await channel.per_version("standing", user_id, lambda _fresh: channel.db(admin.me_blocks, channel.engine, channel.settings, person_id=member.person_id))
        await channel.post(user_id, bk.Rendered(text=bk.plain_text_of(blocks), blocks=blocks))
        return
    if word in ("profile", "my profile", "edit profile", "opt in", "opt-in", "optin", "change"):
        contexts = await channel.db(store.term_dialogs, channel.engine, channel.settings, person_id=member.person_id)
        if contexts is None:
            await channel.say_text(user_id, "No mentoring term is open right now; I'll message you when the next one opens.")
            return
        flow, context = ("profile", contexts[1]) if "profile" in word else ("opt_in", contexts[0])
        # Starting the dialog (no replies yet) makes it the one the next typed message answers.
        started = await channel.db(store.apply, channel.engine, channel.settings, person_id=member.person_id, flow=flow, context=context, replies={}, now=channel.clock())
        await channel.post(user_id, render_prompt(started.snapshot))
        return
    if word.split(" ", 1)[0] in ("join", "leave") and await typed_signup(channel, user_id, member.person_id, text):
        return
    dialog = await channel.db(store.current_dialog, channel.engine, person_id=member.person_id)
    snap = None
    if dialog is not None:
        snap = await channel.db(store.snapshot, channel.engine, channel.settings, person_id=member.person_id, flow=dialog[0], context=dialog[1])
    if snap is None or not snap.pending:
        await channel.say_text(user_id, "I'm not waiting for an answer from you right now.\n\n" + TYPED_HELP)
        return
    question = snap.pending[0]
    try:
        applied = await channel.db(store.apply, channel.engine, channel.settings, person_id=member.person_id, flow=snap.flow.key, context=snap.context, replies={question.key: text}, now=channel.clock())
    except store.NotAllowed as exc:
        await channel.say_text(user_id, f"Sorry, {bk.escape(exc)}.")
        return
    rendered = render_prompt(applied.snapshot)
    if applied.errors:
        message = applied.errors.get(question.key) or next(iter(applied.errors.values()))
        rendered.blocks.insert(0, bk.section(f":thinking_face: Hmm, {bk.escape(message)}."))
    else:
        rendered.blocks.insert(0, bk.section(f"Got it: *{bk.escape(bk.answered_line(question, applied.saved.get(question.key), applied.snapshot.ctx))}*"))
    rendered.blocks = rendered.blocks[: bk.MESSAGE_BLOCKS]
    await channel.post(user_id, bk.with_plain_text(rendered))
    await channel.publish_home(user_id, fresh=applied.snapshot)
