"""Tests for reading a roster file (CSV or XLSX) into validated rows and line-numbered errors."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flows.parsers import AnswerError, Slot
from bot.roster import RosterFileError, RosterReadResult, RosterRow, RowError, RowWarning, read_roster

DATA = Path(__file__).parent / "data"
# The example roster the demo ships (a copy of the program's shared example).
EXAMPLE = Path(__file__).resolve().parents[1] / "bot" / "demo_data" / "roster.csv"
BAD = DATA / "bad_roster.csv"
HEADER = "email,name,role,slack_user_id,site,program,grade_bands,subjects,strengths,needs,availability,timezone,capacity,principal_email,avoid"
JARGON = ("Traceback", "Error", "None", "invalid literal", "NoneType", "Exception", "errno")

# (line, column) of every row-rejecting problem planted in tests/data/bad_roster.csv: a required value is wrong.
BAD_EXPECTED = [
    (3, "email"),  # missing email
    (4, "email"),  # malformed email "bob@"
    (5, "name"),  # missing name
    (6, "role"),  # unknown role "coach"
    # line 11 is blank and skipped
    (16, "email"),  # ADA.GOOD@... repeats line 2
    (21, "email"),  # several problems in one row, each reported (its bad capacity too: the row is out anyway)
    (21, "name"),
    (21, "role"),
    (21, "capacity"),
]
# (line, column) of every bad optional value: the row is imported without it, with a warning.
BAD_WARNINGS = [
    (8, "capacity"),  # "lots"
    (9, "capacity"),  # "-1"
    (10, "availability"),  # "Tuesday-ish"
    (12, "availability"),  # "Tue 16:00-15:00" ends before it starts
    (13, "timezone"),  # "PST", read as America/Los_Angeles
    (14, "slack_user_id"),  # "@sid"
    (15, "grade_bands"),  # "middle"
    (17, "avoid"),  # "not-an-email"
    (18, "principal_email"),  # "principal@@school"
    (20, "avoid"),  # lists themselves
]
BAD_GOOD_EMAILS = [
    "ada.good@school.example", "bea.good@school.example", "carl.lots@school.example", "nina.negative@school.example",
    "tess.ish@school.example", "ethan.early@school.example", "pat.pst@school.example", "sid.slack@school.example",
    "gus.grade@school.example", "ava.avoid@school.example", "pia.principal@school.example", "cam.lee@school.example",
    "sam.self@school.example",
]  # fmt: skip


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def csv_to_xlsx(source: Path, target: Path) -> Path:
    """Copy a CSV into a workbook row for row, with numbers stored as numbers like Excel would."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Roster"
    with source.open(newline="", encoding="utf-8-sig") as handle:
        for number, record in enumerate(csv.reader(handle), start=1):
            for column, text in enumerate(record, start=1):
                if re.fullmatch(r"-?\d+(\.\d+)?", text):
                    value: object = float(text)
                elif text:
                    value = text
                else:
                    continue
                sheet.cell(row=number, column=column, value=value)
    # A second sheet must be ignored: the roster is the first sheet.
    workbook.create_sheet("Notes").append(["this", "sheet", "is", "ignored"])
    workbook.save(target)
    return target


# ---------------------------------------------------------------- the shared example


def test_example_roster_reads_without_errors():
    progress: list[tuple[int, int]] = []
    result = read_roster(EXAMPLE, default_timezone="America/Los_Angeles", on_progress=lambda d, t: progress.append((d, t)))
    assert isinstance(result, RosterReadResult)
    assert result.errors == [] and result.warnings == []
    assert result.data_rows == 70
    assert len(result.rows) == 70
    assert [row.line for row in result.rows] == list(range(2, 72))
    assert len({row.email for row in result.rows}) == 70
    assert progress[0] == (0, 70) and progress[-1] == (70, 70)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert {total for _, total in progress} == {70}

    first = result.rows[0]
    assert first == RosterRow(
        line=2,
        email="luis.nguyen.ee3@district.example",
        name="Luis Nguyen",
        role="mentee",
        slack_user_id="U0CA0BEE5D",
        site="Mountain View Middle",
        program="State University",
        grade_bands=("6-8",),
        subjects=("PE", "social studies"),
        strengths=(),
        needs=("lesson planning",),
        availability=(Slot(0, 720, 765),),
        timezone="America/Los_Angeles",
        capacity=None,
        principal_email=None,
        avoid=(),
        custom=(),
    )
    by_email = {row.email: row for row in result.rows}
    ana = by_email["ana.chen.mr6@district.example"]
    assert (ana.role, ana.capacity, ana.principal_email, ana.slack_user_id) == (
        "mentor",
        1,
        "principal.cesar@district.example",
        None,
    )
    # Typed by hand: spaces around ";", a day written out, a dropped leading zero; all read as if written neatly.
    ana_alvarez = by_email["ana.alvarez.mr16@district.example"]
    assert (ana_alvarez.capacity, ana_alvarez.strengths) == (0, ("SEL", "lesson planning"))
    assert Slot(3, 420, 465) in ana_alvarez.availability
    assert len({row.name for row in result.rows}) == 70  # every person has a name of their own
    assert by_email["farid.johnson.ee26@district.example"].timezone == "America/New_York"


