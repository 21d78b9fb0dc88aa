"""Data rights at the storage edge: a person sees everything mentorbot holds about them, or has it erased.

Both are pure functions over a session with `now` passed in; the caller's transaction is the unit of work, so an
erasure that fails half-way leaves the person whole. Every request is logged in `data_request` with counts only,
never the data itself. The Slack, email, CLI and admin-page parts only call these functions.

Erasure keeps what the program's numbers need (pairings, check-ins, numeric survey answers, enrollments) and
removes what says who the person is: the person row is anonymised, free text is deleted, and any other text or
JSON that still names them (a partner's pairing notice, a match reason, a Slack receipt) is scrubbed in place.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from bot.errors import NotFound
from bot.notices import DataErasure, DataExport
from bot.outbox import enqueue
from storage import repo
from storage.models import (
    CheckIn,
    DataRequest,
    DialogState,
    Enrollment,
    HeldReply,
    OutboxMessage,
    Pairing,
    Person,
    PlannedSession,
    ProfileAnswer,
    Program,
    Round,
    RoundSignup,
    ScheduledAction,
    SlackDelivery,
    SurveyAnswer,
    Term,
)

ERASED = "(erased)"
ERASED_NAME = "Erased person"
UNSENT = ("pending", "sending", "committing", "failed")
EXPORT_FILENAME = "mentorbot-my-data.json"


class NoSuchPerson(repo.NotFound, NotFound):
    """Nobody on file matches; the message says so plainly (every channel shows NotFound as a friendly line)."""


def erased_email(person_id: int) -> str:
    """The placeholder address an erased person keeps (unique, and never deliverable)."""
    return f"erased-{person_id}@invalid"


def is_erased(person: Person) -> bool:
    """True once a person's data has been erased."""
    return person.email == erased_email(person.id)


def find_person(session: Session, *, email: str) -> Person:
    """The person with this email (any case), or NoSuchPerson."""
    wanted = (email or "").strip().lower()
    person = session.exec(select(Person).where(sa.func.lower(Person.email) == wanted)).first() if wanted else None
    if person is None:
        raise NoSuchPerson(f"nobody with the email '{email.strip()}' is on file (if their data was erased, there is nothing left to remove)")
    return person


# --- export -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes and dates as ISO text, containers copied."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _row(model: SQLModel, *fields: str) -> dict[str, Any]:
    return {name: _plain(getattr(model, name)) for name in fields}


