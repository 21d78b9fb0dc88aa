"""Turn stored enrollments and profiles into the matcher's plain dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.flows.parsers import AnswerError, parse_slots
from bot.importer import person_fields, profile_answers
from bot.matching import History, MatchResult, Participant, RoundSettings, match_round, weekly_windows_utc
from bot.roster import read_roster
from storage.models import Enrollment, Pairing, Person, Program, Round, Term

# Mentors take part only once their principal said yes, or when the program needs no approval.
MENTOR_READY_APPROVALS = ("approved", "not_required")
_PARTICIPANT_FIELDS = frozenset(f.name for f in fields(Participant))


@dataclass(frozen=True)
class ProgramRules:
    """The matching rules a program sets as defaults for its rounds (see `bot.programs.spec.RulesSpec`)."""

    require: frozenset[str] = frozenset()
    relax: frozenset[str] = frozenset()
    allow_both_role: bool = True

    @classmethod
    def of(cls, program_settings: Mapping[str, Any] | None) -> ProgramRules:
        """The rules stored on a program's settings, none when it sets none."""
        rules = (program_settings or {}).get("rules") or {}
        return cls(
            require=frozenset(rules.get("require") or ()),
            relax=frozenset(rules.get("relax") or ()),
            allow_both_role=bool(rules.get("allow_both_role", True)),
        )

    def role_for(self, role: str) -> str:
        """The role a person takes part in: "both" becomes "mentor" when the program keeps roles apart."""
        return "mentor" if role == "both" and not self.allow_both_role else role


def program_rules_for_round(session: Session, round_: Round) -> ProgramRules:
    """The rules of the program a round belongs to (through its term)."""
    term = session.get(Term, round_.term_id)
    program = session.get(Program, term.program_id) if term is not None else None
    return ProgramRules.of(program.settings if program is not None else None)


def round_settings_for(session: Session, round_: Round, **fixed: Any) -> RoundSettings:
    """The matcher's settings for a stored round: its own choices, else its program's rules (for every caller that matches)."""
    return round_settings(round_.settings or {}, program_rules_for_round(session, round_), **fixed)


def round_settings(
    round_settings_json: Mapping[str, Any], rules: ProgramRules, **fixed: Any
) -> RoundSettings:
    """The matcher's settings for a round: the round's own choices, else the program's rules."""
    extra: dict[str, Any] = {
        "cross_site": round_settings_json.get("cross_site", "neutral"),
        "relax": frozenset(round_settings_json["relax"]) if "relax" in round_settings_json else rules.relax,
    }
    extra["require"] = frozenset(round_settings_json["require"]) if "require" in round_settings_json else rules.require
    return RoundSettings(**fixed, **extra)


def _clean_set(values: Any) -> frozenset[str]:
    # Case is kept for the reasons people read; the matcher compares case-insensitively.
    return frozenset(str(value).strip() for value in (values or ()) if str(value).strip())


def _availability(person: Person, answers: Mapping[str, Any], week_of: date) -> tuple:
    return availability_windows(answers.get("availability"), timezone=person.timezone, week_of=week_of)


def availability_windows(answer: Any, *, timezone: str, week_of: date) -> tuple:
    """A stored availability answer as the matcher's weekly UTC windows for that week (none when unreadable)."""
    slots_text = ";".join(answer or ())
    if not slots_text:
        return ()
    return _windows_of(slots_text, timezone, week_of)


@lru_cache(maxsize=8192)
def _windows_of(slots_text: str, timezone: str | None, week_of: date) -> tuple:
    # A district's 2,000 people offer a few hundred distinct availability texts: each is parsed once per zone and
    # week (a pure function of these three), not once per person per page.
    try:
        slots = parse_slots(slots_text)
    except AnswerError:
        # Stored answers were validated when given; an unreadable one means "no constraint" rather than a crash.
        return ()
    return weekly_windows_utc(slots, timezone, week_of)


def _weights(answers: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    raw = answers.get("match_weights") or {}
    return tuple(sorted((str(factor), float(weight)) for factor, weight in raw.items()))


def to_participant(
    enrollment: Enrollment, person: Person, answers: Mapping[str, Any], *, capacity_left: int, week_of: date, role: str | None = None
) -> Participant:
    """The matcher's view of one enrolled person."""
    is_ready_mentor = enrollment.role in ("mentor", "both") and enrollment.approval in MENTOR_READY_APPROVALS
    extra: dict[str, Any] = {}
    if "position" in _PARTICIPANT_FIELDS:
        position = answers.get("position") or answers.get("custom:position")
        extra["position"] = str(position).strip() if position and not isinstance(position, (list, tuple)) else None
        extra["interests"] = _clean_set(answers.get("interests"))
    return Participant(
        **extra,
        key=person.email,
        name=person.name,
        role=enrollment.role if role is None else role,
        site=person.site,
        program=person.prep_program,
        grade_bands=_clean_set(answers.get("grade_bands")),
        subjects=_clean_set(answers.get("subjects")),
        strengths=_clean_set(answers.get("strengths")),
        needs=tuple(str(need).strip() for need in answers.get("needs") or () if str(need).strip()),
        availability=_availability(person, answers, week_of),
        timezone=person.timezone,
        capacity=max(capacity_left, 0) if is_ready_mentor else 0,
        avoid=frozenset(email.lower() for email in _clean_set(answers.get("avoid"))),
        weights=_weights(answers),
    )


def history_from(earlier: list[Pairing], email_of: Mapping[int, str]) -> History:
    """Earlier pairings of the term as the matcher's history (no repeats, load already carried)."""
    pairs = {(email_of[p.mentor_id], email_of[p.mentee_id]) for p in earlier if p.mentor_id in email_of and p.mentee_id in email_of}
    load: dict[str, int] = {}
    for mentor, _mentee in pairs:
        load[mentor] = load.get(mentor, 0) + 1
    return History(past_pairs=frozenset(pairs), recent_load=tuple(sorted(load.items())))


@dataclass
class RosterMatch:
    """A match run straight from a roster file."""

    result: MatchResult
    names: dict[str, str]
    mentors: int
    mentees: int
    skipped_rows: list = field(default_factory=list)


def match_roster_file(
    path: Path, *, default_timezone: str, topic: str | None, sessions: int, session_minutes: int, week_of: date
) -> RosterMatch:
    """Read a roster and match it as one round, with no database; bad rows are left out and reported."""
    read = read_roster(path, default_timezone=default_timezone)
    participants = []
    for row in read.rows:
        person = Person(**person_fields(row, default_capacity=1))
        enrollment = Enrollment(term_id=0, person_id=0, role=row.role, capacity=person.capacity, approval="not_required")
        participants.append(
            to_participant(enrollment, person, profile_answers(row), capacity_left=person.capacity, week_of=week_of)
        )
    settings = RoundSettings(topic=topic, sessions=sessions, session_minutes=session_minutes, reference_date=week_of)
    return RosterMatch(
        result=match_round(participants, settings),
        names={row.email: row.name for row in read.rows},
        mentors=sum(1 for p in participants if p.role in ("mentor", "both") and p.capacity > 0),
        mentees=sum(1 for p in participants if p.role in ("mentee", "both")),
        skipped_rows=read.errors,
    )
