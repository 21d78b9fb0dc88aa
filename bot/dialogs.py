"""Dialogs at the storage edge: load a person's dialog, apply their replies, save the answers where they belong.

Channels (Slack, email) call `answer()` with the raw replies they understood; this module walks the flow with
the pure engine, keeps every answer that parses at once, and returns what the channel should say next plus
the events other people need to hear about (a principal asked to approve, a mentor told the decision).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.flows import FlowContext, Outcome, advance, get_flow, start
from bot.flows import DialogState as FlowState
from bot.flows.definitions import DEFAULT_SUBJECTS, DEFAULT_TOPICS
from bot.flows.model import CustomQuestion
from bot.programs.pools import pool_member_ids
from bot.programs.spec import approval_rule
from storage import repo
from storage.db import in_transaction, session_scope
from storage.models import CheckIn, DialogState, Enrollment, Pairing, Person, Program, Round, SurveyAnswer, Term

MENTOR_ROLES = ("mentor", "both")
MAX_ID = 2**31 - 1  # the largest id an integer key holds


@dataclass(frozen=True)
class ProgramOptions:
    """A program's dialog settings, read from `Program.settings` with defaults."""

    topics: tuple[str, ...] = DEFAULT_TOPICS
    subjects: tuple[str, ...] = DEFAULT_SUBJECTS
    custom_questions: tuple[CustomQuestion | tuple[str, str], ...] = ()
    require_approval: bool = True
    max_capacity: int = 3
    program_id: int | None = None  # whose questions these are; their answers are kept under this id

    @classmethod
    def of(cls, program: Program, *, require_approval_default: bool = True) -> ProgramOptions:
        """The options stored on the program, defaults where it has none."""
        settings = program.settings or {}
        return cls(
            topics=tuple(settings.get("topics") or DEFAULT_TOPICS),
            subjects=tuple(settings.get("subjects") or DEFAULT_SUBJECTS),
            custom_questions=tuple(_custom_question(q) for q in settings.get("custom_questions") or ()),
            require_approval=approval_rule(program.name, settings, setting=require_approval_default).value,
            max_capacity=int(settings.get("max_capacity", 3)),
            program_id=program.id,
        )


def _custom_question(stored: Mapping[str, Any]) -> CustomQuestion:
    """A stored custom question (older ones hold only key and prompt: free text)."""
    return CustomQuestion(
        key=stored["key"],
        prompt=stored["prompt"],
        kind=stored.get("kind") or "text",
        options=tuple(stored.get("options") or ()),
        minimum=int(stored["min"]) if stored.get("min") is not None else 1,
        maximum=int(stored["max"]) if stored.get("max") is not None else 5,
        required=bool(stored.get("required", False)),
    )


@dataclass(frozen=True)
class Event:
    """Something another person should hear about because of this answer."""

    kind: str  # approval_requested | approval_decided | opted_out | profile_complete | check_in_answered
    person_id: int  # whom the event is about
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class AnswerResult:
    """What a channel needs after applying replies: the engine's outcome and the events to pass on."""

    outcome: Outcome
    context: FlowContext
    events: list[Event] = field(default_factory=list)


def context_key(*, flow: str, term_id: int | None = None, round_id: int | None = None, pairing_id: int | None = None, subject_id: int | None = None) -> str:
    """The dialog's context key: one opt-in and profile per term, one approval per mentor, one check-in per pairing."""
    if flow in ("opt_in", "profile"):
        return f"term:{term_id}"
    if flow == "approval":
        return f"term:{term_id}:mentor:{subject_id}"
    if flow == "check_in":
        return f"pairing:{pairing_id}"
    if flow == "survey":
        return f"round:{round_id}"
    raise ValueError(f"unknown flow {flow!r}")


def term_of(context: str) -> int | None:
    """The term a dialog context names ("term:3" and "term:3:mentor:7" name term 3), if any."""
    parts = context.split(":")
    if len(parts) < 2 or parts[0] != "term" or not (parts[1].isascii() and parts[1].isdecimal()):
        return None
    term_id = int(parts[1])
    return term_id if term_id <= MAX_ID else None  # a larger number names no row, and PostgreSQL refuses to look one up


@dataclass(frozen=True)
class DialogScope:
    """Where a dialog is asked: the person, the term and program its context names, that program's options, the flow context."""

    person: Person
    term: Term | None
    program: Program | None
    options: ProgramOptions
    ctx: FlowContext
    enrollment: Enrollment | None = None  # the person's enrollment in the term, as read (kept: answering reads it again)


