"""What the Slack channel reads and writes, as plain synchronous functions (listeners run them in a thread).

Answers go through `bot.dialogs.answer_in` and their consequences through `bot.notify.dispatch_events`, exactly as
on the email channel; this module adds only what is Slack's own: finding the person behind a Slack user,
the snapshot a message or modal is rendered from, and the receipts that make Slack's retries harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import dialogs, notify
from bot.flows import DialogState as FlowState
from bot.flows import Flow, FlowContext, Question, get_flow, pending_questions, questions_for
from bot.settings import Settings
from storage import repo
from storage.db import insert_if_new, session_scope
from storage.models import (
    DialogState,
    Enrollment,
    OutboxMessage,
    Pairing,
    Person,
    PlannedSession,
    Program,
    Round,
    ScheduledAction,
    Term,
)

RECEIPT_KIND = "slack.receipt"


class NotAllowed(Exception):
    """The person may not answer this dialog (say, approving a mentor who is not at their school)."""


@dataclass(frozen=True)
class Member:
    """A Slack user as the program knows them."""

    person_id: int
    name: str
    email: str
    timezone: str


def _member(person: Person) -> Member:
    return Member(person.id, person.name, person.email, person.timezone)


_PEOPLE = Person.__table__


def member_for(engine: Engine, *, slack_user_id: str) -> Member | None:
    """The person with this Slack ID, if the roster has them."""
    # Every kept request starts here, so it is one Core SELECT (no ORM objects), and a write only when one is due.
    found = sa.select(_PEOPLE.c.id, _PEOPLE.c.name, _PEOPLE.c.email, _PEOPLE.c.timezone, _PEOPLE.c.slack_failing_at)
    with engine.begin() as connection:
        row = connection.execute(found.where(_PEOPLE.c.slack_user_id == slack_user_id).order_by(_PEOPLE.c.id).limit(1)).first()
        if row is None:
            return None
        if row.slack_failing_at is not None:
            # They wrote to the bot on Slack, so Slack reaches them again: their messages go there once more.
            connection.execute(sa.update(_PEOPLE).where(_PEOPLE.c.id == row.id).values(slack_failing_at=None, slack_failure=None))
        return Member(row.id, row.name, row.email, row.timezone)


def link_member(engine: Engine, *, slack_user_id: str, email: str | None, now: datetime) -> Member | None:
    """Attach a Slack ID to the roster person with this email, when they have none yet."""
    if not email:
        return None
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=[email.strip().lower()]).get(email.strip().lower())
        if person is None or (person.slack_user_id and person.slack_user_id != slack_user_id):
            return None
        person.slack_user_id, person.updated_at = slack_user_id, now
        person.slack_failing_at, person.slack_failure = None, None
        return _member(person)


def claim(engine: Engine, *, key: str, now: datetime) -> bool:
    """True the first time a Slack delivery is seen; False for a retry or a duplicate.

    A receipt is a finished row in `scheduled_action` (kind "slack.receipt"): its unique idempotency key is the
    lock, so two deliveries racing on two processes still produce one effect. The sweep never runs these rows.
    Every ack waits on this, so it is one INSERT .. ON CONFLICT DO NOTHING in one short transaction.
    """
    receipt = {
        "idempotency_key": f"{RECEIPT_KIND}:{key}"[:255], "kind": RECEIPT_KIND, "due_at": now, "status": "done", "result": "received",
        "done_at": now, "payload": {},
    }  # fmt: skip
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # The ack need not wait for this commit's disk flush: any later commit that makes the delivery's effect
            # durable flushes the receipt first, so a receipt can only be lost together with the effect it guards.
            connection.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        return insert_if_new(connection, ScheduledAction.__table__, receipt, unique="idempotency_key") is not None


def prune_receipts(engine: Engine, *, before: datetime) -> int:
    """Forget receipts older than `before` (Slack stops redelivering within the hour); returns how many went."""
    with session_scope(engine) as session:
        result = session.execute(
            sa.delete(ScheduledAction).where(ScheduledAction.kind == RECEIPT_KIND, col(ScheduledAction.due_at) < before)
        )
        return result.rowcount


def open_term(session: Session, *, program_name: str) -> tuple[Program | None, Term | None]:
    """The program and its most recently opened open term (either may be missing)."""
    program = session.exec(select(Program).where(Program.name == program_name)).first()
    if program is None:
        return None, None
    term = session.exec(
        select(Term).where(Term.program_id == program.id, Term.status == "open").order_by(col(Term.id).desc())
    ).first()
    return program, term


# --- dialog snapshots ------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything a Slack message or modal about one person's dialog is rendered from."""

    flow: Flow
    context: str
    ctx: FlowContext
    answers: dict[str, Any]  # the dialog's own answers
    known: dict[str, Any]  # what to pre-fill: stored profile answers, then the dialog's answers
    applicable: tuple[Question, ...]
    pending: tuple[Question, ...]
    complete: bool
    started: bool
    term_id: int | None = None
    term_name: str | None = None
    opt_in_by: str | None = None
    enrollment: dict[str, Any] | None = None
    profile_complete: bool = False
    subject: dict[str, Any] = field(default_factory=dict)  # approval: the mentor; check-in: the partner

    def question(self, key: str) -> Question | None:
        for question in questions_for(self.flow, self.ctx):
            if question.key == key:
                return question
        return None


