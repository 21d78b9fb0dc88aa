"""Term operations: open and close a term, decide on mentors, remind people who haven't answered, the term at a glance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot import dialogs, notify
from bot.actions.access import Actor, authorize
from bot.actions.scope import open_term_of, open_terms, program_for, program_name_for, program_of_term
from bot.outbox import Backlog, channel_backlog
from bot.rounds import schedule, service
from bot.errors import Conflict, NotFound
from bot.programs.spec import Effective, approval_rule
from bot.settings import Settings
from storage import repo
from storage.models import Enrollment, Person, Round, Term


@dataclass(frozen=True)
class TermOpened:
    """A term just opened, and how its people were brought in: enrolled from the roster, or asked."""

    term: Term
    program_name: str
    approval: Effective
    enrolled: service.EnrollmentCounts | None = None
    asked: int = 0
    asked_by_channel: tuple[tuple[str, int], ...] = ()

    def summary(self) -> str:
        """What happened, then the approval rule the term runs under and where it comes from, on a line of its own."""
        by = f", opt-in by {self.term.opt_in_by}" if self.term.opt_in_by else ""
        if self.enrolled is not None:
            counts = self.enrolled
            waiting = f"; {counts.awaiting_approval} mentors await their principal's approval" if counts.awaiting_approval else ""
            done = (
                f"Opened {self.term.name}{by}: enrolled {counts.mentors} mentors, {counts.mentees} mentees and {counts.both} both "
                f"from the roster ({counts.opted_out} opted out){waiting}."
            )
        else:
            channels = dict(self.asked_by_channel)
            done = (
                f"Opened {self.term.name}{by}. Asked {self.asked} people to opt in ({channels.get('slack', 0)} by Slack DM, "
                f"{channels.get('email', 0)} by email); reminders follow after 3 and 7 days."
            )
        return f"{done}\n{self.approval.line()}"


def open_term(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, name: str, opt_in_by: date | None = None,
    enroll_roster: bool = False, alongside: bool = False, program: str | None = None,
) -> TermOpened:  # fmt: skip
    """Open a term and bring its people in: enroll them as the roster says, or ask each to opt in (with reminders).

    While the program has a term open, another is refused unless `alongside` asks for two at once: with two open,
    every term operation must then name its term.
    """
    program_name = _program_name(session, actor=actor, operation="term.open", requested=program, settings=settings)
    existing = repo.find_program(session, name=program_name)
    still_open = open_terms(session, program=existing) if existing is not None and not alongside else []
    if still_open and name.strip() not in {t.name for t in still_open}:  # the same name again: the service says it exists
        names = ", ".join(f"'{t.name}'" for t in still_open)
        raise Conflict(
            f"{program_name} already has an open term ({names}): close it first (term close \"{still_open[-1].name}\"), "
            "or pass --alongside to run two terms at once",
            code="term_open",
        )
    term = service.open_term_in(session, program_name=program_name, timezone=settings.default_timezone, name=name, opt_in_by=opt_in_by, now=now)
    approval = _approval(session, term=term, settings=settings)
    if enroll_roster:
        counts = service.enroll_from_roster_in(
            session, program_name=program_name, term_name=term.name, require_approval=settings.require_principal_approval, now=now
        )
        return TermOpened(term=term, program_name=program_name, approval=approval, enrolled=counts)
    asked = notify.invite_to_term_in(session, term_id=term.id, now=now)
    schedule.schedule_term_reminders_in(session, term_id=term.id, now=now)
    channels = repo.message_channels(session, purpose="prompt.opt_in", key_prefix=f"prompt.opt_in:term:{term.id}:")
    return TermOpened(term=term, program_name=program_name, approval=approval, asked=asked, asked_by_channel=tuple(sorted(channels.items())))


def close_term(session: Session, *, actor: Actor, now: datetime, settings: Settings, name: str | None = None, program: str | None = None) -> Term:
    """Close a term (its open one when no name is given) once all its rounds are closed."""
    program_name = _program_name(session, actor=actor, operation="term.close", requested=program, settings=settings)
    if not name:  # the open term, when exactly one is open
        name = open_term_of(session, program=repo.get_program(session, name=program_name)).name
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
    the_term = open_term_of(session, program=repo.get_program(session, name=program_name), name=term)
    enrollment = service.decide_approval_in(
        session, program_name=program_name, term_name=the_term.name, mentor_email=mentor_email, approve=approve,
        decided_by=decided_by or actor.name, capacity=capacity, now=now,
    )  # fmt: skip
    person = session.get(Person, enrollment.person_id)
    event = dialogs.Event(
        "approval_decided", person.id, {"approval": enrollment.approval, "capacity": enrollment.capacity, "by": decided_by or actor.name, "term_id": enrollment.term_id}
    )
    notify.dispatch_events_in(session, [event], now=now)
    return Decision(name=person.name, email=person.email, approval=enrollment.approval, capacity=enrollment.capacity)


SHOWN_DECISIONS = 10  # approvals a front end lists one by one before it counts the rest


@dataclass(frozen=True)
class Approved:
    """Mentors approved at once on their principals' behalf: which term, which filter, and each decision."""

    term: Term
    decisions: tuple[Decision, ...]
    site: str | None = None
    principal: str | None = None

    @property
    def scope(self) -> str:
        """Whom the approval was for, in words: "at Lincoln High", "of principal x@d.example", or ""."""
        parts = ([f"at {self.site}"] if self.site else []) + ([f"of principal {self.principal}"] if self.principal else [])
        return " " + " and ".join(parts) if parts else ""

    def summary(self) -> str:
        """One plain line: how many were approved (each is told), or that nobody was waiting."""
        if not self.decisions:
            return f"No mentor{self.scope} is waiting for a principal's approval in {self.term.name}."
        count = len(self.decisions)
        return f"Approved {count} mentor{'' if count == 1 else 's'}{self.scope} in {self.term.name}; each is told."