# ---------------------------------------------------------------- the bad roster


def test_bad_roster_reports_every_problem_with_line_and_column():
    result = read_roster(BAD)
    assert [(error.line, error.column) for error in result.errors] == BAD_EXPECTED
    assert [(warning.line, warning.column) for warning in result.warnings] == BAD_WARNINGS
    assert [row.email for row in result.rows] == BAD_GOOD_EMAILS
    assert result.data_rows == 19  # lines 2-21 less the blank line 11
    for error in result.errors:
        assert isinstance(error, RowError)
        assert error.message and not any(word in error.message for word in JARGON), error
    for warning in result.warnings:
        assert isinstance(warning, RowWarning)
        assert warning.value and not any(word in warning.message for word in JARGON), warning


def test_bad_roster_messages_quote_the_value_and_explain():
    result = read_roster(BAD)
    errors = {(error.line, error.column): error for error in result.errors}
    warnings = {(warning.line, warning.column): warning for warning in result.warnings}
    assert errors[3, "email"].value is None
    assert "blank" in errors[3, "email"].message
    assert errors[4, "email"].value == "bob@"
    assert errors[6, "role"].message == '"coach" is not a role; write mentor, mentee or both'
    duplicate = errors[16, "email"]
    assert "line 2" in duplicate.message and duplicate.value == "ADA.GOOD@school.example"
    # A rejected row lists its bad optional values as errors too, without what an import would have done.
    assert errors[21, "capacity"].message == '"2.5" is not a number of mentees; write a whole number from 0 to 10 (0 means not this term)'

    assert warnings[8, "capacity"].value == "lots"
    assert warnings[8, "capacity"].message == (
        '"lots" is not a number of mentees; write a whole number from 0 to 10 (0 means not this term). '
        "The default capacity was used."
    )
    assert warnings[9, "capacity"].value == "-1"
    assert warnings[10, "availability"].message == (
        '"Tuesday-ish" is not a time slot; write a day and a time range like "Tue 15:30-16:30". '
        "The row was imported without availability."
    )
    # The cell held a good slot too: the warning names only the bad piece, and the good one is kept.
    assert warnings[12, "availability"].value == "Tue 16:00-15:00"
    assert warnings[12, "availability"].message.startswith('"Tue 16:00-15:00" ends before it starts')
    assert warnings[12, "availability"].message.endswith("The other slots were kept.")
    pst = warnings[13, "timezone"]
    assert (pst.value, pst.used) == ("PST", "America/Los_Angeles")
    assert pst.message.endswith("It was read as America/Los_Angeles.")
    assert warnings[14, "slack_user_id"].value == "@sid"
    assert warnings[14, "slack_user_id"].message.endswith("The row was imported without a Slack member ID.")
    assert warnings[15, "grade_bands"].value == "middle"
    assert warnings[17, "avoid"].value == "not-an-email"
    assert warnings[17, "avoid"].message.endswith("It was left out of avoid.")
    assert warnings[18, "principal_email"].value == "principal@@school"
    assert "themselves" in warnings[20, "avoid"].message
    assert all(warning.used is None for key, warning in warnings.items() if key != (13, "timezone"))


