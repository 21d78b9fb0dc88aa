"""Replies a person must read: a question the bot cannot answer, a comment beside a check-in answer, words that
answer nothing asked. Each is kept (`HeldReply`), once per inbound reply, for the program's admins: listed on the
admin page "Replies to read" and sent to every admin on their own channel (email with Reply-To set to the teacher,
so answering is one click; Slack as a direct message). The sender is told who has it.

Who hears: the admins the program names (`ProgramSpec.admins`, by email or Slack ID); a program that names none
falls back to SLACK_ADMIN_IDS, the people who run mentorbot. With nobody to tell, the reply is still held and
listed, so nothing a teacher writes goes unseen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot import notices
from bot.outbox import enqueue
from bot.programs.store import spec_of
from bot.settings import Settings
from storage.models import Enrollment, HeldReply, Pairing, Person, Program, Round, Term

REASON_QUESTION = "a question for a person"
REASON_CHECK_IN_COMMENT = "check-in comment"
REASON_NOTHING_ASKED = "answered nothing asked"
NOTICE = "held_reply"  # the outbox purpose of the notices to admins
PAGE_PATH = "/admin/replies"


@dataclass(frozen=True)
class HeldReplyResult:
    """What holding one reply did, and the sentence the sender should read."""

    held_reply_id: int
    created: bool  # False when this reply was held before (a redelivered email)
    notified: tuple[str, ...]  # "email:<address>" and "slack:<user ID>", in the order they were told
    told: str


@dataclass(frozen=True)
class Concerns:
    """The program, round and pairing a reply is about, and how an admin reads that."""

    program: Program | None
    round_id: int | None
    pairing_id: int | None
    label: str


def _number_after(context: str, kind: str) -> int | None:
    parts = context.split(":")
    if len(parts) >= 2 and parts[0] == kind and parts[1].isdecimal():
        return int(parts[1])
    return None


def concerns(session: Session, *, person: Person, context: str, settings: Settings) -> Concerns:
    """What a reply in dialog `context` ("pairing:12", "round:5", "term:3", ...) is about; the person's latest
    term (or PROGRAM_NAME's program) when the context names nothing."""
    pairing = session.get(Pairing, pid) if (pid := _number_after(context, "pairing")) is not None else None
    round_ = session.get(Round, pairing.round_id if pairing else _number_after(context, "round") or 0)
    term = session.get(Term, round_.term_id if round_ else _number_after(context, "term") or 0)
    if term is None:
        term = session.exec(
            select(Term).join(Enrollment, col(Enrollment.term_id) == Term.id).where(Enrollment.person_id == person.id).order_by(col(Term.id).desc())
        ).first()  # fmt: skip
    program = session.get(Program, term.program_id) if term else None
    if program is None:
        program = session.exec(select(Program).where(Program.name == settings.program_name)).first()
    if pairing is not None:
        mentor, mentee = session.get(Person, pairing.mentor_id), session.get(Person, pairing.mentee_id)
        label = f"the pairing of {mentor.name} (mentor) and {mentee.name} (mentee), round {pairing.round_id}"
        label += f" on {pairing.topic}" if pairing.topic else ""
    elif round_ is not None:
        label = f"round {round_.id}" + (f" on {round_.topic}" if round_.topic else "")
    elif term is not None and _number_after(context, "term") is not None:
        label = f"the term {term.name}"
    else:
        label = "no particular pairing or round"
    return Concerns(program, round_.id if round_ else None, pairing.id if pairing else None, label)


def admin_recipients(program: Program | None, settings: Settings) -> list[tuple[str, str]]:
    """(channel, recipient) for each admin who should read a held reply of `program`."""
    found: list[tuple[str, str]] = []
    if program is not None:
        try:
            spec = spec_of(program)
            found = [("email", a) for a in spec.admin_emails] + [("slack", a) for a in spec.admin_slack_ids]
        except ValueError:  # settings a definition refuses: the addresses they list still hear
            found = [("email", str(a).strip().lower()) for a in (program.settings or {}).get("admin_emails") or () if "@" in str(a)]
    return found or [("slack", user) for user in dict.fromkeys(settings.slack_admin_ids)]


def _admin_names(session: Session, recipients: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The names on file of the admins who are also people in mentorbot (by email or Slack ID)."""
    emails = [r for c, r in recipients if c == "email"]
    slack_ids = [r for c, r in recipients if c == "slack"]
    names: dict[tuple[str, str], str] = {}
    if emails:
        for person in session.exec(select(Person).where(sa.func.lower(Person.email).in_(emails))):
            names[("email", person.email.lower())] = person.name
    if slack_ids:
        for person in session.exec(select(Person).where(col(Person.slack_user_id).in_(slack_ids))):
            names[("slack", person.slack_user_id)] = person.name
    return names


def told_sentence(names: Sequence[str]) -> str:
    """What the sender reads: who has their message now."""
    unique = list(dict.fromkeys(n for n in names if n.strip()))
    who = "" if not unique else f" ({unique[0]})" if len(unique) == 1 else f" ({', '.join(unique[:-1])} and {unique[-1]})"
    return f"I've passed your message on to the program coordinators{who}; they'll get back to you."


def _told_for(session: Session, notified: Sequence[str]) -> str:
    """The sentence for a reply held before, from whom it was sent to then."""
    recipients = [(channel, recipient) for channel, _, recipient in (entry.partition(":") for entry in notified)]
    names = _admin_names(session, recipients)
    return told_sentence([names[r] for r in recipients if r in names])


def hold_for_people(
    session: Session,
    *,
    person: Person,
    text: str,
    subject: str,
    reason: str,
    flow: str | None,
    context: str,
    source_key: str,
    now: datetime,
    settings: Settings,
    channel: str = "email",
) -> HeldReplyResult:
    """Keep a reply for the program's admins and tell each of them, exactly once per `source_key`, in the caller's transaction."""
    if len(source_key) > 255:  # the column's width; a digest keeps a long key unique instead of cutting it
        source_key = "sha256:" + hashlib.sha256(source_key.encode()).hexdigest()
    existing = session.exec(select(HeldReply).where(HeldReply.source_key == source_key)).first()
    if existing is not None:
        return HeldReplyResult(existing.id, False, tuple(existing.notified), _told_for(session, existing.notified))
    about = concerns(session, person=person, context=context, settings=settings)
    recipients = admin_recipients(about.program, settings)
    held = HeldReply(
        source_key=source_key, person_id=person.id, program_id=about.program.id if about.program else None,
        round_id=about.round_id, pairing_id=about.pairing_id, flow=flow[:64] if flow else None, context=(context or "")[:64],
        channel=channel[:16], reason=reason[:100], subject=_clean(subject)[:300], text=_clean(text),
        notified=[f"{c}:{r}" for c, r in recipients], status="open", created_at=now,
    )  # fmt: skip
    # A savepoint: a concurrent delivery of the same reply makes this one a re-read, not a failed transaction.
    try:
        with session.begin_nested():
            session.add(held)
    except sa.exc.IntegrityError:
        existing = session.exec(select(HeldReply).where(HeldReply.source_key == source_key)).one()
        return HeldReplyResult(existing.id, False, tuple(existing.notified), _told_for(session, existing.notified))
    names = _admin_names(session, recipients)
    notice = admin_notice(held, person=person, about=about, settings=settings)
    for channel_, recipient in recipients:
        body = notice.addressed_to(names.get((channel_, recipient), "")).to_payload()  # the reader's name, for the greeting
        enqueue(
            session, idempotency_key=f"held_reply:{held.id}:{channel_}:{recipient}"[:255], channel=channel_, purpose=NOTICE,
            recipient=recipient, body=body, now=now,
        )  # fmt: skip
    return HeldReplyResult(held.id, True, tuple(held.notified), told_sentence([names[r] for r in recipients if r in names]))


def _clean(text: str) -> str:
    # NUL never means anything in a person's text, and PostgreSQL cannot store it.
    return str(text or "").replace("\x00", "")


def admin_notice(held: HeldReply, *, person: Person, about: Concerns, settings: Settings) -> notices.HeldReply:
    """The channel-neutral notice an admin gets: the words, who wrote them and how to reach them, what they concern."""
    return notices.HeldReply(
        held_reply_id=held.id, reason=held.reason, text=held.text, subject=held.subject,
        from_name=person.name, from_email=person.email, from_slack_id=person.slack_user_id,
        about=about.label, round_id=about.round_id, pairing_id=about.pairing_id,
        program_id=about.program.id if about.program else None, program_name=about.program.name if about.program else settings.program_name,
        page_url=f"{settings.public_base_url.rstrip('/')}{PAGE_PATH}?show=open",
    )  # fmt: skip


# --- the admin page's reads and writes ----------------------------------------------------------------


def _visible(program_id: int | None):  # noqa: ANN202 - a SQL condition
    """Replies of the program shown, and those tied to no program (every admin should see those)."""
    return sa.or_(HeldReply.program_id == program_id, col(HeldReply.program_id).is_(None))


def open_count(session: Session, *, program_id: int | None) -> int:
    """How many held replies of the program still wait for someone."""
    return session.exec(select(sa.func.count()).select_from(HeldReply).where(HeldReply.status == "open", _visible(program_id))).one()


@dataclass(frozen=True)
class HeldRow:
    """One held reply as the admin page lists it."""

    reply: HeldReply
    name: str
    email: str
    slack_user_id: str | None
    about: str  # the pairing ("Ana Chen and Ben Ortiz") or "" when the reply names none


def list_held(session: Session, *, program_id: int | None, show: str, limit: int = 200, offset: int = 0) -> list[HeldRow]:
    """Held replies of the program (open, done or all), newest first; `limit` of them from the `offset`-th on."""
    query = select(HeldReply, Person).join(Person, col(Person.id) == HeldReply.person_id).where(_visible(program_id))
    if show in ("open", "done"):
        query = query.where(HeldReply.status == show)
    found = list(session.exec(query.order_by(col(HeldReply.created_at).desc(), col(HeldReply.id).desc()).offset(offset).limit(limit)))
    # The pairings' people in two queries, not two per row.
    pairings = {p.id: p for p in session.exec(select(Pairing).where(col(Pairing.id).in_({r.pairing_id for r, _ in found if r.pairing_id})))}
    ids = {i for p in pairings.values() for i in (p.mentor_id, p.mentee_id)}
    names = {p.id: p.name for p in session.exec(select(Person).where(col(Person.id).in_(ids)))} if ids else {}
    about = {pid: f"{names.get(p.mentor_id, '?')} and {names.get(p.mentee_id, '?')}" for pid, p in pairings.items()}
    return [HeldRow(reply, person.name, person.email, person.slack_user_id, about.get(reply.pairing_id, "")) for reply, person in found]


def set_handled(session: Session, *, held_reply_id: int, program_id: int | None, handled: bool, by: str, now: datetime) -> HeldReply | None:
    """Mark a held reply handled (or open again); None when the program shown has no such reply."""
    held = session.exec(select(HeldReply).where(HeldReply.id == held_reply_id, _visible(program_id))).first()
    if held is None:
        return None
    if handled and held.status != "done":
        held.status, held.handled_at, held.handled_by = "done", now, by[:320]
    elif not handled and held.status != "open":
        held.status, held.handled_at, held.handled_by = "open", None, None
    return held