def dialog_scope(session: Session, *, person_id: int, context: str, require_approval_default: bool = True) -> DialogScope:
    """The scope of one person's dialog in `context`, read in the caller's transaction."""
    person = session.get(Person, person_id)
    if person is None:
        raise repo.NotFound(f"there is no person {person_id}")
    term_id = term_of(context)
    term, program = None, None
    if term_id is not None:  # the term and its program in one query: every answer and snapshot starts here
        found = session.exec(select(Term, Program).join(Program, col(Program.id) == Term.program_id, isouter=True).where(Term.id == term_id)).first()
        if found is not None:
            term, program = found
    if program is not None:
        options = ProgramOptions.of(program, require_approval_default=require_approval_default)
    else:
        options = ProgramOptions(require_approval=require_approval_default)
    enrollment = enrollment_in(session, person_id=person.id, term=term)
    return DialogScope(person, term, program, options, context_for(person, enrollment, options), enrollment)


def enrollment_in(session: Session, *, person_id: int, term: Term | None) -> Enrollment | None:
    """The person's enrollment in `term` (None without a term or an enrollment), read in the caller's transaction."""
    if term is None:
        return None
    return session.exec(select(Enrollment).where(Enrollment.term_id == term.id, Enrollment.person_id == person_id)).first()


def flow_context(session: Session, *, person: Person, term: Term | None, options: ProgramOptions) -> FlowContext:
    """The flow context for a person this term: their role, the program's topics and questions."""
    return context_for(person, enrollment_in(session, person_id=person.id, term=term), options)


def context_for(person: Person, enrollment: Enrollment | None, options: ProgramOptions) -> FlowContext:
    """The flow context from what was read: the person, their enrollment this term, the program's options."""
    role = enrollment.role if enrollment is not None and enrollment.status == "opted_in" else None
    return FlowContext(
        role=role,
        topics=options.topics,
        subjects=options.subjects,
        default_capacity=max(person.capacity, 1),
        max_capacity=options.max_capacity,
        custom_questions=options.custom_questions,
        program_id=options.program_id,
    )


def _load(session: Session, *, person_id: int, flow: str, context: str) -> DialogState | None:
    if "\x00" in flow or "\x00" in context:
        return None  # nothing stored holds a NUL (PostgreSQL cannot), and it refuses to compare with one
    return session.exec(
        select(DialogState).where(DialogState.person_id == person_id, DialogState.flow == flow, DialogState.context == context)
    ).first()


def _to_flow_state(record: DialogState) -> FlowState:
    return FlowState(
        flow=record.flow,
        answers=dict(record.answers),
        step=record.step,
        status="complete" if record.status == "complete" else "active",
        updated_at=record.updated_at,
        expires_at=record.expires_at,
    )


def _save(session: Session, record: DialogState | None, state: FlowState, *, person_id: int, context: str, channel: str) -> DialogState:
    if record is None:
        record = DialogState(person_id=person_id, flow=state.flow, context=context)
        session.add(record)
    record.answers = dict(state.answers)
    record.step, record.status, record.channel = state.step, state.status, channel
    record.updated_at, record.expires_at = state.updated_at, state.expires_at
    return record


def current_state_in(session: Session, *, person_id: int, flow: str, context: str) -> FlowState | None:
    """The person's saved dialog, or None if they never started it."""
    record = _load(session, person_id=person_id, flow=flow, context=context)
    return None if record is None else _to_flow_state(record)


current_state = in_transaction(current_state_in)


def answer(
    engine: Engine,
    *,
    person_id: int,
    flow: str,
    context: str,
    channel: str,
    replies: Mapping[str, Any],
    now: datetime,
    require_approval_default: bool = True,
) -> AnswerResult:
    """Apply replies to the person's dialog in one transaction: dialog state, profile, enrollment and decisions together."""
    replies = {key: _without_nul(value) for key, value in replies.items()}
    for attempt in (1, 2):
        try:
            return _answer_once(
                engine, person_id=person_id, flow=flow, context=context, channel=channel, replies=replies, now=now,
                require_approval_default=require_approval_default,
            )  # fmt: skip
        except sa.exc.IntegrityError:
            # Two first answers to one dialog at once (an email reply and a click, two devices) both create its row;
            # the loser's transaction rolled back whole, and answering again applies on top of the winner's row.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _answer_once(
    engine: Engine, *, person_id: int, flow: str, context: str, channel: str, replies: Mapping[str, Any], now: datetime,
    require_approval_default: bool,
) -> AnswerResult:
    with session_scope(engine) as session:
        scope = dialog_scope(session, person_id=person_id, context=context, require_approval_default=require_approval_default)
        return answer_in(session, scope, flow=flow, context=context, channel=channel, replies=replies, now=now)


