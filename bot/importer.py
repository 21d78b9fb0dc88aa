"""Roster import: validated rows from `bot.roster` land in storage, updating people rather than duplicating them."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.programs.pools import pool_member_ids, refresh_all_pools
from bot.roster import RosterReadResult, RosterRow, RowError, read_roster
from storage import repo
from storage.db import session_scope

# Answers people gave themselves in a dialog are theirs; a re-imported roster does not overwrite them.
SELF_REPORTED_SOURCES = ("slack", "email")

ROSTER_COLUMNS = (
    "email", "name", "role", "slack_user_id", "site", "program", "grade_bands", "subjects", "strengths",
    "needs", "availability", "timezone", "capacity", "principal_email", "avoid",
)  # fmt: skip
LIST_ANSWERS = ("grade_bands", "subjects", "strengths", "needs", "availability", "avoid")


@dataclass
class ImportReport:
    """What an import did, for the CLI and the admin pages."""

    path: Path
    data_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    strict_rejected: bool = False
    pool_changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # program -> (people added, removed)

    @property
    def imported(self) -> int:
        """Rows written (new, updated or already current)."""
        return self.created + self.updated + self.unchanged


def person_fields(row: RosterRow, *, default_capacity: int) -> dict[str, Any]:
    """The person columns a roster row sets."""
    is_mentor = row.role in ("mentor", "both")
    return {
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "slack_user_id": row.slack_user_id,
        "site": row.site,
        "prep_program": row.program,
        "timezone": row.timezone,
        "capacity": (row.capacity if row.capacity is not None else default_capacity) if is_mentor else 0,
        "principal_email": row.principal_email,
    }


def profile_answers(row: RosterRow) -> dict[str, Any]:
    """The profile answers a roster row carries, keyed by question."""
    answers: dict[str, Any] = {
        "grade_bands": list(row.grade_bands),
        "subjects": list(row.subjects),
        "strengths": list(row.strengths),
        "needs": list(row.needs),
        "availability": [str(slot) for slot in row.availability],
        "avoid": list(row.avoid),
    }
    for header, value in row.custom:
        answers[f"custom:{header}"] = value
    return answers


def import_roster(
    engine: Engine,
    path: Path,
    *,
    program_name: str,
    default_timezone: str,
    now: datetime,
    strict: bool = False,
    default_capacity: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Read `path` and upsert every good row in one transaction; with `strict`, any bad row stops the whole file."""
    result = read_roster(path, default_timezone=default_timezone, on_progress=on_progress)
    with session_scope(engine) as session:
        return store_roster_in(
            session, result, path=path, program_name=program_name, default_timezone=default_timezone, now=now, strict=strict,
            default_capacity=default_capacity,
        )  # fmt: skip


def store_roster_in(
    session: Session,
    result: RosterReadResult,
    *,
    path: Path,
    program_name: str,
    default_timezone: str,
    now: datetime,
    strict: bool = False,
    default_capacity: int = 1,
) -> ImportReport:
    """Upsert every good row of a roster already read (nothing at all, with `strict`, when a row is bad)."""
    report = ImportReport(path=path, data_rows=result.data_rows, errors=list(result.errors))
    if strict and result.errors:
        report.strict_rejected = True
        return report
    repo.get_or_create_program(session, name=program_name, timezone=default_timezone, now=now)
    existing = repo.people_by_email(session, emails=(row.email for row in result.rows))
    saved = []
    for row in result.rows:
        person, outcome = repo.upsert_person(
            session,
            existing=existing.get(row.email),
            fields=person_fields(row, default_capacity=default_capacity),
            now=now,
        )
        saved.append((row, person, outcome))
    session.flush()  # assigns ids to new people before their answers are written
    stored = repo.profile_rows(session, person_ids=[person.id for person in existing.values()])
    for row, person, outcome in saved:
        answers_changed = repo.set_profile_answers(
            session,
            person_id=person.id,
            answers=profile_answers(row),
            source="roster",
            now=now,
            keep_answers_from=SELF_REPORTED_SOURCES,
            current=stored.get(person.id, {}),
        )
        if outcome == "created":
            report.created += 1
        elif outcome == "updated" or answers_changed:
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    # Programs pick their people by roster fields, so every program's pool follows the roster.
    report.pool_changes = refresh_all_pools(session)
    return report


def _columns_of(answers: dict[str, Any], program_prefix: str | None) -> dict[str, Any]:
    """Answers as roster columns: roster extras as they are, one program's questions under their own key, no others."""
    out = {}
    for question, value in answers.items():
        parts = question.split(":")
        if len(parts) == 3 and parts[0] == "custom":  # a program's question: custom:<program id>:<key>
            if program_prefix is not None and question.startswith(program_prefix):
                out[f"custom:{parts[2]}"] = value
            continue
        out[question] = value
    return out


def roster_rows_in(session: Session, *, program_name: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Everyone on file in the roster format (custom answers as extra columns): the header and one row per person.

    With `program_name`, only that program's pool, with the roster's extra columns and that program's own
    question answers (never another program's).
    """
    program_prefix = None
    people = repo.list_people(session)
    if program_name is not None:
        program = repo.get_program(session, name=program_name)
        program_prefix = f"custom:{program.id}:"
        members = pool_member_ids(session, program_id=program.id)
        people = [person for person in people if members is None or person.id in members]
    stored = repo.profiles(session, person_ids=[person.id for person in people])
    answers = {person_id: _columns_of(mine, program_prefix) for person_id, mine in stored.items()}
    custom = sorted({q.removeprefix("custom:") for a in answers.values() for q in a if q.startswith("custom:")})
    rows = []
    for person in people:
        mine = answers[person.id]
        joined = {key: ";".join(mine.get(key) or ()) for key in LIST_ANSWERS}
        rows.append(
            [
                person.email, person.name, person.role, person.slack_user_id or "", person.site or "",
                person.prep_program or "", joined["grade_bands"], joined["subjects"], joined["strengths"],
                joined["needs"], joined["availability"], person.timezone,
                person.capacity if person.role in ("mentor", "both") else "", person.principal_email or "",
                joined["avoid"], *(mine.get(f"custom:{name}", "") for name in custom),
            ]
        )  # fmt: skip
    return [*ROSTER_COLUMNS, *custom], rows


def write_roster_csv(engine: Engine, path: Path, *, program_name: str | None = None) -> int:
    """Write everyone on file as a roster CSV that `import_roster` reads back; returns the count."""
    with session_scope(engine) as session:
        headers, rows = roster_rows_in(session, program_name=program_name)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return len(rows)
