"""Roster import: validated rows from `bot.roster` land in storage, updating people rather than duplicating them.

A value the reader left out of a row with a warning never wipes what is on file: the person's earlier value is kept,
and the warning says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.flows.parsers import Slot
from bot.programs.pools import pool_member_ids, refresh_all_pools
from bot.roster import RosterReadResult, RosterRow, RowError, RowWarning, read_roster
from storage import repo
from storage.db import session_scope
from storage.models import Person

# Answers people gave themselves in a dialog are theirs; a re-imported roster does not overwrite them.
SELF_REPORTED_SOURCES = ("slack", "email")

ROSTER_COLUMNS = (
    "email", "name", "role", "slack_user_id", "site", "program", "grade_bands", "subjects", "strengths",
    "needs", "availability", "timezone", "capacity", "principal_email", "avoid",
)  # fmt: skip
LIST_ANSWERS = ("grade_bands", "subjects", "strengths", "needs", "availability", "avoid")
# Roster columns stored on the person, by the person field that holds them.
PERSON_FIELD_OF = {
    "slack_user_id": "slack_user_id", "site": "site", "program": "prep_program", "timezone": "timezone",
    "capacity": "capacity", "principal_email": "principal_email",
}  # fmt: skip
# How a warning names a column's value on file.
COLUMN_LABELS = {
    "slack_user_id": "Slack member ID", "site": "site", "program": "program", "timezone": "time zone",
    "capacity": "capacity", "principal_email": "principal email", "grade_bands": "grade bands",
    "availability": "availability", "avoid": "avoid list",
}  # fmt: skip


@dataclass
class ImportReport:
    """What an import did, for the CLI and the admin pages."""

    path: Path
    data_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    strict_rejected: bool = False
    pool_changes: dict[str, tuple[int, int]] = field(default_factory=dict)  # program -> (people added, removed)

    @property
    def imported(self) -> int:
        """Rows written (new, updated or already current)."""
        return self.created + self.updated + self.unchanged

    @property
    def values_skipped(self) -> int:
        """Values left out of imported rows (a warning each)."""
        return sum(1 for warning in self.warnings if warning.used is None)

    @property
    def values_corrected(self) -> int:
        """Values read another way, such as "PST" as America/Los_Angeles (a warning each)."""
        return sum(1 for warning in self.warnings if warning.used is not None)

    def warning_summary(self) -> str:
        """ "3 values skipped with a warning" (or "2 values skipped and 1 corrected with a warning"); "" if none."""
        skipped, corrected = self.values_skipped, self.values_corrected
        parts = []
        if skipped:
            parts.append(f"{skipped} value{'' if skipped == 1 else 's'} skipped")
        if corrected:
            parts.append(f"{corrected} corrected" if skipped else f"{corrected} value{'' if corrected == 1 else 's'} corrected")
        return " and ".join(parts) + (" with a warning" if parts else "")


def _keeps_capacity(row: RosterRow, on_file: Person) -> bool:
    # A mentee's capacity on file is 0; a mentee turned mentor with a bad capacity gets the default, not 0.
    return row.role in ("mentor", "both") and on_file.role in ("mentor", "both")


def person_fields(row: RosterRow, *, default_capacity: int, on_file: Person | None = None) -> dict[str, Any]:
    """The person columns a roster row sets; a column the reader left out keeps the value `on_file`."""
    is_mentor = row.role in ("mentor", "both")
    fields = {
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
    if on_file is not None:
        for column in row.dropped:
            name = PERSON_FIELD_OF.get(column)
            if name is not None and (name != "capacity" or _keeps_capacity(row, on_file)):
                del fields[name]
    return fields


def profile_answers(row: RosterRow, *, on_file: bool = False) -> dict[str, Any]:
    """The profile answers a roster row carries, keyed by question; a list the reader left out is not
    written for a person `on_file`, so their earlier answer stays."""
    answers: dict[str, Any] = {
        "grade_bands": list(row.grade_bands),
        "subjects": list(row.subjects),
        "strengths": list(row.strengths),
        "needs": list(row.needs),
        "availability": [_slot_text(slot) for slot in row.availability],
        "avoid": list(row.avoid),
    }
    for header, value in row.custom:
        answers[f"custom:{header}"] = value
    if on_file:
        for column in row.dropped:
            answers.pop(column, None)
    return answers


@lru_cache(maxsize=4096)
def _slot_text(slot: Slot) -> str:
    # A roster holds a few hundred distinct slots across tens of thousands of rows.
    return str(slot)


def _shown(value: Any) -> str:
    return "; ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def warnings_against(
    warnings: list[RowWarning], rows: list[RosterRow], *, people: dict[str, Person], answers: dict[int, dict[str, Any]],
    default_capacity: int,
) -> list[RowWarning]:  # fmt: skip
    """The reader's warnings with their outcome as the import has it: a value on file kept, or the default capacity.

    `people` are those on file by email and `answers` their stored profile answers, both read before the import writes.
    """
    row_at = {row.line: row for row in rows}
    resolved = []
    for warning in warnings:
        row = row_at.get(warning.line)
        if row is None or warning.column not in row.dropped:
            resolved.append(warning)
            continue
        person = people.get(row.email)
        kept: Any = None
        if person is not None:
            name = PERSON_FIELD_OF.get(warning.column)
            if name is None:
                kept = answers.get(person.id, {}).get(warning.column)
            elif name != "capacity" or _keeps_capacity(row, person):
                kept = getattr(person, name)
        label = COLUMN_LABELS[warning.column]
        if kept not in (None, "", [], ()):
            verb = "were" if label.endswith("s") else "was"
            resolved.append(replace(warning, outcome=f"the {label} on file ({_shown(kept)}) {verb} kept"))
        elif warning.column == "capacity":
            resolved.append(replace(warning, outcome=f"the default capacity of {default_capacity} was used"))
        else:
            resolved.append(warning)
    return resolved


def warnings_on_file(session: Session, result: RosterReadResult, *, default_capacity: int = 1) -> list[RowWarning]:
    """`warnings_against` the people on file now: what importing `result` would do with each bad optional value."""
    people = repo.people_by_email(session, emails=(row.email for row in result.rows))
    answers = repo.profiles(session, person_ids=[person.id for person in people.values()])
    return warnings_against(result.warnings, result.rows, people=people, answers=answers, default_capacity=default_capacity)


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
    """Read `path` and upsert every good row in one transaction; with `strict`, any bad row or value stops the whole file."""
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
    """Upsert every good row of a roster already read (nothing at all, with `strict`, when a row or a value is bad).

    A value the reader left out keeps what is on file for that person; each warning says what was done instead.
    """
    report = ImportReport(path=path, data_rows=result.data_rows, errors=list(result.errors), warnings=list(result.warnings))
    # --strict means every value must be right: a value that would be left out or read another way stops the file too.
    if strict and (result.errors or result.warnings):
        report.strict_rejected = True
        return report
    repo.get_or_create_program(session, name=program_name, timezone=default_timezone, now=now)
    session.flush()  # pending ORM changes first: the set-based reads and writes below go around the ORM
    existing = repo.person_rows_by_email(session, emails=(row.email for row in result.rows))
    stored = repo.profile_answer_rows(session, person_ids=[person.id for person in existing.values()])
    # Read before anything is written: the warnings name the values on file that are kept.
    report.warnings = warnings_against(
        result.warnings, result.rows, people=existing, default_capacity=default_capacity,  # type: ignore[arg-type]
        answers={pid: {q: answer.value for q, answer in mine.items()} for pid, mine in stored.items()},
    )  # fmt: skip
    # Diff every row against what is on file in memory, then write each kind of change in one executemany.
    new_people: list[dict[str, Any]] = []
    changed_people: list[dict[str, Any]] = []
    changed_ids: set[int] = set()
    for row in result.rows:
        on_file = existing.get(row.email)
        fields = person_fields(row, default_capacity=default_capacity, on_file=on_file)  # type: ignore[arg-type]
        if on_file is None:
            new_people.append({**fields, "created_at": now, "updated_at": now})
            continue
        changed = [name for name, value in fields.items() if getattr(on_file, name) != value]
        if changed:
            full = {name: getattr(on_file, name) for name in repo.PERSON_ROSTER_COLUMNS}
            full.update(fields, updated_at=now, slack_failing_at=on_file.slack_failing_at, slack_failure=on_file.slack_failure)
            if "slack_user_id" in changed:
                full["slack_failing_at"], full["slack_failure"] = None, None  # a new Slack ID gets its own chance
            changed_people.append({"_id": on_file.id, **full})
            changed_ids.add(on_file.id)
    ids_of_new = repo.insert_people(session, rows=new_people)
    repo.update_people(session, rows=changed_people)
    new_answers: list[dict[str, Any]] = []
    changed_answers: list[dict[str, Any]] = []
    for row in result.rows:
        on_file = existing.get(row.email)
        person_id = on_file.id if on_file is not None else ids_of_new[row.email]
        current = stored.get(person_id, {})
        answers_changed = False
        for question, value in profile_answers(row, on_file=on_file is not None).items():
            answer = current.get(question)
            if answer is None:
                new_answers.append(
                    {"person_id": person_id, "question": question, "value": value, "source": "roster", "updated_at": now}
                )
                answers_changed = True
            elif answer.source in SELF_REPORTED_SOURCES:
                continue
            elif answer.value != value or answer.source != "roster":
                changed_answers.append({"_id": answer.id, "value": value, "source": "roster", "updated_at": now})
                answers_changed = True
        if on_file is None:
            report.created += 1
        elif person_id in changed_ids or answers_changed:
            report.updated += 1
        else:
            report.unchanged += 1
    repo.insert_profile_answers(session, rows=new_answers)
    repo.update_profile_answers(session, rows=changed_answers)
    session.expire_all()  # ORM objects loaded earlier in this session must not show pre-import values
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

