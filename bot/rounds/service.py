"""Term and round operations: open a term, enroll, approve, create rounds, match, publish, close."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.matching import (
    MatchResult,
    RoundSettings,
    SideConstraints,
    SpeedSchedule,
    match_lead,
    match_round,
    rule_names,
    solve_with_side_constraints,
    speed_schedule,
)
from bot.rounds.kinds import MATCH_ACTION, Matcher, RoundRequest, kind_of, speed_start  # noqa: F401  (the last two lived here; callers still read them here)
from bot.rounds.lifecycle import (
    IllegalTransition,
    RoundError,
    check_term_accepts_rounds,
    check_term_close,
)
from bot.programs.pools import members_pool, pool_member_ids
from bot.programs.spec import approval_rule
from bot.rounds.events import match_signups_in, merged_result
from bot.rounds.moves import move_round, move_round_in, step_round  # noqa: F401  (callers read the moves here too)
from bot.rounds.participants import ProgramRules, history_from, round_settings, to_participant
from storage import repo
from storage.db import in_transaction
from storage.models import Enrollment, Person, Program, Round, Term

logger = logging.getLogger(__name__)


# --- terms -------------------------------------------------------------------------------------


def open_term_in(
    session: Session, *, program_name: str, timezone: str, name: str, opt_in_by: date | None, now: datetime
) -> Term:
    """Open a new term for the program; a second term with the same name is refused."""
    name = name.strip()
    if not name:
        raise RoundError("a term needs a name, such as \"Spring 2027\"")
    if opt_in_by is not None and opt_in_by < now.date():
        raise RoundError(f"the opt-in date {opt_in_by} is already past")
    program = repo.get_or_create_program(session, name=program_name, timezone=timezone, now=now)
    if repo.find_term(session, program_id=program.id, name=name) is not None:
        raise RoundError(f"a term called '{name}' already exists")
    return repo.create_term(session, program_id=program.id, name=name, opt_in_by=opt_in_by, now=now)


open_term = in_transaction(open_term_in)


def close_term_in(session: Session, *, program_name: str, name: str | None, now: datetime) -> Term:
    """Close a term whose rounds are all closed."""
    program = repo.get_program(session, name=program_name)
    term = repo.get_term(session, program_id=program.id, name=name)
    unfinished = [(r.id, r.status) for r in repo.list_rounds(session, term_id=term.id) if r.status != "closed"]
    check_term_close(term.status, unfinished)
    term.status, term.closed_at = "closed", now
    return term


close_term = in_transaction(close_term_in)


@dataclass
class EnrollmentCounts:
    mentors: int = 0
    mentees: int = 0
    both: int = 0
    opted_out: int = 0
    awaiting_approval: int = 0


def enroll_from_roster_in(session: Session, *, program_name: str, term_name: str | None, require_approval: bool, now: datetime) -> EnrollmentCounts:
    """Enroll everyone on file in the term as their roster row says (role and capacity), for programs that opt in by roster."""
    counts = EnrollmentCounts()
    term = _open_term(session, program_name=program_name, term_name=term_name)
    program = session.get(Program, term.program_id)
    members = pool_member_ids(session, program_id=term.program_id)
    rules = ProgramRules.of(program.settings)
    # The program's own setting, when its definition sets one, wins over the site-wide default the caller passes.
    require_approval = approval_rule(program.name, program.settings, setting=require_approval).value
    for person in repo.list_people(session):
        if members is not None and person.id not in members:
            continue  # the program's pool decides who takes part
        role = rules.role_for(person.role)
        is_mentor = role in ("mentor", "both")
        opted_out = is_mentor and person.capacity <= 0 and role == "mentor"
        approval = "pending" if (is_mentor and require_approval and not opted_out) else "not_required"
        repo.upsert_enrollment(
            session,
            term_id=term.id,
            person_id=person.id,
            role="none" if opted_out else role,
            capacity=person.capacity if is_mentor else 0,
            status="opted_out" if opted_out else "opted_in",
            approval=approval,
            now=now,
        )
        if opted_out:
            counts.opted_out += 1
            continue
        counter = {"mentor": "mentors", "mentee": "mentees", "both": "both"}[role]
        setattr(counts, counter, getattr(counts, counter) + 1)
        counts.awaiting_approval += approval == "pending"
    return counts


enroll_from_roster = in_transaction(enroll_from_roster_in)


def decide_approval_in(
    session: Session,
    *,
    program_name: str,
    term_name: str | None,
    mentor_email: str,
    approve: bool,
    decided_by: str,
    now: datetime,
    capacity: int | None = None,
) -> Enrollment:
    """Record a principal's decision on a mentor: approve (optionally changing capacity) or decline."""
    if capacity is not None and not 0 <= capacity <= 10:
        raise RoundError("capacity must be a whole number from 0 to 10")
    term = _open_term(session, program_name=program_name, term_name=term_name)
    person = repo.people_by_email(session, emails=[mentor_email.strip().lower()]).get(mentor_email.strip().lower())
    if person is None:
        raise RoundError(f"nobody with the email {mentor_email} is on the roster")
    enrollment = repo.get_enrollment(session, term_id=term.id, person_id=person.id)
    if enrollment.role not in ("mentor", "both"):
        raise RoundError(f"{person.name} has not opted in as a mentor this term")
    enrollment.approval = "approved" if approve else "declined"
    enrollment.approved_by, enrollment.decided_at, enrollment.updated_at = decided_by, now, now
    if capacity is not None:
        enrollment.capacity = capacity
    return enrollment


