"""Turning an outbox notice into an email: subject, text and HTML from Jinja2 templates, headers, and the invite."""

from __future__ import annotations

import binascii
import functools
import json
import logging
import re
import secrets
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.headerregistry import Address
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlmodel import Session

from bot import notices
from bot.email import tokens
from bot.email.ics import Party, session_invite
from bot.email.questions import DialogView, NumberedQuestion, dialog_view_in
from bot.flows import get_flow
from bot.guides import GuideContext, Mentee, Mentor, SessionTime, render_email_parts
from bot.notices import (
    ApprovalDecided, DataExport, Escalation, FlowPrompt, FlowReply, Notice, PairingCancelled, PassedOn, RoundAnnouncement,
    SessionReminder, SignupReply, Thread, TouchpointFeedback, TouchpointShare, notice_of,
)  # fmt: skip
from bot.rounds.guides import guide_context, overrides_of, program_of
from bot.rounds.kinds import kind_of
from bot.settings import Settings
from storage.models import OutboxMessage, Pairing, Person, Program, Round, Term

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=True,
    auto_reload=False,  # templates ship with the code: no stat() of the file on every email
)


def message_id_for(idempotency_key: str, domain: str, secret: str) -> str:
    """The stable Message-ID of the email an outbox message becomes: the same key always gives the same id (so a
    retried send is recognised), and the id is keyed with `secret` so nobody can predict it from the key."""
    return f"<mb.{tokens.message_id_digest(secret, idempotency_key)}@{domain}>"


def mail_domain(settings: Settings) -> str:
    return settings.mail_from.rpartition("@")[2] or settings.reply_domain


@dataclass
class Rendered:
    """One email, ready to become MIME; `skip` says why nothing should be sent."""

    subject: str = ""
    text: str = ""
    html: str = ""
    reply_flow: str | None = None
    reply_context: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)  # filename, data, content-type params
    skip: str | None = None
    unsubscribe_url: str | None = None
    sender_name: str | None = None  # the program the email speaks for; None = PROGRAM_NAME
    reply_to: Address | None = None  # answers go here rather than back to mentorbot (a teacher's reply held for an admin)
    auto_submitted: str = "auto-generated"  # RFC 3834: "auto-replied" when the email answers something a person sent
    to_name: str = ""  # the reader's name for the To header when no person is on file (an admin by address)


def _example_for(item: NumberedQuestion) -> str:
    key, kind = item.question.key, item.question.kind
    if item.options and kind == "choice":
        return "1"
    if item.options and kind == "multi_choice":
        return f"{item.options[0].label}, {item.options[1].label}" if len(item.options) > 1 else item.options[0].label
    if kind == "slots":
        return "Tuesdays and Thursdays after 3:30"
    if kind == "number":
        return "2"
    if kind == "grade_bands":
        return "6-8"
    return "…" if key else ""


def _first_name(name: str) -> str:
    return (name or "there").split()[0]


def _intro(view: DialogView, notice: FlowPrompt) -> str:
    intro = view.flow.intro
    if view.flow.key == "opt_in" and notice.term_name:
        intro = f"A new mentoring term ({notice.term_name}) is opening. Would you like to take part?"
    if view.flow.key == "approval" and notice.mentor_name:
        mentees = notice.capacity
        intro = (
            f"{notice.mentor_name} ({notice.mentor_email or ''}) has offered to mentor"
            + (f" {mentees} mentee{'s' if mentees != 1 else ''}" if mentees is not None else "")
            + " this term and needs your approval."
        )
    return intro


def _subject_for(view: DialogView, notice: FlowPrompt) -> str:
    if view.flow.key == "opt_in" and notice.term_name:
        return f"Mentoring this term: {notice.term_name}"
    if view.flow.key == "approval" and notice.mentor_name:
        return f"Please approve {notice.mentor_name} as a mentor"
    return view.flow.title


def _reply_subject(subject: str) -> str:
    bare = re.sub(r"^(?:\s*(?:re|aw|sv|réf|rif)\s*:\s*)+", "", subject or "", flags=re.IGNORECASE).strip()
    return f"Re: {bare or 'your answers'}"


TEXT_WIDTH = 78  # RFC 5322's recommended line length for text people read
SIGNATURE = "-- "  # the signature delimiter mail clients recognise (and fold or dim what follows)
# Leading indentation and a list or quote marker, kept on the first line and mirrored on the lines a wrap adds.
_LINE_LEAD = re.compile(r"^(\s*)((?:[-*+\u2022]|\d+[.)]|\d+ =|[>|]+)\s+)?")


