"""Fuzzing the roster importer: CSV and XLSX files with arbitrary cells, encodings, BOMs, huge cells and odd separators.

What must hold for every file: no exception but a `RosterFileError` (a message about the file as a whole) reaches the
admin; each data row either lands or gets at least one error naming its line (and the column, where one is at fault);
a warning (a bad optional value left out) only ever names a row that landed; rows built valid always land, with their
values and no warning; nothing else is written.
"""

from __future__ import annotations

import codecs
import io
import itertools
import re
import time
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.engine import Engine

from bot.importer import import_roster
from bot.roster import COLUMNS, RosterFileError
from storage import repo
from storage.db import session_scope

HEADER = ("email", "name", "role", "slack_user_id", "site", "grade_bands", "subjects", "strengths", "availability", "timezone", "capacity", "Favourite Book")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
SEPARATORS = (",", ";", "\t")
LINE_ENDINGS = ("\r\n", "\n")
EXCEL_CELL_LIMIT = 32_767

# Cells as people type them: anything at all, sometimes long, sometimes huge (past what Excel itself allows).
any_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\ufeff", "=SUM(A1)", '"', "a,b;c\td", "line\nbreak", "\r", "NULL", "n/a", "😀", "ΑΒΓ", "√-1"]),
    st.builds(lambda ch, n: ch * n, st.sampled_from("xé字"), st.integers(1_000, 40_000)),
)


@st.composite
def good_rows(draw: st.DrawFn, number: int) -> list[str]:
    """A row every reader of the format accepts, with arbitrary (but present) free text."""
    name = draw(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), min_size=1, max_size=30).filter(lambda s: s.strip()))
    site = draw(st.text(max_size=20)).replace("\x00", "")
    # A NUL byte makes the whole file "not a text file" (the reader's rule for binaries), so built-valid rows have none.
    book = draw(any_text).replace("\x00", "")
    return [
        f"Person.{number}@District.Example", name, draw(st.sampled_from(["mentor", "Mentee", "BOTH", "mentor and mentee"])),
        draw(st.sampled_from(["", f"U{number:08d}", f"<@u{number:08d}>"])), site, draw(st.sampled_from(["", "6-8", "k-2; 6–8", "Pre-K"])),
        draw(st.sampled_from(["", "math", "math;science"])), draw(st.sampled_from(["", "SEL", "assessment; SEL"])),
        draw(st.sampled_from(["", "Tue 15:00-16:30", "Mon 15:00-16:00;Thu 07:30-08:15"])),
        draw(st.sampled_from(["", "America/Chicago", "Europe/Paris"])), draw(st.sampled_from(["", "2", "2.0", "three"])), book,
    ]  # fmt: skip


@st.composite
def rosters(draw: st.DrawFn) -> tuple[list[list[str]], list[bool]]:
    """Data rows, each either built valid or made of arbitrary cells (with a random number of them)."""
    rows, valid = [], []
    for number in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            rows.append(draw(good_rows(number)))
            valid.append(True)
        else:
            cells = draw(st.lists(any_text, min_size=0, max_size=len(HEADER) + 2))
            if draw(st.booleans()) and cells:
                cells[0] = f"x{number}@d.example"  # often a good email, so the other cells decide
            rows.append(cells)
            valid.append(False)
    return rows, valid


_counter = itertools.count()
_LINE_END = re.compile(r"\r\n|\r|\n")


def _csv_bytes(rows: list[list[str]], *, encoding: str, separator: str, line_ending: str) -> tuple[bytes, list[int]] | None:
    """The CSV file and the line each data row starts on; None when the text can't be written in this encoding."""
    def field(cell: str) -> str:
        # As spreadsheets write CSV: quote a cell holding the separator, a quote mark or any line break.
        return '"' + cell.replace('"', '""') + '"' if any(ch in cell for ch in (separator, '"', "\r", "\n")) else cell

    out = io.StringIO(newline="")
    out.write(separator.join(HEADER) + line_ending)
    starts = []
    for cells in rows:
        starts.append(len(_LINE_END.findall(out.getvalue())) + 1)
        out.write(separator.join(field(cell) for cell in cells) + line_ending)
    text = out.getvalue()
    try:
        return codecs.encode(text, encoding), starts
    except UnicodeEncodeError:
        return None


def _xlsx(path: Path, rows: list[list[str]]) -> list[int]:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for cells in rows:
        # Excel itself can't hold control characters or more than 32,767 characters in a cell.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c)[:EXCEL_CELL_LIMIT] for c in cells])
    book.save(path)
    return list(range(2, len(rows) + 2))


