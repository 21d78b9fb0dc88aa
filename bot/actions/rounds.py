"""Round operations: create, list, open, match, edit pairs in review, preview, publish, start, close and cancel a round;
rematch a pair; the pool."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.actions.access import Actor
from bot.actions.scope import open_term_of, pairing_for, program_for, round_for
from bot.matching import MatchLead
from bot.rounds import events, review, schedule, service
from bot.rounds.kinds import Matcher, RoundRequest, kind_of
from bot.rounds.reports import PoolReport, TimelineEntry, load_pool_report, timeline_entries
from bot.settings import Settings
from storage import repo
from bot.rounds.participants import ProgramRules
from storage.models import Pairing, Person, Program, Round, Term

CANCELLABLE = ("draft", "collecting", "matching", "review", "published", "running")  # every state but closed
# A long operation's progress, heard as (steps done, steps in all); the front end draws it, the action stays UI-free.
Progress = Callable[[int, int], None]


def lead_of(summary: dict[str, Any] | None) -> MatchLead | None:
    """The lead paragraph's facts stored with a round's last match (None before a match, or for rounds matched by sign-ups)."""
    stored = (summary or {}).get("lead")
    return MatchLead.from_dict(stored) if stored else None


def create_round(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, request: RoundRequest, term: str | None = None,
    program: str | None = None,
) -> Round:
    """Create a round of any kind in the program's open term (or the named one).

    A speed event's start typed without a zone (`starts_at`) is the program's wall-clock time.
    """
    the_program = program_for(session, actor=actor, operation="round.create", requested=program, default=settings.program_name)
    starts_at = request.starts_at
    if starts_at is not None and starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=ZoneInfo(the_program.timezone))
    wanted = replace(request, kind=(request.kind or "").strip().lower(), starts_at=starts_at)
    the_term = open_term_of(session, program=the_program, name=term)
    return service.create_round_in(session, program_name=the_program.name, term_name=the_term.name, request=wanted, now=now)


def list_rounds(session: Session, *, actor: Actor, settings: Settings, term: str | None = None, program: str | None = None) -> tuple[Term, list[Round]]:
    """The term's rounds (the open term unless one is named), oldest first."""
    the_program = program_for(session, actor=actor, operation="round.list", requested=program, default=settings.program_name)
    the_term = open_term_of(session, program=the_program, name=term)
    return the_term, repo.list_rounds(session, term_id=the_term.id)


@dataclass(frozen=True)
class RoundRules:
    """The matching rules a round runs under beyond the defaults, and whether the round set them or its program did."""

    relax: tuple[str, ...]
    require: tuple[str, ...]
    own: bool  # set when the round was created (--relax/--require); else the program's rules apply

    def line(self) -> str:
        """One line: "rules: relaxes availability; adds same_subject (set for this round)"."""
        parts = ([f"relaxes {', '.join(self.relax)}"] if self.relax else []) + ([f"adds {', '.join(self.require)}"] if self.require else [])
        said = "; ".join(parts) or "the default rules, nothing relaxed or added"
        return f"rules: {said} ({'set for this round' if self.own else 'the program' + chr(39) + 's rules'})"


def rules_of(round_: Round, program: Program) -> RoundRules:
    """The rules a round matches by: its own when it was created with some, else its program's."""
    stored, defaults = round_.settings or {}, ProgramRules.of(program.settings)
    own = "relax" in stored or "require" in stored
    relax = stored["relax"] if "relax" in stored else defaults.relax
    require = stored["require"] if "require" in stored else defaults.require
    return RoundRules(tuple(sorted(relax)), tuple(sorted(require)), own)


@dataclass(frozen=True)
class RoundView:
    """A round with its pairs as people read them, and the rules it matches by."""

    round: Round
    pairs: list[service.PairView]
    timing: schedule.SpeedTiming | None = None  # speed events: when the schedules go out and the rotations start
    rules: RoundRules | None = None

    @property
    def summary(self) -> dict[str, Any]:
        return self.round.match_summary or {}

    @property
    def lead(self) -> MatchLead | None:
        """The facts the result leads with (render with `lead.paragraph(command)`)."""
        return lead_of(self.round.match_summary)