decide_approval = in_transaction(decide_approval_in)


def approve_enrollments_in(session: Session, *, term: Term, enrollments: list[Enrollment], decided_by: str, now: datetime) -> list[Enrollment]:
    """Approve many waiting mentors of an open term at once, as they offered (capacity unchanged); returns them."""
    check_term_accepts_rounds(term.status)
    for enrollment in enrollments:
        if enrollment.term_id != term.id or enrollment.role not in ("mentor", "both"):
            raise RoundError(f"enrollment {enrollment.id} is no mentor of {term.name}")
        enrollment.approval = "approved"
        enrollment.approved_by, enrollment.decided_at, enrollment.updated_at = decided_by, now, now
    return enrollments


def _open_term(session: Session, *, program_name: str, term_name: str | None) -> Term:
    program = repo.get_program(session, name=program_name)
    term = repo.get_term(session, program_id=program.id, name=term_name)
    check_term_accepts_rounds(term.status)
    return term


# --- rounds ------------------------------------------------------------------------------------


def validate_round_request(request: RoundRequest, *, today: date) -> None:
    """Refuse a round that could not run, with the reason (an unknown matching rule too, with the ones there are)."""
    kind_of(request).validate(request, today=today)
    round_rules(request)


def round_rules(request: RoundRequest) -> tuple[frozenset[str], frozenset[str]]:
    """The rules a request relaxes and adds, in the matcher's spelling; a `RoundError` naming the valid ones for an unknown one."""
    try:
        return rule_names(request.relax, option="relax"), rule_names(request.require, option="require")
    except ValueError as exc:
        raise RoundError(str(exc)) from None


def create_round_in(session: Session, *, program_name: str, term_name: str | None, request: RoundRequest, now: datetime) -> Round:
    """Create a draft round in the term and, when it has a match date, schedule its matching."""
    validate_round_request(request, today=now.date())
    term = _open_term(session, program_name=program_name, term_name=term_name)
    program = repo.get_program(session, name=program_name)
    kind = kind_of(request)
    fields = kind.fields(request, timezone=program.timezone, now=now)
    relax, require = round_rules(request)
    if relax or require:
        # The round keeps its whole rule set: the program's rules at creation plus its own, as `round show` shows them.
        rules = ProgramRules.of(program.settings)
        fields["settings"] = {**(fields.get("settings") or {}), "relax": sorted(rules.relax | relax), "require": sorted(rules.require | require)}
    members = members_pool(session, program_id=program.id)
    if members is not None:
        fields["pool_id"] = members.id  # the round draws on its program's pool
    round_ = repo.create_round(session, term_id=term.id, fields=fields, now=now)
    for planned in kind.plan(round_, timezone=program.timezone, now=now):
        repo.schedule_action(
            session, idempotency_key=planned.key, kind=planned.action, due_at=planned.due_at, round_id=round_.id, payload=planned.payload
        )
    return round_


create_round = in_transaction(create_round_in)


@dataclass
class MatchOutcome:
    """A match run as the admin sees it."""

    round: Round
    result: MatchResult
    mentors: int
    mentees: int
    names: dict[str, str] = field(default_factory=dict)
    rotations: SpeedSchedule | None = None  # speed events: the meetings by rotation (`result` then holds no pairs)


