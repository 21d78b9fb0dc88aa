"""A dialog in a modal: open its next page, read a submitted page (answering with the next page or inline errors),
keep what a half-filled page held when it is closed, and acknowledge any other view."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.slack import blocks as bk
from bot.slack import store
from bot.slack.core import NOT_ON_ROSTER, SlackCore, as_object
from bot.slack.messages import done_notes, intro
from bot.slack.sender import slack_error

logger = logging.getLogger(__name__)


async def open_flow(channel: SlackCore, user_id: str, snap: store.Snapshot, trigger_id: str | None, *, edit: bool) -> None:
    """Open a dialog's next page (or, editing, its first page) in a modal; a late trigger gets a fresh button."""
    keys = [q.key for q in (snap.applicable if edit or not snap.pending else snap.pending)]
    page = bk.paginate(snap.flow.key, snap.context, keys, edit=edit or not snap.pending)
    questions = [q for key in page.keys if (q := snap.question(key)) is not None]
    view = bk.flow_modal(snap.flow, page, questions, snap.ctx, snap.known, intro=intro(snap))
    try:
        await channel.client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        error = slack_error(exc)
        logger.info("views.open failed for %s: %s", user_id, error)
        again = "Sorry, that took me too long to open." if error in ("expired_trigger_id", "invalid_trigger_id", "trigger_exchanged") else "Sorry, I couldn't open the form."
        button = bk.open_flow_button(snap.flow.key, snap.context, "Open the form", edit=edit)
        await channel.post(user_id, bk.Rendered(text=again, blocks=[bk.section(f"{again} Here is the button again:"), {"type": "actions", "elements": [button]}]))


def _state_values(view: Mapping[str, Any]) -> dict[str, Any]:
    return as_object(as_object(view.get("state")).get("values"))


def _blank(value: Any) -> bool:
    return value in (None, "", []) or (isinstance(value, list) and not any(str(v).strip() for v in value))


def _notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something, with a Close button (what a submission turns into when it cannot be saved)."""
    return {"type": "modal", "title": bk.plain("Mentoring", bk.VIEW_TITLE), "close": bk.plain("Close", bk.VIEW_TITLE), "blocks": [bk.section(text)]}


def _submit_page(channel: SlackCore, person_id: int, page: bk.Page, values: Mapping[str, Any], *, keep_blank: bool) -> tuple[Sequence[Any], store.Applied]:
    def read_replies(questions: Sequence[Any]) -> dict[str, Any]:
        replies = bk.read_state(questions, values)
        return replies if keep_blank else {key: value for key, value in replies.items() if not _blank(value)}

    return store.submit_page(
        channel.engine, channel.settings, person_id=person_id, flow=page.flow, context=page.context, keys=page.keys, read_replies=read_replies, now=channel.clock()
    )


def _member_and_submit(channel: SlackCore, user_id: str, page: bk.Page, values: Mapping[str, Any]) -> tuple[Sequence[Any], store.Applied] | None:
    """The page submitted by the roster person with Slack ID `user_id`, on one trip to an ack thread (as
    `channel.member` then `_submit_page`, which Slack waits on); None when no roster row has that Slack ID."""
    member = store.member_for(channel.engine, slack_user_id=user_id)
    if member is None:
        return None
    return _submit_page(channel, member.person_id, page, values, keep_blank=True)


async def on_submit(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], view: dict[str, Any]) -> None:
    """A dialog's page submitted: save it and answer with the next page, the closing page, or errors under the fields."""
    user_id = body["user"]["id"]
    try:
        page = bk.Page.from_metadata(view.get("private_metadata", ""))
    except bk.BadPage:
        await ack(response_action="update", view=_notice_modal("This form is out of date. Open it again from my Home tab."))
        return
    values = _state_values(view)
    try:
        submitted = await channel.db_before_ack(_member_and_submit, channel, user_id, page, values)
        if submitted is None:  # no roster row has their Slack ID yet: linked by their Slack profile's email, if it can be
            member = await channel.member(user_id, before_ack=True)
            if member is None:
                await ack(response_action="update", view=_notice_modal(NOT_ON_ROSTER))
                return
            questions, applied = await channel.db_before_ack(_submit_page, channel, member.person_id, page, values, keep_blank=True)
        else:
            questions, applied = submitted
    except store.NotAllowed as exc:
        if page.keys:
            await ack(response_action="errors", errors={bk.block_id_for(page.keys[0]): str(exc)[:150]})
        else:
            await ack(response_action="update", view=_notice_modal(f"Sorry, {bk.escape(exc)}."))
        return
    errors = bk.input_errors(applied.errors, questions)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    snap = applied.snapshot
    applicable = {q.key for q in snap.applicable}
    if page.edit:
        rest = [key for key in page.rest if key in applicable]
    else:
        rest = [q.key for q in snap.pending if q.key not in page.keys]
    if rest:
        following = bk.paginate(page.flow, page.context, rest, edit=page.edit, number=page.number + 1)
        next_questions = [q for key in following.keys if (q := snap.question(key)) is not None]
        await ack(response_action="update", view=bk.flow_modal(snap.flow, following, next_questions, snap.ctx, snap.known))
    else:
        await ack(response_action="update", view=bk.done_modal(snap.flow, done_notes(snap)))
    if channel.handle_inline:
        await channel.guarded(user_id, channel.publish_home(user_id, fresh=snap))
    else:  # the Home tab is rebuilt by the handler process, as if the person had opened it, off the web worker's CPU
        await channel.guarded(None, channel.refresh_home_later(user_id))


async def on_other_view(ack: Callable[..., Awaitable[Any]]) -> None:
    """Any other view submitted or closed (an old modal, a forged callback_id): acknowledged and closed, not answered 404."""
    await ack()


async def on_closed(channel: SlackCore, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], view: dict[str, Any]) -> None:
    """A dialog's modal closed: acknowledge, then keep what the page held."""
    await ack()
    await channel.guarded(None, _keep_half_done(channel, body, view))


async def _keep_half_done(channel: SlackCore, body: dict[str, Any], view: dict[str, Any]) -> None:
    """A modal closed half-way: keep every answer already given on its page, then show where things stand."""
    user_id = body["user"]["id"]
    member = await channel.member(user_id)
    if member is None or not view.get("private_metadata"):
        return
    try:
        page = bk.Page.from_metadata(view["private_metadata"])
        await channel.db(_submit_page, channel, member.person_id, page, _state_values(view), keep_blank=False)
    except (bk.BadPage, store.NotAllowed):
        return
    await channel.publish_home(user_id)