def show_round(session: Session, *, actor: Actor, round_id: int, now: datetime | None = None, program: str | None = None) -> RoundView:
    """A round, its pairs with reasons, and who is unmatched and why; a speed event also says what happens when."""
    _round, _term, the_program = round_for(session, actor=actor, operation="round.show", round_id=round_id, requested=program)
    round_, pairs = service.round_pairs_in(session, round_id=round_id)
    return RoundView(round_, pairs, _timing(session, round_, now), rules_of(round_, the_program))


def _timing(session: Session, round_: Round, now: datetime | None) -> schedule.SpeedTiming | None:
    if kind_of(round_).matcher is not Matcher.ROTATION or round_.status == "closed":
        return None
    return schedule.speed_timing(session, round_=round_, now=now or round_.status_changed_at)


@dataclass(frozen=True)
class Timeline:
    """A round's promises in words, in time order, in its program's time zone."""

    round: Round
    timezone: str
    entries: list[TimelineEntry]


def round_timeline(session: Session, *, actor: Actor, round_id: int, program: str | None = None) -> Timeline:
    """What the round has sent and what is due, in time order: when (the program's zone), what, for whom, status."""
    round_, _term, the_program = round_for(session, actor=actor, operation="round.show", round_id=round_id, requested=program)
    return Timeline(round_, the_program.timezone, timeline_entries(session, round_id=round_id, timezone_name=the_program.timezone))


@dataclass(frozen=True)
class Moved:
    """A round after a move, and how many announcements the move queued."""

    round: Round
    announced: int = 0


def open_round(session: Session, *, actor: Actor, now: datetime, round_id: int, program: str | None = None) -> Moved:
    """Open a draft round for collection; a topic event or interview round announces itself to its pool, once."""
    round_, _term, _program = round_for(session, actor=actor, operation="round.open", round_id=round_id, requested=program)
    queued = events.open_round_in(session, round_id=round_id, now=now)
    return Moved(round_, queued)


def start_round(session: Session, *, actor: Actor, now: datetime, round_id: int, program: str | None = None) -> Moved:
    """Start a published round's sessions."""
    round_for(session, actor=actor, operation="round.start", round_id=round_id, requested=program)
    return Moved(service.move_round_in(session, round_id=round_id, target="running", now=now))


def close_round(session: Session, *, actor: Actor, now: datetime, round_id: int, program: str | None = None) -> Moved:
    """Close a running round."""
    round_for(session, actor=actor, operation="round.close", round_id=round_id, requested=program)
    return Moved(service.move_round_in(session, round_id=round_id, target="closed", now=now))


@dataclass(frozen=True)
class Cancelled:
    """A round called off: how many pairs, who will be told, and what was dropped."""

    round: Round
    pairs_dropped: int
    told: int
    actions_dropped: int
    messages_dropped: int = 0

    def summary(self) -> str:
        """One plain line saying what was called off, who is told and what was dropped."""
        told = f"{_count(self.told, 'person', 'people')} will be told" if self.told else "nobody had been told of a pair"
        dropped = _count(self.actions_dropped, "scheduled message")
        if self.messages_dropped:
            dropped += f" and {_count(self.messages_dropped, 'unsent notice')}"
        return f"Cancelled round {self.round.id}: {_count(self.pairs_dropped, 'pair')} called off, {told}, {dropped} dropped."


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def cancel_round(
    session: Session, *, actor: Actor, now: datetime, round_id: int, message: str | None = None, program: str | None = None
) -> Cancelled:
    """Call off a round in any state but closed. Nothing it scheduled or queued is sent; everyone who was already told
    of a pair hears once that it is off (with `message`, the admin's note); the round is closed, so the term can close."""
    round_for(session, actor=actor, operation="round.cancel", round_id=round_id, requested=program)
    outcome = schedule.cancel_round_in(session, round_id=round_id, now=now, by=actor.name, message=message)
    return Cancelled(outcome.round, outcome.pairs, outcome.told, outcome.actions_dropped, outcome.messages_dropped)


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling a round would do, for a confirmation box: pairs called off and people told."""

    round: Round
    pairs: int
    told: int


def cancel_preview(session: Session, *, actor: Actor, round_id: int, program: str | None = None) -> CancelPreview:
    """How many pairs cancelling the round calls off and how many people it tells; nothing changes."""
    round_, _term, _program = round_for(session, actor=actor, operation="round.show", round_id=round_id, requested=program)
    pairs, told = schedule.cancel_reach(session, round_=round_)
    return CancelPreview(round_, pairs, told)


@dataclass(frozen=True)
class Matched:
    """A match run: the round in review with its pairs, and the matcher's counts."""

    round: Round
    pairs: list[service.PairView]
    mentors: int
    mentees: int
    timing: schedule.SpeedTiming | None = None  # speed events: when the schedules go out and the rotations start

    @property
    def summary(self) -> dict[str, Any]:
        return self.round.match_summary or {}

    @property
    def lead(self) -> MatchLead | None:
        """The facts the result leads with (render with `lead.paragraph(command)`)."""
        return lead_of(self.round.match_summary)


