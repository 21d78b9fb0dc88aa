"""The numbers behind the admin pages: pool health, equity, engagement and the program's timeline.

Equity and pool health come from the matcher's own reports (`bot.matching.result_report`, `pool_health`): this
module feeds them what storage holds (the term's pool as the matcher saw it, and a round's pairs as they stand
after hand edits and rematches). Two things are added here: the combined areas (grade band x subject x topic) a
mentee needs, next to the matcher's one-rule-at-a-time areas, and the engagement and timeline numbers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.flows.definitions import CHECK_IN_CHOICES, LIKERT, SURVEY_ITEMS
from bot.matching import History, MatchResult, Pair, Participant, PoolHealth, ResultReport, RoundSettings, ScorePart, result_report
from bot.matching import pool_health as matching_pool_health
from bot.rounds.participants import history_from, round_settings_for, to_participant
from storage import repo
from storage.models import CheckIn, Enrollment, OutboxMessage, Pairing, Person, ProfileAnswer, Round, ScheduledAction, SurveyAnswer, Term

ANY = "any"
SCARCE_RATIO = 1.5  # fewer mentors than this per mentee marks an area as scarce
NO_ANSWER = "no answer"
LIVE_PAIRING_STATES = ("proposed", "published", "active", "stalled", "completed")


# --- pool health -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaHealth:
    """One combined area (grade band x subject x topic): the mentees who need it and the mentors who can serve it."""

    grade_band: str
    subject: str
    topic: str
    mentees: int
    mentors: int
    capacity: int

    @property
    def label(self) -> str:
        return f"{self.grade_band} · {self.subject} · {self.topic}"

    @property
    def mentors_per_mentee(self) -> float | None:
        return self.mentors / self.mentees if self.mentees else None

    @property
    def scarce(self) -> bool:
        """Fewer places (mentors' capacity summed) than mentees, or no mentor at all: where recruiting would help.

        A thin ratio of mentors alone (under SCARCE_RATIO per mentee) is no shortage when their capacity covers the
        mentees; advising to recruit there sent admins after the wrong cause.
        """
        return self.mentees > 0 and (self.mentors == 0 or self.capacity < self.mentees)


def _folded(values: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in sorted(values):
        out.setdefault(value.casefold(), value)
    return out


def pool_health(participants: Sequence[Participant], *, topic: str | None = None) -> list[AreaHealth]:
    """Mentors with capacity against mentees, per area a mentee belongs to; scarce areas first.

    A mentee belongs to every combination of their grade bands, subjects and topics (the round's topic when it
    has one, else their needs); a list they left empty counts as "any". A mentor serves an area when the hard
    rules would let them: a grade band and subject they share or left open, and the topic among their strengths
    (any mentor serves the "any" topic). Mentors count only with capacity left (approved, not full).
    """
    mentees = [p for p in participants if p.role in ("mentee", "both")]
    mentors = [p for p in participants if p.role in ("mentor", "both") and p.capacity > 0]
    demand: Counter[tuple[str, str, str]] = Counter()
    shown: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    for mentee in mentees:
        bands = _folded(mentee.grade_bands) or {ANY: ANY}
        subjects = _folded(mentee.subjects) or {ANY: ANY}
        topics = {topic.casefold(): topic} if topic else (_folded(mentee.needs) or {ANY: ANY})
        for band_key, band in bands.items():
            for subject_key, subject in subjects.items():
                for topic_key, topic_text in topics.items():
                    key = (band_key, subject_key, topic_key)
                    demand[key] += 1
                    shown.setdefault(key, (band, subject, topic_text))
    folded_mentors = [
        (
            {b.casefold() for b in m.grade_bands},
            {s.casefold() for s in m.subjects},
            {s.casefold() for s in m.strengths},
            m.capacity,
        )
        for m in mentors
    ]
    areas = []
    for key, mentee_count in demand.items():
        band, subject, topic_key = key
        serving = [
            capacity
            for bands, subjects, strengths, capacity in folded_mentors
            if (band == ANY or not bands or band in bands)
            and (subject == ANY or not subjects or subject in subjects)
            and (topic_key == ANY or topic_key in strengths)
        ]
        areas.append(AreaHealth(*shown[key], mentees=mentee_count, mentors=len(serving), capacity=sum(serving)))
    areas.sort(key=lambda a: (not a.scarce, (a.mentors_per_mentee or 0), -a.mentees, a.label.casefold()))
    return areas


@dataclass
class PoolReport:
    """The pool of a term as the next round would see it: the matcher's pool health and forecast, and combined areas."""

    term: Term
    topic: str | None
    round: Round | None
    health: PoolHealth
    combined: list[AreaHealth]
    names: dict[str, str]
    awaiting_approval: int = 0

    @property
    def forecast_matched(self) -> int:
        return self.health.mentees - len(self.health.forecast)


def term_pool(
    session: Session, *, term: Term, week_of: date, before_round_id: int | None = None, with_answers: bool = True
) -> tuple[list[Participant], History, dict[str, str], int]:
    """The term's opted-in people as the matcher sees them (capacity left after the term's live pairings).

    Without `with_answers` their profile answers are left out (no grade bands, subjects, needs or availability):
    enough for the equity report, which reads only role, site, program and capacity, and far cheaper.
    """
    pool = _term_pool(session, term_id=term.id, week_of=week_of, before_round_id=before_round_id, with_answers=with_answers)
    return list(pool.participants), pool.history, dict(pool.names), pool.awaiting


@dataclass
class _Pool:
    """A term's pool built from exactly the rows in `key` (kept with it so a later read can prove it unchanged)."""

    participants: tuple[Participant, ...]
    history: History
    names: dict[str, str]
    awaiting: int
    derived: dict[Any, Any] = field(default_factory=dict)  # what reports compute from this pool alone, by their inputs


_POOLS: OrderedDict[tuple, _Pool] = OrderedDict()
_POOLS_LOCK = threading.Lock()
_POOLS_KEPT = 4


def _term_pool(session: Session, *, term_id: int, week_of: date, before_round_id: int | None, with_answers: bool) -> _Pool:
    # The raw rows a pool is made from are cheap to read (plain tuples of text and numbers); turning 2,000 of them
    # into participants (JSON, frozensets, availability windows) and the matcher's forecast on top are not. So the
    # rows are read on every request and the pool rebuilt only when they differ from the last time: the cache key
    # is the rows themselves, so what it returns is never staler than a fresh build.
    people = enrolled_raw(session, term_id=term_id)
    active_ids = [row[_P_ID] for row in people if row[0] == "opted_in"]
    answer_rows = _answer_rows(session, person_ids=active_ids) if with_answers else ()
    earlier = earlier_pairs(session, term_id=term_id, before_round_id=before_round_id or 2**31 - 1)
    key = (term_id, week_of, with_answers, people, answer_rows, earlier)
    with _POOLS_LOCK:
        found = _POOLS.get(key)
        if found is not None:
            _POOLS.move_to_end(key)
            return found
    built = _build_pool(people, answer_rows, earlier, week_of=week_of)
    with _POOLS_LOCK:
        _POOLS[key] = built
        while len(_POOLS) > _POOLS_KEPT:
            _POOLS.popitem(last=False)
    return built


def _build_pool(people: tuple, answer_rows: tuple, earlier: tuple, *, week_of: date) -> _Pool:
    pairs = [(e, p) for e, p in (as_rows(row) for row in people)]
    active = [(enrollment, person) for enrollment, person in pairs if enrollment.status == "opted_in"]
    answers = _decoded(answer_rows, person_ids=[person.id for _, person in active])
    earlier_rows = [SimpleNamespace(mentor_id=mentor, mentee_id=mentee) for mentor, mentee in earlier]
    load = repo.mentor_load(earlier_rows)
    participants = tuple(
        to_participant(enrollment, person, answers[person.id], capacity_left=enrollment.capacity - load.get(person.id, 0), week_of=week_of)
        for enrollment, person in active
    )
    email_of = {person.id: person.email for _, person in pairs}
    awaiting = sum(1 for enrollment, _ in active if enrollment.role in ("mentor", "both") and enrollment.approval == "pending")
    return _Pool(participants, history_from(earlier_rows, email_of), {person.email: person.name for _, person in pairs}, awaiting)


# Plain rows (attribute access, no ORM objects) for the read-only reports: a district's term is 2,000 enrollments and
# their people, and building ORM objects for them was most of an admin page's time.
ENROLLMENT_COLUMNS = ("status", "role", "approval", "capacity")
_PERSON = ("id", "email", "name", "site", "prep_program", "timezone")
_PAIRING = ("id", "round_id", "mentor_id", "mentee_id", "status", "score", "breakdown", "reasons")


def answers_of(session: Session, *, person_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """`repo.profiles` for a read-only report: every answer of these people, {person_id: {question: value}}.

    The values come back as their JSON text and are decoded in one `json.loads` of them all: a district term's
    16,000 answers decoded one by one were a third of the pool page's time.
    """
    return _decoded(_answer_rows(session, person_ids=person_ids), person_ids=person_ids)


def _answer_rows(session: Session, *, person_ids: Sequence[int]) -> tuple[tuple[int, str, str | None], ...]:
    """These people's answers as (person_id, question, JSON text), undecoded."""
    wanted = set(person_ids)
    if not wanted:
        return ()
    table = ProfileAnswer.__table__
    statement = sa.select(table.c.person_id, table.c.question, sa.cast(table.c.value, sa.Text)).order_by(table.c.person_id, table.c.question)
    total = session.execute(sa.select(sa.func.count()).select_from(Person)).scalar_one()
    if len(wanted) * 2 >= total:  # most people: one scan, the others dropped here
        return tuple(tuple(row) for row in session.execute(statement).all() if row[0] in wanted)
    rows: list[Any] = []
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):
        rows += map(tuple, session.execute(statement.where(table.c.person_id.in_(ordered[start : start + 500]))).all())
    return tuple(rows)


def _decoded(rows: Sequence[tuple[int, str, str | None]], *, person_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    result: dict[int, dict[str, Any]] = {person_id: {} for person_id in person_ids}
    values = json.loads("[" + ",".join(text if text is not None else "null" for _pid, _question, text in rows) + "]")
    for (person_id, question, _text), value in zip(rows, values, strict=True):
        result[person_id][question] = value
    return result


def enrolled_rows(session: Session, *, term_id: int) -> list[tuple[Any, Any]]:
    """The term's enrollments and their people as (enrollment, person) plain rows, by name, as `repo.enrollments` gives them."""
    return [as_rows(row) for row in enrolled_raw(session, term_id=term_id)]


_P_ID = len(ENROLLMENT_COLUMNS)  # where the person's id sits in a raw enrolled row


def enrolled_raw(session: Session, *, term_id: int) -> tuple[tuple, ...]:
    """The term's enrollments and their people as flat tuples: the `ENROLLMENT_COLUMNS` columns, then the `_PERSON` ones."""
    enrollment, person = Enrollment.__table__, Person.__table__
    statement = (
        sa.select(*(enrollment.c[name] for name in ENROLLMENT_COLUMNS), *(person.c[name] for name in _PERSON))
        .join_from(enrollment, person, person.c.id == enrollment.c.person_id)
        .where(enrollment.c.term_id == term_id)
        .order_by(person.c.name, person.c.email)
    )
    return tuple(map(tuple, session.execute(statement).all()))  # plain tuples: they are compared as a cache key


def as_rows(row: tuple) -> tuple[Any, Any]:
    return (
        SimpleNamespace(**dict(zip(ENROLLMENT_COLUMNS, row[:_P_ID], strict=True))),
        SimpleNamespace(**dict(zip(_PERSON, row[_P_ID:], strict=True))),
    )


def pairing_rows(session: Session, *where: Any) -> list[Any]:
    """Pairings as plain rows (the columns the reports read), best score first as `repo.round_pairings` orders them."""
    table = Pairing.__table__
    statement = sa.select(*(table.c[name] for name in _PAIRING)).where(*where).order_by(table.c.rotation, table.c.score.desc(), table.c.id)
    return list(session.execute(statement))


def earlier_pairing_rows(session: Session, *, term_id: int, before_round_id: int) -> list[Any]:
    """`repo.earlier_pairings_in_term` as plain rows: the live pairings of the term's rounds created before this one."""
    earlier_rounds = sa.select(Round.id).where(Round.term_id == term_id, Round.id < before_round_id).scalar_subquery()
    return pairing_rows(session, col(Pairing.round_id).in_(earlier_rounds), col(Pairing.status).not_in(repo.INACTIVE_PAIRING_STATES))


def earlier_pairs(session: Session, *, term_id: int, before_round_id: int) -> tuple[tuple[int, int], ...]:
    """`earlier_pairing_rows` as (mentor_id, mentee_id) only: load and history need no scores or reasons (JSON)."""
    earlier_rounds = sa.select(Round.id).where(Round.term_id == term_id, Round.id < before_round_id).scalar_subquery()
    table = Pairing.__table__
    statement = (
        sa.select(table.c.mentor_id, table.c.mentee_id)
        .where(table.c.round_id.in_(earlier_rounds), table.c.status.not_in(repo.INACTIVE_PAIRING_STATES))
        .order_by(table.c.rotation, table.c.score.desc(), table.c.id)
    )
    return tuple(map(tuple, session.execute(statement).all()))


def round_settings(session: Session, round_: Round, *, session_minutes: int, week_of: date) -> RoundSettings:
    """The matcher's settings for a stored round, with its program's rules, as the round itself is matched."""
    return round_settings_for(session, round_, topic=round_.topic, sessions=round_.sessions, session_minutes=session_minutes, reference_date=week_of)


def load_pool_report(
    session: Session, *, term: Term, session_minutes: int, today: date, topic: str | None = None, round_: Round | None = None, sessions: int = 1
) -> PoolReport:
    """Pool health for the term, for a given round (its topic and rules) or for a next round on `topic`."""
    week_of = (round_.start_on or round_.match_on) if round_ is not None else None
    week_of = week_of or today
    pool = _term_pool(session, term_id=term.id, week_of=week_of, before_round_id=round_.id if round_ is not None else None, with_answers=True)
    if round_ is not None:
        topic = round_.topic
        settings = round_settings(session, round_, session_minutes=session_minutes, week_of=week_of)
    else:
        settings = RoundSettings(topic=topic or None, sessions=sessions, session_minutes=session_minutes, reference_date=week_of)
    # The matcher's pool health runs the matcher for its forecast: most of the pool page at a district's size. It
    # and the combined areas are functions of the pool (rebuilt whenever its rows change) and of these settings.
    wanted = (settings, topic or None)
    if wanted not in pool.derived:
        pool.derived[wanted] = (
            matching_pool_health(pool.participants, settings, pool.history), pool_health(pool.participants, topic=topic or None)
        )
    health, combined = pool.derived[wanted]
    return PoolReport(
        term=term, topic=topic or None, round=round_, health=health, combined=list(combined), names=dict(pool.names), awaiting_approval=pool.awaiting,
    )  # fmt: skip


# --- equity ------------------------------------------------------------------------------------


@dataclass
class EquityReport:
    """A round's pairs as they stand, through the matcher's equity report."""

    round: Round
    report: ResultReport
    mentors_used: int


def load_equity_report(session: Session, *, round_: Round, session_minutes: int, today: date) -> EquityReport:
    """Match rate and mean fit per site and program, and mentor load, for the round's live pairs.

    The pool is the term's as the matcher saw it for this round (capacity left after earlier rounds); its mentees
    are the round's: those paired (by the matcher or by hand) and those left unmatched.
    """
    week_of = round_.start_on or round_.match_on or today
    participants, _history, _names, _awaiting = term_pool(
        session, term=session.get(Term, round_.term_id), week_of=week_of, before_round_id=round_.id, with_answers=False
    )
    pairings = pairing_rows(session, Pairing.round_id == round_.id, Pairing.status.in_(LIVE_PAIRING_STATES))
    ids = {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
    email_of = dict(session.execute(sa.select(Person.id, Person.email).where(col(Person.id).in_(list(ids)))).all()) if ids else {}
    in_round = {email_of[p.mentee_id].casefold() for p in pairings}
    in_round |= {str(u.get("email", "")).casefold() for u in (round_.match_summary or {}).get("unmatched", [])}
    pool = []
    for participant in participants:
        if participant.role in ("mentee", "both") and participant.key.casefold() not in in_round:
            if participant.role == "mentee":
                continue  # joined after the round was matched
            participant = replace(participant, role="mentor")
        pool.append(participant)
    pairs = tuple(
        Pair(
            mentor=email_of[p.mentor_id], mentee=email_of[p.mentee_id], score=p.score,
            breakdown=tuple(ScorePart(str(factor), float(points)) for factor, points in (p.breakdown or {}).items()),
            reasons=(),  # the equity report reads scores, not reasons
        )  # fmt: skip
        for p in pairings
    )
    result = MatchResult(pairs=pairs, unmatched=(), total_score=sum(p.score for p in pairs), solve_seconds=0.0, candidate_edges=0)
    return EquityReport(round=round_, report=result_report(result, pool), mentors_used=len({p.mentor_id for p in pairings}))


# --- engagement --------------------------------------------------------------------------------

CHECK_IN_LABELS: dict[str | None, str] = {choice.value: choice.label for choice in CHECK_IN_CHOICES} | {None: "No answer yet"}
CHECK_IN_ORDER: tuple[str | None, ...] = (*(choice.value for choice in CHECK_IN_CHOICES), None)
LIKERT_LABELS = tuple(choice.label for choice in LIKERT)


def check_in_counts(answers: Iterable[str | None]) -> dict[str | None, int]:
    """Check-in answers counted in the flow's order, "no answer yet" last; unknown answers are ignored."""
    counts = Counter(answers)
    return {answer: counts.get(answer, 0) for answer in CHECK_IN_ORDER}


@dataclass(frozen=True)
class SurveyItem:
    """One Likert statement: how many chose each of 1..5, and the mean."""

    question: str
    text: str
    counts: tuple[int, int, int, int, int]

    @property
    def answers(self) -> int:
        return sum(self.counts)

    @property
    def mean(self) -> float | None:
        return sum((i + 1) * n for i, n in enumerate(self.counts)) / self.answers if self.answers else None

    @property
    def agree_share(self) -> float | None:
        """Share who agree or strongly agree."""
        return (self.counts[3] + self.counts[4]) / self.answers if self.answers else None


def survey_summary(answers: Iterable[tuple[str, Any]]) -> tuple[list[SurveyItem], list[str]]:
    """The Likert statements in the survey's order with their counts, and the non-empty comments."""
    counts: dict[str, list[int]] = {key: [0] * 5 for key, _ in SURVEY_ITEMS}
    comments = []
    for question, value in answers:
        if question == "comment":
            if isinstance(value, str) and value.strip():
                comments.append(value.strip())
            continue
        if question not in counts:
            continue
        try:
            score = int(value)
        except (TypeError, ValueError):
            continue
        if 1 <= score <= 5:
            counts[question][score - 1] += 1
    items = [SurveyItem(key, text, tuple(counts[key])) for key, text in SURVEY_ITEMS]  # type: ignore[arg-type]
    return items, comments


@dataclass(frozen=True)
class StalledPair:
    pairing_id: int
    round_id: int
    mentor: str
    mentee: str
    answers: tuple[str, ...]


@dataclass
class EngagementReport:
    round: Round | None
    pair_status: dict[str, int]
    mentor_check_ins: dict[str | None, int]
    mentee_check_ins: dict[str | None, int]
    survey: list[SurveyItem]
    comments: list[str]
    stalled: list[StalledPair] = field(default_factory=list)


def load_engagement_report(session: Session, *, term: Term, round_: Round | None) -> EngagementReport:
    """Check-ins and survey of one round, and the term's stalled pairs."""
    pair_status: dict[str, int] = {}
    mentor_answers: list[str | None] = []
    mentee_answers: list[str | None] = []
    survey_rows: list[tuple[str, Any]] = []
    if round_ is not None:
        # Counted from plain rows: a district round has 1,200 pairs and 2,400 check-ins.
        pair_status = dict(session.execute(
            sa.select(Pairing.status, sa.func.count()).where(Pairing.round_id == round_.id).group_by(Pairing.status)
        ).all())  # fmt: skip
        answered = (
            sa.select(CheckIn.person_id == Pairing.mentor_id, CheckIn.answer)
            .join(Pairing, col(Pairing.id) == CheckIn.pairing_id)
            .where(Pairing.round_id == round_.id)
            .order_by(CheckIn.id)
        )
        for by_mentor, answer in session.execute(answered):
            (mentor_answers if by_mentor else mentee_answers).append(answer)
        survey_rows = list(session.execute(sa.select(SurveyAnswer.question, SurveyAnswer.value).where(SurveyAnswer.round_id == round_.id).order_by(SurveyAnswer.id)))
    items, comments = survey_summary(survey_rows)
    # The term's stalled pairs with both names in one query, and their check-in answers in another (not three per pair).
    mentor, mentee = aliased(Person), aliased(Person)
    stalled_rows = session.execute(
        sa.select(Pairing.id, Pairing.round_id, mentor.name, mentee.name)
        .join(Round, col(Round.id) == Pairing.round_id)
        .join(mentor, mentor.id == Pairing.mentor_id)
        .join(mentee, mentee.id == Pairing.mentee_id)
        .where(Round.term_id == term.id, Pairing.status == "stalled")
        .order_by(Pairing.round_id, Pairing.id)
    ).all()  # fmt: skip
    answers_of: dict[int, list[str]] = {}
    if stalled_rows:
        for pairing_id, answer in session.execute(
            sa.select(CheckIn.pairing_id, CheckIn.answer).where(col(CheckIn.pairing_id).in_([row[0] for row in stalled_rows])).order_by(CheckIn.id)
        ):
            answers_of.setdefault(pairing_id, []).append(CHECK_IN_LABELS.get(answer, str(answer)))
    stalled = [StalledPair(pid, rid, mentor_name, mentee_name, tuple(answers_of.get(pid, ()))) for pid, rid, mentor_name, mentee_name in stalled_rows]
    return EngagementReport(
        round=round_, pair_status=pair_status, mentor_check_ins=check_in_counts(mentor_answers),
        mentee_check_ins=check_in_counts(mentee_answers), survey=items, comments=comments, stalled=stalled,
    )  # fmt: skip


# --- program overview and timelines ------------------------------------------------------------


@dataclass(frozen=True)
class ActionSummary:
    done: int
    pending: int
    skipped: int
    failed: int
    next_due: ScheduledAction | None
    last_done: ScheduledAction | None


def summarize_actions(actions: Sequence[ScheduledAction]) -> ActionSummary:
    """What a round has sent (done), what is still due (pending, the next one named) and what went wrong."""
    counts = Counter(a.status for a in actions)
    pending = sorted((a for a in actions if a.status in ("pending", "running")), key=lambda a: (a.due_at, a.id))
    done = sorted((a for a in actions if a.status == "done" and a.done_at), key=lambda a: (a.done_at, a.id))
    return ActionSummary(
        done=counts.get("done", 0), pending=counts.get("pending", 0) + counts.get("running", 0),
        skipped=counts.get("skipped", 0), failed=counts.get("failed", 0),
        next_due=pending[0] if pending else None, last_done=done[-1] if done else None,
    )  # fmt: skip


ACTION_LABELS = {
    "round.announce": "Announce the round and open sign-ups",
    "speed.plan": "Plan the rotations and send schedules",
    "speed.rotation": "Tell each table who they meet",
    "round.match": "Run the matcher",
    "round.notify": "Send pairing notices",
    "round.start": "Start the sessions",
    "round.close": "Close the round",
    "session.reminder": "Session reminder",
    "touchpoint.share": "Prompt mentee to share work",
    "touchpoint.feedback": "Prompt mentor to give feedback",
    "checkin.ask": "Ask both: did you meet?",
    "checkin.escalate": "Escalate if stalled",
    "survey.ask": "End-of-round survey",
    "term.remind": "Opt-in reminder",
}


@dataclass(frozen=True)
class TimelineStep:
    """All of a round's actions of one kind: how many were done, are due, were skipped or failed, and when."""

    kind: str
    label: str
    done: int
    due: int
    skipped: int
    failed: int
    first: datetime
    last: datetime


def timeline_steps(actions: Sequence[ScheduledAction]) -> list[TimelineStep]:
    """A round's actions grouped by kind, in the order they first fall due."""
    groups: dict[str, list[ScheduledAction]] = {}
    for action in sorted(actions, key=lambda a: (a.due_at, a.id or 0)):
        groups.setdefault(action.kind, []).append(action)
    steps = []
    for kind, group in groups.items():
        counts = Counter(a.status for a in group)
        moments = [a.done_at or a.due_at for a in group]
        steps.append(TimelineStep(
            kind=kind, label=action_label(kind), done=counts.get("done", 0), due=counts.get("pending", 0) + counts.get("running", 0),
            skipped=counts.get("skipped", 0), failed=counts.get("failed", 0), first=min(moments), last=max(moments),
        ))  # fmt: skip
    return steps


# What each outbox message is, in the words the admin pages use; prompts and email replies name their dialog after the dot.
MESSAGE_LABELS = {
    "approval.decided": "Principal's decision", "data.erasure": "Data erased", "data.erasure_code": "Erasure code",
    "data.export": "Their data", "email.failing": "Email failing (to admins)", "email.failing.person": "Email failing",
    "escalation": "Stalled pair (to admins)", "held_reply": "Reply to read (to admins)", "pairing": "Pairing notice",
    "pairing.cancelled": "Pairing cancelled", "pairing.update": "Pairing changed", "round.announce": "Round announcement",
    "session.reminder": "Session reminder", "speed.rotation": "Speed rotation", "speed.schedule": "Speed schedule",
    "touchpoint.feedback": "Prompt to give feedback", "touchpoint.share": "Prompt to share work",
}  # fmt: skip


def plain_words(key: str) -> str:
    """A machine key read aloud: "checkin.ask_again" -> "Checkin ask again"; for keys no label names yet."""
    words = key.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def action_label(kind: str) -> str:
    """A scheduled action's kind as the admin pages say it ("round.notify" -> "Send pairing notices")."""
    return ACTION_LABELS.get(kind) or plain_words(kind)


def message_label(purpose: str) -> str:
    """An outbox message's purpose as the admin pages say it ("prompt.check_in" -> "Question: check in")."""
    for prefix, lead in (("prompt.", "Question: "), ("email.reply.", "Reply by email: ")):
        if purpose.startswith(prefix) and purpose not in MESSAGE_LABELS:
            return lead + plain_words(purpose.removeprefix(prefix)).lower()
    return MESSAGE_LABELS.get(purpose) or plain_words(purpose)


@dataclass
class RoundLine:
    round: Round
    pairs: int
    actions: ActionSummary


@dataclass
class TermOverview:
    term: Term
    enrolled: dict[str, int]
    rounds: list[RoundLine]


def enrollment_counts(enrollments: Iterable[Enrollment]) -> dict[str, int]:
    """Opted-in mentors, mentees and both; opted out; still invited; mentors awaiting their principal."""
    counts = Counter()
    for e in enrollments:
        if e.status == "opted_in":
            counts[e.role] += 1
            if e.role in ("mentor", "both") and e.approval == "pending":
                counts["awaiting_approval"] += 1
        else:
            counts[e.status] += 1
    return {key: counts.get(key, 0) for key in ("mentor", "mentee", "both", "invited", "opted_out", "awaiting_approval")}


def load_overview(session: Session, *, program_id: int) -> list[TermOverview]:
    """Every term, newest first, with its enrollment counts and its rounds' progress.

    Counted in the database (a published district round has 13,000 scheduled actions; loading them to count them
    was most of the page's time): enrollments by status, role and approval; live pairs per round; actions per round
    by status, with the next one due and the last one done.
    """
    terms = list(reversed(repo.list_terms(session, program_id=program_id)))
    rounds = {term.id: repo.list_rounds(session, term_id=term.id) for term in terms}
    round_ids = [round_.id for listed in rounds.values() for round_ in listed]
    enrolled: dict[int, Counter[tuple[str, str, str]]] = {}
    if terms:
        statement = (
            sa.select(Enrollment.term_id, Enrollment.status, Enrollment.role, Enrollment.approval, sa.func.count())
            .where(col(Enrollment.term_id).in_([t.id for t in terms]))
            .group_by(Enrollment.term_id, Enrollment.status, Enrollment.role, Enrollment.approval)
        )
        for term_id, status, role, approval, count in session.execute(statement):
            enrolled.setdefault(term_id, Counter())[(status, role, approval)] += count
    pairs: dict[int, int] = {}
    summaries: dict[int, ActionSummary] = {}
    if round_ids:
        pairs = dict(session.execute(
            sa.select(Pairing.round_id, sa.func.count()).where(col(Pairing.round_id).in_(round_ids), Pairing.status != "cancelled").group_by(Pairing.round_id)
        ).all())  # fmt: skip
        summaries = action_summaries(session, round_ids=round_ids)
    empty = ActionSummary(0, 0, 0, 0, None, None)
    return [
        TermOverview(
            term, _enrollment_counts_of(enrolled.get(term.id, Counter())),
            [RoundLine(round_, pairs.get(round_.id, 0), summaries.get(round_.id, empty)) for round_ in rounds[term.id]],
        )  # fmt: skip
        for term in terms
    ]


def _enrollment_counts_of(grouped: Counter[tuple[str, str, str]]) -> dict[str, int]:
    """`enrollment_counts` over (status, role, approval) counts."""
    counts: Counter[str] = Counter()
    for (status, role, approval), n in grouped.items():
        if status == "opted_in":
            counts[role] += n
            if role in ("mentor", "both") and approval == "pending":
                counts["awaiting_approval"] += n
        else:
            counts[status] += n
    return {key: counts.get(key, 0) for key in ("mentor", "mentee", "both", "invited", "opted_out", "awaiting_approval")}


def action_summaries(session: Session, *, round_ids: Sequence[int]) -> dict[int, ActionSummary]:
    """`summarize_actions` for each round, counted in the database: the counts by status, the next due, the last done."""
    table = ScheduledAction.__table__
    counts: dict[int, Counter[str]] = {}
    for round_id, status, n in session.execute(
        sa.select(table.c.round_id, table.c.status, sa.func.count()).where(table.c.round_id.in_(round_ids)).group_by(table.c.round_id, table.c.status)
    ):
        counts.setdefault(round_id, Counter())[status] = n
    firsts: dict[int, ScheduledAction] = {}
    lasts: dict[int, ScheduledAction] = {}
    for round_id in counts:
        firsts_found = session.exec(
            select(ScheduledAction).where(ScheduledAction.round_id == round_id, col(ScheduledAction.status).in_(("pending", "running")))
            .order_by(ScheduledAction.due_at, ScheduledAction.id).limit(1)
        ).first()  # fmt: skip
        lasts_found = session.exec(
            select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.status == "done", col(ScheduledAction.done_at).is_not(None))
            .order_by(col(ScheduledAction.done_at).desc(), col(ScheduledAction.id).desc()).limit(1)
        ).first()  # fmt: skip
        if firsts_found is not None:
            firsts[round_id] = firsts_found
        if lasts_found is not None:
            lasts[round_id] = lasts_found
    return {
        round_id: ActionSummary(
            done=c.get("done", 0), pending=c.get("pending", 0) + c.get("running", 0), skipped=c.get("skipped", 0), failed=c.get("failed", 0),
            next_due=firsts.get(round_id), last_done=lasts.get(round_id),
        )  # fmt: skip
        for round_id, c in counts.items()
    }


def action_groups(session: Session, *, round_id: int) -> list[Any]:
    """The round's scheduled actions counted in the database, one row per kind, status, payload `before`, speed
    rotation key, due and done moment (`n` of them, the first by id `first_id`), in the actions' time order.

    A published district round has 13,000 actions in about 200 such groups; the round page's timeline (the steps, the
    summary by day, the counts) reads the groups, and only the actions a page lists are loaded (`action_page`).
    """
    table = ScheduledAction.__table__
    before = table.c.payload["before"].as_string()
    key = sa.case((table.c.kind == "speed.rotation", table.c.idempotency_key), else_=sa.literal_column("''"))
    first_id = sa.func.min(table.c.id)
    statement = (
        sa.select(
            table.c.kind, table.c.status, before.label("payload_before"), key.label("rotation_key"), table.c.due_at, table.c.done_at,
            sa.func.count().label("n"), first_id.label("first_id"),
        )
        .where(table.c.round_id == round_id)
        # By the labels: PostgreSQL would not match the JSON path's bound parameter in the select and the group by.
        .group_by(table.c.kind, table.c.status, sa.literal_column("payload_before"), sa.literal_column("rotation_key"), table.c.due_at, table.c.done_at)
        .order_by(table.c.due_at, first_id)
    )  # fmt: skip
    return list(session.execute(statement))


def action_page(session: Session, *, round_id: int, offset: int, limit: int) -> list[ScheduledAction]:
    """One page of the round's scheduled actions in time order (as `repo.round_actions` orders them all)."""
    statement = (
        select(ScheduledAction).where(ScheduledAction.round_id == round_id).order_by(ScheduledAction.due_at, ScheduledAction.id).offset(offset).limit(limit)
    )
    return list(session.exec(statement))


def timeline_steps_of(groups: Sequence[Any]) -> list[TimelineStep]:
    """`timeline_steps` from `action_groups`: the same steps, in the same order."""
    steps: dict[str, dict[str, Any]] = {}
    for group in groups:
        step = steps.get(group.kind)
        moment = group.done_at or group.due_at
        if step is None:
            step = steps[group.kind] = {"counts": Counter(), "first": moment, "last": moment}
        step["counts"][group.status] += group.n
        step["first"], step["last"] = min(step["first"], moment), max(step["last"], moment)
    return [
        TimelineStep(
            kind=kind, label=action_label(kind), done=step["counts"].get("done", 0), due=step["counts"].get("pending", 0) + step["counts"].get("running", 0),
            skipped=step["counts"].get("skipped", 0), failed=step["counts"].get("failed", 0), first=step["first"], last=step["last"],
        )  # fmt: skip
        for kind, step in steps.items()
    ]


def timeline_days_of(groups: Sequence[Any], *, timezone_name: str) -> list[tuple[str, list[TimelineDay]]]:
    """`timeline_days` from `action_groups`: the same lines, without wording every action one by one."""
    zone = ZoneInfo(timezone_name)
    day_of: dict[datetime, str] = {}
    lines: dict[tuple[str, str], dict[str, int]] = {}
    for group in groups:
        moment = group.done_at if group.status == "done" and group.done_at else group.due_at
        day = day_of.get(moment)
        if day is None:
            day = day_of[moment] = day_words((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone))
        counts = lines.setdefault((day, _row_kind_words(group.kind, group.payload_before, group.rotation_key or "")), {})
        counts[group.status] = counts.get(group.status, 0) + group.n
    days: dict[str, list[TimelineDay]] = {}
    for (day, what), by_status in lines.items():
        counts = Counter({STATUS_WORDS.get(status, status): n for status, n in by_status.items()})
        statuses = next(iter(counts)) if len(counts) == 1 else ", ".join(f"{n} {status}" for status, n in counts.most_common())
        days.setdefault(day, []).append(TimelineDay(day, what, sum(counts.values()), statuses))
    return list(days.items())


@lru_cache(maxsize=1024)
def _row_kind_words(kind: str, before: str | None, key: str) -> str:
    # The words `_kind_words` gives an entry; they depend only on these (the key only for a speed rotation's number).
    payload = {"before": before} if before is not None else {}
    what = _what(SimpleNamespace(kind=kind, payload=payload, idempotency_key=key))
    return _kind_words(SimpleNamespace(kind=kind, what=what))


def outbox_counts(session: Session) -> dict[str, int]:
    """Messages in the outbox by status."""
    counts = Counter(status for status in session.exec(select(OutboxMessage.status)))
    return dict(sorted(counts.items()))


def when(moment: datetime | None, zone: Any) -> str:
    """A moment in the program's zone, as admins read it."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%a %b %-d, %H:%M")


# --- a round's timeline in words ---------------------------------------------------------------

STATUS_WORDS = {"pending": "due", "running": "sending", "done": "done", "skipped": "skipped", "failed": "failed"}
_BEFORE = {"day": "a day", "hour": "an hour"}


@dataclass(frozen=True)
class TimelineEntry:
    """One promise of a round as an admin reads it: when (in the program's zone), what, for whom, and how it stands."""

    due: datetime
    kind: str
    what: str
    who: str
    status: str
    result: str = ""

    def line(self) -> str:
        """"Mon 1 Feb 07:00 PST · reminder a day before session 1 · Priya Silva (mentee) · due"."""
        return " · ".join(part for part in (moment_words(self.due), self.what, self.who, self.status) if part)


def moment_words(moment: datetime) -> str:
    """A moment as "Mon 1 Feb 07:00 PST" (already in the zone wanted)."""
    return f"{moment:%a} {moment.day} {moment:%b %H:%M %Z}".strip()


def day_words(moment: datetime) -> str:
    """A day as "Mon 1 Feb 2027"."""
    return _day_words(moment.date())


@lru_cache(maxsize=4096)
def _day_words(day: date) -> str:
    # A round's 13,000 actions fall on a few dozen days: each day is worded once.
    return f"{day:%a} {day.day} {day:%b %Y}"


def _what(action: ScheduledAction) -> str:
    payload = action.payload or {}
    number = payload.get("number") or payload.get("after_session")
    if action.kind == "session.reminder":
        return f"reminder {_BEFORE.get(payload.get('before'), 'a day')} before session {number}"
    if action.kind == "touchpoint.share":
        return f"prompt to share work after session {number}"
    if action.kind == "touchpoint.feedback":
        return f"prompt to give feedback after session {number}"
    if action.kind == "speed.rotation":
        return f"rotation {action.idempotency_key.rsplit(':', 1)[-1]} starts"
    return {
        "round.notify": "pairing notices to every pair",
        "checkin.ask": "check-in: did you meet?",
        "checkin.escalate": "tell the admins if the pair has stalled",
        "survey.ask": "end-of-round survey",
        "round.start": "sessions start",
        "round.close": "the round closes",
        "round.match": "the matcher runs",
    }.get(action.kind, action_label(action.kind).lower())


def timeline_entries(
    session: Session, *, round_id: int, timezone_name: str, actions: Sequence[ScheduledAction] | None = None
) -> list[TimelineEntry]:
    """The round's scheduled actions in time order, in words: when in the program's zone, what, for whom, status.

    `actions` are the round's, or the page of them the admin page shows (then only their people's names are read).
    """
    zone = ZoneInfo(timezone_name)
    actions = repo.round_actions(session, round_id=round_id) if actions is None else actions
    pairing_ids = {int((a.payload or {})["pairing_id"]) for a in actions if (a.payload or {}).get("pairing_id")}
    pairings = {p.id: p for p in pairing_rows(session, col(Pairing.id).in_(list(pairing_ids)))} if pairing_ids else {}
    people_ids = {p.mentor_id for p in pairings.values()} | {p.mentee_id for p in pairings.values()}
    names = dict(session.execute(sa.select(Person.id, Person.name).where(col(Person.id).in_(list(people_ids)))).all()) if people_ids else {}
    entries = []
    for action in actions:
        payload = action.payload or {}
        pairing = pairings.get(int(payload["pairing_id"])) if payload.get("pairing_id") else None
        who = ""
        if pairing is not None:
            mentor, mentee = names.get(pairing.mentor_id, "?"), names.get(pairing.mentee_id, "?")
            role = payload.get("role") or {"touchpoint.share": "mentee", "touchpoint.feedback": "mentor"}.get(action.kind)
            if role == "mentor":
                who = f"{mentor} (mentor)"
            elif role == "mentee":
                who = f"{mentee} (mentee)"
            else:
                who = f"{mentor} and {mentee}"
        moment = (action.done_at if action.status == "done" and action.done_at else action.due_at)
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=timezone.utc)
        entries.append(TimelineEntry(
            due=moment.astimezone(zone), kind=action.kind, what=_what(action), who=who,
            status=STATUS_WORDS.get(action.status, action.status), result=action.result or "",
        ))  # fmt: skip
    return entries


@dataclass(frozen=True)
class TimelineDay:
    """The entries of one kind on one day: how many, and how they stand ("24 due", "10 done, 2 skipped")."""

    day: str
    what: str
    count: int
    statuses: str


def timeline_by_day(entries: Sequence[TimelineEntry]) -> list[TimelineDay]:
    """Entries summarised by day and kind, in time order (a reminder's "session 1" and "session 2" count together)."""
    groups: dict[tuple[str, str], list[TimelineEntry]] = {}
    for entry in entries:
        what = _kind_words(entry)
        groups.setdefault((day_words(entry.due), what), []).append(entry)
    out = []
    for (day, what), group in groups.items():
        counts = Counter(e.status for e in group)
        statuses = next(iter(counts)) if len(counts) == 1 else ", ".join(f"{n} {status}" for status, n in counts.most_common())
        out.append(TimelineDay(day, what, len(group), statuses))
    return out


def timeline_days(entries: Sequence[TimelineEntry]) -> list[tuple[str, list[TimelineDay]]]:
    """`timeline_by_day` with each day's kinds under it: [("Mon 1 Feb 2027", [reminders a day before: 504 due, …]), …]."""
    days: dict[str, list[TimelineDay]] = {}
    for line in timeline_by_day(entries):
        days.setdefault(line.day, []).append(line)
    return list(days.items())


def _kind_words(entry: TimelineEntry) -> str:
    if entry.kind == "session.reminder":
        return "session reminders " + entry.what.split(" before ")[0].removeprefix("reminder ") + " before"
    if entry.kind.startswith("touchpoint."):
        return entry.what.rsplit(" after session", 1)[0].replace("prompt", "prompts")
    return entry.what


# --- speed events -------------------------------------------------------------------------------------------------


def rotation_lines(summary: dict[str, Any], *, most: int = 10) -> list[str]:
    """A speed event's stored plan in a few lines: rotations, people, pairs per rotation, and who sits out when and why."""
    if not summary or "rotations" not in summary:
        return []
    per_rotation = list(summary.get("per_rotation") or [])
    people = summary["mentors"] + summary["mentees"]
    if per_rotation and len(set(per_rotation)) == 1:
        pairs = f"{per_rotation[0]} pair{'' if per_rotation[0] == 1 else 's'} in each rotation"
    else:
        pairs = "pairs per rotation: " + ", ".join(str(n) for n in per_rotation)
    lines = [
        f"{summary['rotations']} rotation{'' if summary['rotations'] == 1 else 's'} of {summary['minutes']} minutes; "
        f"{people} {'person' if people == 1 else 'people'} ({summary['mentors']} mentors, {summary['mentees']} mentees); "
        f"{pairs}; {summary['matched']} meetings in all, no pair meets twice.",
    ]
    resting = list(summary.get("sitting_out") or [])
    if not resting:
        lines.append("Nobody sits out a rotation.")
    by_why: dict[str, list[str]] = {}
    for entry in resting:
        rotations = entry["rotations"]
        when = "every rotation" if len(rotations) == summary["rotations"] else f"rotation{'' if len(rotations) == 1 else 's'} {', '.join(map(str, rotations))}"
        by_why.setdefault(entry["why"], []).append(f"{entry['name']} ({when})")
    for why, names in by_why.items():
        shown = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
        lines.append(f"Sitting out ({why}): {shown}.")
    return lines