def test_bad_roster_good_rows_come_through_parsed():
    rows = {row.email: row for row in read_roster(BAD, default_timezone="America/Denver").rows}
    ada = rows["ada.good@school.example"]
    assert ada.capacity == 2
    assert ada.timezone == "America/Chicago"
    assert ada.strengths == ("assessment", "SEL")
    bea = rows["bea.good@school.example"]
    assert bea.timezone == "America/Denver"  # blank cell takes the default
    assert bea.capacity is None  # blank stays blank; the importer applies the default
    assert bea.grade_bands == ("K-2", "6-8")
    assert bea.avoid == ("ada.good@school.example",)
    # Rows with a bad optional value come through without just that value; `dropped` names the columns left out.
    assert (rows["carl.lots@school.example"].capacity, rows["carl.lots@school.example"].dropped) == (None, ("capacity",))
    assert rows["tess.ish@school.example"].availability == ()
    assert (rows["ethan.early@school.example"].availability, rows["ethan.early@school.example"].dropped) == ((Slot(0, 540, 600),), ())
    assert (rows["pat.pst@school.example"].timezone, rows["pat.pst@school.example"].dropped) == ("America/Los_Angeles", ())
    assert (rows["sid.slack@school.example"].slack_user_id, rows["sid.slack@school.example"].dropped) == (None, ("slack_user_id",))
    assert rows["gus.grade@school.example"].grade_bands == ()
    assert rows["ava.avoid@school.example"].avoid == ("bea.good@school.example",)
    assert rows["ava.avoid@school.example"].dropped == ()  # one good entry kept, so the cell is not wholly left out
    assert rows["pia.principal@school.example"].principal_email is None
    assert (rows["sam.self@school.example"].avoid, rows["sam.self@school.example"].dropped) == ((), ("avoid",))
    cam = rows["cam.lee@school.example"]
    assert cam == RosterRow(
        line=19,
        email="cam.lee@school.example",
        name="Lee, Cam",
        role="both",
        slack_user_id="U0BBBBBBB2",
        site="West K-8",
        program="City College",
        grade_bands=("K-2", "6-8"),
        subjects=("ELD",),
        strengths=("co-teaching",),
        needs=("SEL",),
        availability=(Slot(3, 450, 495), Slot(4, 720, 780)),
        timezone="America/New_York",
        capacity=3,
    )


# ---------------------------------------------------------------- XLSX


def test_xlsx_reads_the_same_as_csv(tmp_path):
    workbook = csv_to_xlsx(BAD, tmp_path / "bad_roster.xlsx")
    from_csv, from_xlsx = read_roster(BAD), read_roster(workbook)
    assert from_xlsx.rows == from_csv.rows
    assert from_xlsx.errors == from_csv.errors
    assert from_xlsx.warnings == from_csv.warnings
    assert from_xlsx.data_rows == from_csv.data_rows


def test_example_roster_as_xlsx(tmp_path):
    workbook = csv_to_xlsx(EXAMPLE, tmp_path / "roster.xlsx")
    result = read_roster(workbook)
    assert result.errors == []
    assert result.rows == read_roster(EXAMPLE).rows


def test_xlsx_cells_are_coerced(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Email", "Name", "Role", "Capacity", "Slack_User_ID", "Years Teaching", "Notes"])
    sheet.append(["kim@school.example", "Kim", "mentor", 2.0, "U0AAAAAAA1", 12, None])
    sheet.append([None, None, None, None, None, None, None])  # blank rows are skipped
    sheet.append(["lee@school.example", "Lee", "mentee", None, None, 3.5, True])
    sheet.append(["max@school.example", "Max", "mentor", 2.5])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)

    result = read_roster(path)
    kim, lee, max_ = result.rows
    assert (kim.line, kim.capacity, kim.custom) == (2, 2, (("Years Teaching", "12"),))
    assert (lee.line, lee.capacity, lee.custom) == (4, None, (("Years Teaching", "3.5"), ("Notes", "TRUE")))
    assert (max_.line, max_.capacity) == (5, None)  # 2.5 people is no capacity: the default applies, with a warning
    assert result.errors == []
    assert [(w.line, w.column, w.value) for w in result.warnings] == [(5, "capacity", "2.5")]
    assert result.data_rows == 3


