"""Turning an outbox notice into an email: subject, text and HTML from Jinja2 templates, headers, and the invite."""

from __future__ import annotations

import json
import logging
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlmodel import Session

from bot.email import tokens
from bot.email.ics import Party, session_invite
from bot.email.questions import DialogView, NumberedQuestion, dialog_view_in
from bot.flows import get_flow
from bot.guides import GuideContext, Mentee, Mentor, SessionTime, render_email_parts
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


def _intro(view: DialogView, notice: dict[str, Any]) -> str:
    intro = view.flow.intro
    if view.flow.key == "opt_in" and notice.get("term_name"):
        intro = f"A new mentoring term ({notice['term_name']}) is opening. Would you like to take part?"
    if view.flow.key == "approval" and notice.get("mentor_name"):
        mentees = notice.get("capacity")
        intro = (
            f"{notice['mentor_name']} ({notice.get('mentor_email', '')}) has offered to mentor"
            + (f" {mentees} mentee{'s' if mentees != 1 else ''}" if mentees is not None else "")
            + " this term and needs your approval."
        )
    return intro


def _subject_for(view: DialogView, notice: dict[str, Any]) -> str:
    if view.flow.key == "opt_in" and notice.get("term_name"):
        return f"Mentoring this term: {notice['term_name']}"
    if view.flow.key == "approval" and notice.get("mentor_name"):
        return f"Please approve {notice['mentor_name']} as a mentor"
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