def approve_all(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, site: str | None = None, principal: str | None = None,
    decided_by: str | None = None, term: str | None = None, program: str | None = None,
) -> Approved:  # fmt: skip
    """Approve every mentor still waiting for their principal, or only those of a site and/or a principal, at once.

    One transaction whatever the number: the decisions are written together and each mentor's notice is queued once
    (its key names the decision, so a repeat queues nothing). A site or principal with nobody waiting is refused
    with the sites and principals that do have mentors waiting.
    """
    the_program = program_for(session, actor=actor, operation="mentor.approve_all", requested=program, default=settings.program_name)
    the_term = open_term_of(session, program=the_program, name=term)
    waiting = [
        (enrollment, person) for enrollment, person in repo.enrollments(session, term_id=the_term.id)
        if enrollment.status == "opted_in" and enrollment.approval == "pending" and enrollment.role in dialogs.MENTOR_ROLES
    ]  # fmt: skip
    site_wanted, principal_wanted = _folded(site), (principal or "").strip().lower() or None
    chosen = [
        (enrollment, person) for enrollment, person in waiting
        if (site_wanted is None or _folded(person.site) == site_wanted)
        and (principal_wanted is None or (person.principal_email or "").strip().lower() == principal_wanted)
    ]  # fmt: skip
    if waiting and not chosen:
        raise NotFound(_nobody_waiting(waiting, site=site, principal=principal, term=the_term), code="nobody_waiting")
    who = decided_by or actor.name
    decided = service.approve_enrollments_in(session, term=the_term, enrollments=[e for e, _ in chosen], decided_by=who, now=now)
    events = [
        dialogs.Event("approval_decided", e.person_id, {"approval": e.approval, "capacity": e.capacity, "by": who, "term_id": the_term.id})
        for e in decided
    ]  # fmt: skip
    notify.dispatch_events_in(session, events, now=now)
    decisions = tuple(Decision(name=p.name, email=p.email, approval=e.approval, capacity=e.capacity) for e, p in chosen)
    # The site as the roster spells it, once someone matched; else as it was typed.
    shown_site = " ".join((chosen[0][1].site if chosen else site or "").split()) if site and site.strip() else None
    return Approved(term=the_term, decisions=decisions, site=shown_site, principal=principal_wanted)