Progress = Callable[[int, int], None]
MATCH_STEPS = 3  # read the pool, match, work out the lead (two more matcher runs at most)


def match_in(
    session: Session, *, round_id: int, session_minutes: int, now: datetime, progress: Progress | None = None
) -> MatchOutcome:
    """Match a collecting round (or re-match one in review) and leave its proposed pairs in review.

    `progress(done, total)`, when given, hears each step as it ends.
    """
    tick = progress or (lambda done, total: None)
    tick(0, MATCH_STEPS)
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    kind = kind_of(round_)
    if kind.matcher is Matcher.SIGNUPS:
        return _match_signups(session, round_=round_, session_minutes=session_minutes, now=now)
    if kind.matcher is Matcher.ROTATION:
        return _match_rotations(session, round_=round_, now=now)
    if round_.status not in ("collecting", "review"):
        raise IllegalTransition(
            f"round {round_id} is {round_.status}; only a collecting round (or one in review, to re-run) can be matched"
        )
    step_round(round_, "matching", now)
    week_of = round_.start_on or round_.match_on or now.date()
    people = repo.enrollments(session, term_id=round_.term_id)
    term = session.get(Term, round_.term_id)
    program = session.get(Program, term.program_id)
    members = pool_member_ids(session, program_id=term.program_id)
    rules = ProgramRules.of(program.settings)
    # Only the program's pool is matched: someone who left the pool after enrolling is not paired.
    active = [
        (enrollment, person)
        for enrollment, person in people
        if enrollment.status == "opted_in" and (members is None or person.id in members)
    ]
    answers = repo.profiles(session, person_ids=(person.id for _, person in active))
    earlier = repo.earlier_pairings_in_term(session, term_id=round_.term_id, before_round_id=round_id)
    load = repo.mentor_load(earlier)
    participants = [
        to_participant(
            enrollment,
            person,
            answers[person.id],
            capacity_left=enrollment.capacity - load.get(person.id, 0),
            week_of=week_of,
            role=rules.role_for(enrollment.role),
        )
        for enrollment, person in active
    ]
    email_of = {person.id: person.email for _, person in people}
    settings = round_settings(
        round_.settings or {},
        rules,
        topic=round_.topic,
        sessions=round_.sessions,
        session_minutes=session_minutes,
        reference_date=week_of,
    )
    # Mentors still waiting for their principal, as they would take part once approved: what approving them would gain.
    awaiting = [
        replace(participant, capacity=max(enrollment.capacity - load.get(person.id, 0), 0))
        for participant, (enrollment, person) in zip(participants, active)
        if enrollment.role in ("mentor", "both") and enrollment.approval == "pending"
    ]
    tick(1, MATCH_STEPS)
    constraints = equity_constraints(program.settings, participants)
    history = history_from(earlier, email_of)
    if constraints.active:
        result = solve_with_side_constraints(participants, settings, history, constraints)
    else:
        result = match_round(participants, settings, history)
    tick(2, MATCH_STEPS)
    lead = match_lead(participants, settings, result, history, awaiting=awaiting)
    tick(3, MATCH_STEPS)
    id_of = {person.email: person.id for _, person in active}
    repo.replace_pairings(
        session,
        round_id=round_id,
        pairings=[
            {
                "mentor_id": id_of[pair.mentor],
                "mentee_id": id_of[pair.mentee],
                "score": pair.score,
                "breakdown": {part.factor: part.points for part in pair.breakdown},
                "reasons": list(pair.reasons),
            }
            for pair in result.pairs
        ],
        now=now,
    )
    names = {person.email: person.name for _, person in active}
    mentors = sum(1 for p in participants if p.role in ("mentor", "both") and p.capacity > 0)
    mentees = sum(1 for p in participants if p.role in ("mentee", "both"))
    round_.match_summary = {
        "ran_at": now.isoformat(),
        "mentors": mentors,
        "mentees": mentees,
        "matched": len(result.pairs),
        "total_score": result.total_score,
        "solve_seconds": result.solve_seconds,
        "candidate_edges": result.candidate_edges,
        "unmatched": [{"email": u.key, "name": names.get(u.key, u.key), "reasons": list(u.reasons)} for u in result.unmatched],
        "lead": lead.as_dict(),
    }
    step_round(round_, "review", now)
    return MatchOutcome(round=round_, result=result, mentors=mentors, mentees=mentees, names=names)