def _reads_back(data: bytes, rows: list[list[str]]) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True  # not UTF-8, so the reader falls back to cp1252 and gets the text back exactly
    return all(cell.isascii() for cells in rows for cell in cells)


def _check_import(
    engine: Engine, path: Path, rows: list[list[str]], valid: list[bool], lines: list[int], now: datetime, *, exact_text: bool = True
) -> dict[str, int]:
    """Import the file and check every row either landed or was reported on its line; returns counts."""
    try:
        report = import_roster(engine, path, program_name="Fuzz Program", default_timezone="America/Los_Angeles", now=now)
    except RosterFileError as exc:
        # Only the file as a whole may be refused, and never a file whose rows are all well formed.
        assert str(exc).strip() and str(path) in str(exc)
        assert not all(valid), (str(exc), rows)
        return {"refused": 1}
    errors_by_line: dict[int, list] = {}
    for error in report.errors:
        assert error.message.strip() and error.line in lines and (error.column is None or error.column in COLUMNS), error
        errors_by_line.setdefault(error.line, []).append(error)
    warned_lines = set()
    for warning in report.warnings:
        assert warning.message.strip() and warning.line in lines and warning.column in COLUMNS and warning.value, warning
        assert warning.line not in errors_by_line, warning  # warnings belong to rows that landed
        warned_lines.add(warning.line)
    emails = {cells[0].strip().lower() for cells, ok in zip(rows, valid) if ok}
    with session_scope(engine) as session:
        stored = repo.people_by_email(session, emails=emails)
    landed = 0
    for cells, ok, line in zip(rows, valid, lines):
        if ok:
            assert line not in errors_by_line, errors_by_line[line]
            assert line not in warned_lines, [w for w in report.warnings if w.line == line]
            person = stored[cells[0].strip().lower()]
            if exact_text:
                assert person.name == " ".join(cells[1].split())
            landed += 1
    # Every data row either landed or was reported, never both: no half-imported person.
    assert report.imported + len(errors_by_line) == report.data_rows
    return {"rows": report.data_rows, "errors": len(report.errors), "warnings": len(report.warnings), "landed": report.imported}


@pytest.fixture
def fuzz_engine(engine: Engine) -> Engine:
    """The migrated engine of this backend, shared by every example of one test (emails are unique per example)."""
    return engine


def _unique(rows: list[list[str]], valid: list[bool]) -> list[list[str]]:
    """Make the emails of built-valid rows unique to this example, since the database outlives it."""
    tag = next(_counter)
    return [[f"e{tag}.{c[0]}", *c[1:]] if ok else c for c, ok in zip(rows, valid)]


def test_csv_rosters_with_arbitrary_cells_encodings_and_separators(fuzz_engine: Engine, tmp_path: Path, now: datetime, fuzz_profile: str, record_figure) -> None:
    """Arbitrary CSV rosters: bad rows get a line/column message, good rows land, nothing escapes but a file message."""
    totals = {"examples": 0, "rows": 0, "errors": 0, "warnings": 0, "landed": 0, "refused": 0, "unencodable": 0}

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
    @given(rosters(), st.sampled_from(ENCODINGS), st.sampled_from(SEPARATORS), st.sampled_from(LINE_ENDINGS))
    def check(roster, encoding, separator, line_ending) -> None:
        rows, valid = roster
        rows = _unique(rows, valid)
        written = _csv_bytes(rows, encoding=encoding, separator=separator, line_ending=line_ending)
        totals["examples"] += 1
        if written is None:
            totals["unencodable"] += 1
            return
        data, lines = written
        path = tmp_path / "roster.csv"
        path.write_bytes(data)
        # A cp1252 file whose bytes also read as UTF-8 is read as UTF-8: no reader can tell, so only the text is then unchecked.
        exact = encoding != "cp1252" or _reads_back(data, rows)
        for key, value in _check_import(fuzz_engine, path, rows, valid, lines, now, exact_text=exact).items():
            totals[key] += value

    started = time.monotonic()
    check()
    record_figure(
        "Fuzzing: roster importer", tried="arbitrary CSV rosters (any text, UTF-8/BOM/UTF-16/cp1252, , ; tab separators, huge cells)",
        count=totals["examples"], held="bad rows reported by line and column, good rows landed, no exception escaped",
        seconds=round(time.monotonic() - started, 1), **{k: v for k, v in totals.items() if k != "examples"},
    )  # fmt: skip