def match_round(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, round_id: int, program: str | None = None,
    progress: Progress | None = None,
) -> Matched:
    """Run the matcher on a collecting round (or again on one in review); the pairs wait in review, nothing is sent.

    A speed event (draft, collecting or in review) has its rotations planned now over who takes part, for review."""
    round_for(session, actor=actor, operation="round.match", round_id=round_id, requested=program)
    outcome = service.match_in(session, round_id=round_id, session_minutes=settings.session_minutes, now=now, progress=progress)
    round_, pairs = service.round_pairs_in(session, round_id=round_id)
    return Matched(round_, pairs, outcome.mentors, outcome.mentees, _timing(session, round_, now))


@dataclass(frozen=True)
class MentorChoice:
    """The mentors an admin may pick for one mentee of a round in review, those who meet every rule first."""

    round: Round
    mentee: Person
    options: list[review.MentorOption]


def mentor_options(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, round_id: int, mentee_id: int, program: str | None = None
) -> MentorChoice:
    """Every mentor of the term for this mentee of a round in review, each with the rules pairing them would break."""
    round_, _term, _program = round_for(session, actor=actor, operation="round.show", round_id=round_id, requested=program)
    review.check_in_review(round_)
    mentee, options = review.mentor_options(session, round_=round_, mentee_id=mentee_id, session_minutes=settings.session_minutes, today=now.date())
    return MentorChoice(round_, mentee, options)


def set_pair(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, round_id: int, mentee_id: int, mentor_id: int,
    override: bool = False, program: str | None = None,
) -> review.PairCheck:  # fmt: skip
    """Pair a mentee with this mentor in a round in review, replacing their pair; a pair that breaks a rule needs `override`.

    Without `override`, such a pair raises `review.BreaksRules` (a Conflict carrying the rules) and nothing is saved.
    """
    round_for(session, actor=actor, operation="round.edit_pairs", round_id=round_id, requested=program)
    return review.set_pair(
        session, round_id=round_id, mentor_id=mentor_id, mentee_id=mentee_id, admin=actor.name, session_minutes=settings.session_minutes,
        now=now, override=override,
    )  # fmt: skip


def remove_pair(session: Session, *, actor: Actor, now: datetime, round_id: int, pairing_id: int, program: str | None = None) -> Person:
    """Undo a proposed pair of a round in review; the mentee (returned) goes back on the unmatched list, with the reason."""
    round_for(session, actor=actor, operation="round.edit_pairs", round_id=round_id, requested=program)
    return review.remove_pair(session, round_id=round_id, pairing_id=pairing_id, admin=actor.name, now=now)


@dataclass(frozen=True)
class PoolView:
    """The pool at a glance: the matcher's own health report, and who is missing what."""

    term: Term
    report: PoolReport
    without_availability: list[str]
    invited: int
    opted_out: int


