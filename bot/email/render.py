"""Turning an outbox notice into an email: subject, text and HTML from Jinja2 templates, headers, and the invite."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from bot.email import tokens
from bot.email.ics import session_invite
from bot.email.questions import DialogView, NumberedQuestion, dialog_view_in
from bot.flows import get_flow
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


def _render_pair(template: str, **values: Any) -> tuple[str, str]:
    text = _env.get_template(f"{template}.txt").render(**values)
    html = _env.get_template(f"{template}.html").render(**values)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html


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
        questions=list(view.pending), errors=errors, example_for=_example_for,
    )  # fmt: skip
    thread = notice.get("thread") or {}
    return Rendered(
        subject=_reply_subject(notice.get("subject", "")), text=text, html=html, reply_flow=view.flow.key, reply_context=view.context,
        in_reply_to=thread.get("in_reply_to"), references=list(thread.get("references") or []),
    )  # fmt: skip


def _guide(notice: dict[str, Any], person: Person, settings: Settings, zone: str) -> tuple[str, str] | None:
    """The conversation guide (bot.guides) for this reader, as text and HTML; None if it can't be rendered."""
    try:
        from bot.guides import GuideContext, Mentee, Mentor, SessionTime, render_email
    except ImportError:  # pragma: no cover - guides ship with mentorbot
        return None
    try:
        partner = str(notice.get("partner_name") or "your partner")
        topic = notice.get("topic")
        mentor_name, mentee_name = (partner, person.name) if notice.get("role") == "mentee" else (person.name, partner)
        times = tuple(
            SessionTime(number, datetime.fromisoformat(start), datetime.fromisoformat(end))
            for number, (start, end) in enumerate(notice.get("proposed") or [], start=1)
        )
        ctx = GuideContext(
            program_name=settings.program_name, mentor=Mentor(mentor_name, offers=(topic,) if topic else ()),
            mentees=(Mentee(mentee_name, asked_for=(topic,) if topic else ()),), topic=topic,
            sessions=int(notice.get("sessions") or max(len(times), 1)), reasons=tuple(notice.get("reasons") or ()), times=times,
            timezone=zone, session_minutes=settings.session_minutes, custom_message=notice.get("custom_message"),
            guide_url=notice.get("guide_url") if str(notice.get("guide_url") or "").startswith(("http://", "https://")) else None,
        )  # fmt: skip
        _subject, text, html = render_email(ctx)
        return text, html
    except Exception:  # the pairing must still go out; the guide link stays in the email
        logger.exception("rendering the conversation guide for pairing %s failed", notice.get("pairing_id"))
        return None


def _pairing(session: Session, message: OutboxMessage, person: Person, settings: Settings, now: datetime, base: dict[str, Any]) -> Rendered:
    notice = message.body
    zone = ZoneInfo(person.timezone or settings.default_timezone)
    proposed = [pair for pair in notice.get("proposed") or [] if len(pair) == 2]
    times = [
        f"{datetime.fromisoformat(start).astimezone(zone):%a %b %-d, %H:%M}-{datetime.fromisoformat(end).astimezone(zone):%H:%M}"
        for start, end in proposed
    ]
    guide = _guide(notice, person, settings, str(zone))
    subject = f"You're matched with {notice.get('partner_name', 'a colleague')}" + (f" on {notice['topic']}" if notice.get("topic") else "")
    text, html = _render_pair(
        "pairing", **base, subject=subject, n=_Obj(notice), times=times, zone=str(zone),
        guide_text=guide[0] if guide else "", guide_html=guide[1] if guide else "",
    )  # fmt: skip
    rendered = Rendered(subject=subject, text=text, html=html)
    if proposed:
        names = sorted([person.name, notice.get("partner_name", "")])
        ics = session_invite(
            proposed=proposed, uid_base=f"mentorbot-pairing-{notice.get('pairing_id')}", uid_domain=mail_domain(settings),
            summary=f"Mentoring: {names[0]} & {names[1]}" + (f" ({notice['topic']})" if notice.get("topic") else ""),
            description="Proposed mentoring session." + (f" Guide: {notice['guide_url']}" if notice.get("guide_url") else ""),
            organizer=settings.mail_from, attendees=[(person.name, person.email), (notice.get("partner_name", ""), notice.get("partner_email", ""))],
            now=now,
        )  # fmt: skip
        rendered.attachments.append(("mentoring.ics", ics, {"method": "PUBLISH"}))
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
        if notice.get("kind") == "interview":
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


def render_notice(session: Session, *, message: OutboxMessage, settings: Settings, now: datetime) -> Rendered:
    """The email an outbox message becomes (or why it should not be sent)."""
    person = session.get(Person, message.person_id) if message.person_id is not None else None
    if person is not None and person.unsubscribed_at is not None and message.body.get("notice") not in ("flow_reply", "data_export"):
        return Rendered(skip="unsubscribed")
    name = person.name if person is not None else str(message.body.get("person_name") or "")
    program_name = program_name_of(session, message.body) or settings.program_name
    unsubscribe_url = None
    if person is not None:
        token = tokens.make_unsubscribe_token(settings.token_secret, person_id=person.id)
        unsubscribe_url = f"{settings.public_base_url.rstrip('/')}/email/unsubscribe/{token}"
    base = {"first_name": _first_name(name), "program_name": program_name, "unsubscribe_url": unsubscribe_url}
    kind = message.body.get("notice")
    if person is not None and kind == "flow_prompt":
        rendered = _flow_prompt(session, message, person, settings, now, base)
    elif person is not None and kind == "flow_reply":
        rendered = _flow_reply(session, message, person, settings, now, base)
    elif person is not None and kind == "pairing":
        rendered = _pairing(session, message, person, settings, now, base)
    elif person is not None and kind in ("round.announce", "signup.reply"):
        rendered = _round_signup(message, person, settings, base)
    else:
        rendered = _generic(message, base)
    if kind == "data_export" and message.body.get("data") is not None:  # the person's own data, asked for by them
        data = json.dumps(message.body["data"], indent=2, ensure_ascii=False).encode("utf-8")
        rendered.attachments.append(("mentorbot-my-data.json", data, {}))
    rendered.unsubscribe_url = unsubscribe_url
    rendered.sender_name = program_name
    return rendered


def program_name_of(session: Session, notice: dict[str, Any]) -> str | None:
    """The program a notice belongs to (named in it, or found through its term, round or pairing), so its email speaks for that program."""
    if notice.get("program_name"):
        return str(notice["program_name"])
    if notice.get("program_id"):
        program = session.get(Program, int(notice["program_id"]))
        return program.name if program is not None else None
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
    program = session.get(Program, term.program_id) if term is not None else None
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
    if person is not None:
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
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders must not answer, so they can't pose as replies
    mail["X-Mentorbot-Purpose"] = message.purpose
    mail.set_content(rendered.text)
    mail.add_alternative(rendered.html, subtype="html")
    for filename, data, params in rendered.attachments:
        maintype, subtype = ("application", "json") if filename.endswith(".json") else ("text", "calendar")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename, params=params)
    return mail