def snapshot_in(
    session: Session, settings: Settings, *, person_id: int, flow: str, context: str,
    scope: dialogs.DialogScope | None = None, state: FlowState | None = None,
) -> Snapshot:  # fmt: skip
    """The snapshot of one dialog inside the caller's transaction.

    After an answer in the same transaction, `scope` (read before it) and `state` (the dialog as it was saved) spare
    reading them again; only what the answer may have changed is read: the enrollment, when there was none before
    (an enrollment read before is the row the answer changed in place), and the flow context built from it.
    """
    the_flow = get_flow(flow)
    enrollment: Enrollment | None
    if scope is None:
        scope = dialogs.dialog_scope(session, person_id=person_id, context=context, require_approval_default=settings.require_principal_approval)
        enrollment, ctx = scope.enrollment, scope.ctx
    else:
        enrollment = scope.enrollment or dialogs.enrollment_in(session, person_id=person_id, term=scope.term)
        ctx = dialogs.context_for(scope.person, enrollment, scope.options)
    term = scope.term
    if state is None:
        state = dialogs.current_state_in(session, person_id=person_id, flow=flow, context=context)
    answers = dict(state.answers) if state else {}
    known = dict(answers)
    if flow == "profile":
        known = {**repo.profiles(session, person_ids=[person_id])[person_id], **answers}
    applicable = tuple(q for q in questions_for(the_flow, ctx) if q.ask_if(answers, ctx))
    pending = pending_questions(the_flow, answers, ctx)
    snap = Snapshot(
        flow=the_flow, context=context, ctx=ctx, answers=answers, known=known, applicable=applicable, pending=pending,
        complete=state is not None and state.status == "complete", started=state is not None,
        term_id=term.id if term else None, term_name=term.name if term else None,
        opt_in_by=term.opt_in_by.isoformat() if term and term.opt_in_by else None,
    )  # fmt: skip
    if term is not None:
        if enrollment is not None:
            snap.enrollment = {"role": enrollment.role, "capacity": enrollment.capacity, "status": enrollment.status, "approval": enrollment.approval}
        profile_context = dialogs.context_key(flow="profile", term_id=term.id)
        if (flow, context) == ("profile", profile_context):
            profile = state
        else:
            profile = dialogs.current_state_in(session, person_id=person_id, flow="profile", context=profile_context)
        snap.profile_complete = profile is not None and profile.status == "complete"
    if flow == "approval":
        mentor = session.get(Person, int(context.rsplit(":", 1)[1]))
        offered = session.exec(select(Enrollment).where(Enrollment.term_id == dialogs.term_of(context), Enrollment.person_id == mentor.id)).first() if mentor else None
        if mentor is not None:
            snap.subject = {"name": mentor.name, "email": mentor.email, "site": mentor.site, "capacity": offered.capacity if offered else None}
    elif flow == "check_in":
        pairing = session.get(Pairing, int(context.split(":")[1]))
        if pairing is not None:
            partner = session.get(Person, pairing.mentee_id if pairing.mentor_id == person_id else pairing.mentor_id)
            snap.subject = {"name": partner.name if partner else "your partner"}
    return snap