def collect(session: Session, *, person_id: int) -> dict[str, Any]:
    """Everything stored about one person, as JSON-ready data; partners appear by name only, never their profile."""
    person = session.get(Person, person_id)
    if person is None:
        raise NoSuchPerson(f"there is nobody with number {person_id} on file")
    terms = {t.id: t.name for t in session.exec(select(Term))}
    pairings = list(session.exec(select(Pairing).where(sa.or_(Pairing.mentor_id == person_id, Pairing.mentee_id == person_id)).order_by(Pairing.id)))
    partner_ids = {p.mentee_id if p.mentor_id == person_id else p.mentor_id for p in pairings}
    names = {p.id: p.name for p in session.exec(select(Person).where(col(Person.id).in_(sorted(partner_ids))))} if partner_ids else {}
    rounds = {r.id: r for r in session.exec(select(Round).where(col(Round.id).in_(sorted({p.round_id for p in pairings}))))} if pairings else {}
    pairing_ids = [p.id for p in pairings]
    sessions = list(session.exec(select(PlannedSession).where(col(PlannedSession.pairing_id).in_(pairing_ids)).order_by(PlannedSession.pairing_id, PlannedSession.number))) if pairing_ids else []
    return {
        "person": _row(person, "id", "name", "email", "role", "slack_user_id", "site", "prep_program", "timezone", "capacity", "principal_email", "unsubscribed_at", "email_failing_at", "email_failure", "slack_failing_at", "slack_failure", "created_at", "updated_at"),
        "profile": {a.question: {"value": _plain(a.value), "source": a.source, "updated_at": _plain(a.updated_at)}
                    for a in session.exec(select(ProfileAnswer).where(ProfileAnswer.person_id == person_id).order_by(ProfileAnswer.question))},
        "enrollments": [{**_row(e, "role", "capacity", "status", "approval", "approved_by", "decided_at", "updated_at"), "term": terms.get(e.term_id)}
                        for e in session.exec(select(Enrollment).where(Enrollment.person_id == person_id).order_by(Enrollment.id))],
        "pairings": [
            {
                "id": p.id, "round_id": p.round_id, "topic": rounds[p.round_id].topic if p.round_id in rounds else None,
                "your_role": "mentor" if p.mentor_id == person_id else "mentee",
                "partner_name": names.get(p.mentee_id if p.mentor_id == person_id else p.mentor_id),
                "rotation": p.rotation, "status": p.status, "reasons": _plain(p.reasons), "created_at": _plain(p.created_at),
            }
            for p in pairings
        ],
        "sessions": [_row(s, "pairing_id", "number", "starts_at", "ends_at", "status") for s in sessions],
        "check_ins": [_row(c, "pairing_id", "number", "asked_at", "answer", "answered_at")
                      for c in session.exec(select(CheckIn).where(CheckIn.person_id == person_id).order_by(CheckIn.id))],
        "survey_answers": [_row(s, "round_id", "question", "value", "answered_at")
                           for s in session.exec(select(SurveyAnswer).where(SurveyAnswer.person_id == person_id).order_by(SurveyAnswer.id))],
        "signups": [_row(s, "round_id", "role", "topic", "interest", "source", "status", "created_at")
                    for s in session.exec(select(RoundSignup).where(RoundSignup.person_id == person_id).order_by(RoundSignup.id))],
        "dialogs": [_row(d, "flow", "context", "channel", "step", "answers", "status", "updated_at")
                    for d in session.exec(select(DialogState).where(DialogState.person_id == person_id).order_by(DialogState.id))],
        "messages": [_row(m, "channel", "purpose", "subject", "status", "created_at", "sent_at")
                     for m in session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id).order_by(OutboxMessage.id))],
        "replies_for_admins": [_row(h, "channel", "reason", "subject", "text", "status", "created_at", "handled_at")
                               for h in session.exec(select(HeldReply).where(HeldReply.person_id == person_id).order_by(HeldReply.id))],
        "data_requests": [_row(r, "kind", "channel", "status", "created_at")
                          for r in session.exec(select(DataRequest).where(DataRequest.person_id == person_id).order_by(DataRequest.id))],
    }


def counts_of(data: dict[str, Any]) -> dict[str, int]:
    """How many records of each kind an export holds (what the request log keeps)."""
    return {key: (len(value) if isinstance(value, (list, dict)) else 1) for key, value in data.items()}


def summary_text(data: dict[str, Any], *, emailed_to: str | None, for_email: bool = False) -> str:
    """A short, readable summary of an export: for a Slack DM, or (`for_email`) for the email the file is attached to."""
    person, counts = data["person"], counts_of(data)
    lines = [
        f"*Everything mentorbot holds about you, {person['name']}:*",
        f"• you: {person['email']}, role {person['role']}, site {person['site'] or '-'}, Slack {person['slack_user_id'] or '-'}",
        f"• {counts['profile']} profile answers: " + (", ".join(sorted(data["profile"])) or "none"),
        f"• {counts['enrollments']} term enrollments, {counts['pairings']} pairings"
        + (" (with " + ", ".join(sorted({p['partner_name'] or '?' for p in data['pairings']})) + ")" if data["pairings"] else ""),
        f"• {counts['sessions']} planned sessions, {counts['check_ins']} check-ins, {counts['survey_answers']} survey answers, {counts['signups']} sign-ups",
        f"• {counts['dialogs']} conversations with me, {counts['messages']} messages sent to you",
    ]
    if for_email:
        lines.append(f"The full data is attached as {EXPORT_FILENAME}.")
        lines.append('To have it erased, reply "delete my data" to this email.')
        return "\n".join(line.replace("*", "").replace("`", "") for line in lines)
    if emailed_to:
        lines.append(f"The full data is on its way to {emailed_to} as a JSON file.")
    else:
        lines.append("You have no email address on file, so I can't send the full file; ask your program admin for a copy.")
    lines.append("To have it erased, use `/mentoring delete-my-data`.")
    return "\n".join(lines)


