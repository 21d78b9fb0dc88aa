"""Exports for sharing with a district: pairings, people, participation and survey results, as CSV or XLSX.

One table per export, the same on every front end (the admin pages, the CLI and `/mentoring export`).

This is the one writer of spreadsheets: every export (the admin pages, the CLI's `export` commands, `match --out`
and `speed --out`, `/mentoring export`) is a `Table` written by `to_csv` or `to_xlsx`. Text cells and headers that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) are written with a leading
apostrophe, so a name, header or comment typed by a teacher can never become a formula; whatever is stored (a list
answer, control characters, thousands of custom columns) comes out as plain cells or as a plain refusal.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from bot.errors import UserError
from bot.flows.definitions import LIKERT, SURVEY_ITEMS
from bot.importer import roster_rows_in
from bot.roster import FORMULA_STARTS
from storage import repo
from storage.models import CheckIn, Pairing, Person, PlannedSession, Round, SurveyAnswer, Term

# The widest sheet Excel opens (column XFD); a wider table is offered as CSV instead.
XLSX_MAX_COLUMNS = 16_384
# Characters XML 1.0 can't hold: openpyxl refuses a cell with one, so they are dropped from XLSX cells.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NOT_IN_SHEET_TITLE = re.compile(r"[\\/*?:\[\]]")
STATEMENTS = dict(SURVEY_ITEMS) | {"comment": "Anything you'd like to add?"}
LIKERT_LABEL = {int(choice.value): choice.label for choice in LIKERT}


@dataclass
class Table:
    """A titled table ready to write."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    filename: str


class ExportTooWide(UserError):
    """The table has more columns than a spreadsheet holds; the message says to take the CSV instead."""


def plain_value(value: Any) -> Any:
    """A value a spreadsheet cell can hold: numbers, dates and text as they are, a list joined with "; ", anything
    else (a stored answer of an unexpected shape) as its text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return "; ".join(str(plain_value(item)) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    if hasattr(value, "isoformat"):
        return value
    return str(value)


def safe_cell(value: Any) -> Any:
    """The value as a plain cell, with text that would start a formula made inert."""
    value = plain_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """UTF-8 CSV with a byte-order mark, so spreadsheet programs read accents right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in table.headers])
    for row in table.rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _xlsx_cell(value: Any) -> Any:
    value = safe_cell(value)
    return _NOT_IN_XML.sub("", value) if isinstance(value, str) else value


def to_xlsx(table: Table) -> bytes:
    """A one-sheet workbook with a bold, frozen header row."""
    if len(table.headers) > XLSX_MAX_COLUMNS:
        raise ExportTooWide(
            f"this export has {len(table.headers):,} columns and a spreadsheet (XLSX) holds at most "
            f"{XLSX_MAX_COLUMNS:,}: download it as CSV instead"
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_sheet_title(table.title))
    sheet.freeze_panes = "A2"
    headers = [_xlsx_cell(name) for name in table.headers]
    rows = [[_xlsx_cell(v) for v in row] for row in table.rows]
    widths = [len(str(h)) for h in headers]
    for row in rows:
        for i, value in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], min(60, len(str(value)) if value is not None else 0))
    for i, width in enumerate(widths):
        sheet.column_dimensions[_column(i)].width = min(width, 60) + 2
    header = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_title(title: str) -> str:
    # Excel refuses a sheet named with \ / * ? : [ ] or longer than 31 characters (a term named "Fall 24/25").
    return _NOT_IN_SHEET_TITLE.sub("-", _NOT_IN_XML.sub("", title)).strip("' ")[:31] or "Sheet1"


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "export"


def pairings_table(session: Session, *, round_: Round, zone: ZoneInfo) -> Table:
    """The round's pairs (cancelled ones included, marked) with fit, reasons and proposed session times."""
    pairings = repo.round_pairings(session, round_id=round_.id)
    ids = {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(list(ids))))} if ids else {}
    times: dict[int, list[str]] = defaultdict(list)
    if pairings:
        statement = select(PlannedSession).where(col(PlannedSession.pairing_id).in_([p.id for p in pairings])).order_by(PlannedSession.number)
        for planned in session.exec(statement):
            times[planned.pairing_id].append(f"{planned.starts_at.astimezone(zone):%Y-%m-%d %H:%M}")
    rows = []
    for p in pairings:
        mentor, mentee = people[p.mentor_id], people[p.mentee_id]
        rows.append(
            [
                round_.id, mentor.name, mentor.email, mentor.site, mentee.name, mentee.email, mentee.site, mentee.prep_program,
                round(p.score, 1), p.status, "; ".join(p.reasons), "; ".join(times[p.id]),
            ]
        )  # fmt: skip
    headers = [
        "round", "mentor_name", "mentor_email", "mentor_site", "mentee_name", "mentee_email", "mentee_site",
        "mentee_program", "fit", "status", "reasons", f"proposed_sessions ({zone.key})",
    ]  # fmt: skip
    return Table(f"Round {round_.id} pairings", headers, rows, f"round-{round_.id}-pairings")