@dataclass(frozen=True)
class Preview:
    """A round as it would go out: its pairs and reasons, who is unmatched and why, and the pool; nothing is sent."""

    round: Round
    pairs: list[service.PairView]
    pool: PoolView
    opened: bool = False
    matched: bool = False
    timing: schedule.SpeedTiming | None = None  # speed events: when the schedules go out and the rotations start

    @property
    def summary(self) -> dict[str, Any]:
        return self.round.match_summary or {}

    @property
    def lead(self) -> MatchLead | None:
        """The facts the result leads with (render with `lead.paragraph(command)`)."""
        return lead_of(self.round.match_summary)


def preview_round(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, round_id: int, rematch: bool = False, program: str | None = None,
    progress: Progress | None = None,
) -> Preview:
    """Open a draft round if needed, match it if it has no pairs yet (or again with `rematch`), and show the result."""
    round_, term, _program = round_for(session, actor=actor, operation="round.preview", round_id=round_id, requested=program)
    opened = matched = False
    if round_.status == "draft":
        events.open_round_in(session, round_id=round_id, now=now)  # the same opening as `round open`
        opened = True
    if round_.status == "collecting" or (round_.status == "review" and rematch):
        service.match_in(session, round_id=round_id, session_minutes=settings.session_minutes, now=now, progress=progress)
        matched = True
    round_, pairs = service.round_pairs_in(session, round_id=round_id)
    pool_view = _pool_view(session, term=term, settings=settings, now=now, round_=round_)
    return Preview(round_, pairs, pool_view, opened, matched, _timing(session, round_, now))


def pool(session: Session, *, actor: Actor, now: datetime, settings: Settings, term: str | None = None, program: str | None = None) -> PoolView:
    """The open term's (or the named term's) pool: places, thin areas, the forecast, and who is missing what."""
    the_program = program_for(session, actor=actor, operation="pool.show", requested=program, default=settings.program_name)
    term = open_term_of(session, program=the_program, name=term)
    return _pool_view(session, term=term, settings=settings, now=now)


def _pool_view(session: Session, *, term: Term, settings: Settings, now: datetime, round_: Round | None = None) -> PoolView:
    report = load_pool_report(session, term=term, session_minutes=settings.session_minutes, today=now.date(), round_=round_)
    people = repo.enrollments(session, term_id=term.id)
    answers = repo.profiles(session, person_ids=[p.id for e, p in people if e.status == "opted_in"])
    no_time = [p.name for e, p in people if e.status == "opted_in" and e.role in ("mentee", "both") and not answers[p.id].get("availability")]
    return PoolView(
        term=term, report=report, without_availability=no_time, invited=sum(1 for e, _ in people if e.status == "invited"),
        opted_out=sum(1 for e, _ in people if e.status == "opted_out"),
    )  # fmt: skip


def publish_round(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, round_id: int, message: str | None = None, program: str | None = None,
    progress: Progress | None = None,
) -> schedule.PublishOutcome:
    """Publish a reviewed round: propose session times and schedule every notice, reminder, check-in and the survey."""
    round_for(session, actor=actor, operation="round.publish", round_id=round_id, requested=program)
    note = (message or "").strip() or None
    return schedule.publish_in(session, round_id=round_id, now=now, config=schedule.schedule_config(settings), message=note, progress=progress)


@dataclass(frozen=True)
class Rematched:
    """A stalled pairing cancelled, and the new one when another mentor could take the mentee."""

    old: Pairing
    mentee_name: str
    new: Pairing | None = None
    new_mentor_name: str | None = None
    reasons: list[str] = field(default_factory=list)


def rematch(session: Session, *, actor: Actor, now: datetime, settings: Settings, pairing_id: int, program: str | None = None) -> Rematched:
    """Cancel a stalled pairing and match its mentee again (never with the same mentor); both are told."""
    old, _round, _program = pairing_for(session, actor=actor, operation="pairing.rematch", pairing_id=pairing_id, requested=program)
    new = schedule.rematch_in(session, pairing_id=pairing_id, now=now, config=schedule.schedule_config(settings))
    mentee = session.get(Person, old.mentee_id)
    if new is None:
        return Rematched(old, mentee.name)
    mentor = session.get(Person, new.mentor_id)
    return Rematched(old, mentee.name, new, mentor.name, list(new.reasons))