@dataclass
class ExportResult:
    """An export that was logged and queued: the data, the request's id and where it went."""

    request_id: int
    data: dict[str, Any]
    emailed_to: str | None
    summary: str


def export(
    session: Session, *, person_id: int, requested_by: str, channel: str, now: datetime, request_key: str | None = None
) -> ExportResult | None:
    """Log an export request and queue the person's data: a Slack DM summary, and an email with the JSON attached.

    `request_key` names a delivery that may arrive twice (a webhook retried): the second time returns None.
    """
    person = session.get(Person, person_id)
    if person is None or is_erased(person):
        raise NoSuchPerson("there is no data on file for you")
    if request_key is not None and session.exec(select(OutboxMessage.id).where(col(OutboxMessage.idempotency_key).like(f"data.export:{request_key}:%"))).first():
        return None
    data = collect(session, person_id=person_id)
    request = DataRequest(kind="export", person_id=person_id, requested_by=requested_by, channel=channel, status="pending", created_at=now)
    session.add(request)
    session.flush()
    key = request_key or str(request.id)
    emailed_to = person.email if person.email and "@" in person.email else None
    summary = summary_text(data, emailed_to=emailed_to)
    queued = []
    if person.slack_user_id:
        enqueue(
            session, idempotency_key=f"data.export:{key}:slack", channel="slack", purpose="data.export", recipient=person.slack_user_id,
            person_id=person_id, body=DataExport(text=summary).to_payload(), now=now,
        )  # fmt: skip
        queued.append("slack")
    if emailed_to:
        text = summary_text(data, emailed_to=emailed_to, for_email=True)
        enqueue(
            session, idempotency_key=f"data.export:{key}:email", channel="email", purpose="data.export", recipient=emailed_to,
            person_id=person_id, subject="Your data in mentorbot",
            body=DataExport(subject="Your data in mentorbot", text=text, data=data).to_payload(), now=now,
        )  # fmt: skip
        queued.append("email")
    request.status, request.completed_at = "done", now
    request.detail = {"counts": counts_of(data), "sent_by": queued}
    return ExportResult(request.id, data, emailed_to, summary)


# --- erasure ------------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    """What an erasure did (counts only), or that there was nothing left to erase."""

    person_id: int
    already_erased: bool = False
    request_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """A plain sentence for whoever asked."""
        if self.already_erased:
            return "This person's data was erased already; there is nothing more to remove."
        removed = ", ".join(f"{n} {what}" for what, n in self.counts.items() if n) or "nothing beyond the person record"
        return (
            f"Erased person #{self.person_id}: {removed}. Pairings, check-ins and numeric survey answers stay, without a name, "
            "for the program's counts. They will not be contacted again; a later roster import of the same email creates a new person."
        )


def _patterns(person: Person) -> list[re.Pattern[str]]:
    """What names this person in free text: their full name, email and Slack ID, as whole words, any case."""
    needles = [person.name, person.email, person.slack_user_id]
    return [re.compile(rf"(?<![\w.+-]){re.escape(n)}(?![\w-])", re.IGNORECASE) for n in needles if n and len(n.strip()) >= 3]


def _scrub(value: Any, patterns: list[re.Pattern[str]]) -> Any:
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(ERASED, value)
        return value
    if isinstance(value, dict):
        return {_scrub(k, patterns): _scrub(v, patterns) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, patterns) for v in value]
    return value


def _needle_forms(person: Person) -> list[str]:
    """The stored spellings to look for in SQL: as typed, and as JSON escapes them (non-ASCII as backslash-u escapes)."""
    forms: set[str] = set()
    for needle in (person.name, person.email, person.slack_user_id):
        if needle and len(needle.strip()) >= 3:
            forms.add(needle.lower())
            forms.add(json.dumps(needle)[1:-1].lower())
    return sorted(forms)


def _is_text(column: sa.Column) -> bool:
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):  # SQLModel's AutoString wraps String
        kind = kind.impl_instance
    return isinstance(kind, (sa.String, sa.Text, sa.JSON))


