"""Term operations: open and close a term, decide on mentors, remind people who haven't answered, the term at a glance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot import dialogs, notify
from bot.actions.access import Actor, authorize
from bot.actions.scope import open_term_of, program_for, program_name_for
from bot.outbox import Backlog, channel_backlog
from bot.rounds import schedule, service
from bot.settings import Settings
from storage import repo
from storage.models import Person, Round, Term


@dataclass(frozen=True)
class TermOpened:
    """A term just opened, and how its people were brought in: enrolled from the roster, or asked."""

    term: Term
    program_name: str
    enrolled: service.EnrollmentCounts | None = None
    asked: int = 0
    asked_by_channel: tuple[tuple[str, int], ...] = ()

    def summary(self) -> str:
        """One plain line saying what happened."""
        by = f", opt-in by {self.term.opt_in_by}" if self.term.opt_in_by else ""
        if self.enrolled is not None:
            counts = self.enrolled
            waiting = f"; {counts.awaiting_approval} mentors await their principal's approval" if counts.awaiting_approval else ""
            return (
                f"Opened {self.term.name}{by}: enrolled {counts.mentors} mentors, {counts.mentees} mentees and {counts.both} both "
                f"from the roster ({counts.opted_out} opted out){waiting}."
            )
        channels = dict(self.asked_by_channel)
        return (
            f"Opened {self.term.name}{by}. Asked {self.asked} people to opt in ({channels.get('slack', 0)} by Slack DM, "
            f"{channels.get('email', 0)} by email); reminders follow after 3 and 7 days."
        )


def open_term(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, name: str, opt_in_by: date | None = None,
    enroll_roster: bool = False, program: str | None = None,
) -> TermOpened:  # fmt: skip
    """Open a term and bring its people in: enroll them as the roster says, or ask each to opt in (with reminders)."""
    program_name = _program_name(session, actor=actor, operation="term.open", requested=program, settings=settings)
    term = service.open_term_in(session, program_name=program_name, timezone=settings.default_timezone, name=name, opt_in_by=opt_in_by, now=now)
    if enroll_roster:
        counts = service.enroll_from_roster_in(
            session, program_name=program_name, term_name=term.name, require_approval=settings.require_principal_approval, now=now
        )
        return TermOpened(term=term, program_name=program_name, enrolled=counts)
    asked = notify.invite_to_term_in(session, term_id=term.id, now=now)
    schedule.schedule_term_reminders_in(session, term_id=term.id, now=now)
    channels = repo.message_channels(session, purpose="prompt.opt_in", key_prefix=f"prompt.opt_in:term:{term.id}:")
    return TermOpened(term=term, program_name=program_name, asked=asked, asked_by_channel=tuple(sorted(channels.items())))


def close_term(session: Session, *, actor: Actor, now: datetime, settings: Settings, name: str | None = None, program: str | None = None) -> Term:
    """Close a term (its open one when no name is given) once all its rounds are closed."""
    program_name = _program_name(session, actor=actor, operation="term.close", requested=program, settings=settings)
    return service.close_term_in(session, program_name=program_name, name=name, now=now)


def list_terms(session: Session, *, actor: Actor, settings: Settings, program: str | None = None) -> list[Term]:
    """The program's terms, oldest first."""
    the_program = program_for(session, actor=actor, operation="term.list", requested=program, default=settings.program_name)
    return repo.list_terms(session, program_id=the_program.id)


@dataclass(frozen=True)
class Decision:
    """A decision on a mentor, as recorded."""

    name: str
    email: str
    approval: str
    capacity: int

    def summary(self) -> str:
        return f"{self.name} ({self.email}): {self.approval} as a mentor, capacity {self.capacity}."