def wrap_text(text: str, width: int = TEXT_WIDTH) -> str:
    """Plain text with every line longer than `width` wrapped: words and URLs never broken, list and quote indents kept."""
    lines = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        lead = _LINE_LEAD.match(line).group(0)
        marker = lead.strip()
        # Quotes and boxed notes repeat their marker on each line; list items hang under their first word.
        hanging = lead if marker[:1] in (">", "|") else " " * len(lead)
        lines.append(
            textwrap.fill(
                line[len(lead):], width, initial_indent=lead, subsequent_indent=hanging,
                break_long_words=False, break_on_hyphens=False,
            )  # fmt: skip
        )
    return "\n".join(lines)


def _render_pair(template: str, **values: Any) -> tuple[str, str]:
    text = _env.get_template(f"{template}.txt").render(signature=SIGNATURE, **values)
    html = _env.get_template(f"{template}.html").render(**values)
    return wrap_text(re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"), html


def rebase_link(url: str, base_url: str) -> str:
    """`url`'s path and query under `base_url`, so links queued under another address (localhost) reach the app today."""
    parts, base = urlsplit(url), urlsplit(base_url.rstrip("/"))
    path = parts.path
    for route in APP_ROUTES:  # drop whatever prefix the old base had before the app's own routes
        at = path.find(route)
        if at >= 0:
            path = path[at:]
            break
    return urlunsplit((base.scheme, base.netloc, base.path + path, parts.query, parts.fragment))


APP_ROUTES = ("/guides/", "/email/")


def _flow_prompt(session: Session, notice: FlowPrompt, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    view = dialog_view_in(session, person_id=person.id, flow=notice.flow, context=notice.context, now=now)
    if not view.pending:
        return Rendered(skip=f"nothing left to ask in {view.flow.key}")
    subject = _subject_for(view, notice)
    text, html = _render_pair(
        "flow_prompt", **base, subject=subject, intro=_intro(view, notice), questions=list(view.pending), errors={}, example_for=_example_for
    )
    rendered = Rendered(subject=subject, text=text, html=html, reply_flow=view.flow.key, reply_context=view.context)
    root_key = f"prompt.{view.flow.key}:{view.context}:{person.id}:1:email"
    if message.idempotency_key != root_key:  # a reminder continues the first prompt's thread
        root = message_id_for(root_key, mail_domain(settings), settings.token_secret)
        rendered.in_reply_to, rendered.references = root, [root]
        rendered.subject = _reply_subject(subject)
    return rendered


def _flow_reply(session: Session, notice: FlowReply, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    view = dialog_view_in(session, person_id=person.id, flow=notice.flow, context=notice.context, now=now)
    done_message = (notice.done_message or view.flow.done_message) if view.complete and notice.completed else ""
    next_intro = ""
    if not view.pending and notice.next_flow:
        following = dialog_view_in(session, person_id=person.id, flow=notice.next_flow, context=notice.next_context or "", now=now)
        if following.pending:
            view, next_intro = following, following.flow.intro
            done_message = get_flow(notice.flow).done_message if notice.completed else done_message
    text, html = _render_pair(
        "flow_reply", **base, subject=notice.subject, understood=notice.understood,
        unplaced=notice.unplaced, done_message=done_message, next_intro=next_intro,
        proposed=notice.proposed, doubts=notice.doubts, passed_on=notice.passed_on,
        dropped=notice.dropped,
        questions=list(view.pending), errors=dict(notice.errors), example_for=_example_for,
    )  # fmt: skip
    return Rendered(
        subject=_reply_subject(notice.subject), text=text, html=html, reply_flow=view.flow.key, reply_context=view.context,
        in_reply_to=notice.thread.in_reply_to, references=list(notice.thread.references),
    )  # fmt: skip


def _guide_url(notice: notices.Pairing, settings: Settings) -> str | None:
    """The guide's address at today's PUBLIC_BASE_URL (notices queued earlier carry the address of their day)."""
    if not notice.guide_url:
        return None
    return rebase_link(notice.guide_url, settings.public_base_url)


def _guide_context_from_storage(
    session: Session, notice: notices.Pairing, person: Person, settings: Settings, program_name: str, guide_url: str | None
) -> tuple[GuideContext, Mapping[str, str] | None] | None:
    """The guide as the rounds build it (profiles, group, program overrides), or None when the pairing is not on file."""
    pairing = session.get(Pairing, notice.pairing_id) if notice.pairing_id else None
    round_ = session.get(Round, pairing.round_id) if pairing is not None else None
    if pairing is None or round_ is None or person.id not in (pairing.mentor_id, pairing.mentee_id):
        return None
    # A pair's two notices share one context but for the reader's time zone (all `guide_context` takes from the
    # reader): kept for the session, so a batch rendered in one session builds it once per pairing.
    kept = session.info.setdefault("guide_contexts", {})
    key = (pairing.id, settings.public_base_url, settings.session_minutes)
    if key in kept:
        ctx = replace(kept[key], timezone=person.timezone)
    else:
        ctx = kept[key] = guide_context(
            session, pairing=pairing, round_=round_, reader=person, base_url=settings.public_base_url, session_minutes=settings.session_minutes,
            known=session.info.get("guide_rows"),  # read ahead for a whole batch (`bot.email.sender`)
        )  # fmt: skip
    # The link at today's base address; the program name the rest of the email speaks with.
    return replace(ctx, guide_url=guide_url, program_name=program_name), overrides_of(program_of(session, round_))


def _guide(session: Session, notice: notices.Pairing, person: Person, settings: Settings, zone: str, program_name: str, guide_url: str | None) -> tuple[str, Markup] | None:
    """The conversation guide (bot.guides) for this reader, as text and an HTML fragment; None if it can't be rendered."""
    try:
        found = _guide_context_from_storage(session, notice, person, settings, program_name, guide_url)
        if found is not None:
            ctx, overrides = found
        else:  # a notice without its pairing on file: the guide from what the notice says
            partner = notice.partner_name or "your partner"
            topic = notice.topic
            mentor_name, mentee_name = (partner, person.name) if notice.role == "mentee" else (person.name, partner)
            times = tuple(
                SessionTime(number, datetime.fromisoformat(start), datetime.fromisoformat(end))
                for number, (start, end) in enumerate(notice.proposed, start=1)
            )
            ctx = GuideContext(
                program_name=program_name, mentor=Mentor(mentor_name, offers=(topic,) if topic else ()),
                mentees=(Mentee(mentee_name, asked_for=(topic,) if topic else ()),), topic=topic,
                sessions=notice.sessions, reasons=tuple(notice.reasons), times=times,
                timezone=zone, session_minutes=settings.session_minutes, custom_message=notice.custom_message, guide_url=guide_url,
            )  # fmt: skip
            overrides = None
        text, fragment = render_email_parts(ctx, overrides=overrides)
        # The fragment is our own markup, built with every piece of people's text escaped (bot.guides.render).
        return text, Markup(fragment)
    except Exception:  # the pairing must still go out; the guide link stays in the email
        logger.exception("rendering the conversation guide for pairing %s failed", notice.pairing_id)
        return None


def _organizer(session: Session, notice: Notice, settings: Settings, program_name: str) -> Party:
    """Who invites: the program's `organizer_email`, else its first admin email, else the From address; named as the program."""
    program = program_of_notice(session, notice)
    program_settings = (program.settings or {}) if program is not None else {}
    address = program_settings.get("organizer_email") or next(iter(program_settings.get("admin_emails") or ()), None) or settings.mail_from
    return Party(program_name, str(address))


@functools.lru_cache(maxsize=64)
def _kept_invite(**fields: Any) -> bytes:
    return session_invite(**fields)


def _invite(
    session: Session, notice: notices.Pairing | PairingCancelled, person: Person, settings: Settings, now: datetime, program_name: str, *,
    method: str, guide_url: str | None,
) -> tuple[str, bytes, dict[str, str]] | None:
    """The .ics for a pairing's sessions (REQUEST, or CANCEL when the pairing is withdrawn); None without session times."""
    proposed = [pair for pair in notice.proposed if len(pair) == 2]
    if not proposed:
        return None
    names = sorted([person.name, notice.partner_name])
    ics = _kept_invite(
        method=method, uid_base=f"mentorbot-pairing-{notice.pairing_id}", uid_domain=mail_domain(settings),
        summary=f"{program_name}: {names[0]} & {names[1]}" + (f" ({notice.topic})" if notice.topic else ""),
        description=("Cancelled mentoring session." if method == "CANCEL" else "Proposed mentoring session.") + (f" Guide: {guide_url}" if guide_url and method != "CANCEL" else ""),
        organizer=_organizer(session, notice, settings, program_name),
        # In one order for both readers, so a pair's two emails carry one calendar, built once (`_kept_invite`).
        attendees=tuple(sorted([Party(person.name, person.email), Party(notice.partner_name, notice.partner_email)], key=lambda p: (p.email or "", p.name or ""))),
        proposed=tuple(tuple(pair) for pair in proposed), sequence=notice.ics_sequence, now=now,
    )  # fmt: skip
    return ("mentoring.ics", ics, {"method": method})


def _pairing(session: Session, notice: notices.Pairing, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    pairing = session.get(Pairing, notice.pairing_id) if notice.pairing_id else None
    if pairing is not None and pairing.status == "cancelled":
        return Rendered(skip=f"pairing {pairing.id} was cancelled before this notice went out")
    zone = ZoneInfo(person.timezone or settings.default_timezone)
    proposed = [pair for pair in notice.proposed if len(pair) == 2]
    times = [
        f"{datetime.fromisoformat(start).astimezone(zone):%a %b %-d, %H:%M}-{datetime.fromisoformat(end).astimezone(zone):%H:%M}"
        for start, end in proposed
    ]
    guide_url = _guide_url(notice, settings)
    guide = _guide(session, notice, person, settings, str(zone), base["program_name"], guide_url)
    subject = f"You're matched with {notice.partner_name or 'a colleague'}" + (f" on {notice.topic}" if notice.topic else "")
    if notice.changed:
        subject = f"Updated: {subject}"
    text, html = _render_pair(
        "pairing", **base, subject=subject, n=notice, times=times, zone=str(zone), guide_url=guide_url,
        guide_text=guide[0] if guide else "", guide_html=guide[1] if guide else "",
    )  # fmt: skip
    rendered = Rendered(subject=subject, text=text, html=html)
    invite = _invite(session, notice, person, settings, now, base["program_name"], method="REQUEST", guide_url=guide_url)
    if invite is not None:
        rendered.attachments.append(invite)
    return rendered


def _pairing_cancelled(session: Session, notice: PairingCancelled, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    """A pairing withdrawn (rematched or cancelled): a short note and a METHOD:CANCEL that takes the sessions off calendars."""
    partner = notice.partner_name or "your partner"
    subject = f"Cancelled: your mentoring sessions with {partner}"
    body = notice.text or f"Your mentoring pairing with {partner} has been cancelled, and its sessions with it."
    if notice.proposed:
        body += "\n\nThe attached calendar update (mentoring.ics) removes the sessions from your calendar."
    text, html = _render_pair("notice", **base, subject=subject, text=body)
    rendered = Rendered(subject=subject, text=text, html=html)
    cancel = _invite(session, notice, person, settings, now, base["program_name"], method="CANCEL", guide_url=None)
    if cancel is not None:
        rendered.attachments.append(cancel)
    return rendered


def _round_cancelled(session: Session, notice: notices.RoundCancelled, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    """A round called off after its pairs were told: the note, and a METHOD:CANCEL per pair that had session times."""
    subject = notice.subject or "A mentoring round has been called off"
    body = notice.text or f"The mentoring round {notice.round_name} has been called off."
    cancels = []
    for pair in notice.pairs:
        withdrawn = PairingCancelled(
            round_id=notice.round_id, pairing_id=pair.pairing_id, partner_name=pair.partner_name, partner_email=pair.partner_email,
            topic=pair.topic, proposed=pair.proposed, ics_sequence=pair.ics_sequence,
        )  # fmt: skip
        cancel = _invite(session, withdrawn, person, settings, now, base["program_name"], method="CANCEL", guide_url=None)
        if cancel is not None:
            cancels.append(cancel)
    if cancels:
        body += "\n\nThe attached calendar update removes the sessions from your calendar."
    text, html = _render_pair("notice", **base, subject=subject, text=body)
    rendered = Rendered(subject=subject, text=text, html=html)
    for number, (name, ics, params) in enumerate(cancels, start=1):
        # One file per pair; a calendar reads each CANCEL by its own UIDs, so the names need only differ.
        rendered.attachments.append((name if len(cancels) == 1 else name.replace(".ics", f"-{number}.ics"), ics, params))
    return rendered


def program_thread_root(*, program_id: int, person_id: int, settings: Settings) -> str:
    """The Message-ID every email of one program to one person refers to, so each program reads as its own thread."""
    return message_id_for(f"program-thread:{program_id}:{person_id}", mail_domain(settings), settings.token_secret)


def _round_signup(notice: RoundAnnouncement | SignupReply, person: Person, settings: Settings, base: dict[str, Any]) -> Rendered:
    """A round's announcement (numbered topics; a reply joins) or the answer to such a reply, in the program's thread."""
    program_name = notice.program_name or settings.program_name
    base = {**base, "program_name": program_name}
    thread = Thread()
    if isinstance(notice, RoundAnnouncement):
        if kind_of(notice.round_kind).asks_interest:
            subject = f"{program_name}: informational interviews"
            how = "Reply with the position or site you'd like to learn about (for example \"assistant principal\" or a school's name)."
            lines = ["People in the program work as or at: " + ", ".join(notice.choices)] if notice.choices else []
        else:
            subject = f"{program_name}: join a topic event"
            how = "Reply with a topic's number or name to join (for example \"2\" or \"join assessment\"); reply \"leave 2\" to change your mind before matching."
            lines = []
        body = "\n\n".join([notice.text, *lines, how])
    else:
        subject = _reply_subject(notice.subject or "your reply")
        body, thread = notice.text, notice.thread
    text, html = _render_pair("notice", **base, subject=subject, text=body)
    rendered = Rendered(subject=subject, text=text, html=html, reply_context=f"round:{notice.round_id}" if notice.round_id else "")
    root = program_thread_root(program_id=notice.program_id or 0, person_id=person.id, settings=settings)
    rendered.in_reply_to = thread.in_reply_to or root
    rendered.references = [root, *[r for r in thread.references if r != root]]
    return rendered


def _approval_decided(notice: ApprovalDecided) -> tuple[str, str]:
    by, capacity = notice.by or "your principal", notice.capacity
    if notice.approval == "approved":
        return "You're approved to mentor", f"{by} approved you to mentor {capacity} mentee{'s' if capacity != 1 else ''} this term. We'll let you know when you're matched."
    return "About mentoring this term", f"{by} did not approve mentoring for you this term. Thank you for offering; you can opt in again next term."


# The subject of a notice that brings no subject of its own and has no email of its own kind.
GENERIC_SUBJECTS: dict[type[Notice], str] = {
    SessionReminder: "Mentoring session reminder",
    Escalation: "Your mentoring pair needs a hand",
    TouchpointShare: "Between mentoring sessions",
    TouchpointFeedback: "Between mentoring sessions",
}


def _generic(notice: Notice, base: dict[str, Any]) -> Rendered:
    """A notice as a subject and a few lines of text (speed events, data rights, bounces, reminders...)."""
    if isinstance(notice, ApprovalDecided):
        subject, text_body = _approval_decided(notice)
    else:
        subject = notice.subject or GENERIC_SUBJECTS.get(type(notice), "A note about mentoring")
        text_body = notice.text or "There is news about your mentoring; please check with your program."
    text, html = _render_pair("notice", **base, subject=subject, text=text_body)
    return Rendered(subject=subject, text=text, html=html)


def _passed_on(notice: PassedOn, base: dict[str, Any]) -> Rendered:
    """The answer to a reply that went to a person: who has it, in the same thread."""
    subject = _reply_subject(notice.subject)
    text, html = _render_pair("notice", **base, subject=subject, text=notice.text)
    return Rendered(subject=subject, text=text, html=html, in_reply_to=notice.thread.in_reply_to, references=list(notice.thread.references))


def _held_reply(notice: notices.HeldReply, base: dict[str, Any]) -> Rendered:
    """A teacher's reply the bot could not place, for an admin; answering the email answers the teacher."""
    subject = f"{notice.from_name or 'A teacher'} wrote something for a person to read" + (f": {notice.subject}" if notice.subject else "")
    text, html = _render_pair("held_reply", **base, subject=subject, n=notice)
    rendered = Rendered(subject=" ".join(subject.split())[:300], text=text, html=html)  # a header holds one line
    try:
        rendered.reply_to = Address(notice.from_name, addr_spec=notice.from_email)
    except (ValueError, IndexError, TypeError):  # an address a header cannot carry: the email names it in the text
        logger.warning("held reply %s: the teacher's address can't be a Reply-To", notice.held_reply_id)
    return rendered


# Notices that answer something a person sent (RFC 3834 "auto-replied"); every other notice is "auto-generated".
REPLY_NOTICES: tuple[type[Notice], ...] = (FlowReply, SignupReply, DataExport, PassedOn)
# Notices sent even to someone who unsubscribed: each only answers what they themselves just wrote or asked for.
SENT_WHEN_UNSUBSCRIBED: tuple[type[Notice], ...] = (FlowReply, DataExport)


def _why(notice: Notice, program_name: str) -> str:
    if isinstance(notice, REPLY_NOTICES):
        return f"You get this because you wrote to {program_name}."
    return f"You get this because you take part in {program_name}."


def _email_of(
    session: Session, notice: Notice, message: OutboxMessage, person: Person | None, settings: Settings, now: datetime, base: dict[str, Any]
) -> Rendered:
    """The email of each kind of notice; kinds about a person's own dialog, pairing or sign-up need the person on file."""
    match notice:
        case FlowPrompt() if person is not None:
            return _flow_prompt(session, notice, message, person, settings, now, base)
        case FlowReply() if person is not None:
            return _flow_reply(session, notice, person, settings, now, base)
        case notices.Pairing() if person is not None:
            return _pairing(session, notice, person, settings, now, base)
        case PairingCancelled() if person is not None:
            return _pairing_cancelled(session, notice, person, settings, now, base)
        case notices.RoundCancelled() if person is not None:
            return _round_cancelled(session, notice, person, settings, now, base)
        case RoundAnnouncement() | SignupReply() if person is not None:
            return _round_signup(notice, person, settings, base)
        case PassedOn():
            return _passed_on(notice, base)
        case notices.HeldReply():
            return _held_reply(notice, base)
        case _:
            return _generic(notice, base)


def render_notice(session: Session, *, message: OutboxMessage, settings: Settings, now: datetime) -> Rendered:
    """The email an outbox message becomes (or why it should not be sent); links are built from today's settings.

    Raises `NoticeError` when the message holds no notice that can be read (the sender fails the message for good).
    """
    notice = notice_of(message)
    person = session.get(Person, message.person_id) if message.person_id is not None else None
    if person is not None and person.unsubscribed_at is not None and not isinstance(notice, SENT_WHEN_UNSUBSCRIBED):
        return Rendered(skip="unsubscribed")
    if person is not None and person.email_failing_at is not None and message.recipient.lower() == person.email.lower():
        # A bounce said this address can't take mail: sending again only bounces again. The admins were told when it
        # bounced (and the person on Slack); the mark lifts as soon as the person writes in from it.
        return Rendered(skip=f"address failing since {person.email_failing_at:%Y-%m-%d}: {person.email_failure or 'bounced'}")
    name = person.name if person is not None else notice.person_name
    program_name = program_name_of(session, notice) or settings.program_name
    unsubscribe_url = None
    if person is not None:
        token = tokens.make_unsubscribe_token(settings.token_secret, person_id=person.id)
        unsubscribe_url = f"{settings.public_base_url.rstrip('/')}/email/unsubscribe/{token}"
    base = {"first_name": _first_name(name), "program_name": program_name, "unsubscribe_url": unsubscribe_url, "why": _why(notice, program_name)}
    rendered = _email_of(session, notice, message, person, settings, now, base)
    if isinstance(notice, DataExport) and notice.data is not None:  # the person's own data, asked for by them
        data = json.dumps(notice.data, indent=2, ensure_ascii=False).encode("utf-8")
        rendered.attachments.append(("mentorbot-my-data.json", data, {}))
    rendered.unsubscribe_url = unsubscribe_url
    rendered.sender_name = program_name
    rendered.to_name = name
    rendered.auto_submitted = "auto-replied" if isinstance(notice, REPLY_NOTICES) else "auto-generated"
    return rendered


def program_of_notice(session: Session, notice: Notice) -> Program | None:
    """The program a notice belongs to, found through its program, term, round or pairing."""
    refs = notice.refs()
    if refs.program_id:
        return session.get(Program, refs.program_id)
    kind, _, number = (refs.context or "").partition(":")
    ids = {"term": refs.term_id, "round": refs.round_id, "pairing": refs.pairing_id}
    if kind in ids and number.split(":")[0].isdecimal():
        ids[kind] = ids[kind] or int(number.split(":")[0])
    term_id = ids["term"]
    if not term_id and ids["pairing"]:
        pairing = session.get(Pairing, int(ids["pairing"]))
        ids["round"] = ids["round"] or (pairing.round_id if pairing is not None else None)
    if not term_id and ids["round"]:
        round_ = session.get(Round, int(ids["round"]))
        term_id = round_.term_id if round_ is not None else None
    term = session.get(Term, int(term_id)) if term_id else None
    return session.get(Program, term.program_id) if term is not None else None


def program_name_of(session: Session, notice: Notice) -> str | None:
    """The program a notice belongs to (named in it, or found through its term, round or pairing), so its email speaks for that program."""
    if notice.refs().program_name:
        return notice.refs().program_name
    program = program_of_notice(session, notice)
    return program.name if program is not None else None


class _Mailbox(NamedTuple):
    """A name and address for a header, not yet parsed into an `Address` (which costs a parse of the address)."""

    name: str
    addr: str


def _reply_to(rendered: Rendered, *, settings: Settings, person: Person | None, now: datetime, sender_name: str) -> Address | _Mailbox:
    """Where answers go: the rendered email's own Reply-To, else the person's reply address (a signed token)."""
    if rendered.reply_to is not None:
        return rendered.reply_to
    assert person is not None
    token = tokens.make_reply_token(
        settings.token_secret, person_id=person.id, flow=rendered.reply_flow, context=rendered.reply_context if rendered.reply_flow or rendered.reply_context.startswith("round:") else "",
        now=now, valid_days=settings.email_reply_token_days,
    )  # fmt: skip
    return _Mailbox(sender_name, tokens.reply_address(token, settings.reply_domain))


def build_mime(message: OutboxMessage, rendered: Rendered, *, settings: Settings, person: Person | None, now: datetime) -> EmailMessage:
    """The MIME message: multipart/alternative text+HTML (inside multipart/mixed with the .ics when there is one)."""
    mail = EmailMessage()
    domain = mail_domain(settings)
    mail["Message-ID"] = message_id_for(message.idempotency_key, domain, settings.token_secret)
    mail["Date"] = format_datetime(now)
    sender_name = rendered.sender_name or settings.program_name
    mail["From"] = Address(sender_name, addr_spec=settings.mail_from)
    to_name = person.name if person is not None else rendered.to_name
    mail["To"] = Address(to_name, addr_spec=message.recipient)
    mail["Subject"] = rendered.subject
    if rendered.reply_to is not None or person is not None:
        reply_to = _reply_to(rendered, settings=settings, person=person, now=now, sender_name=sender_name)
        mail["Reply-To"] = reply_to if isinstance(reply_to, Address) else Address(reply_to.name, addr_spec=reply_to.addr)
    if rendered.in_reply_to:
        mail["In-Reply-To"] = rendered.in_reply_to
        mail["References"] = " ".join(dict.fromkeys([*rendered.references, rendered.in_reply_to]))
    unsubscribe_url = rendered.unsubscribe_url
    if unsubscribe_url:
        mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 3834: vacation responders must not answer either kind, so they can't pose as replies.
    mail["Auto-Submitted"] = rendered.auto_submitted
    # Exchange and Outlook ignore Auto-Submitted; this stops their out-of-office and auto-reply answers.
    mail["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    mail["X-Mentorbot-Purpose"] = message.purpose
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    for filename, data, params in rendered.attachments:
        if filename.endswith(".ics"):
            # Outlook shows an invitation (Accept / Decline) only for a text/calendar alternative of the body; the
            # attached copy below is what Gmail and Apple Mail read. Both carry the same METHOD.
            mail.add_alternative(data, maintype="text", subtype="calendar", params=params)
    for filename, data, params in rendered.attachments:
        maintype, subtype = ("application", "json") if filename.endswith(".json") else ("text", "calendar")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename, params=params)
    return mail


# --- the wire bytes, composed directly -------------------------------------------------------------
#
# `build_mime(...).as_bytes()` parses every header through the email package's header registry and re-encodes every
# part in pure Python; for a pairing notice that is most of the cost of an email. `wire_bytes` writes the same MIME
# tree (same headers, same parts, same content types and transfer encodings but for the HTML's quoted-printable,
# which comes from binascii) with plain string work for the common case, and hands every header it can't write
# trivially (non-ASCII names, long or odd values) to the same policy `as_bytes` used.

WIRE_POLICY = email_policy.SMTP.clone(max_line_length=998)  # long headers (List-Unsubscribe) stay on one line
_BODY_WIDTH = 78  # the email package's default policy, which `set_content` uses to choose a transfer encoding
_PLAIN_HEADER = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9'\-]| (?=[A-Za-z0-9]))*")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*")
_PLAIN_PARAM = re.compile(r"[A-Za-z0-9._\-]+")


def _header(name: str, value: Any) -> bytes:
    if isinstance(value, _Mailbox):
        if value.name and _PLAIN_NAME.fullmatch(value.name) and _PLAIN_ADDRESS.fullmatch(value.addr):
            return f"{name}: {value.name} <{value.addr}>\r\n".encode("ascii")
        value = Address(value.name, addr_spec=value.addr)
    elif isinstance(value, str) and _PLAIN_HEADER.fullmatch(value) and "=?" not in value and len(name) + len(value) < 990:
        return f"{name}: {value}\r\n".encode("ascii")
    return WIRE_POLICY.fold_binary(name, WIRE_POLICY.header_store_parse(name, value)[1])


def _text_part(text: str, subtype: str) -> bytes:
    """A text part as `set_content` would choose it: 7bit or 8bit when every line fits, else quoted-printable."""
    body = text.encode("utf-8")
    lines = body.splitlines()
    if max(map(len, lines), default=0) <= _BODY_WIDTH:
        cte = "7bit" if body.isascii() else "8bit"
        data = b"\r\n".join(lines) + b"\r\n"
    else:
        cte = "quoted-printable"
        data = binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True).replace(b"\n", b"\r\n")
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}\r\n\r\n'.encode("ascii") + data


def _base64_lines(data: bytes) -> bytes:
    return b"".join(binascii.b2a_base64(data[at : at + 57], newline=False) + b"\r\n" for at in range(0, len(data), 57))


def _params(params: Mapping[str, str]) -> str | None:
    if not all(_PLAIN_PARAM.fullmatch(str(key)) and _PLAIN_PARAM.fullmatch(str(value)) for key, value in params.items()):
        return None
    return "".join(f'; {key}="{value}"' for key, value in params.items())


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    while True:  # a boundary that no part contains (a clash is all but impossible, but cheap to rule out)
        boundary = f"==============={secrets.randbelow(10**19):019d}=="
        if not any(boundary.encode("ascii") in part for part in parts):
            break
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode("ascii")
    dash = f"--{boundary}\r\n".encode("ascii")
    return head + b"".join(dash + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode("ascii")


def wire_bytes(message: OutboxMessage, rendered: Rendered, *, settings: Settings, person: Person | None, now: datetime) -> tuple[bytes, str]:
    """(the SMTP bytes, Message-ID) of `build_mime(...)`: the same message, composed without the email package's
    per-header parsing (falls back to `build_mime` for attachments it doesn't know)."""
    parts = [_text_part(rendered.text, "plain"), _text_part(rendered.html, "html")]
    attachments = []
    for filename, data, params in rendered.attachments:
        plain = _params(params)
        if plain is None or not _PLAIN_PARAM.fullmatch(filename) or not filename.endswith((".ics", ".json")):
            mime = build_mime(message, rendered, settings=settings, person=person, now=now)
            return mime.as_bytes(policy=WIRE_POLICY), str(mime["Message-ID"])
        content_type = "application/json" if filename.endswith(".json") else f"text/calendar{plain}"
        encoded = _base64_lines(data)
        if filename.endswith(".ics"):  # Outlook's invitation: the same calendar as an alternative of the body
            parts.append(f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode("ascii") + encoded)
        attachments.append(
            f'Content-Type: {content_type}{plain if filename.endswith(".json") else ""}\r\nContent-Transfer-Encoding: base64\r\n'
            f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'.encode("ascii") + encoded
        )
    body = _multipart("alternative", parts)
    if attachments:
        body = _multipart("mixed", [body, *attachments])
    domain = mail_domain(settings)
    message_id = message_id_for(message.idempotency_key, domain, settings.token_secret)
    sender_name = rendered.sender_name or settings.program_name
    headers = [
        ("Message-ID", message_id), ("Date", format_datetime(now)), ("From", _Mailbox(sender_name, settings.mail_from)),
        ("To", _Mailbox(person.name if person is not None else rendered.to_name, message.recipient)), ("Subject", rendered.subject),
    ]  # fmt: skip
    headers += [("Reply-To", _reply_to(rendered, settings=settings, person=person, now=now, sender_name=sender_name))] if rendered.reply_to is not None or person is not None else []
    if rendered.in_reply_to:
        headers += [("In-Reply-To", rendered.in_reply_to), ("References", " ".join(dict.fromkeys([*rendered.references, rendered.in_reply_to])))]
    if rendered.unsubscribe_url:
        headers += [("List-Unsubscribe", f"<{rendered.unsubscribe_url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    headers += [
        ("Auto-Submitted", rendered.auto_submitted), ("X-Auto-Response-Suppress", "OOF, AutoReply"), ("X-Mentorbot-Purpose", message.purpose),
        ("MIME-Version", "1.0"),
    ]  # fmt: skip
    return b"".join(_header(name, value) for name, value in headers) + body, message_id