def scrub_everywhere(session: Session, *, person: Person, patterns: list[re.Pattern[str]]) -> int:
    """Replace every mention of the person in any text or JSON column of every other table; returns rows changed."""
    forms = _needle_forms(person)
    if not forms:
        return 0
    changed = 0
    for table in SQLModel.metadata.sorted_tables:
        if table.name == Person.__tablename__:
            continue  # other people's names and emails are theirs, even when they look alike
        keys = list(table.primary_key.columns)
        for column in (c for c in table.columns if _is_text(c)):
            text = sa.func.lower(sa.cast(column, sa.Text))
            found = session.execute(sa.select(*keys, column).where(sa.or_(*(text.contains(form, autoescape=True) for form in forms)))).all()
            for row in found:
                old = row[-1]
                new = _scrub(old, patterns)
                if new != old:
                    where = sa.and_(*(key == value for key, value in zip(keys, row[:-1])))
                    session.execute(table.update().where(where).values({column.name: new}))
                    changed += 1
    return changed


def erase(
    session: Session,
    *,
    person_id: int,
    requested_by: str,
    channel: str,
    now: datetime,
    admin_slack_ids: tuple[str, ...] = (),
) -> ErasureResult:
    """Erase a person's personal data in the caller's transaction; keep anonymous aggregates; tell the admins."""
    # The row lock makes a double click (or two admins at once) one erasure and one friendly no-op on PostgreSQL.
    person = session.exec(select(Person).where(Person.id == person_id).with_for_update().execution_options(populate_existing=True)).first()
    if person is None:
        raise NoSuchPerson(f"there is nobody with number {person_id} on file")
    if is_erased(person):
        return ErasureResult(person_id, already_erased=True)
    patterns = _patterns(person)
    own_request = requested_by in {person.email, person.slack_user_id} or requested_by.lower() == (person.email or "").lower()
    counts: Counter[str] = Counter()

    def delete(model: type[SQLModel], *where: Any, label: str) -> None:
        counts[label] += session.execute(sa.delete(model).where(*where)).rowcount or 0

    delete(ProfileAnswer, ProfileAnswer.person_id == person_id, label="profile answers")
    delete(DialogState, DialogState.person_id == person_id, label="conversations")
    delete(RoundSignup, RoundSignup.person_id == person_id, label="sign-ups")
    delete(HeldReply, HeldReply.person_id == person_id, label="replies held for admins")
    delete(OutboxMessage, OutboxMessage.person_id == person_id, col(OutboxMessage.status).in_(UNSENT), label="unsent messages")
    if person.slack_user_id:  # kept Slack requests and their receipts carry the Slack ID (and, until handled, what was typed)
        counts["Slack requests kept"] += _empty_slack_requests(session, slack_user_id=person.slack_user_id, now=now)
    free_text = [a.id for a in session.exec(select(SurveyAnswer).where(SurveyAnswer.person_id == person_id)) if not _numeric(a.value)]
    if free_text:
        delete(SurveyAnswer, col(SurveyAnswer.id).in_(free_text), label="free-text survey answers")
    # Messages already sent stay counted, but no longer say to whom or what.
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id)):
        message.recipient, message.subject, message.body = erased_email(person_id), None, {"notice": message.body.get("notice"), "erased": True}
        message.provider_id, message.last_error = None, None  # a Slack DM's channel ID identifies the person too
        counts["sent messages emptied"] += 1
    # Never contacted again: pending actions about the person are skipped, and open terms no longer count them in.
    counts["scheduled actions skipped"] += session.execute(
        sa.update(ScheduledAction).where(ScheduledAction.person_id == person_id, ScheduledAction.status == "pending")
        .values(status="skipped", result="the person's data was erased", done_at=now)
    ).rowcount or 0  # fmt: skip
    open_terms = select(Term.id).where(Term.status == "open")
    session.execute(
        sa.update(Enrollment).where(Enrollment.person_id == person_id, col(Enrollment.term_id).in_(open_terms), Enrollment.status != "opted_out")
        .values(status="opted_out", updated_at=now)
    )  # fmt: skip
    # Match reasons name people by first name ("Ana's strength ..."): scrub those in the person's own pairings too.
    first = person.name.split()[0] if person.name.strip() else ""
    reason_patterns = patterns + ([re.compile(rf"(?<!\w){re.escape(first)}(?!\w)")] if len(first) >= 2 else [])
    for pairing in session.exec(select(Pairing).where(sa.or_(Pairing.mentor_id == person_id, Pairing.mentee_id == person_id))):
        reasons = _scrub(list(pairing.reasons or []), reason_patterns)
        if reasons != pairing.reasons:
            pairing.reasons = reasons
            counts["match reasons scrubbed"] += 1
    session.execute(sa.update(Person).where(Person.principal_email == person.email).values(principal_email=None))
    session.flush()
    counts["other records scrubbed"] += scrub_everywhere(session, person=person, patterns=patterns)
    person.name, person.email, person.slack_user_id, person.principal_email = ERASED_NAME, erased_email(person_id), None, None
    person.role, person.capacity, person.unsubscribed_at, person.updated_at = "none", 0, person.unsubscribed_at or now, now
    person.email_failing_at, person.email_failure = None, None  # a bounce's words quote the erased address
    person.slack_failing_at, person.slack_failure = None, None
    request = DataRequest(
        kind="erasure", person_id=person_id, requested_by="the person" if own_request else requested_by, channel=channel,
        status="done", detail={"counts": {k: v for k, v in counts.items() if v}}, created_at=now, completed_at=now,
    )  # fmt: skip
    session.add(request)
    session.flush()
    result = ErasureResult(person_id, request_id=request.id, counts={k: v for k, v in counts.items() if v})
    _tell_admins(session, result=result, by="the person themselves" if own_request else requested_by, admin_slack_ids=admin_slack_ids, now=now)
    return result