def decide_on_mentor(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, mentor_email: str, approve: bool = True,
    capacity: int | None = None, decided_by: str | None = None, term: str | None = None, program: str | None = None,
) -> Decision:  # fmt: skip
    """Record a decision on a mentor on the principal's behalf; the mentor hears it as from a principal's reply."""
    program_name = _program_name(session, actor=actor, operation="mentor.decide", requested=program, settings=settings)
    enrollment = service.decide_approval_in(
        session, program_name=program_name, term_name=term, mentor_email=mentor_email, approve=approve,
        decided_by=decided_by or actor.name, capacity=capacity, now=now,
    )  # fmt: skip
    person = session.get(Person, enrollment.person_id)
    event = dialogs.Event(
        "approval_decided", person.id, {"approval": enrollment.approval, "capacity": enrollment.capacity, "by": decided_by or actor.name, "term_id": enrollment.term_id}
    )
    notify.dispatch_events_in(session, [event], now=now)
    return Decision(name=person.name, email=person.email, approval=enrollment.approval, capacity=enrollment.capacity)


def approve_all(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, decided_by: str | None = None, program: str | None = None
) -> list[Decision]:
    """Approve every mentor of the open term still waiting for their principal."""
    program_name = _program_name(session, actor=actor, operation="mentor.approve_all", requested=program, settings=settings)
    term = open_term_of(session, program=repo.get_program(session, name=program_name))
    waiting = [p.email for e, p in repo.enrollments(session, term_id=term.id) if e.status == "opted_in" and e.approval == "pending"]
    return [
        decide_on_mentor(session, actor=actor, now=now, settings=settings, mentor_email=email, decided_by=decided_by, term=term.name, program=program_name)
        for email in waiting
    ]


def nudge(session: Session, *, actor: Actor, now: datetime, settings: Settings, program: str | None = None) -> notify.Reminded:
    """Ask again everyone in the open term who hasn't answered: the opt-in, their profile, a principal's decision."""
    program_name = _program_name(session, actor=actor, operation="term.nudge", requested=program, settings=settings)
    term = open_term_of(session, program=repo.get_program(session, name=program_name))
    # One nudge a minute at most: the same minute's nudge, sent twice, reaches each person once.
    return notify.remind_unanswered(session, term=term, now=now, attempt=f"nudge-{now:%Y%m%d%H%M}", principals=True)


@dataclass(frozen=True)
class TermStatus:
    """The open term at a glance: who answered, roles, approvals, profiles, messages and rounds."""

    term: Term
    invited: int
    statuses: dict[str, int]
    roles: dict[str, int]
    approvals: dict[str, int]
    profiles_complete: int
    messages_waiting: int
    messages_failed: int
    rounds: list[Round]
    channels: Backlog | None = None  # what waits on Slack and on email, and why; who no channel reaches
    timezone: str = "UTC"  # the program's, for the times in `channels`


def term_status(session: Session, *, actor: Actor, settings: Settings, program: str | None = None) -> TermStatus:
    """Where the program's open term stands."""
    the_program = program_for(session, actor=actor, operation="term.status", requested=program, default=settings.program_name)
    term = open_term_of(session, program=the_program)
    people = repo.enrollments(session, term_id=term.id)
    context = dialogs.context_key(flow="profile", term_id=term.id)
    complete = 0
    for enrollment, person in people:
        if enrollment.status == "opted_in":
            state = dialogs.current_state_in(session, person_id=person.id, flow="profile", context=context)
            complete += state is not None and state.status == "complete"
    outbox = repo.outbox_status_counts(session)
    return TermStatus(
        term=term, invited=len(people), statuses=dict(Counter(e.status for e, _ in people)),
        roles=dict(Counter(e.role for e, _ in people if e.status == "opted_in")),
        approvals=dict(Counter(e.approval for e, _ in people if e.status == "opted_in" and e.role in ("mentor", "both"))),
        profiles_complete=complete, messages_waiting=outbox.get("pending", 0) + outbox.get("sending", 0),
        messages_failed=outbox.get("failed", 0), rounds=repo.list_rounds(session, term_id=term.id),
        channels=channel_backlog(session, slack_configured=settings.slack_enabled), timezone=the_program.timezone,
    )  # fmt: skip


def _program_name(session: Session, *, actor: Actor, operation: str, requested: str | None, settings: Settings) -> str:
    """The name of the program an operation acts on, once the actor may; opening a term may create the program."""
    if operation != "term.open":
        return program_for(session, actor=actor, operation=operation, requested=requested, default=settings.program_name).name
    name = program_name_for(session, requested=requested, default=settings.program_name)
    authorize(actor, operation, repo.find_program(session, name=name))
    return name