def test_xlsx_row_numbers_survive_leading_blank_rows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A3"], sheet["B3"], sheet["C3"] = "email", "name", "role"
    sheet["A6"], sheet["B6"], sheet["C6"] = "kim@school.example", "Kim", "mentor"
    sheet["A8"], sheet["B8"], sheet["C8"] = "lee@school.example", "Lee", "teacher"
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    result = read_roster(path)
    assert [row.line for row in result.rows] == [6]
    assert [(error.line, error.column) for error in result.errors] == [(8, "role")]


# ---------------------------------------------------------------- CSV details


def test_bom_and_messy_headers(tmp_path):
    path = write(
        tmp_path / "roster.csv",
        "\ufeff Email ,NAME, Role ,Slack User ID,Time Zone, Grade-Bands ,Favourite Color,Notes\r\n"
        "Kim@School.example,Kim Park,MENTOR,U0AAAAAAA1,europe/london,K-2,teal,\r\n"
        "lee@school.example,Lee Ray,mentee,,,3-5,,likes tea\r\n",
    )
    result = read_roster(path)
    assert result.errors == []
    kim, lee = result.rows
    assert (kim.email, kim.role, kim.slack_user_id, kim.timezone, kim.grade_bands) == (
        "kim@school.example",
        "mentor",
        "U0AAAAAAA1",
        "Europe/London",
        ("K-2",),
    )
    # Custom headers keep their spelling (stripped); blank values are left out.
    assert kim.custom == (("Favourite Color", "teal"),)
    assert lee.custom == (("Notes", "likes tea"),)
    assert lee.timezone == "UTC"


def test_cp1252_file_is_read(tmp_path):
    path = write(tmp_path / "roster.csv", "email,name,role\njose@school.example,José Núñez,mentor\n", "cp1252")
    assert read_roster(path).rows[0].name == "José Núñez"


def test_semicolon_and_tab_separated_files(tmp_path):
    semi = write(tmp_path / "semi.csv", 'email;name;role;subjects\nkim@school.example;Kim;mentor;"math;ELA"\n')
    tab = write(tmp_path / "tab.csv", "email\tname\trole\tsubjects\nkim@school.example\tKim\tmentor\tmath;ELA\n")
    for path in (semi, tab):
        (row,) = read_roster(path).rows
        assert row.subjects == ("math", "ELA")


def test_multi_line_cells_and_blank_lines_keep_line_numbers(tmp_path):
    path = write(
        tmp_path / "roster.csv",
        "email,name,role,notes\n"
        '\n'
        'kim@school.example,Kim,mentor,"line one\nline two\nline three"\n'
        ",,,\n"
        "lee@school.example,Lee,coach,\n",
    )
    result = read_roster(path)
    assert [row.line for row in result.rows] == [3]
    assert result.rows[0].custom == (("notes", "line one\nline two\nline three"),)
    assert [(error.line, error.column) for error in result.errors] == [(7, "role")]
    assert result.data_rows == 2


def test_values_under_no_header_are_reported(tmp_path):
    # An unquoted comma in a name pushes cells past the header.
    path = write(tmp_path / "roster.csv", "email,name,role\nkim@school.example,Park, Kim,mentor\n")
    result = read_roster(path)
    assert result.rows == []
    assert [(error.line, error.column) for error in result.errors] == [(2, None), (2, "role")]
    assert "column D" in result.errors[0].message


def test_trailing_empty_columns_are_ignored(tmp_path):
    path = write(tmp_path / "roster.csv", "email,name,role,,\nkim@school.example,Kim,mentor,,\n")
    assert read_roster(path).errors == []


def test_header_only_file_has_no_rows(tmp_path):
    progress: list[tuple[int, int]] = []
    result = read_roster(write(tmp_path / "roster.csv", HEADER + "\n"), on_progress=lambda d, t: progress.append((d, t)))
    assert (result.rows, result.errors, result.data_rows) == ([], [], 0)
    assert progress == [(0, 0)]


def test_progress_is_reported_periodically(tmp_path):
    lines = [f"p{i}@school.example,Person {i},mentee" for i in range(1000)]
    path = write(tmp_path / "roster.csv", "email,name,role\n" + "\n".join(lines) + "\n")
    progress: list[tuple[int, int]] = []
    result = read_roster(path, on_progress=lambda d, t: progress.append((d, t)))
    assert len(result.rows) == 1000
    assert 10 <= len(progress) <= 110
    assert progress[-1] == (1000, 1000)
    assert all(total == 1000 for _, total in progress)


