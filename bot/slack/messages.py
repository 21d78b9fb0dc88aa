"""Slack messages for dialog prompts and notices, rendered from a dialog snapshot or a channel-neutral notice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.dialogs import context_key
from bot.rounds.kinds import kind_of
from bot.notices import ApprovalDecided, DataExport, FlowReply, HeldReply, Notice, Pairing, RoundAnnouncement, notice_from_payload
from bot.slack import blocks as bk
from bot.slack.blocks import escape
from bot.slack.store import Snapshot

ROLE_WORDS = {"mentor": "a mentor", "mentee": "a mentee", "both": "a mentor and a mentee", "none": "not taking part"}


def intro(snap: Snapshot) -> str:
    """The opening line of a dialog, with what the person needs to know to answer it."""
    flow = snap.flow
    if flow.key == "opt_in":
        by = f" Please answer by {snap.opt_in_by}." if snap.opt_in_by else ""
        return f"The mentoring term *{escape(snap.term_name or 'this term')}* is opening. Would you like to take part?{by}"
    if flow.key == "approval":
        who = snap.subject
        site = f" at {escape(who['site'])}" if who.get("site") else ""
        amount = f" and can take {escape(who['capacity'])} mentee(s)" if who.get("capacity") else ""
        return f"*{escape(who.get('name', 'A teacher'))}* ({escape(who.get('email', ''))}){site} has offered to mentor this term{amount}. Do you approve?"
    if flow.key == "check_in":
        return f"A quick check-in on your mentoring pair with *{escape(snap.subject.get('name', 'your partner'))}*."
    return flow.intro


def _answered(snap: Snapshot) -> list[str]:
    lines = []
    for question in snap.applicable:
        if question.key in snap.answers:
            lines.append(f":white_check_mark: {escape(question.prompt)} *{escape(bk.answered_line(question, snap.answers[question.key], snap.ctx))}*")
    return lines


PENDING_APPROVAL = ":hourglass_flowing_sand: We've asked your principal to confirm you as a mentor; we'll tell you when they do."


def done_notes(snap: Snapshot) -> list[str]:
    """What to add when a dialog finishes in a modal (the principal's confirmation still to come)."""
    if snap.flow.key == "opt_in" and snap.enrollment and snap.enrollment["approval"] == "pending" and snap.enrollment["status"] == "opted_in":
        return [PENDING_APPROVAL]
    return []


def follow_ups(snap: Snapshot) -> list[dict[str, Any]]:
    """What comes after a finished dialog: the profile after opting in, the word about a principal's approval."""
    out: list[dict[str, Any]] = []
    if snap.flow.key == "opt_in" and snap.enrollment:
        role, approval = snap.enrollment["role"], snap.enrollment["approval"]
        if snap.enrollment["status"] == "opted_out":
            out.append(bk.section("No problem. We'll ask again next term; if you change your mind, the Home tab has the buttons."))
            return out
        if approval == "pending":
            out.append(bk.section(PENDING_APPROVAL))
        if role != "none" and snap.term_id is not None and not snap.profile_complete:
            out.append(bk.section(snap.flow.done_message))
            out.append({"type": "actions", "block_id": "next|profile", "elements": [bk.open_flow_button("profile", context_key(flow="profile", term_id=snap.term_id), "Start my profile")]})
            return out
    out.append(bk.section(snap.flow.done_message))
    return out


def render_prompt(snap: Snapshot, *, reminder: bool = False) -> bk.Rendered:
    """A dialog as a DM: what is answered, then the next question (buttons when one click answers it)."""
    flow = snap.flow
    blocks: list[dict[str, Any]] = [bk.header(flow.title)]
    opening = intro(snap)
    blocks.append(bk.section((":wave: Reminder: " if reminder and not snap.complete else "") + opening))
    answered = _answered(snap)
    if answered and flow.key != "profile":
        blocks.extend(bk.text_sections("\n".join(answered)))
    if flow.key == "profile":
        blocks.extend(_profile_prompt(snap))
    elif snap.complete:
        blocks.extend(follow_ups(snap))
        optional = [q for q in snap.pending if not q.required]
        if optional:
            blocks.extend(bk.answer_blocks(flow, snap.context, optional[0], snap.ctx))
    elif snap.pending:
        blocks.extend(bk.answer_blocks(flow, snap.context, snap.pending[0], snap.ctx))
    text = f"{flow.title}: {opening}".replace("*", "")
    return bk.Rendered(text=bk.trim(text, 3000), blocks=blocks[: bk.MESSAGE_BLOCKS])


def _profile_prompt(snap: Snapshot) -> list[dict[str, Any]]:
    total = len(snap.applicable)
    left = len(snap.pending)
    if snap.complete and not left:
        return [bk.section(f":white_check_mark: {snap.flow.done_message}"),
                {"type": "actions", "block_id": "profile|edit", "elements": [bk.open_flow_button("profile", snap.context, "Edit my profile", edit=True, style=None)]}]  # fmt: skip
    label = "Start my profile" if left == total else f"Continue my profile ({left} left)"
    first = snap.pending[0] if snap.pending else None
    hint = f"\nOr answer here one at a time. {'First' if left == total else 'Next'}: *{escape(first.prompt)}*" + (f" _{escape(first.help)}_" if first and first.help else "") if first else ""
    return [
        bk.section(f"{total} short questions, about two minutes.{hint}"),
        {"type": "actions", "block_id": "profile|open", "elements": [bk.open_flow_button("profile", snap.context, label)]},
    ]


# --- notices ------------------------------------------------------------------------------------------------


def render_notice(notice: Notice | Mapping[str, Any], *, timezone: str | None = None) -> bk.Rendered:
    """A channel-neutral notice (other than a dialog prompt) as a Slack message; times in the reader's `timezone`.

    A stored payload is read into its notice first (`bot.notices`); one that is no notice raises `NoticeError`.
    """
    if not isinstance(notice, Notice):
        notice = notice_from_payload(notice)
    match notice:
        case ApprovalDecided():
            return _approval_decided(notice)
        case Pairing():
            return _pairing(notice, timezone)
        case RoundAnnouncement():
            return round_announcement(notice)
        case HeldReply():
            return held_reply(notice)
        case FlowReply():
            return _flow_reply(notice)
        case DataExport():  # the summary's title line is ours and bold; the rest carries the person's own values
            return _plain_text(notice, bold_title=True)
        case _:  # reminders, touchpoints, speed events, cancellations (with the admin's note), bounces: the notice's own text
            return _plain_text(notice)


def _plain_text(notice: Notice, *, bold_title: bool = False) -> bk.Rendered:
    """A notice's own text, which is plain words with people's names, sites and notes in it: escaped, so it shows as typed
    and pings or links nothing (our `/mentoring …` command spans stay code)."""
    text = notice.text or "You have an update from the mentoring program; the Home tab shows where things stand."
    title, _, rest = text.partition("\n")
    if bold_title and len(title) > 2 and title.startswith("*") and title.endswith("*"):
        shown = f"*{escape(title[1:-1], keep_commands=True)}*" + ("\n" + escape(rest, keep_commands=True) if rest else "")
    else:
        shown = escape(text, keep_commands=True)
    return bk.Rendered(text=bk.trim(shown, 3000), blocks=bk.text_sections(shown)[: bk.MESSAGE_BLOCKS])


_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")  # an address we make a mailto link of; anything else is shown as text


def _link_target(target: str) -> str:
    """A link's target inside `<…|label>`: nothing in it can close the link or start another."""
    return target.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E").replace("&", "&amp;").replace(" ", "%20")


HELD_TEXT_SHOWN = 12_000  # longer words are cut here; the admin page and the email hold them whole


def held_reply(notice: HeldReply) -> bk.Rendered:
    """A teacher's reply the bot could not place, for an admin: who, how to reach them, what about, their words."""
    who, email = escape(notice.from_name or "A teacher"), notice.from_email
    contact = f"<mailto:{_link_target(email)}|{escape(email)}>" if _EMAIL.fullmatch(email or "") else escape(email) if email else "no email on file"
    if _SLACK_ID.fullmatch(notice.from_slack_id or ""):  # a mention of the writer, only when it is a Slack user ID
        contact += f", <@{notice.from_slack_id}>"
    words = notice.text
    blocks: list[dict[str, Any]] = [
        bk.header("A reply for a person to read"),
        bk.section(f"*{who}* ({contact}) wrote something mentorbot can't answer: {escape(notice.reason)}.\nAbout: {escape(notice.about)}"),
    ]
    # Cut before escaping, so no entity is split and an escaped part stays under Slack's 3,000 characters; verbatim,
    # so Slack turns none of the words into links or mentions either.
    parts = [part["text"]["text"] for part in bk.text_sections(bk.trim(words, HELD_TEXT_SHOWN) or "(no text)", limit=700)]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": escape(part), "verbatim": True}} for part in parts]
    page = notice.page_url
    handled = f" Then <{_link_target(page)}|mark it handled>." if page.startswith(("http://", "https://")) else ""  # a link, not a button: nothing to acknowledge
    blocks.append(bk.context(f"Answer {who} directly{' by email' if email else ''}; they have been told a coordinator will get back to them.{handled}"))
    return bk.Rendered(text=bk.trim(f"{who} wrote something for a person to read: {escape(words)}", 3000), blocks=blocks[: bk.MESSAGE_BLOCKS])


SIGNUP_PREFIX = "signup:"


def round_announcement(notice: RoundAnnouncement) -> bk.Rendered:
    """A topic event's or interview round's announcement: one button per topic, or a select of positions and sites."""
    round_id = notice.round_id
    text = escape(notice.text or "A new mentoring round is open.", keep_commands=True)  # names the program and its topics
    asks_interest = kind_of(notice.round_kind).asks_interest
    title = "Informational interviews" if asks_interest else "A topic event: join a topic"
    blocks: list[dict[str, Any]] = [bk.header(title), *bk.text_sections(text)]
    if asks_interest:
        choices = notice.choices[: bk.SELECT_OPTIONS]
        if choices:
            options = [{"text": bk.plain(c, bk.OPTION_TEXT), "value": c[: bk.OPTION_VALUE]} for c in choices]
            select = {"type": "static_select", "action_id": f"{SIGNUP_PREFIX}pick:{round_id}", "placeholder": bk.plain("A position or site", bk.PLACEHOLDER), "options": options}
            blocks.append({"type": "actions", "block_id": f"signup|{round_id}", "elements": [select]})
        blocks.append(bk.context("Or type `join ` and what you'd like to learn about, e.g. `join assistant principal`."))
    else:
        buttons = [
            bk.button(f"Join: {topic}", action_id=f"{SIGNUP_PREFIX}join:{round_id}:{number}", value=str(number))
            for number, topic in enumerate(notice.topics, start=1)
        ]
        for start in range(0, len(buttons), 5):  # an actions block holds a handful of buttons comfortably
            blocks.append({"type": "actions", "block_id": f"signup|{round_id}|{start}", "elements": buttons[start : start + 5]})
        blocks.append(bk.context("Changed your mind before matching? Type `leave` and the topic's number."))
    return bk.Rendered(text=bk.trim(text, 3000), blocks=blocks[: bk.MESSAGE_BLOCKS])


def _approval_decided(notice: ApprovalDecided) -> bk.Rendered:
    by = escape(notice.by or "Your principal")
    if notice.approval == "approved":
        text = f":tada: {by} confirmed you as a mentor this term, for {notice.capacity} mentee(s). You're in the pool for the next round."
    else:
        text = f"{by} has not confirmed you as a mentor this term. Thank you for offering; you can still take part as a mentee from the Home tab."
    return bk.Rendered(text=text.replace(":tada: ", ""), blocks=[bk.section(text)])


def _labelled_lines(items: list[list[Any]]) -> list[str]:
    """[label, words] pairs as "label: words" lines, the person's words escaped."""
    return [f"{escape(item[0])}: {escape(item[1])}" for item in items if len(item) >= 2]


def _flow_reply(notice: FlowReply) -> bk.Rendered:
    """The answer to a person's email reply (sent by email; shown on Slack the same way): what was saved, what waits for a
    yes, what is asked back, what went to a person."""
    blocks: list[dict[str, Any]] = [bk.section(f"Thanks for your answers{' to *' + escape(notice.subject) + '*' if notice.subject else ''}.")]
    for title, lines in (
        ("*Saved:*", _labelled_lines(notice.understood)),
        ("*Is this right? Answer yes or no:*", _labelled_lines(notice.proposed)),
        ("*A question back:*", _labelled_lines(notice.doubts)),
        ("*Please check:*", [escape(problem) for problem in notice.errors.values()]),
    ):
        if lines:
            blocks.extend(bk.bullet_sections(title, lines))
    if notice.passed_on:
        blocks.extend(bk.text_sections(escape(notice.passed_on, keep_commands=True)))
    if notice.completed and notice.done_message:
        blocks.extend(bk.text_sections(notice.done_message))
    text = " ".join(block["text"]["text"] for block in blocks if block.get("type") == "section")
    return bk.Rendered(text=bk.trim(text.replace("*", ""), 3000), blocks=blocks[: bk.MESSAGE_BLOCKS])


def when(start: datetime, end: datetime, zone: str | None) -> str:
    """A session time as people read it, in their own zone."""
    zone = zone or "UTC"
    start, end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    return f"{start:%a %b} {start.day}, {start:%H:%M}–{end:%H:%M} ({zone})"


def _pairing(notice: Pairing, timezone: str | None) -> bk.Rendered:
    role = "mentor" if notice.role == "mentor" else "mentee"
    topic = f" on *{escape(notice.topic)}*" if notice.topic else ""
    blocks: list[dict[str, Any]] = [
        bk.header("You have a mentoring match"),
        bk.section(f"You're matched with *{escape(notice.partner_name)}* ({escape(notice.partner_email)}) as their {role} for {notice.sessions} session(s){topic}."),
    ]
    if notice.reasons:
        blocks.extend(bk.bullet_sections("*Why you two:*", [escape(reason) for reason in notice.reasons]))
    proposed = [pair for pair in notice.proposed if len(pair) == 2]
    if proposed:
        blocks.extend(bk.bullet_sections("*Proposed times:*", [when(datetime.fromisoformat(start), datetime.fromisoformat(end), timezone) for start, end in proposed]))
    if notice.custom_message:
        blocks.extend(bk.text_sections(f"_{escape(notice.custom_message)}_"))  # the admin's note, in italics as typed
    if notice.guide_url:
        blocks.append({"type": "actions", "block_id": "pairing|guide", "elements": [bk.button("Open the conversation guide", action_id="guide_link", url=notice.guide_url)]})
    text = escape(notice.text or f"You're matched with {notice.partner_name}.")
    return bk.Rendered(text=bk.trim(text, 3000), blocks=blocks[: bk.MESSAGE_BLOCKS])