def _empty_slack_requests(session: Session, *, slack_user_id: str, now: datetime) -> int:
    """Strip a person's kept Slack requests of their Slack ID and what they typed; returns how many.

    The rows stay, emptied, rather than being deleted: the request that asked for the erasure is among them and is
    still being handled, and a deleted newest row lets SQLite give its id to the next request, which that handler
    would then mark done unhandled. Requests not yet taken are closed, as there is nobody left to answer.
    """
    rows = list(session.exec(select(SlackDelivery).where(SlackDelivery.slack_user_id == slack_user_id)))
    for row in rows:
        row.slack_user_id, row.body = None, ""
        if row.delivery_key:
            row.delivery_key = row.delivery_key.replace(slack_user_id, "erased")
        if row.status == "new":
            row.status, row.done_at = "done", now
    return len(rows)


def _numeric(value: Any) -> bool:
    """A survey answer that is a number (a rating), kept for the counts; anything else may be free text."""
    return isinstance(value, (int, float))


def _tell_admins(session: Session, *, result: ErasureResult, by: str, admin_slack_ids: tuple[str, ...], now: datetime) -> int:
    """Queue a note to each admin (Slack IDs and every program's admin_emails): who asked, and counts, never a name."""
    text = f"A deletion was carried out (request #{result.request_id}, asked by {by}). " + result.message()
    recipients = [("slack", user) for user in admin_slack_ids]
    for program in session.exec(select(Program)):
        recipients += [("email", address) for address in (program.settings or {}).get("admin_emails") or ()]
    for channel, recipient in dict.fromkeys(recipients):
        enqueue(
            session, idempotency_key=f"data.erasure:{result.request_id}:{channel}:{recipient}", channel=channel, purpose="data.erasure",
            recipient=recipient, subject="A person's data was erased", now=now,
            body=DataErasure(subject="A person's data was erased", text=text).to_payload(),
        )  # fmt: skip
    return len(recipients)


# --- the log ------------------------------------------------------------------------------------


def list_requests(session: Session, *, limit: int = 200) -> list[DataRequest]:
    """The latest data requests, newest first."""
    return list(session.exec(select(DataRequest).order_by(col(DataRequest.created_at).desc(), col(DataRequest.id).desc()).limit(limit)))