def test_xlsx_rosters_with_arbitrary_cells(sqlite_url: str, tmp_path: Path, now: datetime, fuzz_profile: str, record_figure) -> None:
    """Arbitrary XLSX rosters: the same guarantees as CSV, row numbers as the sheet shows them (on SQLite; the CSV test covers both)."""
    from storage import db

    fuzz_engine = db.create_db_engine(sqlite_url)
    db.upgrade(fuzz_engine)
    totals = {"examples": 0, "rows": 0, "errors": 0, "warnings": 0, "landed": 0, "refused": 0}

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
    @given(rosters())
    def check(roster) -> None:
        rows, valid = roster
        rows = _unique(rows, valid)
        path = tmp_path / "roster.xlsx"
        lines = _xlsx(path, rows)
        cleaned = [[ILLEGAL_CHARACTERS_RE.sub("", c)[:EXCEL_CELL_LIMIT] for c in cells] for cells in rows]
        totals["examples"] += 1
        for key, value in _check_import(fuzz_engine, path, cleaned, valid, lines, now).items():
            totals[key] += value

    started = time.monotonic()
    check()
    record_figure(
        "Fuzzing: roster importer", tried="arbitrary XLSX rosters (any text a cell can hold, up to Excel's 32,767 characters)",
        count=totals["examples"], held="bad rows reported by line and column, good rows landed, no exception escaped",
        seconds=round(time.monotonic() - started, 1), **{k: v for k, v in totals.items() if k != "examples"},
    )  # fmt: skip


def test_arbitrary_bytes_named_csv_or_xlsx_get_a_message_not_a_traceback(tmp_path: Path, now: datetime, sqlite_url: str, fuzz_profile: str) -> None:
    """Any bytes at all under a roster name: the importer answers with rows, row errors or one file message."""
    from storage import db

    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.binary(max_size=2000), st.builds(lambda b: b"PK\x03\x04" + b, st.binary(max_size=500))), st.sampled_from([".csv", ".xlsx"]))
    def check(data: bytes, suffix: str) -> None:
        path = tmp_path / f"roster{suffix}"
        path.write_bytes(data)
        try:
            report = import_roster(engine, path, program_name="Fuzz Program", default_timezone="UTC", now=now)
        except RosterFileError as exc:
            assert str(path) in str(exc)
            return
        assert all(e.message.strip() for e in report.errors)

    check()
    engine.dispose()


def test_cells_longer_than_storage_keeps_are_row_errors_not_a_failed_import(engine: Engine, tmp_path: Path, now: datetime) -> None:
    """Found by the fuzzer: a 300-character name or site passed the reader, then PostgreSQL refused the whole import.

    A name too long leaves its row out; a site or program too long (optional) is left out of a row that lands."""
    path = tmp_path / "roster.csv"
    path.write_text(
        "email,name,role,site,program,Favourite Book\n"
        f"a@d.example,{'N' * 300},mentor,,,\n"
        f"b@d.example,Bo Lee,mentee,{'S' * 201},,\n"
        f"c@d.example,Cy Diaz,mentee,,{'P' * 250},\n"
        f"d@d.example,Di Park,mentee,{'S' * 200},,{'B' * 20_000}\n",
        encoding="utf-8",
    )
    report = import_roster(engine, path, program_name="Fuzz Program", default_timezone="UTC", now=now)
    assert [(e.line, e.column) for e in report.errors] == [(2, "name")]
    assert [(w.line, w.column) for w in report.warnings] == [(3, "site"), (4, "program")]
    assert all("at most 200" in e.message for e in [*report.errors, *report.warnings])
    with session_scope(engine) as session:
        landed = repo.people_by_email(session, emails=["a@d.example", "b@d.example", "c@d.example", "d@d.example"])
        assert sorted(landed) == ["b@d.example", "c@d.example", "d@d.example"]
        assert (landed["b@d.example"].site, landed["c@d.example"].prep_program, landed["d@d.example"].site) == (None, None, "S" * 200)
    long_header = tmp_path / "header.csv"
    long_header.write_text(f"email,name,role,{'Q' * 95}\nd@d.example,Di Park,mentee,x\n", encoding="utf-8")
    with pytest.raises(RosterFileError, match="95 characters long"):
        import_roster(engine, long_header, program_name="Fuzz Program", default_timezone="UTC", now=now)