def people_table(session: Session, *, program_name: str | None) -> Table:
    """Everyone on file (the program's pool, when named) as a roster that `mentorbot import roster` reads back."""
    headers, rows = roster_rows_in(session, program_name=program_name)
    return Table("People", headers, rows, "people-roster")


def to_text(table: Table) -> str:
    """The table as CSV text (formula-safe cells), for showing in a message rather than as a file."""
    return to_csv(table).decode("utf-8-sig")


def participation_table(session: Session, *, term: Term) -> Table:
    """Everyone invited to the term: how they took part, their pairs, check-ins and survey answers."""
    rounds = [r.id for r in repo.list_rounds(session, term_id=term.id)]
    pairings = list(session.exec(select(Pairing).where(col(Pairing.round_id).in_(rounds)))) if rounds else []
    live = [p for p in pairings if p.status != "cancelled"]
    pairs_of: dict[int, list[Pairing]] = defaultdict(list)
    for p in live:
        pairs_of[p.mentor_id].append(p)
        pairs_of[p.mentee_id].append(p)
    check_ins: dict[int, list[CheckIn]] = defaultdict(list)
    if pairings:
        for c in session.exec(select(CheckIn).where(col(CheckIn.pairing_id).in_([p.id for p in pairings])).order_by(CheckIn.asked_at)):
            check_ins[c.person_id].append(c)
    surveyed = Counter()
    if rounds:
        for answer in session.exec(select(SurveyAnswer).where(col(SurveyAnswer.round_id).in_(rounds))):
            surveyed[answer.person_id] += 1
    rows = []
    for enrollment, person in repo.enrollments(session, term_id=term.id):
        mine = pairs_of.get(person.id, [])
        answered = [c for c in check_ins.get(person.id, []) if c.answer]
        rows.append(
            [
                person.name, person.email, person.site, person.prep_program, enrollment.role, enrollment.status,
                enrollment.approval, enrollment.capacity if enrollment.role in ("mentor", "both") else None,
                "slack" if person.slack_user_id else "email",
                sum(1 for p in mine if p.mentor_id == person.id), sum(1 for p in mine if p.mentee_id == person.id),
                ", ".join(sorted({str(p.round_id) for p in mine}, key=int)), len(check_ins.get(person.id, [])), len(answered),
                answered[-1].answer if answered else None, surveyed.get(person.id, 0),
            ]
        )  # fmt: skip
    headers = [
        "name", "email", "site", "program", "role", "status", "approval", "capacity", "channel", "pairs_as_mentor",
        "pairs_as_mentee", "rounds", "check_ins_asked", "check_ins_answered", "last_check_in", "survey_answers",
    ]  # fmt: skip
    return Table(f"{term.name} participation", headers, rows, f"{_slug(term.name)}-participation")


def survey_table(session: Session, *, term: Term, round_: Round | None, zone: ZoneInfo) -> Table:
    """Every survey answer of the round (or the whole term), one answer per row."""
    round_ids = [round_.id] if round_ is not None else [r.id for r in repo.list_rounds(session, term_id=term.id)]
    answers = list(
        session.exec(
            select(SurveyAnswer).where(col(SurveyAnswer.round_id).in_(round_ids)).order_by(SurveyAnswer.round_id, SurveyAnswer.person_id, SurveyAnswer.id)
        )
    ) if round_ids else []  # fmt: skip
    ids = {a.person_id for a in answers}
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(list(ids))))} if ids else {}
    roles: dict[tuple[int, int], str] = {}
    if round_ids:
        for p in session.exec(select(Pairing).where(col(Pairing.round_id).in_(round_ids))):
            roles.setdefault((p.round_id, p.mentor_id), "mentor")
            roles.setdefault((p.round_id, p.mentee_id), "mentee")
    rows = []
    for a in answers:
        person = people.get(a.person_id)
        label = LIKERT_LABEL.get(a.value) if isinstance(a.value, int) else None
        rows.append(
            [
                a.round_id, person.name if person else "", person.email if person else "", roles.get((a.round_id, a.person_id), ""),
                a.question, STATEMENTS.get(a.question, a.question), a.value, label, f"{a.answered_at.astimezone(zone):%Y-%m-%d %H:%M}",
            ]
        )  # fmt: skip
    headers = ["round", "name", "email", "role", "question", "statement", "answer", "answer_label", f"answered_at ({zone.key})"]
    scope = f"round-{round_.id}" if round_ is not None else _slug(term.name)
    return Table("Survey results", headers, rows, f"{scope}-survey")


def render(table: Table, fmt: str) -> tuple[bytes, str, str]:
    """The file's bytes, media type and name for `fmt` (csv or xlsx)."""
    if fmt == "csv":
        return to_csv(table), "text/csv; charset=utf-8", f"{table.filename}.csv"
    return to_xlsx(table), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{table.filename}.xlsx"