run_matching = in_transaction(match_in)


def _match_signups(session: Session, *, round_: Round, session_minutes: int, now: datetime) -> MatchOutcome:
    if round_.status not in ("collecting", "review"):
        raise IllegalTransition(
            f"round {round_.id} is {round_.status}; only a collecting round (or one in review, to re-run) can be matched"
        )
    step_round(round_, "matching", now)
    results = match_signups_in(session, round_=round_, session_minutes=session_minutes, now=now)
    step_round(round_, "review", now)
    names = {email: name for item in results for email, name in item.names.items()}
    summary = round_.match_summary
    return MatchOutcome(round=round_, result=merged_result(results), mentors=summary["mentors"], mentees=summary["mentees"], names=names)


def _match_rotations(session: Session, *, round_: Round, now: datetime) -> MatchOutcome:
    """Plan a speed event's rotations now and leave the plan in review (a draft is opened first: speed events announce nothing)."""
    if round_.status == "draft":
        step_round(round_, "collecting", now)
    if round_.status not in ("collecting", "review"):
        raise IllegalTransition(
            f"round {round_.id} is {round_.status}; only a speed event not yet published can have its rotations planned again"
        )
    step_round(round_, "matching", now)
    plan, names = plan_rotations_in(session, round_=round_, now=now, status="proposed")
    step_round(round_, "review", now)
    result = MatchResult(pairs=(), unmatched=(), total_score=plan.total_score, solve_seconds=plan.solve_seconds, candidate_edges=plan.candidate_edges)
    return MatchOutcome(round=round_, result=result, mentors=plan.mentors, mentees=plan.mentees, names=names, rotations=plan)


def speed_people(session: Session, *, round_: Round) -> list[tuple[Enrollment, Person]]:
    """Who takes part in a speed event: everyone opted in to the term who is in the program's pool."""
    term = session.get(Term, round_.term_id)
    members = pool_member_ids(session, program_id=term.program_id)
    return [(e, p) for e, p in repo.enrollments(session, term_id=round_.term_id) if e.status == "opted_in" and (members is None or p.id in members)]


def plan_rotations_in(session: Session, *, round_: Round, now: datetime, status: str) -> tuple[SpeedSchedule, dict[str, str]]:
    """Plan every rotation of a speed event over who takes part now, store the meetings as the round's pairings
    (with `status`) and a summary a person can read (`reports.rotation_lines`); returns the plan and names by email."""
    program = session.get(Program, session.get(Term, round_.term_id).program_id)
    starts = speed_start(round_, timezone_name=program.timezone)
    people = speed_people(session, round_=round_)
    answers = repo.profiles(session, person_ids=[p.id for _, p in people])
    participants = [to_participant(e, p, answers[p.id], capacity_left=max(e.capacity, 1), week_of=starts.date()) for e, p in people]
    minutes, rotations = round_.rotation_minutes or 10, round_.rotations or 1
    # At the event everyone is in the room: time windows and earlier pairs of the term do not apply.
    settings = RoundSettings(topic=round_.topic, session_minutes=minutes, reference_date=starts.date(), relax=frozenset({"availability"}))
    plan = speed_schedule(participants, settings, rotations=rotations, minutes=minutes)
    by_email = {p.email: p for _, p in people}
    repo.replace_pairings(
        session,
        round_id=round_.id,
        pairings=[
            {"mentor_id": by_email[m.mentor].id, "mentee_id": by_email[m.mentee].id, "rotation": m.rotation, "score": m.score, "status": status, "reasons": []}
            for m in plan.meetings
        ],
        now=now,
    )
    names = {email: person.name for email, person in by_email.items()}
    round_.match_summary = _rotation_summary(plan, names, people=sorted(p.id for _, p in people), now=now)
    return plan, names