def refuse_unless_theirs(session: Session, *, person_id: int, flow: str, context: str) -> None:
    """NotAllowed unless this person may answer `flow` in `context`: a button or form names both, and can be forged."""
    reason = dialogs.refusal(session, person_id=person_id, flow=flow, context=context)
    if reason is None:
        return
    if flow == "approval" and dialogs.CONTEXT_SHAPES["approval"].fullmatch(context):
        raise NotAllowed("only the mentor's principal can decide on this")
    raise NotAllowed(reason)


def submit_page(
    engine: Engine,
    settings: Settings,
    *,
    person_id: int,
    flow: str,
    context: str,
    keys: Sequence[str],
    read_replies: Callable[[Sequence[Question]], Mapping[str, Any]],
    now: datetime,
) -> tuple[list[Question], Applied]:
    """A modal page submitted: its questions (those of `keys`), the replies `read_replies` finds for them applied, what
    that caused passed on, and the dialog re-read.

    One transaction, because Slack waits for a submission's answer (inline errors or the next page); `apply` is the
    same without a page. NotAllowed when the dialog is not the person's.
    """
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                # The scope is read first (by ids `term_of` has checked; nothing is written before the refusal), so
                # the refusal finds the term and people it looks up in the session instead of reading them again.
                try:
                    scope = dialogs.dialog_scope(session, person_id=person_id, context=context, require_approval_default=settings.require_principal_approval)
                except repo.NotFound:
                    refuse_unless_theirs(session, person_id=person_id, flow=flow, context=context)
                    raise
                refuse_unless_theirs(session, person_id=person_id, flow=flow, context=context)
                by_key: dict[str, Question] = {}
                for question in questions_for(get_flow(flow), scope.ctx):
                    by_key.setdefault(question.key, question)
                questions = [by_key[key] for key in keys if key in by_key]
                result = dialogs.answer_in(session, scope, flow=flow, context=context, channel="slack", replies=read_replies(questions), now=now)
                snap = snapshot_in(session, settings, person_id=person_id, flow=flow, context=context, scope=scope, state=result.outcome.state)
            break
        except sa.exc.IntegrityError:
            # Two first answers to one dialog at once (a click and a modal, two devices) both create its row; the
            # loser's transaction rolled back whole, and trying again answers on top of the winner's row.
            if attempt == 2:
                raise
    queued = notify.dispatch_events(engine, result.events, now=now) if result.events else 0
    return questions, Applied(errors=dict(result.outcome.errors), saved=dict(result.outcome.saved), snapshot=snap, queued=queued)


def snapshot(engine: Engine, settings: Settings, *, person_id: int, flow: str, context: str) -> Snapshot:
    """The snapshot of one person's dialog, read in its own transaction; NotAllowed when it is not theirs."""
    with session_scope(engine) as session:
        refuse_unless_theirs(session, person_id=person_id, flow=flow, context=context)
        return snapshot_in(session, settings, person_id=person_id, flow=flow, context=context)


@dataclass
class Applied:
    """What applying replies did, and the dialog as it now stands."""

    errors: dict[str, str]
    saved: dict[str, Any]
    snapshot: Snapshot
    queued: int


def apply(engine: Engine, settings: Settings, *, person_id: int, flow: str, context: str, replies: Mapping[str, Any], now: datetime) -> Applied:
    """Apply a person's replies (the same `dialogs.answer_in` email uses), pass on what it caused, and re-read the dialog.

    NotAllowed when the dialog is not theirs (a forged button or form), before anything is read by its ids."""
    _questions, applied = submit_page(engine, settings, person_id=person_id, flow=flow, context=context, keys=(), read_replies=lambda _page: replies, now=now)
    return applied


def current_dialog(engine: Engine, *, person_id: int) -> tuple[str, str] | None:
    """The dialog a typed DM most likely answers: the newest unfinished one the person started or was asked."""
    with session_scope(engine) as session:
        states = session.exec(
            select(DialogState).where(DialogState.person_id == person_id).order_by(col(DialogState.updated_at).desc(), col(DialogState.id).desc())
        ).all()
        done = {(s.flow, s.context) for s in states if s.status == "complete"}
        for state in states:
            if state.status == "active" and state.step:
                return state.flow, state.context
        prompts = session.exec(
            select(OutboxMessage).where(OutboxMessage.person_id == person_id, col(OutboxMessage.purpose).like("prompt.%")).order_by(col(OutboxMessage.id).desc())
        ).all()
        for message in prompts:
            key = (message.body.get("flow"), message.body.get("context"))
            if key[0] and key not in done:
                return key  # type: ignore[return-value]
    return None


