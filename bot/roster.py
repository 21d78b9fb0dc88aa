"""Read a roster file (CSV or XLSX) into validated rows, per the roster format in the README.

Pure apart from reading the one file: nothing here touches the database or the network.
Good rows come back as `RosterRow`s; a problem with a required value (email, name, role) or a row
that doesn't fit the header becomes a line-numbered `RowError` and the row is left out. A bad
optional value (a Slack member ID, a slot, a grade band, a time zone, ...) costs only that value:
the row comes through without it and a `RowWarning` says which value, why, and what was done
instead. An admin can fix the spreadsheet in one pass. Only problems with the file as a whole
raise, and they raise `RosterFileError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

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
    "REQUIRED_COLUMNS",
    "RosterFileError",
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
    return str(value).strip()


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
    return not any(cell for cell in cells)


def _read_csv_records(path: Path, data: bytes) -> list[tuple[int, list[str]]]:
    """Return (starting line, cells) for every record, blank ones included."""
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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    previous_line = 0
    try:
        for cells in reader:
            # line_num is where the record ended; a quoted cell can span several lines,
            # and people look for the line where the record starts.
            records.append((previous_line + 1, [cell.strip() for cell in cells]))
            previous_line = reader.line_num
    except csv.Error as exc:
        raise RosterFileError(
            f'"{path}" could not be read as CSV near line {reader.line_num}; '
            "check for a stray quote mark there, or save it again from the spreadsheet"
        ) from exc
    return records


def _read_xlsx_records(path: Path) -> list[tuple[int, list[str]]]:
    """Return (sheet row number, cells) for every row of the first sheet."""
    import openpyxl  # imported here so CSV-only use never pays for it

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
        # Some programs write wrong sheet sizes, which would cut rows off in read-only mode.
        sheet.reset_dimensions()
        # iter_rows from row 1 fills in missing rows, so counting gives the sheet's row numbers.
        return [
            (number, [_cell_text(value) for value in values])
            for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        ]
    except RosterFileError:
        raise
    except Exception as exc:
        raise RosterFileError(
            f'"{path}" could not be read as an Excel workbook; open it in Excel and save it again as .xlsx, or as CSV'
        ) from exc
    finally:
        workbook.close()


def _load_records(path: Path) -> list[tuple[int, list[str]]]:
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
        if suffix in XLSX_SUFFIXES:
            return _read_xlsx_records(path)
        return _read_csv_records(path, path.read_bytes())
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
    return _Header(line, known, custom, frozenset(seen.values()), order)


# ---------------------------------------------------------------- one row


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
) -> tuple[RosterRow | None, list[RowError], list[RowWarning]]:
    errors: list[RowError] = []
    warnings: list[RowWarning] = []
    dropped: list[str] = []

    def cell(column: str) -> str:
        position = header.known.get(column)
        return cells[position] if position is not None and position < len(cells) else ""

    def required(column: str, parser: Callable[[str], T], blank: str) -> T | None:
        """Run one parser on a required cell; a blank or bad one is an error that leaves the row out."""
        text = cell(column)
        if not text:
            errors.append(RowError(line, column, None, blank))
            return None
        try:
            return parser(text)
        except AnswerError as exc:
            errors.append(RowError(line, column, text, exc.message))
            return None

    def warn(column: str, value: str, problem: str, outcome: str | None = None, used: str | None = None) -> None:
        warnings.append(RowWarning(line, column, value, problem, outcome or _WITHOUT[column], used))

    def optional(column: str, parser: Callable[[str], T], outcome: str | None = None) -> T | None:
        """Run one parser on an optional cell; a bad one is left out with a warning (None either way)."""
        text = cell(column)
        if not text:
            return None
        try:
            return parser(text)
        except AnswerError as exc:
            warn(column, text, exc.message, outcome)
            dropped.append(column)
            return None

    def each_part(column: str, parts: Sequence[str], parser: Callable[[str], tuple[T, ...]], kept: str) -> tuple[T, ...]:
        """Parse a list cell part by part: good parts are kept, each bad one is left out with a warning."""
        good: list[T] = []
        bad: list[tuple[str, str]] = []
        for part in parts:
            try:
                good.extend(item for item in parser(part) if item not in good)
            except AnswerError as exc:
                bad.append((part, exc.message))
        for part, problem in bad:
            warn(column, part, problem, kept if good else None)
        if bad and not good:
            dropped.append(column)
        return tuple(good)

    stray = [
        (position, text) for position, text in enumerate(cells) if text and position not in header.named
    ]
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
    role = required("role", parse_role, "The role is blank; write mentor, mentee or both")
    slack_user_id = optional("slack_user_id", parse_slack_user_id)
    bands = each_part(
        "grade_bands", [part.strip() for part in re.split(r"[;,]", cell("grade_bands")) if part.strip()], parse_grade_bands,
        "the other grade bands were kept",
    )  # fmt: skip
    # Sorted into band order, as parse_grade_bands gives them for a whole cell.
    grade_bands = tuple(band for band in GRADE_BANDS if band in bands)
    availability = each_part(
        "availability", [part.strip() for part in cell("availability").split(";") if part.strip()], parse_slots,
        "the other slots were kept",
    )  # fmt: skip
    timezone = _timezone(cell("timezone"), default_timezone, warn, dropped)
    capacity = optional("capacity", parse_capacity)
    principal_email = optional("principal_email", parse_email)
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

    avoid = each_part("avoid", parse_list(cell("avoid")), avoid_address, "it was left out of avoid")

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
        subjects=parse_list(cell("subjects")),
        strengths=parse_list(cell("strengths")),
        needs=parse_list(cell("needs")),
        availability=availability,
        timezone=timezone,
        capacity=capacity,
        principal_email=principal_email,
        avoid=avoid,
        custom=custom,
        dropped=tuple(dropped),
    )
    return row, [], warnings


def _timezone(text: str, default_timezone: str, warn: Callable[..., None], dropped: list[str]) -> str:
    """The row's time zone: a US abbreviation ("PST") is read as its usual zone and an unknown one gives the default,
    each with a warning."""
    if not text:
        return default_timezone
    try:
        return parse_timezone(text, default_timezone)
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
) -> RosterReadResult:
    """Read and validate a roster; good rows are returned, bad rows become line-numbered errors, and bad optional
    values are left out of their (still good) rows with line-numbered warnings."""
    path = Path(path)
    # A wrong default is a settings mistake, not a roster one; AnswerError explains it plainly.
    default_timezone = parse_timezone(default_timezone, "UTC")
    records = _load_records(path)

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
    for done, (line, cells) in enumerate(data, start=1):
        row, errors, warnings = _parse_row(line, cells, header, default_timezone, first_line_of)
        if row is not None:
            result.rows.append(row)
        result.errors.extend(errors)
        result.warnings.extend(warnings)
        if on_progress and (done % step == 0 or done == total):
            on_progress(done, total)
    result.errors.sort(key=lambda error: (error.line, header.order.get(error.column, len(header_cells))))
    result.warnings.sort(key=lambda warning: (warning.line, header.order.get(warning.column, len(header_cells))))
    return result