def _rotation_summary(plan: SpeedSchedule, names: dict[str, str], *, people: list[int], now: datetime) -> dict[str, Any]:
    """The plan as stored on the round: counts, meetings per rotation, who sits out when and why, and who took part."""
    met = {key for m in plan.meetings for key in (m.mentor, m.mentee)}
    seats = plan.mentors * plan.per_mentor
    resting: dict[str, dict[str, Any]] = {}
    for sit_out in plan.sit_outs:
        entry = resting.setdefault(sit_out.key, {"email": sit_out.key, "name": names.get(sit_out.key, sit_out.key), "role": sit_out.role, "rotations": []})
        entry["rotations"].append(sit_out.rotation)
    for entry in resting.values():
        if entry["email"] not in met:
            entry["why"] = "no mentors take part" if entry["role"] == "mentee" and not plan.mentors else (
                "no mentees take part" if entry["role"] == "mentor" and not plan.mentees else "nobody they may meet under the program's rules"
            )
        elif entry["role"] == "mentee" and plan.mentees > seats:
            entry["why"] = "more mentees than mentor seats, so mentees take turns resting"
        elif entry["role"] == "mentor" and plan.mentors * plan.per_mentor > plan.mentees:
            entry["why"] = "more mentors than mentees, so mentors take turns resting"
        else:
            entry["why"] = "fewer partners they may meet than rotations"
    per_rotation = Counter(m.rotation for m in plan.meetings)
    return {
        "ran_at": now.isoformat(),
        "rotations": plan.rotations,
        "minutes": plan.minutes,
        "mentors": plan.mentors,
        "mentees": plan.mentees,
        "matched": len(plan.meetings),
        "per_rotation": [per_rotation.get(r, 0) for r in range(1, plan.rotations + 1)],
        "total_score": plan.total_score,
        "solve_seconds": plan.solve_seconds,
        "candidate_edges": plan.candidate_edges,
        "people": people,
        "sitting_out": sorted(resting.values(), key=lambda e: (-len(e["rotations"]), e["name"].casefold())),
        "unmatched": [{"email": e["email"], "name": e["name"], "reasons": [e["why"]]} for e in resting.values() if e["email"] not in met],
    }


def equity_constraints(program_settings: dict[str, Any] | None, participants: list) -> SideConstraints:
    """The program's equity rules as the matcher's side constraints: high-need sites placed first, a cap per site, a fairness floor (fit points)."""
    equity = (program_settings or {}).get("equity") or {}
    site_cap, floor = equity.get("site_cap"), equity.get("fairness_floor")
    mentees_at: dict[str, int] = {}
    for p in participants:
        if p.site and p.role in ("mentee", "both"):
            mentees_at[p.site] = mentees_at.get(p.site, 0) + 1
    high_need = {str(site).strip().casefold() for site in equity.get("high_need_sites") or ()}
    cap = int(site_cap) if site_cap else None
    # Every mentee of a high-need site is asked for; the solver places as many of them as the rules allow before others.
    minimums = tuple((site, min(count, cap) if cap else count) for site, count in sorted(mentees_at.items()) if site.casefold() in high_need)
    return SideConstraints(
        site_minimums=minimums,
        site_caps=tuple((site, cap) for site in sorted(mentees_at)) if cap else (),
        fairness_floor=int(floor) if floor is not None else None,
        time_limit_seconds=10.0,
    )


@dataclass(frozen=True)
class PairView:
    mentor_name: str
    mentor_email: str
    mentee_name: str
    mentee_email: str
    score: float
    reasons: list[str]
    status: str
    topic: str | None = None  # topic events: the pair's topic; interviews: what the mentee asked to learn about
    rotation: int | None = None  # speed events: the rotation the pair meets in


def round_pairs_in(session: Session, *, round_id: int) -> tuple[Round, list[PairView]]:
    """The round and its pairings with names, for display and export."""
    round_ = repo.get_round(session, round_id=round_id)
    pairings = repo.round_pairings(session, round_id=round_id)
    people = {p.id: p for p in _people(session, {x.mentor_id for x in pairings} | {x.mentee_id for x in pairings})}
    views = [
        PairView(
            mentor_name=people[p.mentor_id].name,
            mentor_email=people[p.mentor_id].email,
            mentee_name=people[p.mentee_id].name,
            mentee_email=people[p.mentee_id].email,
            score=p.score,
            reasons=list(p.reasons),
            status=p.status,
            topic=kind_of(round_).pairing_topic(round_, p),
            rotation=p.rotation if kind_of(round_).matcher is Matcher.ROTATION else None,
        )
        for p in pairings
    ]
    return round_, views


round_pairs = in_transaction(round_pairs_in)


def _people(session: Session, ids: set[int]) -> list[Person]:
    return [person for person in (session.get(Person, person_id) for person_id in sorted(ids)) if person is not None]
