"""Read a roster file (CSV or XLSX) into validated rows, per the roster format in docs/admin-guide.md ("The roster").

Pure apart from reading the one file: nothing here touches the database or the network.
Good rows come back as `RosterRow`s; a problem with a required value (email, name, role) or a row
that doesn't fit the header becomes a line-numbered `RowError` and the row is left out. A bad
optional value (a Slack member ID, a slot, a grade band, a time zone, ...) costs only that value:
the row comes through without it and a `RowWarning` says which value, why, and what was done
instead. An admin can fix the spreadsheet in one pass. Only problems with the file as a whole
raise, and they raise `RosterFileError`.

A file larger than any real roster is refused whole, before it costs time or memory (`RosterLimits`): a workbook's
zip is inspected before it is opened (unpacked size, compression ratio), its declared size is checked, and its
cells are streamed without filling the gaps between them; a CSV's lines, columns and cells are counted as they are
read. Reading stops at the first cap passed, with a plain message naming the file's size and the cap.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import UserError
from bot.flows.parsers import (
    GRADE_BANDS,
    AnswerError,
    Slot,
    parse_capacity,
    parse_email,
    parse_grade_bands,
    parse_list,
    parse_role,
    parse_slack_user_id,
    parse_slots,
    parse_timezone,
    usual_timezone_for,
)

__all__ = [
    "COLUMNS",
    "FORMULA_STARTS",
    "REQUIRED_COLUMNS",
    "ROSTER_LIMITS",
    "RosterFileError",
    "RosterLimits",
    "RosterReadResult",
    "RosterRow",
    "RowError",
    "RowWarning",
    "read_roster",
]

COLUMNS = (
    "email",
    "name",
    "role",
    "slack_user_id",
    "site",
    "program",
    "grade_bands",
    "subjects",
    "strengths",
    "needs",
    "availability",
    "timezone",
    "capacity",
    "principal_email",
    "avoid",
)
REQUIRED_COLUMNS = ("email", "name", "role")
# What storage keeps: names, sites and programs up to 200 characters; a custom column's answers are kept under
# "custom:<header>" in a 100-character question column.
MAX_TEXT = 200
MAX_CUSTOM_HEADER = 90
T = TypeVar("T")
CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
# What a spreadsheet reads as the start of a formula. Exports write such a cell with a leading apostrophe
# (`bot.exports.safe_cell`); the reader takes that apostrophe off again, so an exported roster reads back as it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class RosterLimits:
    """How big a roster file may be. A real district roster (up to 100,000 people, a few dozen columns) fits with
    room to spare; a file past any cap is refused whole before reading goes further."""

    max_rows: int = 100_000  # people (non-blank rows below the header)
    max_columns: int = 200  # the header's 15 known columns and the custom ones, or any value's column
    max_cells: int = 4_000_000  # cells in the file (XLSX: every cell the sheet stores, blank or not)
    max_file_bytes: int = 200 * 1024 * 1024  # the file as it is on disk
    max_line_chars: int = 200_000  # one CSV line
    max_unpacked_bytes: int = 256 * 1024 * 1024  # an XLSX's zip members, unpacked, all together
    max_ratio: int = 100  # how many times its packed size one XLSX member may unpack to (members over 1 MB)
    max_members: int = 1_000  # parts in an XLSX's zip (a roster workbook has about ten)


ROSTER_LIMITS = RosterLimits()
# Small members (a theme, styles) often pack 100-fold or more and cost nothing: the ratio is checked above this size.
RATIO_CHECKED_FROM_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RosterRow:
    """One person from the roster, every value already parsed and checked."""

    line: int
    email: str
    name: str
    role: str
    slack_user_id: str | None = None
    site: str | None = None
    program: str | None = None
    grade_bands: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    strengths: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    availability: tuple[Slot, ...] = ()
    timezone: str = "UTC"
    capacity: int | None = None
    principal_email: str | None = None
    avoid: tuple[str, ...] = ()
    custom: tuple[tuple[str, str], ...] = ()
    # Columns whose cell was wholly bad and was left out: an import keeps what is on file for them.
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowError:
    """One problem in one row: where it is, what was written, and what to write instead."""

    line: int
    column: str | None
    value: str | None
    message: str


@dataclass(frozen=True)
class RowWarning:
    """One optional value left out (or read as a usual zone) while its row was still imported.

    `problem` says what is wrong and what a right value looks like; `outcome` what mentorbot did instead
    (the importer rewrites it when the person's value on file was kept); `used` is the value used in its
    place, when there is one (a time zone read from "PST").
    """

    line: int
    column: str
    value: str
    problem: str
    outcome: str
    used: str | None = None

    @property
    def message(self) -> str:
        """The problem and what was done about it, as one plain sentence pair."""
        return f"{self.problem}. {self.outcome[:1].upper()}{self.outcome[1:]}."


@dataclass
class RosterReadResult:
    """The rows that passed, the problems found (rows left out, values left out), and how many data rows the file had."""

    rows: list[RosterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    data_rows: int = 0


class RosterFileError(UserError):
    """The roster file as a whole can't be read; the message names the file and says why."""


# ---------------------------------------------------------------- reading cells


def _key(header: str) -> str:
    # "Slack User ID", "slack_user_id" and "Time Zone" should all find their column.
    return re.sub(r"[\s_\-]+", "", header.strip().lower())


_KNOWN = {_key(name): name for name in COLUMNS}


def _column_letter(index: int) -> str:
    """Spreadsheet-style column name for a 0-based index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _cell_text(value: object) -> str:
    """Turn a spreadsheet cell into the text a person would see in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Spreadsheets store every number as a float: capacity 2 arrives as 2.0.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return _unescaped(str(value).strip())


def _unescaped(text: str) -> str:
    # "'=x" is how an export writes "=x" so no spreadsheet runs it: read it back as the value it stands for.
    return text[1:].strip() if text.startswith("'") and text[1:2] in FORMULA_STARTS else text


def _count(number: int) -> str:
    return f"{number:,}"


def _too_many_columns(path: Path, columns: int, limits: RosterLimits, where: str = "") -> RosterFileError:
    return RosterFileError(
        f'"{path}" has {_count(columns)} columns{where}; a roster has at most {_count(limits.max_columns)}, '
        "so delete the extra columns (or the stray values far to the right) and try again"
    )


def _too_many_rows(path: Path, rows: str, limits: RosterLimits, where: str = "") -> RosterFileError:
    return RosterFileError(
        f'"{path}" has {rows} rows{where}; a roster has at most {_count(limits.max_rows)} people, '
        "so split it into several files (or delete the stray rows far below the roster)"
    )


def _too_many_cells(path: Path, limits: RosterLimits) -> RosterFileError:
    return RosterFileError(
        f'"{path}" has more than {_count(limits.max_cells)} cells; a roster is smaller than that, '
        "so delete the columns and rows it doesn't need, or split it into several files"
    )


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode Text" export is UTF-16 with a byte-order mark.
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Older Excel on Windows saves CSV in the Windows code page.
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_blank(cells: Sequence[str]) -> bool:
    return not any(cells)  # cells are texts: a blank one is ""


def _read_csv_records(path: Path, data: bytes, limits: RosterLimits = ROSTER_LIMITS) -> list[tuple[int, list[str]]]:
    """Return (starting line, cells) for every non-blank record, refusing the file at the first cap it passes."""
    if data.startswith(b"PK\x03\x04"):
        raise RosterFileError(
            f'"{path}" is an Excel workbook with a .csv name; rename it to end in .xlsx, '
            "or save it from Excel as CSV"
        )
    text = _decode(data)
    if "\x00" in text:
        raise RosterFileError(f'"{path}" is not a text file; save the roster as CSV or XLSX and try again')
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","
    # Some Excel locales save "CSV" with semicolons or tabs; the header row tells which.
    if "," not in first_line:
        if "\t" in first_line:
            delimiter = "\t"
        elif ";" in first_line:
            delimiter = ";"

    def checked_lines():
        # The csv module would split a line of any length into cells: an overlong line is refused before it is parsed.
        for number, line in enumerate(io.StringIO(text, newline=""), start=1):
            if len(line) > limits.max_line_chars:
                cells = line.count(delimiter) + 1
                if cells > limits.max_columns:
                    raise _too_many_columns(path, cells, limits, f" on line {_count(number)}")
                raise RosterFileError(
                    f'"{path}" has a line {_count(len(line))} characters long (line {_count(number)}); a roster line '
                    f"has at most {_count(limits.max_line_chars)}, so shorten the values on it"
                )
            yield line

    reader = csv.reader(checked_lines(), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    previous_line = 0
    cells_read = 0
    try:
        for cells in reader:
            # line_num is where the record ended; a quoted cell can span several lines,
            # and people look for the line where the record starts.
            line = previous_line + 1
            previous_line = reader.line_num
            # Trailing empty cells are what spreadsheets leave after the last column: not columns of the roster.
            while cells and not cells[-1].strip():
                cells.pop()
            if not cells:  # the last cell left is not blank, so neither is the record
                continue
            if len(cells) > limits.max_columns:
                raise _too_many_columns(path, len(cells), limits, "" if not records else f" on line {_count(line)}")
            cells_read += len(cells)
            if cells_read > limits.max_cells:
                raise _too_many_cells(path, limits)
            if len(records) > limits.max_rows:  # the header and max_rows people are already in
                raise _too_many_rows(path, f"more than {_count(limits.max_rows)}", limits)
            records.append((line, [_unescaped(cell.strip()) for cell in cells]))
    except csv.Error as exc:
        raise RosterFileError(
            f'"{path}" could not be read as CSV near line {reader.line_num}; '
            "check for a stray quote mark there, or save it again from the spreadsheet"
        ) from exc
    return records


def _check_workbook_zip(path: Path, limits: RosterLimits) -> None:
    """Refuse a workbook whose zip would unpack to more than any roster needs, before anything unpacks it.

    The sizes come from the zip's directory; Python's zipfile never unpacks a member past its stated size (it fails
    the member instead), so a member can't lie its way past these checks.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise RosterFileError(
            f'"{path}" could not be opened as an Excel workbook; open it in Excel and save it again as .xlsx, or as CSV'
        ) from exc
    if len(members) > limits.max_members:
        raise RosterFileError(
            f'"{path}" holds {_count(len(members))} parts; an Excel workbook with a roster holds far fewer '
            f"(at most {_count(limits.max_members)}), so save the roster again as .xlsx or as CSV"
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unpacked_bytes:
        raise RosterFileError(
            f'"{path}" unpacks to {unpacked / 1024 / 1024:,.0f} MB; a roster workbook unpacks to at most '
            f"{limits.max_unpacked_bytes / 1024 / 1024:,.0f} MB, so split it into several files or save it as CSV"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM_BYTES and ratio > limits.max_ratio:
            raise RosterFileError(
                f'"{path}" has a part that unpacks to {ratio:,.0f} times its size ({member.filename}); a real '
                f"workbook's parts unpack to at most {_count(limits.max_ratio)} times, so this is not a roster "
                "mentorbot will open: save the roster again from Excel as .xlsx, or as CSV"
            )


def _declared_size(sheet) -> tuple[int | None, int | None, str | None]:
    """The columns and rows the sheet says it spans (its <dimension>), when it says."""
    try:
        columns, rows = sheet.max_column, sheet.max_row
        return columns, rows, sheet.calculate_dimension()
    except (ValueError, TypeError):  # no dimension, or one that doesn't parse: the stream's caps still hold
        return None, None, None


def _sheet_rows(workbook, sheet):
    """(row number, the row's cells as openpyxl parses them) for each row the sheet stores, without filling gaps.

    openpyxl's own row iterator pads every row out to the widest one (16,384 cells for a single value in column
    XFD) and every missing row in between; its sheet parser yields only what the file holds, which is what the
    caps are counted against.
    """
    from openpyxl.worksheet._reader import WorkSheetParser

    with workbook._archive.open(sheet._worksheet_path) as source:
        parser = WorkSheetParser(
            source, sheet._shared_strings, data_only=True, epoch=workbook.epoch, date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )  # fmt: skip
        yield from parser.parse()


def _read_xlsx_records(path: Path, limits: RosterLimits = ROSTER_LIMITS) -> list[tuple[int, list[str]]]:
    """Return (sheet row number, cells) for every non-blank row of the first sheet, refusing it at the first cap."""
    import openpyxl  # imported here so CSV-only use never pays for it

    _check_workbook_zip(path, limits)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (zip, XML, key errors) for one cause
        raise RosterFileError(
            f'"{path}" could not be opened as an Excel workbook; open it in Excel and save it again as .xlsx, or as CSV'
        ) from exc
    try:
        if not workbook.worksheets:
            raise RosterFileError(f'"{path}" has no sheets; put the roster on the first sheet')
        sheet = workbook.worksheets[0]
        columns, rows, spans = _declared_size(sheet)
        if columns is not None and columns > limits.max_columns:
            raise _too_many_columns(path, columns, limits, f" (its sheet spans {spans})")
        if rows is not None and rows > limits.max_rows + 1:
            raise _too_many_rows(path, _count(rows), limits, f" (its sheet spans {spans})")
        # The declared size is only a claim (some programs write it too small, or not at all): the caps are counted
        # again on what the sheet really holds, as it streams.
        records: list[tuple[int, list[str]]] = []
        cells_read = 0
        for number, cells in _sheet_rows(workbook, sheet):
            cells_read += len(cells)
            if cells_read > limits.max_cells:
                raise _too_many_cells(path, limits)
            filled = [(cell["column"], text) for cell in cells if (text := _cell_text(cell["value"]))]
            if not filled:
                continue
            widest = max(column for column, _ in filled)
            if widest > limits.max_columns:
                raise _too_many_columns(
                    path, widest, limits, f" (row {_count(number)} has a value in column {_column_letter(widest - 1)})"
                )
            if len(records) > limits.max_rows:  # the header and max_rows people are already in
                raise _too_many_rows(path, f"more than {_count(limits.max_rows)}", limits)
            values = [""] * widest
            for column, text in filled:
                values[column - 1] = text
            records.append((number, values))
        return records
    except RosterFileError:
        raise
    except Exception as exc:
        raise RosterFileError(
            f'"{path}" could not be read as an Excel workbook; open it in Excel and save it again as .xlsx, or as CSV'
        ) from exc
    finally:
        workbook.close()


def _load_records(path: Path, limits: RosterLimits = ROSTER_LIMITS) -> list[tuple[int, list[str]]]:
    suffix = path.suffix.lower()
    if not path.exists():
        raise RosterFileError(f'Can\'t find the roster file "{path}"; check the name and the folder')
    if path.is_dir():
        raise RosterFileError(f'"{path}" is a folder, not a roster file; give the path of a .csv or .xlsx file')
    if suffix in (".xls", ".ods", ".numbers"):
        raise RosterFileError(
            f'"{path}" is in a spreadsheet format mentorbot can\'t read; save it as .xlsx (Excel workbook) or CSV'
        )
    if suffix not in CSV_SUFFIXES + XLSX_SUFFIXES:
        raise RosterFileError(
            f'"{path}" is not a roster file mentorbot can read; use a CSV file (.csv) or an Excel workbook (.xlsx)'
        )
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise RosterFileError(
                f'"{path}" is {size / 1024 / 1024:,.0f} MB; a roster file is at most '
                f"{limits.max_file_bytes / 1024 / 1024:,.0f} MB, so split it into several files"
            )
        if suffix in XLSX_SUFFIXES:
            return _read_xlsx_records(path, limits)
        return _read_csv_records(path, path.read_bytes(), limits)
    except OSError as exc:
        raise RosterFileError(f'"{path}" could not be opened ({exc.strerror or exc}); check that you can read it') from exc


def _within(text: str, column: str) -> str:
    """The cell as it is, unless it is longer than mentorbot stores for that column."""
    if len(text) > MAX_TEXT:
        raise AnswerError(f"The {column} is {len(text)} characters long; mentorbot keeps at most {MAX_TEXT}, so shorten it")
    return text


# ---------------------------------------------------------------- the header


@dataclass(frozen=True)
class _Header:
    line: int
    known: dict[str, int]  # column name -> position
    custom: list[tuple[int, str]]  # position, header as written
    named: frozenset[int]  # positions that have a header at all
    order: dict[str | None, int]  # column -> position, for sorting errors within a row
    width: int = 0  # cells in the header row; every position from here on has no header
    unnamed: tuple[int, ...] = ()  # positions within the header row that have no header


def _parse_header(path: Path, line: int, cells: list[str]) -> _Header:
    known: dict[str, int] = {}
    custom: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(cells):
        header = raw.strip()
        if not header:
            continue
        key = _key(header)
        if key in seen:
            raise RosterFileError(
                f'"{path}" has two columns named "{header}" (columns {_column_letter(seen[key])} and '
                f"{_column_letter(position)}); rename or remove one"
            )
        seen[key] = position
        if key in _KNOWN:
            known[_KNOWN[key]] = position
        else:
            if len(header) > MAX_CUSTOM_HEADER:
                raise RosterFileError(
                    f'"{path}" has a column header {len(header)} characters long (column {_column_letter(position)}); '
                    f"mentorbot keeps at most {MAX_CUSTOM_HEADER}, so shorten it"
                )
            custom.append((position, header))
    missing = [name for name in REQUIRED_COLUMNS if name not in known]
    if missing:
        if not known and any("@" in cell for cell in cells):
            raise RosterFileError(
                f'"{path}" does not start with a header row; add a first row naming the columns, '
                f"starting with {', '.join(REQUIRED_COLUMNS)}"
            )
        raise RosterFileError(
            f'"{path}" is missing the required column{"s" if len(missing) > 1 else ""} '
            f"{', '.join(missing)}; the header row (line {line}) should name at least "
            f"{', '.join(REQUIRED_COLUMNS)}"
        )
    order: dict[str | None, int] = {name: position for name, position in known.items()}
    order[None] = -1
    named = frozenset(seen.values())
    unnamed = tuple(position for position in range(len(cells)) if position not in named)
    return _Header(line, known, custom, named, order, len(cells), unnamed)


# ---------------------------------------------------------------- one row


class _ParseMemo:
    """What parsing a cell text gave the last time it was seen in this file: a value, or the problem's message.

    A roster repeats a few dozen distinct grade bands, slot lists, subject lists, roles and time zones across
    thousands of rows; parsing each distinct text once halves reading a big file. Only the outcome is kept, so every
    row still gets its own errors and warnings, exactly as if its cells had been parsed afresh.
    """

    # Distinct texts remembered at most: a file of unique values costs no more than the rows themselves.
    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self._outcomes: dict[tuple[object, str], Any] = {}

    def remembered(self, kind: object, text: str, compute: Callable[[str], T]) -> T:
        """`compute(text)`, computed once per distinct `kind` and `text` (an AnswerError is remembered as raised)."""
        key = (kind, text)
        try:
            outcome = self._outcomes[key]
        except KeyError:
            try:
                outcome = compute(text)
            except AnswerError as exc:
                outcome = _Refused(exc.message)
            if len(self._outcomes) < self.MAX_ENTRIES:
                self._outcomes[key] = outcome
        if isinstance(outcome, _Refused):
            raise AnswerError(outcome.message)  # a fresh exception each time: a re-raised one would grow its traceback
        return outcome


@dataclass(frozen=True)
class _Refused:
    message: str


def _split_bands(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]


def _split_slots(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _parts_outcome(parts: Sequence[str], parser: Callable[[str], tuple[T, ...]]) -> tuple[tuple[T, ...], tuple[tuple[str, str], ...]]:
    """The good items of a list cell's parts, and each bad part with its problem."""
    good: list[T] = []
    bad: list[tuple[str, str]] = []
    for part in parts:
        try:
            good.extend(item for item in parser(part) if item not in good)
        except AnswerError as exc:
            bad.append((part, exc.message))
    return tuple(good), tuple(bad)


# What a row is imported without, per optional column, when its whole cell is bad (the person is new, or has
# nothing on file for it; the importer says so when a value on file was kept instead).
_WITHOUT = {
    "slack_user_id": "the row was imported without a Slack member ID",
    "site": "the row was imported without a site",
    "program": "the row was imported without a program",
    "grade_bands": "the row was imported without grade bands",
    "availability": "the row was imported without availability",
    "capacity": "the default capacity was used",
    "principal_email": "the row was imported without a principal email",
    "avoid": "it was left out of avoid",
}


def _parse_row(
    line: int,
    cells: list[str],
    header: _Header,
    default_timezone: str,
    first_line_of: dict[str, int],
    memo: _ParseMemo | None = None,
) -> tuple[RosterRow | None, list[RowError], list[RowWarning]]:
    memo = memo if memo is not None else _ParseMemo()
    remembered = memo.remembered
    errors: list[RowError] = []
    warnings: list[RowWarning] = []
    dropped: list[str] = []

    def cell(column: str) -> str:
        position = header.known.get(column)
        return cells[position] if position is not None and position < len(cells) else ""

    def required(column: str, parser: Callable[[str], T], blank: str, *, repeats: bool = False) -> T | None:
        """Run one parser on a required cell (once per distinct text if its values `repeats`); a blank or bad one
        is an error that leaves the row out."""
        text = cell(column)
        if not text:
            errors.append(RowError(line, column, None, blank))
            return None
        try:
            return remembered(parser, text, parser) if repeats else parser(text)
        except AnswerError as exc:
            errors.append(RowError(line, column, text, exc.message))
            return None

    def warn(column: str, value: str, problem: str, outcome: str | None = None, used: str | None = None) -> None:
        warnings.append(RowWarning(line, column, value, problem, outcome or _WITHOUT[column], used))

    def optional(column: str, parser: Callable[[str], T], outcome: str | None = None, *, repeats: bool = False) -> T | None:
        """Run one parser on an optional cell (once per distinct text if its values `repeats`); a bad one is left
        out with a warning (None either way)."""
        text = cell(column)
        if not text:
            return None
        try:
            return remembered(parser, text, parser) if repeats else parser(text)
        except AnswerError as exc:
            warn(column, text, exc.message, outcome)
            dropped.append(column)
            return None

    def each_part(column: str, parts: Sequence[str], parser: Callable[[str], tuple[T, ...]], kept: str) -> tuple[T, ...]:
        """Parse a list cell part by part: good parts are kept, each bad one is left out with a warning."""
        return warned_parts(column, *_parts_outcome(parts, parser), kept)

    def each_remembered_part(column: str, split: Callable[[str], list[str]], parser: Callable[[str], tuple[T, ...]], kept: str) -> tuple[T, ...]:
        """`each_part` for a column whose cell texts repeat: each distinct text is split and parsed once."""
        text = cell(column)
        if not text:
            return ()
        # Slot lists are often each person's own mix of a few hundred distinct slots: each part is remembered too.
        part_parser = lambda part: remembered((column, "part"), part, parser)  # noqa: E731
        good, bad = remembered(column, text, lambda text: _parts_outcome(split(text), part_parser))
        return warned_parts(column, good, bad, kept)

    def warned_parts(column: str, good: tuple[T, ...], bad: Sequence[tuple[str, str]], kept: str) -> tuple[T, ...]:
        for part, problem in bad:
            warn(column, part, problem, kept if good else None)
        if bad and not good:
            dropped.append(column)
        return good

    # Only the positions without a header are looked at: the cells under one are read by name below.
    stray = [(position, cells[position]) for position in header.unnamed if position < len(cells) and cells[position]]
    stray += [(position, cells[position]) for position in range(header.width, len(cells)) if cells[position]]
    if stray:
        position, text = stray[0]
        errors.append(
            RowError(
                line,
                None,
                text,
                f"This row has a value in column {_column_letter(position)}, which has no header; "
                "give that column a name in the header row, or clear it (in a CSV file, a value with "
                "a comma in it needs quote marks around it)",
            )
        )

    email = required("email", parse_email, 'The email is blank; every person needs one, like "name@school.org"')
    name = required("name", lambda text: _within(" ".join(text.split()), "name"), "The name is blank; write the person's name")
    role = required("role", parse_role, "The role is blank; write mentor, mentee or both", repeats=True)
    slack_user_id = optional("slack_user_id", parse_slack_user_id)
    bands = each_remembered_part("grade_bands", _split_bands, parse_grade_bands, "the other grade bands were kept")
    # Sorted into band order, as parse_grade_bands gives them for a whole cell.
    grade_bands = tuple(band for band in GRADE_BANDS if band in bands)
    availability = each_remembered_part("availability", _split_slots, parse_slots, "the other slots were kept")
    timezone = _timezone(cell("timezone"), default_timezone, warn, dropped, memo)
    capacity = optional("capacity", parse_capacity, repeats=True)
    principal_email = optional("principal_email", parse_email, repeats=True)  # one principal per site
    site = optional("site", lambda text: _within(text, "site"))
    program = optional("program", lambda text: _within(text, "program"))

    if isinstance(email, str):
        if email in first_line_of:
            errors.append(
                RowError(
                    line,
                    "email",
                    cell("email"),
                    f"{email} is already on line {first_line_of[email]}; list each person once "
                    "(put every role they have in one row, using role both if they mentor and are mentored)",
                )
            )
        else:
            first_line_of[email] = line

    def avoid_address(entry: str) -> tuple[str, ...]:
        address = parse_email(entry)
        if address == email:
            raise AnswerError("This person lists themselves under avoid; avoid is only for other people's emails")
        return (address,)

    avoid = each_part("avoid", remembered(parse_list, cell("avoid"), parse_list), avoid_address, "it was left out of avoid")

    if errors:
        # The row is left out anyway: its bad optional values are listed with the errors, so one pass fixes the row.
        errors.extend(RowError(w.line, w.column, w.value, w.problem) for w in warnings)
        return None, errors, []
    # No errors means every required cell was present and parsed.
    assert email is not None and name is not None and role is not None
    custom = tuple((title, cells[position]) for position, title in header.custom if position < len(cells) and cells[position])
    row = RosterRow(
        line=line,
        email=email,
        name=name,
        role=role,
        slack_user_id=slack_user_id,
        site=site,
        program=program,
        grade_bands=grade_bands,
        subjects=remembered(parse_list, cell("subjects"), parse_list),
        strengths=remembered(parse_list, cell("strengths"), parse_list),
        needs=remembered(parse_list, cell("needs"), parse_list),
        availability=availability,
        timezone=timezone,
        capacity=capacity,
        principal_email=principal_email,
        avoid=avoid,
        custom=custom,
        dropped=tuple(dropped),
    )
    return row, [], warnings


def _timezone(text: str, default_timezone: str, warn: Callable[..., None], dropped: list[str], memo: _ParseMemo) -> str:
    """The row's time zone: a US abbreviation ("PST") is read as its usual zone and an unknown one gives the default,
    each with a warning."""
    if not text:
        return default_timezone
    try:
        # The default is the same for the whole file, so the text alone decides the outcome.
        return memo.remembered(parse_timezone, text, lambda text: parse_timezone(text, default_timezone))
    except AnswerError as exc:
        usual = usual_timezone_for(text)
        if usual is not None:
            warn("timezone", text, exc.message, f"it was read as {usual}", usual)
            return usual
        warn("timezone", text, exc.message, f"the default time zone {default_timezone} was used")
        dropped.append("timezone")
        return default_timezone



# ---------------------------------------------------------------- the whole file


def _progress_steps(total: int) -> int:
    # About a hundred updates is smooth for a progress bar without slowing a big import.
    return max(1, total // 100)


def read_roster(
    path: Path,
    *,
    default_timezone: str = "UTC",
    on_progress: Callable[[int, int], None] | None = None,
    limits: RosterLimits = ROSTER_LIMITS,
) -> RosterReadResult:
    """Read and validate a roster; good rows are returned, bad rows become line-numbered errors, and bad optional
    values are left out of their (still good) rows with line-numbered warnings. A file past `limits` is refused whole."""
    path = Path(path)
    # A wrong default is a settings mistake, not a roster one; AnswerError explains it plainly.
    default_timezone = parse_timezone(default_timezone, "UTC")
    records = _load_records(path, limits)

    nonblank = [(line, cells) for line, cells in records if not _is_blank(cells)]
    if not nonblank:
        raise RosterFileError(f'"{path}" is empty; it needs a header row (email, name, role, …) and one row per person')
    header_line, header_cells = nonblank[0]
    header = _parse_header(path, header_line, header_cells)
    data = nonblank[1:]

    total = len(data)
    step = _progress_steps(total)
    if on_progress:
        on_progress(0, total)
    result = RosterReadResult(data_rows=total)
    first_line_of: dict[str, int] = {}
    memo = _ParseMemo()
    for done, (line, cells) in enumerate(data, start=1):
        row, errors, warnings = _parse_row(line, cells, header, default_timezone, first_line_of, memo)
        if row is not None:
            result.rows.append(row)
        result.errors.extend(errors)
        result.warnings.extend(warnings)
        if on_progress and (done % step == 0 or done == total):
            on_progress(done, total)
    result.errors.sort(key=lambda error: (error.line, header.order.get(error.column, len(header_cells))))
    result.warnings.sort(key=lambda warning: (warning.line, header.order.get(warning.column, len(header_cells))))
    return result