def open_terms_of(session: Session, *, person_id: int) -> list[tuple[Program, Term]]:
    """The open terms a person was invited to, with their programs: by program name, newest term first."""
    return list(session.exec(
        select(Program, Term)
        .join(Term, col(Term.program_id) == Program.id)
        .join(Enrollment, col(Enrollment.term_id) == Term.id)
        .where(Term.status == "open", Enrollment.person_id == person_id)
        .order_by(Program.name, col(Term.id).desc())
    ).all())  # fmt: skip


def term_dialogs(engine: Engine, settings: Settings, *, person_id: int, program_name: str | None = None) -> tuple[str, str] | None:
    """(opt-in context, profile context) of the person's open term: in the program named, else the one term they
    were invited to, else the default program's (or the first by name when they are in several)."""
    with session_scope(engine) as session:
        invited = open_terms_of(session, person_id=person_id)
        if program_name is not None:
            term = next((t for p, t in invited if p.name.casefold() == program_name.casefold()), None)
        elif invited:
            term = next((t for p, t in invited if p.name == settings.program_name), invited[0][1])
        else:
            _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return None
        return dialogs.context_key(flow="opt_in", term_id=term.id), dialogs.context_key(flow="profile", term_id=term.id)


# --- App Home -------------------------------------------------------------------------------------------


@dataclass
class PairingView:
    pairing_id: int
    round_id: int
    round_kind: str
    topic: str | None
    role: str
    partner_name: str
    partner_email: str
    reasons: list[str]
    status: str
    sessions: list[tuple[datetime, datetime, str, int]]  # start, end, status, number


@dataclass
class HomeModel:
    """What a person's Home tab shows."""

    program_name: str
    member: Member | None
    opt_in: Snapshot | None = None
    profile: Snapshot | None = None
    pairings: list[PairingView] = field(default_factory=list)
    upcoming: list[tuple[datetime, datetime, str, int]] = field(default_factory=list)  # start, end, partner, pairing
    pending_approvals: list[tuple[str, str]] = field(default_factory=list)  # (mentor name, context) awaiting this principal


def home_model(engine: Engine, settings: Settings, *, slack_user_id: str, now: datetime, fresh: Snapshot | None = None) -> HomeModel:
    """Everything the person's Home tab shows, read in one transaction.

    `fresh` is a snapshot of one of the person's dialogs read just now (after an answer): it is used as it is
    rather than read again.
    """
    with session_scope(engine) as session:
        person = session.exec(select(Person).where(Person.slack_user_id == slack_user_id)).first()
        model = HomeModel(program_name=settings.program_name, member=_member(person) if person else None)
        if person is None:
            return model
        _program, term = open_term(session, program_name=settings.program_name)
        if term is not None:
            for flow in ("opt_in", "profile"):
                context = dialogs.context_key(flow=flow, term_id=term.id)
                if fresh is not None and (fresh.flow.key, fresh.context) == (flow, context):
                    snap = fresh
                else:
                    snap = snapshot_in(session, settings, person_id=person.id, flow=flow, context=context)
                setattr(model, flow, snap)
            # Only the mentors waiting on this principal, not the whole term's enrollments read for every Home build.
            waiting = session.exec(
                select(Person)
                .join(Enrollment, col(Enrollment.person_id) == Person.id)
                .where(Enrollment.term_id == term.id, Enrollment.approval == "pending", sa.func.lower(Person.principal_email) == person.email.lower())
                .order_by(Person.name, Person.email)
            ).all()
            for mentor in waiting:
                model.pending_approvals.append((mentor.name, dialogs.context_key(flow="approval", term_id=term.id, subject_id=mentor.id)))
        pairings = session.exec(
            select(Pairing, Round)
            .join(Round, col(Round.id) == Pairing.round_id)
            .where(sa.or_(Pairing.mentor_id == person.id, Pairing.mentee_id == person.id), col(Pairing.status).in_(("published", "active", "stalled")))
            .order_by(col(Pairing.id).desc())
        ).all()
        for pairing, round_ in pairings:
            partner = session.get(Person, pairing.mentee_id if pairing.mentor_id == person.id else pairing.mentor_id)
            sessions = session.exec(select(PlannedSession).where(PlannedSession.pairing_id == pairing.id).order_by(PlannedSession.number)).all()
            view = PairingView(
                pairing.id, round_.id, round_.kind, round_.topic, "mentor" if pairing.mentor_id == person.id else "mentee",
                partner.name if partner else "?", partner.email if partner else "", list(pairing.reasons), pairing.status,
                [(s.starts_at, s.ends_at, s.status, s.number) for s in sessions],
            )  # fmt: skip
            model.pairings.append(view)
            for start, end, status, number in view.sessions:
                if end >= now and status in ("proposed", "confirmed"):
                    model.upcoming.append((start, end, view.partner_name, number))
        model.upcoming.sort()
        return model