def test_default_timezone_is_checked():
    with pytest.raises(AnswerError):
        read_roster(EXAMPLE, default_timezone="PST")


# ---------------------------------------------------------------- whole-file problems


def file_error(path: Path) -> str:
    with pytest.raises(RosterFileError) as info:
        read_roster(path)
    message = str(info.value)
    assert path.name in message
    assert not any(word in message for word in ("Traceback", "Errno", "NoneType")), message
    return message


def test_missing_file(tmp_path):
    assert "Can't find" in file_error(tmp_path / "nope.csv")


def test_folder_is_not_a_file(tmp_path):
    folder = tmp_path / "roster.csv"
    folder.mkdir()
    assert "folder" in file_error(folder)


@pytest.mark.parametrize("missing", ["email", "name", "role"])
def test_missing_required_column(tmp_path, missing):
    columns = [c for c in ("email", "name", "role", "site") if c != missing]
    path = write(tmp_path / "roster.csv", ",".join(columns) + "\n" + ",".join("x" for _ in columns) + "\n")
    message = file_error(path)
    assert f"missing the required column {missing}" in message


def test_several_missing_columns_are_named(tmp_path):
    message = file_error(write(tmp_path / "roster.csv", "Email Address,Full Name,role\nx,y,mentor\n"))
    assert "columns email, name" in message


def test_no_header_row(tmp_path):
    message = file_error(write(tmp_path / "roster.csv", "kim@school.example,Kim,mentor\n"))
    assert "header row" in message


@pytest.mark.parametrize("content", ["", "\n\n  \n", ",,,\n,,\n", "\ufeff"])
def test_empty_file(tmp_path, content):
    assert "empty" in file_error(write(tmp_path / "roster.csv", content))


def test_empty_xlsx(tmp_path):
    path = tmp_path / "roster.xlsx"
    openpyxl.Workbook().save(path)
    assert "empty" in file_error(path)


@pytest.mark.parametrize("name", ["roster.txt", "roster.pdf", "roster", "roster.xls", "roster.json"])
def test_not_csv_or_xlsx(tmp_path, name):
    path = write(tmp_path / name, HEADER + "\n")
    message = file_error(path)
    assert ".xlsx" in message and "CSV" in message


def test_xlsx_that_is_not_a_workbook(tmp_path):
    path = write(tmp_path / "roster.xlsx", HEADER + "\n")
    assert "Excel workbook" in file_error(path)


def test_workbook_saved_as_csv(tmp_path):
    workbook = tmp_path / "real.xlsx"
    openpyxl.Workbook().save(workbook)
    path = tmp_path / "roster.csv"
    path.write_bytes(workbook.read_bytes())
    assert "rename it" in file_error(path)


def test_binary_file_named_csv(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"%PDF-1.4\x00\x01\x02\xff\xfe")
    assert "not a text file" in file_error(path)


def test_duplicate_column(tmp_path):
    message = file_error(write(tmp_path / "roster.csv", "email,name,role,Email\na@b.org,A,mentor,c@d.org\n"))
    assert "two columns" in message and "A and D" in message


def test_only_roster_file_error_escapes_for_strange_input(tmp_path):
    path = write(tmp_path / "roster.csv", 'email,name,role\n"unterminated,Kim,mentor\n')
    result = read_roster(path)  # a stray quote swallows the rest; it must come back as a row error
    assert result.rows == [] and result.errors


# ---------------------------------------------------------------- anything at all

cell_text = st.sampled_from(
    ["", " ", "kim@school.example", "KIM@school.example", "Kim", "mentor", "both", '"', ";", "\n", "Mon 15:00-16:00", "PST", "-1", "é"]
) | st.text(max_size=12)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.lists(st.sampled_from(["email", "name", "role", "capacity", "avoid", "timezone", "Notes", ""]), max_size=6),
    body=st.lists(st.lists(cell_text, max_size=7), max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_any_csv_gives_a_result_or_a_roster_file_error(tmp_path, header, body, encoding):
    text = "\n".join(",".join(row) for row in [header, *body])
    path = tmp_path / "fuzz.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    try:
        result = read_roster(path)
    except RosterFileError:
        return
    assert len(result.rows) + len({error.line for error in result.errors}) == result.data_rows
    assert [error.line for error in result.errors] == sorted(error.line for error in result.errors)