def answer_in(
    session: Session, scope: DialogScope, *, flow: str, context: str, channel: str, replies: Mapping[str, Any], now: datetime
) -> AnswerResult:
    """`answer` inside the caller's transaction, for a dialog whose scope the caller has read (a retry is theirs to make)."""
    the_flow = get_flow(flow)
    replies = {key: _without_nul(value) for key, value in replies.items()}
    person, term, options, ctx = scope.person, scope.term, scope.options, scope.ctx
    refused = refusal(session, person_id=person.id, flow=flow, context=context)
    record = _load(session, person_id=person.id, flow=flow, context=context)
    state = _to_flow_state(record) if record is not None else start(the_flow, now=now, ctx=ctx)
    if refused is not None:
        # A context the person may not answer (a forged button or form): nothing is saved, not even a dialog row.
        errors = {key: refused for key in replies} or {"context": refused}
        return AnswerResult(outcome=Outcome(state=state, saved={}, errors=errors, ignored=tuple(replies), pending=()), context=ctx)
    outcome = advance(the_flow, state, replies, now=now, ctx=ctx)
    _save(session, record, outcome.state, person_id=person.id, context=context, channel=channel)
    result = AnswerResult(outcome=outcome, context=ctx)
    if outcome.saved:
        _apply(
            session, flow=flow, person=person, term=term, context=context, outcome=outcome, options=options, channel=channel, now=now,
            events=result.events, enrollment=scope.enrollment,
        )  # fmt: skip
    return result


CONTEXT_SHAPES = {
    # A person's own opt-in and profile are read by term (`term_of`), whatever follows it; the others name whose dialog it is.
    "opt_in": re.compile(r"term:([0-9]+)(?::.*)?", re.S), "profile": re.compile(r"term:([0-9]+)(?::.*)?", re.S),
    "approval": re.compile(r"term:([0-9]+):mentor:([0-9]+)"), "check_in": re.compile(r"pairing:([0-9]+)"), "survey": re.compile(r"round:([0-9]+)"),
}  # fmt: skip
NOT_YOURS = "that isn't one of your questions, so I didn't save it"
CONTEXT_LENGTH = 64  # DialogState.context's column


def refusal(session: Session, *, person_id: int, flow: str, context: str) -> str | None:
    """Why `person_id` may not answer `flow` in `context` (None when they may): the context must be the flow's own
    shape and name something of theirs. Slack buttons and forms carry the context, and anyone can forge them."""
    shape = CONTEXT_SHAPES.get(flow)
    found = shape.fullmatch(context) if shape is not None and isinstance(context, str) else None
    if found is None or "\x00" in context or len(context) > CONTEXT_LENGTH:  # never stored: PostgreSQL refuses a NUL or a longer key
        return NOT_YOURS
    ids = [int(number) for number in found.groups() if number is not None]
    if any(number > MAX_ID for number in ids):
        return NOT_YOURS
    if flow in ("opt_in", "profile"):
        return None if session.get(Term, ids[0]) is not None else NOT_YOURS
    if flow == "approval":
        principal, mentor = session.get(Person, person_id), session.get(Person, ids[1])
        mine = principal is not None and mentor is not None and (mentor.principal_email or "").lower() == principal.email.lower()
        return None if mine and session.get(Term, ids[0]) is not None else NOT_YOURS
    if flow == "check_in":
        pairing = session.get(Pairing, ids[0])
        return None if pairing is not None and person_id in (pairing.mentor_id, pairing.mentee_id) else NOT_YOURS
    return None if session.get(Round, ids[0]) is not None else NOT_YOURS


