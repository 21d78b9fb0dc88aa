"""Roster files as the matcher sees them: what `mentorbot match`, `speed` and `pool` read, with no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import repeat
from operator import attrgetter
from pathlib import Path

# Speed events bring everyone to one room at one time and rotate quickly: the grade-band,
# subject, strengths and availability rules score a conversation instead of ruling it out.
SPEED_RELAX = frozenset({"grade_band", "subject", "strengths", "availability"})


@dataclass
class RosterPeople:
    """The people of a roster file as the matcher sees them."""

    participants: list
    names: dict[str, str]
    skipped_rows: list = field(default_factory=list)

    @property
    def mentors(self) -> int:
        return sum(1 for p in self.participants if p.role in ("mentor", "both") and p.capacity > 0)

    @property
    def mentees(self) -> int:
        return sum(1 for p in self.participants if p.role in ("mentee", "both"))


def roster_participants(rows, *, week_of: date, default_capacity: int = 1) -> list:
    """The matcher's view of parsed roster rows, as `match_roster_file` builds it but without the
    storage models in between (a 75k-row roster converts in about a second)."""
    # Imported here, not at the top: the matcher loads OR-Tools and numpy, and `mentorbot` imports this module to start.
    from bot.matching.availability import weekly_windows_many
    from bot.matching.graph import no_gc_pauses
    from bot.matching.model import participants_from_columns

    # Roster rows are already trimmed, de-duplicated and (emails) lower-cased by the reader. Rows
    # repeat the same lists again and again, so each distinct list becomes one shared frozenset.
    frozen = lru_cache(maxsize=None)(frozenset)
    rows = list(rows)
    with no_gc_pauses():
        # One pass over the rows reads every field (the columns come out of a C-level transpose).
        (email, name, role, site, program, bands, subjects, strengths, needs, slots, timezone, capacity, avoid,
         custom) = zip(*map(_ROW_FIELDS, rows)) if rows else ((),) * 14
        availability = weekly_windows_many(slots, timezone, week_of)
        mentoring = ("mentor", "both")
        columns = {
            "key": email, "name": name, "role": role, "site": site, "program": program,
            "grade_bands": list(map(frozen, bands)),
            "subjects": list(map(frozen, subjects)),
            "strengths": list(map(frozen, strengths)),
            "needs": list(map(tuple, needs)),
            "availability": availability,
            "timezone": timezone,
            "capacity": [
                max((count if count is not None else default_capacity), 0) if part in mentoring else 0
                for part, count in zip(role, capacity)
            ],
            "avoid": list(map(frozen, avoid)),
        }
        # Position and interests live in their own columns or among the custom answers.
        if any(custom) or any(map(hasattr, rows, repeat("position"))):
            no_interests: frozenset[str] = frozenset()
            extra = [bool(answers) or hasattr(row, "position") for row, answers in zip(rows, custom)]
            columns["position"] = [_row_position(row) if wanted else None for row, wanted in zip(rows, extra)]
            columns["interests"] = [frozen(_row_interests(row)) if wanted else no_interests
                                    for row, wanted in zip(rows, extra)]
        return participants_from_columns(columns)


_ROW_FIELDS = attrgetter("email", "name", "role", "site", "program", "grade_bands", "subjects", "strengths", "needs",
                         "availability", "timezone", "capacity", "avoid", "custom")


def _custom_answer(row, column: str) -> str | None:
    # Columns the roster reader does not know arrive as custom answers, headers as written.
    for title, value in row.custom:
        if title.strip().casefold() == column:
            return value
    return None


def _row_position(row) -> str | None:
    """The `position` column: a person's job title or role at work."""
    value = getattr(row, "position", None) or _custom_answer(row, "position")
    return value.strip() or None if isinstance(value, str) else None


def _row_interests(row) -> tuple[str, ...]:
    """The `interests` column: positions or sites a mentee wants to learn about, `;`-separated."""
    value = getattr(row, "interests", None)
    if value is None:
        value = _custom_answer(row, "interests") or ""
    items = value.split(";") if isinstance(value, str) else value
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def read_roster_people(path: Path, *, default_timezone: str, week_of: date) -> RosterPeople:
    """Read a roster file for matching; bad rows are left out and reported."""
    from bot.roster import read_roster  # imported here: the roster reader is needed only when a file is read

    read = read_roster(path, default_timezone=default_timezone)
    return RosterPeople(
        participants=roster_participants(read.rows, week_of=week_of),
        names=distinct_names((row.email, row.name) for row in read.rows),
        skipped_rows=read.errors,
    )


def distinct_names(people) -> dict[str, str]:
    """Each (email, name)'s name as printed: with the email added when someone else has the same name,
    so two different people never look like one person listed twice."""
    people = [(email, name.strip()) for email, name in people]
    emails_by_name: dict[str, set[str]] = {}
    for email, name in people:
        emails_by_name.setdefault(name.casefold(), set()).add(email)
    shown = {}
    for email, name in people:
        if not name:
            shown[email] = email
        elif len(emails_by_name[name.casefold()]) > 1:
            shown[email] = f"{name} ({email})"
        else:
            shown[email] = name
    return shown