def _folded(text: str | None) -> str | None:
    """A site name as compared: trimmed, inner spaces collapsed, case folded ("  Lincoln  HIGH " is "lincoln high")."""
    folded = " ".join((text or "").split()).casefold()
    return folded or None


def _nobody_waiting(waiting: list[tuple[Enrollment, Person]], *, site: str | None, principal: str | None, term: Term) -> str:
    """Why a filter approved nobody, with the sites (or principals, or both: what was asked by) that do have mentors waiting."""
    asked_site, asked_principal = bool(site and site.strip()), bool(principal and principal.strip())
    asked = " and ".join(([f"at site '{site.strip()}'"] if asked_site else []) + ([f"of principal '{principal.strip()}'"] if asked_principal else []))
    where = []
    if asked_site:
        where.append("at " + _listed(Counter(" ".join((p.site or "").split()) or "(no site)" for _, p in waiting)))
    if asked_principal:
        where.append("for principals " + _listed(Counter((p.principal_email or "").strip().lower() or "(none on file)" for _, p in waiting)))
    return f"no mentor {asked} is waiting for approval in {term.name}; mentors are waiting {' and '.join(where)}"


def _listed(counts: Counter[str], most: int = 12) -> str:
    """Names with their counts, by name: "Lincoln (3), Madison K-8 (7)", the first `most` and how many more."""
    names = sorted(counts, key=str.casefold)
    shown = ", ".join(f"{name} ({counts[name]})" for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def nudge(session: Session, *, actor: Actor, now: datetime, settings: Settings, term: str | None = None, program: str | None = None) -> notify.Reminded:
    """Ask again everyone in the open term (or the named one) who hasn't answered: the opt-in, their profile, a principal's decision."""
    program_name = _program_name(session, actor=actor, operation="term.nudge", requested=program, settings=settings)
    term = open_term_of(session, program=repo.get_program(session, name=program_name), name=term)
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
    approval: Effective  # whether mentors need their principal's approval, and who decided that
    channels: Backlog | None = None  # what waits on Slack and on email, and why; who no channel reaches
    timezone: str = "UTC"  # the program's, for the times in `channels`


def term_status(session: Session, *, actor: Actor, settings: Settings, term: str | None = None, program: str | None = None) -> TermStatus:
    """Where the program's open term (or the named one) stands."""
    the_program = program_for(session, actor=actor, operation="term.status", requested=program, default=settings.program_name)
    term = open_term_of(session, program=the_program, name=term)
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
        approval=_approval(session, term=term, settings=settings),
        channels=channel_backlog(session, slack_configured=settings.slack_enabled), timezone=the_program.timezone,
    )  # fmt: skip


def _approval(session: Session, *, term: Term, settings: Settings) -> Effective:
    """The approval rule of the term's program: its own `require_approval`, else REQUIRE_PRINCIPAL_APPROVAL."""
    program = program_of_term(session, term)
    return approval_rule(program.name, program.settings, setting=settings.require_principal_approval)


def _program_name(session: Session, *, actor: Actor, operation: str, requested: str | None, settings: Settings) -> str:
    """The name of the program an operation acts on, once the actor may; opening a term may create the program."""
    if operation != "term.open":
        return program_for(session, actor=actor, operation=operation, requested=requested, default=settings.program_name).name
    name = program_name_for(session, requested=requested, default=settings.program_name)
    authorize(actor, operation, repo.find_program(session, name=name))
    return name