def _without_nul(value: Any) -> Any:
    """A reply without NUL characters: they never mean anything in an answer, and PostgreSQL cannot store them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, (list, tuple)):
        return [_without_nul(item) for item in value]
    return value


def _apply(
    session: Session,
    *,
    flow: str,
    person: Person,
    term: Term | None,
    context: str,
    outcome: Outcome,
    options: ProgramOptions,
    channel: str,
    now: datetime,
    events: list[Event],
    enrollment: Enrollment | None,
) -> None:
    saved = outcome.saved
    if flow == "profile":
        repo.set_profile_answers(session, person_id=person.id, answers=dict(saved), source=channel, now=now)
        if outcome.complete:
            events.append(Event("profile_complete", person.id))
    elif flow == "opt_in" and term is not None:
        _apply_opt_in(
            session, person=person, term=term, answers=outcome.state.answers, complete=outcome.complete, options=options, now=now, events=events,
            previous=enrollment,
        )  # fmt: skip
    elif flow == "approval" and term is not None and outcome.complete:
        mentor_id = int(context.rsplit(":", 1)[1])
        _apply_approval(session, term=term, mentor_id=mentor_id, principal=person, answers=outcome.state.answers, now=now, events=events)
    elif flow == "check_in":
        pairing_id = int(context.split(":")[1])
        _apply_check_in(session, pairing_id=pairing_id, person=person, answer=saved.get("met"), now=now, events=events)
    elif flow == "survey":
        round_id = int(context.split(":")[1])
        for question, value in saved.items():
            _upsert_survey(session, round_id=round_id, person_id=person.id, question=question, value=value, now=now)


def _apply_opt_in(
    session: Session, *, person: Person, term: Term, answers: Mapping[str, Any], complete: bool,
    options: ProgramOptions, now: datetime, events: list[Event], previous: Enrollment | None,
) -> None:  # fmt: skip
    """`previous`: the person's enrollment in the term as this transaction read it (None: none yet)."""
    role = answers.get("role")
    if role is None:
        return
    if complete and answers.get("capacity") == 0:
        # Zero mentees means "not as a mentor": a mentor opts out, someone who said both stays a mentee.
        role = {"mentor": "none", "both": "mentee"}.get(role, role)
    if role == "none":
        _enroll(session, previous, term_id=term.id, person_id=person.id, role="none", capacity=0, status="opted_out", approval="not_required", now=now)
        events.append(Event("opted_out", person.id))
        return
    if not complete:
        return  # a mentor who has not said how many mentees yet is not enrolled yet
    members = pool_member_ids(session, program_id=term.program_id)
    if members is not None and person.id not in members:
        return  # someone outside the program's pool cannot join its term, whatever they answer
    is_mentor = role in MENTOR_ROLES
    capacity = int(answers.get("capacity") or 0) if is_mentor else 0
    already_approved = previous is not None and previous.approval == "approved" and previous.role in MENTOR_ROLES
    approval = "not_required"
    if is_mentor and options.require_approval:
        approval = "approved" if already_approved and capacity <= previous.capacity else "pending"
    _enroll(session, previous, term_id=term.id, person_id=person.id, role=role, capacity=capacity, status="opted_in", approval=approval, now=now)
    if approval == "pending":
        events.append(Event("approval_requested", person.id, {"capacity": capacity, "principal_email": person.principal_email, "term_id": term.id}))


def _enroll(session: Session, previous: Enrollment | None, *, term_id: int, person_id: int, role: str, capacity: int, status: str, approval: str, now: datetime) -> None:
    """`repo.upsert_enrollment`, without reading again the enrollment this transaction holds already."""
    if previous is None:
        repo.upsert_enrollment(session, term_id=term_id, person_id=person_id, role=role, capacity=capacity, status=status, approval=approval, now=now)
        return
    previous.role, previous.capacity, previous.status, previous.approval, previous.updated_at = role, capacity, status, approval, now


def _apply_approval(
    session: Session, *, term: Term, mentor_id: int, principal: Person, answers: Mapping[str, Any], now: datetime, events: list[Event]
) -> None:
    enrollment = session.exec(select(Enrollment).where(Enrollment.term_id == term.id, Enrollment.person_id == mentor_id)).first()
    if enrollment is None or enrollment.role not in MENTOR_ROLES:
        return
    decision = answers["decision"]
    enrollment.approval = "declined" if decision == "decline" else "approved"
    if decision == "change":
        enrollment.capacity = int(answers["capacity"])
    enrollment.approved_by, enrollment.decided_at, enrollment.updated_at = principal.email, now, now
    events.append(
        Event("approval_decided", mentor_id, {"approval": enrollment.approval, "capacity": enrollment.capacity, "by": principal.name, "term_id": term.id})
    )


def _apply_check_in(session: Session, *, pairing_id: int, person: Person, answer: Any, now: datetime, events: list[Event]) -> None:
    if answer is None:
        return
    check_in = session.exec(
        select(CheckIn).where(CheckIn.pairing_id == pairing_id, CheckIn.person_id == person.id).order_by(CheckIn.number.desc())
    ).first()
    if check_in is None:
        check_in = CheckIn(pairing_id=pairing_id, person_id=person.id, number=1, asked_at=now)
        session.add(check_in)
    check_in.answer, check_in.answered_at = answer, now
    events.append(Event("check_in_answered", person.id, {"pairing_id": pairing_id, "answer": answer}))


def _upsert_survey(session: Session, *, round_id: int, person_id: int, question: str, value: Any, now: datetime) -> None:
    row = session.exec(
        select(SurveyAnswer).where(SurveyAnswer.round_id == round_id, SurveyAnswer.person_id == person_id, SurveyAnswer.question == question)
    ).first()
    if row is None:
        session.add(SurveyAnswer(round_id=round_id, person_id=person_id, question=question, value=value, answered_at=now))
    else:
        row.value, row.answered_at = value, now