def _flow_prompt(session: Session, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    notice = message.body
    view = dialog_view_in(session, person_id=person.id, flow=notice["flow"], context=notice["context"], now=now)
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


def _flow_reply(session: Session, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    notice = message.body
    view = dialog_view_in(session, person_id=person.id, flow=notice["flow"], context=notice["context"], now=now)
    done_message = (notice.get("done_message") or view.flow.done_message) if view.complete and notice.get("completed") else ""
    next_intro = ""
    if not view.pending and notice.get("next_flow"):
        following = dialog_view_in(session, person_id=person.id, flow=notice["next_flow"], context=notice["next_context"], now=now)
        if following.pending:
            view, next_intro = following, following.flow.intro
            done_message = get_flow(notice["flow"]).done_message if notice.get("completed") else done_message
    errors = {key: text for key, text in (notice.get("errors") or {}).items()}
    text, html = _render_pair(
        "flow_reply", **base, subject=notice.get("subject", ""), understood=notice.get("understood") or [],
        unplaced=notice.get("unplaced") or [], done_message=done_message, next_intro=next_intro,
        proposed=notice.get("proposed") or [], doubts=notice.get("doubts") or [], passed_on=notice.get("passed_on"),
        dropped=notice.get("dropped") or [],
        questions=list(view.pending), errors=errors, example_for=_example_for,
    )  # fmt: skip
    thread = notice.get("thread") or {}
    return Rendered(
        subject=_reply_subject(notice.get("subject", "")), text=text, html=html, reply_flow=view.flow.key, reply_context=view.context,
        in_reply_to=thread.get("in_reply_to"), references=list(thread.get("references") or []),
    )  # fmt: skip


def _guide_url(notice: dict[str, Any], settings: Settings) -> str | None:
    """The guide's address at today's PUBLIC_BASE_URL (notices queued earlier carry the address of their day)."""
    stored = str(notice.get("guide_url") or "")
    if not stored:
        return None
    return rebase_link(stored, settings.public_base_url)


def _guide_context_from_storage(
    session: Session, notice: dict[str, Any], person: Person, settings: Settings, program_name: str, guide_url: str | None
) -> tuple[GuideContext, Mapping[str, str] | None] | None:
    """The guide as the rounds build it (profiles, group, program overrides), or None when the pairing is not on file."""
    pairing = session.get(Pairing, int(notice["pairing_id"])) if str(notice.get("pairing_id") or "").isdecimal() else None
    round_ = session.get(Round, pairing.round_id) if pairing is not None else None
    if pairing is None or round_ is None or person.id not in (pairing.mentor_id, pairing.mentee_id):
        return None
    ctx = guide_context(
        session, pairing=pairing, round_=round_, reader=person, base_url=settings.public_base_url, session_minutes=settings.session_minutes,
    )  # fmt: skip
    # The link at today's base address; the program name the rest of the email speaks with.
    return replace(ctx, guide_url=guide_url, program_name=program_name), overrides_of(program_of(session, round_))


def _guide(session: Session, notice: dict[str, Any], person: Person, settings: Settings, zone: str, program_name: str, guide_url: str | None) -> tuple[str, Markup] | None:
    """The conversation guide (bot.guides) for this reader, as text and an HTML fragment; None if it can't be rendered."""
    try:
        found = _guide_context_from_storage(session, notice, person, settings, program_name, guide_url)
        if found is not None:
            ctx, overrides = found
        else:  # a notice without its pairing on file: the guide from what the notice says
            partner = str(notice.get("partner_name") or "your partner")
            topic = notice.get("topic")
            mentor_name, mentee_name = (partner, person.name) if notice.get("role") == "mentee" else (person.name, partner)
            times = tuple(
                SessionTime(number, datetime.fromisoformat(start), datetime.fromisoformat(end))
                for number, (start, end) in enumerate(notice.get("proposed") or [], start=1)
            )
            ctx = GuideContext(
                program_name=program_name, mentor=Mentor(mentor_name, offers=(topic,) if topic else ()),
                mentees=(Mentee(mentee_name, asked_for=(topic,) if topic else ()),), topic=topic,
                sessions=int(notice.get("sessions") or max(len(times), 1)), reasons=tuple(notice.get("reasons") or ()), times=times,
                timezone=zone, session_minutes=settings.session_minutes, custom_message=notice.get("custom_message"), guide_url=guide_url,
            )  # fmt: skip
            overrides = None
        text, fragment = render_email_parts(ctx, overrides=overrides)
        # The fragment is our own markup, built with every piece of people's text escaped (bot.guides.render).
        return text, Markup(fragment)
    except Exception:  # the pairing must still go out; the guide link stays in the email
        logger.exception("rendering the conversation guide for pairing %s failed", notice.get("pairing_id"))
        return None


def _organizer(session: Session, notice: dict[str, Any], settings: Settings, program_name: str) -> Party:
    """Who invites: the program's `organizer_email`, else its first admin email, else the From address; named as the program."""
    program = program_of_notice(session, notice)
    program_settings = (program.settings or {}) if program is not None else {}
    address = program_settings.get("organizer_email") or next(iter(program_settings.get("admin_emails") or ()), None) or settings.mail_from
    return Party(program_name, str(address))


def _invite(session: Session, notice: dict[str, Any], person: Person, settings: Settings, now: datetime, program_name: str, *, method: str, guide_url: str | None) -> tuple[str, bytes, dict[str, str]] | None:
    """The .ics for a pairing's sessions (REQUEST, or CANCEL when the pairing is withdrawn); None without session times."""
    proposed = [pair for pair in notice.get("proposed") or [] if len(pair) == 2]
    if not proposed:
        return None
    names = sorted([person.name, str(notice.get("partner_name") or "")])
    ics = session_invite(
        method=method, proposed=proposed, uid_base=f"mentorbot-pairing-{notice.get('pairing_id')}", uid_domain=mail_domain(settings),
        summary=f"{program_name}: {names[0]} & {names[1]}" + (f" ({notice['topic']})" if notice.get("topic") else ""),
        description=("Cancelled mentoring session." if method == "CANCEL" else "Proposed mentoring session.") + (f" Guide: {guide_url}" if guide_url and method != "CANCEL" else ""),
        organizer=_organizer(session, notice, settings, program_name),
        attendees=[Party(person.name, person.email), Party(str(notice.get("partner_name") or ""), str(notice.get("partner_email") or ""))],
        sequence=int(notice.get("ics_sequence") or 0), now=now,
    )  # fmt: skip
    return ("mentoring.ics", ics, {"method": method})


def _pairing(session: Session, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    notice = message.body
    pairing = session.get(Pairing, int(notice["pairing_id"])) if str(notice.get("pairing_id") or "").isdecimal() else None
    if pairing is not None and pairing.status == "cancelled":
        return Rendered(skip=f"pairing {pairing.id} was cancelled before this notice went out")
    zone = ZoneInfo(person.timezone or settings.default_timezone)
    proposed = [pair for pair in notice.get("proposed") or [] if len(pair) == 2]
    times = [
        f"{datetime.fromisoformat(start).astimezone(zone):%a %b %-d, %H:%M}-{datetime.fromisoformat(end).astimezone(zone):%H:%M}"
        for start, end in proposed
    ]
    guide_url = _guide_url(notice, settings)
    guide = _guide(session, notice, person, settings, str(zone), base["program_name"], guide_url)
    subject = f"You're matched with {notice.get('partner_name', 'a colleague')}" + (f" on {notice['topic']}" if notice.get("topic") else "")
    if notice.get("changed"):
        subject = f"Updated: {subject}"
    text, html = _render_pair(
        "pairing", **base, subject=subject, n=_Obj(notice), times=times, zone=str(zone), guide_url=guide_url,
        guide_text=guide[0] if guide else "", guide_html=guide[1] if guide else "",
    )  # fmt: skip
    rendered = Rendered(subject=subject, text=text, html=html)
    invite = _invite(session, notice, person, settings, now, base["program_name"], method="REQUEST", guide_url=guide_url)
    if invite is not None:
        rendered.attachments.append(invite)
    return rendered


def _pairing_cancelled(session: Session, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    """A pairing withdrawn (rematched or cancelled): a short note and a METHOD:CANCEL that takes the sessions off calendars."""
    notice = message.body
    partner = str(notice.get("partner_name") or "your partner")
    subject = f"Cancelled: your mentoring sessions with {partner}"
    body = str(notice.get("text") or f"Your mentoring pairing with {partner} has been cancelled, and its sessions with it.")
    if notice.get("proposed"):
        body += "\n\nThe attached calendar update (mentoring.ics) removes the sessions from your calendar."
    text, html = _render_pair("notice", **base, subject=subject, text=body)
    rendered = Rendered(subject=subject, text=text, html=html)
    cancel = _invite(session, notice, person, settings, now, base["program_name"], method="CANCEL", guide_url=None)
    if cancel is not None:
        rendered.attachments.append(cancel)
    return rendered


class _Obj(dict):
    """A notice dict whose keys read as attributes in templates, missing ones as None."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def program_thread_root(*, program_id: int, person_id: int, settings: Settings) -> str:
    """The Message-ID every email of one program to one person refers to, so each program reads as its own thread."""
    return message_id_for(f"program-thread:{program_id}:{person_id}", mail_domain(settings), settings.token_secret)


def _round_signup(message: OutboxMessage, person: Person, settings: Settings, base: dict[str, Any]) -> Rendered:
    """A round's announcement (numbered topics; a reply joins) or the answer to such a reply, in the program's thread."""
    notice = message.body
    program_name = str(notice.get("program_name") or settings.program_name)
    base = {**base, "program_name": program_name}
    if notice.get("notice") == "round.announce":
        if kind_of(str(notice.get("kind"))).asks_interest:
            subject = f"{program_name}: informational interviews"
            how = "Reply with the position or site you'd like to learn about (for example \"assistant principal\" or a school's name)."
            choices = [str(c) for c in notice.get("choices") or ()]
            lines = ["People in the program work as or at: " + ", ".join(choices)] if choices else []
        else:
            subject = f"{program_name}: join a topic event"
            how = "Reply with a topic's number or name to join (for example \"2\" or \"join assessment\"); reply \"leave 2\" to change your mind before matching."
            lines = []
        body = "\n\n".join([str(notice.get("text") or ""), *lines, how])
    else:
        subject = _reply_subject(str(notice.get("subject") or "your reply"))
        body = str(notice.get("text") or "")
    text, html = _render_pair("notice", **base, subject=subject, text=body)
    rendered = Rendered(subject=subject, text=text, html=html, reply_context=f"round:{notice['round_id']}" if notice.get("round_id") else "")
    thread = notice.get("thread") or {}
    root = program_thread_root(program_id=int(notice.get("program_id") or 0), person_id=person.id, settings=settings)
    rendered.in_reply_to = thread.get("in_reply_to") or root
    rendered.references = [root, *[r for r in thread.get("references") or () if r != root]]
    return rendered


def _approval_decided(notice: dict[str, Any]) -> tuple[str, str]:
    approval, by, capacity = notice.get("approval"), notice.get("by") or "your principal", notice.get("capacity")
    if approval == "approved":
        return "You're approved to mentor", f"{by} approved you to mentor {capacity} mentee{'s' if capacity != 1 else ''} this term. We'll let you know when you're matched."
    return "About mentoring this term", f"{by} did not approve mentoring for you this term. Thank you for offering; you can opt in again next term."


def _generic(message: OutboxMessage, base: dict[str, Any]) -> Rendered:
    notice = message.body
    kind = str(notice.get("notice", "notice"))
    if kind == "approval_decided":
        subject, text_body = _approval_decided(notice)
    else:
        subject = str(notice.get("subject") or {"reminder": "Mentoring session reminder", "escalation": "Your mentoring pair needs a hand"}.get(kind.split(".")[0], "A note about mentoring"))
        if kind.startswith("touchpoint"):
            subject = "Between mentoring sessions"
        text_body = str(notice.get("text") or "There is news about your mentoring; please check with your program.")
    text, html = _render_pair("notice", **base, subject=subject, text=text_body)
    return Rendered(subject=subject, text=text, html=html)


def _passed_on(message: OutboxMessage, base: dict[str, Any]) -> Rendered:
    """The answer to a reply that went to a person: who has it, in the same thread."""
    notice = message.body
    subject = _reply_subject(str(notice.get("subject") or ""))
    text, html = _render_pair("notice", **base, subject=subject, text=str(notice.get("text") or ""))
    thread = notice.get("thread") or {}
    return Rendered(subject=subject, text=text, html=html, in_reply_to=thread.get("in_reply_to"), references=list(thread.get("references") or []))


def _held_reply(message: OutboxMessage, base: dict[str, Any]) -> Rendered:
    """A teacher's reply the bot could not place, for an admin; answering the email answers the teacher."""
    notice = _Obj(message.body)
    subject = f"{notice.from_name or 'A teacher'} wrote something for a person to read" + (f": {notice.subject}" if notice.subject else "")
    text, html = _render_pair("held_reply", **base, subject=subject, n=notice)
    rendered = Rendered(subject=" ".join(subject.split())[:300], text=text, html=html)  # a header holds one line
    try:
        rendered.reply_to = Address(str(notice.from_name or ""), addr_spec=str(notice.from_email or ""))
    except (ValueError, IndexError, TypeError):  # an address a header cannot carry: the email names it in the text
        logger.warning("held reply %s: the teacher's address can't be a Reply-To", notice.held_reply_id)
    return rendered
# Notices that answer something a person sent (RFC 3834 "auto-replied"); every other notice is "auto-generated".
REPLY_NOTICES = frozenset({"flow_reply", "signup.reply", "data_export", "passed_on"})


def _why(kind: str, program_name: str) -> str:
    if kind in REPLY_NOTICES:
        return f"You get this because you wrote to {program_name}."
    return f"You get this because you take part in {program_name}."


def render_notice(session: Session, *, message: OutboxMessage, settings: Settings, now: datetime) -> Rendered:
    """The email an outbox message becomes (or why it should not be sent); links are built from today's settings."""
    person = session.get(Person, message.person_id) if message.person_id is not None else None
    if person is not None and person.unsubscribed_at is not None and message.body.get("notice") not in ("flow_reply", "data_export"):
        return Rendered(skip="unsubscribed")
    if person is not None and person.email_failing_at is not None and message.recipient.lower() == person.email.lower():
        # A bounce said this address can't take mail: sending again only bounces again. The admins were told when it
        # bounced (and the person on Slack); the mark lifts as soon as the person writes in from it.
        return Rendered(skip=f"address failing since {person.email_failing_at:%Y-%m-%d}: {person.email_failure or 'bounced'}")
    name = person.name if person is not None else str(message.body.get("person_name") or "")
    program_name = program_name_of(session, message.body) or settings.program_name
    unsubscribe_url = None
    if person is not None:
        token = tokens.make_unsubscribe_token(settings.token_secret, person_id=person.id)
        unsubscribe_url = f"{settings.public_base_url.rstrip('/')}/email/unsubscribe/{token}"
    kind = str(message.body.get("notice") or "")
    base = {"first_name": _first_name(name), "program_name": program_name, "unsubscribe_url": unsubscribe_url, "why": _why(kind, program_name)}
    if person is not None and kind == "flow_prompt":
        rendered = _flow_prompt(session, message, person, settings, now, base)
    elif person is not None and kind == "flow_reply":
        rendered = _flow_reply(session, message, person, settings, now, base)
    elif person is not None and kind == "pairing":
        rendered = _pairing(session, message, person, settings, now, base)
    elif person is not None and kind == "pairing.cancelled":
        rendered = _pairing_cancelled(session, message, person, settings, now, base)
    elif person is not None and kind in ("round.announce", "signup.reply"):
        rendered = _round_signup(message, person, settings, base)
    elif kind == "passed_on":
        rendered = _passed_on(message, base)
    elif kind == "held_reply":
        rendered = _held_reply(message, base)
    else:
        rendered = _generic(message, base)
    if kind == "data_export" and message.body.get("data") is not None:  # the person's own data, asked for by them
        data = json.dumps(message.body["data"], indent=2, ensure_ascii=False).encode("utf-8")
        rendered.attachments.append(("mentorbot-my-data.json", data, {}))
    rendered.unsubscribe_url = unsubscribe_url
    rendered.sender_name = program_name
    rendered.auto_submitted = "auto-replied" if kind in REPLY_NOTICES else "auto-generated"
    return rendered


def program_of_notice(session: Session, notice: dict[str, Any]) -> Program | None:
    """The program a notice belongs to, found through its program, term, round or pairing."""
    if notice.get("program_id"):
        return session.get(Program, int(notice["program_id"]))
    kind, _, number = str(notice.get("context") or "").partition(":")
    ids = {"term": notice.get("term_id"), "round": notice.get("round_id"), "pairing": notice.get("pairing_id")}
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


def program_name_of(session: Session, notice: dict[str, Any]) -> str | None:
    """The program a notice belongs to (named in it, or found through its term, round or pairing), so its email speaks for that program."""
    if notice.get("program_name"):
        return str(notice["program_name"])
    program = program_of_notice(session, notice)
    return program.name if program is not None else None


def build_mime(message: OutboxMessage, rendered: Rendered, *, settings: Settings, person: Person | None, now: datetime) -> EmailMessage:
    """The MIME message: multipart/alternative text+HTML (inside multipart/mixed with the .ics when there is one)."""
    mail = EmailMessage()
    domain = mail_domain(settings)
    mail["Message-ID"] = message_id_for(message.idempotency_key, domain, settings.token_secret)
    mail["Date"] = format_datetime(now)
    sender_name = rendered.sender_name or settings.program_name
    mail["From"] = Address(sender_name, addr_spec=settings.mail_from)
    to_name = person.name if person is not None else str(message.body.get("person_name") or "")
    mail["To"] = Address(to_name, addr_spec=message.recipient)
    mail["Subject"] = rendered.subject
    if rendered.reply_to is not None:
        mail["Reply-To"] = rendered.reply_to
    elif person is not None:
        token = tokens.make_reply_token(
            settings.token_secret, person_id=person.id, flow=rendered.reply_flow, context=rendered.reply_context if rendered.reply_flow or rendered.reply_context.startswith("round:") else "",
            now=now, valid_days=settings.email_reply_token_days,
        )  # fmt: skip
        mail["Reply-To"] = Address(sender_name, addr_spec=tokens.reply_address(token, settings.reply_domain))
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