# Every row a person's Home tab is built from (`home_model` and `bot.rounds.events.program_sections`), by table: the
# person and whom they see (partners, mentors waiting on them), their dialogs, answers, enrollments, pools, pairings
# and sessions, and the programs, terms, rounds and open rounds' sign-ups (topics left depend on everyone's).
# `updated_at` (and a dialog's `expires_at`) are left out: answering the same again only moves them, and the tab
# shows neither.
_HOME_ROWS = """
with me as (select id, lower(email) as email from person where slack_user_id = :slack_user_id),
mine as (select pa.* from pairing pa, me where pa.mentor_id = me.id or pa.mentee_id = me.id),
seen as (
    select id from me
    union select case when mine.mentor_id = me.id then mine.mentee_id else mine.mentor_id end from mine, me
    union select p.id from person p, me where lower(p.principal_email) = me.email
)
select
    (select coalesce(string_agg(id::text, ','), '') from me) as person_id,
    (select md5(coalesce(string_agg((to_jsonb(p) - 'updated_at')::text, ',' order by p.id), '')) from person p where p.id in (select id from seen)),
    (select md5(coalesce(string_agg((to_jsonb(d) - 'updated_at' - 'expires_at')::text, ',' order by d.id), '')) from dialog_state d where d.person_id in (select id from me)),
    (select md5(coalesce(string_agg((to_jsonb(a) - 'updated_at')::text, ',' order by a.id), '')) from profile_answer a where a.person_id in (select id from me)),
    (select md5(coalesce(string_agg((to_jsonb(e) - 'updated_at')::text, ',' order by e.id), '')) from enrollment e where e.person_id in (select id from seen)),
    (select md5(coalesce(string_agg(to_jsonb(pm)::text, ',' order by pm.pool_id), '')) from pool_member pm where pm.person_id in (select id from me)),
    (select md5(coalesce(string_agg(to_jsonb(mine)::text, ',' order by mine.id), '')) from mine),
    (select md5(coalesce(string_agg(to_jsonb(s)::text, ',' order by s.id), '')) from planned_session s where s.pairing_id in (select id from mine)),
    (select md5(coalesce(string_agg(to_jsonb(x)::text, ',' order by x.id), '')) from program x),
    (select md5(coalesce(string_agg(to_jsonb(x)::text, ',' order by x.id), '')) from pool x),
    (select md5(coalesce(string_agg(to_jsonb(t)::text, ',' order by t.id), '')) from term t),
    (select md5(coalesce(string_agg(to_jsonb(r)::text, ',' order by r.id), '')) from round r),
    (select md5(coalesce(string_agg((to_jsonb(g) - 'updated_at')::text, ',' order by g.id), '')) from round_signup g
        where g.round_id in (select r.id from round r join term t on t.id = r.term_id where t.status = 'open') or g.person_id in (select id from me)),
    (select min(s.ends_at) from planned_session s where s.pairing_id in (select id from mine) and s.ends_at >= :now)
"""


@dataclass(frozen=True)
class HomeVersion:
    """What a person's Home tab was built from, read in one query: equal versions build equal tabs until `expires`."""

    rows: tuple[Any, ...]
    expires: datetime | None  # the first shown session to end: the tab's "upcoming" list changes then


def home_version(engine: Engine, *, slack_user_id: str, now: datetime) -> HomeVersion | None:
    """The version of a person's Home tab data, computed in the database (PostgreSQL); None where it cannot be."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        row = connection.execute(sa.text(_HOME_ROWS), {"slack_user_id": slack_user_id, "now": now}).one()
    return HomeVersion(tuple(row[:-1]), row[-1])
