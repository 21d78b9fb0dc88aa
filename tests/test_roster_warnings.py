"""A bad optional value costs only that value: the row is imported without it, with a warning (line, column, value,
what a right value looks like, what was done instead); a value already on file is never wiped by a bad cell.

The spreadsheets here are written as districts send them: exports with spaced headers, values typed by hand, Slack
handles where member IDs belong, "PST" for a time zone, notes in list cells; each as CSV and as XLSX.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy.engine import Engine

from bot.flows.parsers import Slot
from bot.importer import import_roster, store_roster_in
from bot.roster import read_roster
from storage import repo
from storage.db import session_scope
from tests.adminkit import admin_settings, serving, sign_in_with_link

HEADER = [
    "Email", "Name", "Role", "Slack User ID", "Site", "Grade Bands", "Availability", "Time Zone", "Capacity",
    "Principal Email", "Avoid",
]  # fmt: skip
GOOD = {
    "Email": "kim.park@district.example", "Name": "Kim Park", "Role": "mentor", "Slack User ID": "U0AAAAAAA1",
    "Site": "North High", "Grade Bands": "6-8", "Availability": "Mon 15:00-16:00", "Time Zone": "America/Chicago",
    "Capacity": "3", "Principal Email": "principal.north@district.example", "Avoid": "lee.ray@district.example",
}  # fmt: skip
JARGON = ("Traceback", "Error", "None", "NoneType", "Exception", "invalid literal")


def write_roster(folder: Path, suffix: str, rows: list[dict[str, str]], *, name: str = "roster") -> Path:
    """The rows under HEADER as a CSV file or an Excel workbook (numbers stored as numbers, as Excel does)."""
    path = folder / f"{name}{suffix}"
    if suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([[row.get(column, "") for column in HEADER] for row in rows])
        path.write_text(out.getvalue(), encoding="utf-8")
        return path
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in rows:
        cells = [row.get(column, "") or None for column in HEADER]
        sheet.append([float(cell) if cell and re.fullmatch(r"-?\d+(\.\d+)?", cell) else cell for cell in cells])
    workbook.save(path)
    return path


# ---------------------------------------------------------------- reading: the row stays, the value goes

WITHOUT_SLACK = "The row was imported without a Slack member ID."
# (column, what was typed, what the row holds instead, how the warning ends)
BAD_OPTIONAL_VALUES = [
    ("Slack User ID", "@ana.chen", ("slack_user_id", None), WITHOUT_SLACK),
    ("Slack User ID", "ana", ("slack_user_id", None), WITHOUT_SLACK),
    ("Slack User ID", "U123", ("slack_user_id", None), WITHOUT_SLACK),
    ("Slack User ID", "https://district.slack.com/team/U024BE7LH", ("slack_user_id", None), WITHOUT_SLACK),
    ("Time Zone", "Mars/Olympus", ("timezone", "America/Denver"), "The default time zone America/Denver was used."),
    ("Time Zone", "GMT-8", ("timezone", "America/Denver"), "The default time zone America/Denver was used."),
    ("Grade Bands", "middle school", ("grade_bands", ()), "The row was imported without grade bands."),
    ("Availability", "whenever works", ("availability", ()), "The row was imported without availability."),
    ("Avoid", "Coach Bob", ("avoid", ()), "It was left out of avoid."),
    ("Principal Email", "Dr. Smith", ("principal_email", None), "The row was imported without a principal email."),
    ("Capacity", "lots", ("capacity", None), "The default capacity was used."),
    ("Site", "S" * 201, ("site", None), "The row was imported without a site."),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize(("column", "typed", "held", "ending"), BAD_OPTIONAL_VALUES, ids=[f"{c}:{t[:20]}" for c, t, _, _ in BAD_OPTIONAL_VALUES])
def test_each_bad_optional_value_keeps_its_row_with_a_warning(tmp_path, suffix, column, typed, held, ending):
    lee = {"Email": "lee.ray@district.example", "Name": "Lee Ray", "Role": "mentee"}
    path = write_roster(tmp_path, suffix, [lee, {**GOOD, column: typed}])
    result = read_roster(path, default_timezone="America/Denver")
    assert result.errors == []
    assert [row.email for row in result.rows] == ["lee.ray@district.example", "kim.park@district.example"]
    kim = result.rows[1]
    field, value = held
    assert getattr(kim, field) == value
    assert kim.dropped == (field,)  # the whole cell was bad: an import keeps what is on file for it
    # Every other value of the row is still read.
    assert (kim.name, kim.role, kim.grade_bands if field != "grade_bands" else ("6-8",)) == ("Kim Park", "mentor", ("6-8",))
    assert kim.availability == ((Slot(0, 900, 960),) if field != "availability" else ())
    (warning,) = result.warnings
    assert (warning.line, warning.column, warning.value) == (3, field, typed)
    assert warning.message.endswith(ending), warning.message
    assert not any(word in warning.message for word in JARGON), warning.message


US_ZONES = [
    ("PST", "America/Los_Angeles"), ("PDT", "America/Los_Angeles"), ("Pacific", "America/Los_Angeles"),
    ("Pacific Standard Time", "America/Los_Angeles"), ("Eastern", "America/New_York"), ("EST", "America/New_York"),
    ("Eastern Time", "America/New_York"), ("CST", "America/Chicago"), ("central", "America/Chicago"),
    ("MST", "America/Denver"), ("Mountain Time", "America/Denver"), ("Arizona", "America/Phoenix"),
    ("AKST", "America/Anchorage"), ("HST", "Pacific/Honolulu"),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "zone"), US_ZONES)
def test_us_time_zone_abbreviations_are_read_as_their_usual_zone_with_a_warning(tmp_path, typed, zone):
    result = read_roster(write_roster(tmp_path, ".csv", [{**GOOD, "Time Zone": typed}]), default_timezone="UTC")
    (kim,) = result.rows
    assert (kim.timezone, kim.dropped) == (zone, ())
    (warning,) = result.warnings
    assert (warning.column, warning.value, warning.used) == ("timezone", typed, zone)
    assert warning.message.endswith(f"It was read as {zone}."), warning.message
    assert "is not a full time zone name" in warning.message


def test_mountain_time_says_how_to_write_arizona(tmp_path):
    (warning,) = read_roster(write_roster(tmp_path, ".csv", [{**GOOD, "Time Zone": "MST"}])).warnings
    assert "America/Phoenix in Arizona" in warning.message and warning.message.endswith("It was read as America/Denver.")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_good_parts_of_a_list_are_kept_and_each_bad_part_is_named(tmp_path, suffix):
    messy = {
        **GOOD,
        "Grade Bands": "6-8; middle; 9-12",
        "Availability": "Mon 15:00-16:00; after lunch; Thu 7:30-8:15; Fri 3pm-4pm",
        "Avoid": "lee.ray@district.example; Coach Bob; kim.park@district.example",
    }
    result = read_roster(write_roster(tmp_path, suffix, [messy]))
    (kim,) = result.rows
    assert kim.grade_bands == ("6-8", "9-12")
    assert kim.availability == (Slot(0, 900, 960), Slot(3, 450, 495))
    assert kim.avoid == ("lee.ray@district.example",)
    assert kim.dropped == ()  # each cell had good parts, so those replace what is on file
    assert [(w.column, w.value) for w in result.warnings] == [
        ("grade_bands", "middle"),
        ("availability", "after lunch"),
        ("availability", "Fri 3pm-4pm"),
        ("avoid", "Coach Bob"),
        ("avoid", "kim.park@district.example"),
    ]
    messages = [w.message for w in result.warnings]
    assert messages[0].endswith("The other grade bands were kept.")
    assert "24-hour times" in messages[2] and messages[2].endswith("The other slots were kept.")
    assert "lists themselves" in messages[4] and messages[4].endswith("It was left out of avoid.")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_bad_required_value_still_leaves_the_row_out_with_every_problem_listed(tmp_path, suffix):
    rows = [
        {**GOOD, "Role": "coach", "Slack User ID": "@kim"},  # line 2: a wrong role, and a bad optional value too
        {**GOOD, "Email": "", "Name": "Nobody"},  # line 3: no email
        {**GOOD, "Email": "lee.ray@district.example", "Name": "", "Time Zone": "PST", "Avoid": ""},  # line 4: no name
        {**GOOD, "Email": "max@district.example", "Name": "Max Diaz", "Capacity": "lots"},  # line 5: lands
    ]
    result = read_roster(write_roster(tmp_path, suffix, rows))
    assert [row.email for row in result.rows] == ["max@district.example"]
    assert [(e.line, e.column, e.value) for e in result.errors] == [
        (2, "role", "coach"),
        (2, "slack_user_id", "@kim"),
        (3, "email", None),
        (4, "name", None),
        (4, "timezone", "PST"),
    ]
    # The row is out, so its optional problems read as things to fix, not as what an import did.
    assert not any("was used" in e.message or "imported without" in e.message for e in result.errors)
    assert [(w.line, w.column) for w in result.warnings] == [(5, "capacity")]


# ---------------------------------------------------------------- importing: nothing on file is wiped by a bad cell


def person(engine: Engine, email: str):
    with session_scope(engine) as session:
        found = repo.people_by_email(session, emails=[email])[email]
        answers = repo.profiles(session, person_ids=[found.id])[found.id]
        session.expunge(found)
    return found, answers


def test_reimporting_a_bad_cell_keeps_the_good_value_on_file_and_says_so(engine: Engine, tmp_path: Path, now: datetime):
    first = import_roster(
        engine, write_roster(tmp_path, ".csv", [GOOD], name="autumn"), program_name="Mentoring", default_timezone="UTC", now=now
    )
    assert (first.created, first.warnings) == (1, [])
    bad_everywhere = {
        **GOOD, "Slack User ID": "@kim.park", "Site": "N" * 250, "Grade Bands": "middle school", "Availability": "whenever",
        "Time Zone": "Mars/Olympus", "Capacity": "lots", "Principal Email": "Dr. Smith", "Avoid": "Coach Bob",
    }  # fmt: skip
    again = import_roster(
        engine, write_roster(tmp_path, ".xlsx", [bad_everywhere], name="spring"), program_name="Mentoring",
        default_timezone="UTC", now=now + timedelta(days=90),
    )  # fmt: skip
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 1, [])
    kim, answers = person(engine, "kim.park@district.example")
    assert (kim.slack_user_id, kim.site, kim.timezone, kim.capacity, kim.principal_email) == (
        "U0AAAAAAA1", "North High", "America/Chicago", 3, "principal.north@district.example",
    )  # fmt: skip
    assert (answers["grade_bands"], answers["availability"], answers["avoid"]) == (["6-8"], ["Mon 15:00-16:00"], ["lee.ray@district.example"])
    endings = {w.column: w.message.rsplit(". ", 1)[-1] for w in again.warnings}
    assert endings == {
        "slack_user_id": "The Slack member ID on file (U0AAAAAAA1) was kept.",
        "site": "The site on file (North High) was kept.",
        "grade_bands": "The grade bands on file (6-8) were kept.",
        "availability": "The availability on file (Mon 15:00-16:00) was kept.",
        "timezone": "The time zone on file (America/Chicago) was kept.",
        "capacity": "The capacity on file (3) was kept.",
        "principal_email": "The principal email on file (principal.north@district.example) was kept.",
        "avoid": "The avoid list on file (lee.ray@district.example) was kept.",
    }
    assert again.warning_summary() == "8 values skipped with a warning"


def test_a_cell_with_good_parts_replaces_the_list_on_file(engine: Engine, tmp_path: Path, now: datetime):
    import_roster(engine, write_roster(tmp_path, ".csv", [GOOD], name="autumn"), program_name="Mentoring", default_timezone="UTC", now=now)
    newer = {**GOOD, "Availability": "Tue 16:00-17:00; after lunch", "Time Zone": "PST"}
    report = import_roster(
        engine, write_roster(tmp_path, ".csv", [newer], name="spring"), program_name="Mentoring", default_timezone="UTC", now=now
    )
    assert report.updated == 1
    kim, answers = person(engine, "kim.park@district.example")
    assert answers["availability"] == ["Tue 16:00-17:00"]  # what was readable in the new cell, not the old slot
    assert kim.timezone == "America/Los_Angeles"  # "PST" is read, not left out
    assert [w.message.rsplit(". ", 1)[-1] for w in report.warnings] == ["The other slots were kept.", "It was read as America/Los_Angeles."]
    assert report.warning_summary() == "1 value skipped and 1 corrected with a warning"


def test_a_bad_capacity_gives_the_default_to_new_mentors_and_to_mentees_turned_mentor(engine: Engine, tmp_path: Path, now: datetime):
    lee = {"Email": "lee.ray@district.example", "Name": "Lee Ray", "Role": "mentee"}
    import_roster(engine, write_roster(tmp_path, ".csv", [lee], name="autumn"), program_name="Mentoring", default_timezone="UTC", now=now)
    rows = [{**lee, "Role": "mentor", "Capacity": "as many as needed"}, {**GOOD, "Capacity": "lots"}]
    with session_scope(engine) as session:
        report = store_roster_in(
            session, read_roster(write_roster(tmp_path, ".csv", rows, name="spring")), path=tmp_path / "spring.csv",
            program_name="Mentoring", default_timezone="UTC", now=now, default_capacity=2,
        )  # fmt: skip
    assert (report.created, report.updated) == (1, 1)
    # A mentee's capacity on file is 0, which would opt the new mentor out: the default applies instead.
    assert person(engine, "lee.ray@district.example")[0].capacity == 2
    assert person(engine, "kim.park@district.example")[0].capacity == 2
    assert [w.message.rsplit(". ", 1)[-1] for w in report.warnings] == ["The default capacity of 2 was used."] * 2


def test_strict_refuses_a_file_with_only_warnings_and_writes_nothing(engine: Engine, tmp_path: Path, now: datetime):
    path = write_roster(tmp_path, ".xlsx", [{**GOOD, "Slack User ID": "@kim.park"}])
    report = import_roster(engine, path, program_name="Mentoring", default_timezone="UTC", now=now, strict=True)
    assert report.strict_rejected and report.imported == 0 and report.errors == []
    assert [(w.line, w.column, w.value) for w in report.warnings] == [(2, "slack_user_id", "@kim.park")]
    with session_scope(engine) as session:
        assert repo.count_people(session) == 0


# ---------------------------------------------------------------- the admin preview


async def test_the_preview_lists_warnings_and_the_values_on_file_it_keeps(tmp_path: Path, database_url: str, engine: Engine, now: datetime):
    import_roster(engine, write_roster(tmp_path, ".csv", [GOOD], name="autumn"), program_name="Mentoring", default_timezone="UTC", now=now)
    messy = [
        {**GOOD, "Slack User ID": "@kim.park", "Time Zone": "Eastern"},
        {"Email": "lee.ray@district.example", "Name": "Lee Ray", "Role": "mentee", "Availability": "Tue 16:00-17:00;after school"},
        {"Email": "", "Name": "No Email", "Role": "mentee"},
    ]
    upload = write_roster(tmp_path, ".xlsx", messy, name="spring").read_bytes()
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        preview = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("spring.xlsx", upload, "application/octet-stream")})
        assert preview.status_code == 200
        problems, _, warned = preview.text.partition('<table class="warnings">')
        assert "Values skipped with a warning (3)" in problems and "3 values skipped or corrected" in problems
        assert re.findall(r'<tr><td class="num">(\d+)</td><td>(\w+)</td><td><code>([^<]*)</code>', warned) == [
            ("2", "slack_user_id", "@kim.park"), ("2", "timezone", "Eastern"), ("3", "availability", "after school"),
        ]  # fmt: skip
        assert "The Slack member ID on file (U0AAAAAAA1) was kept." in warned
        assert "It was read as America/New_York." in warned and "The other slots were kept." in warned
        assert "Import 2 rows" in preview.text
        with session_scope(engine) as session:
            assert repo.count_people(session) == 1  # looking saves nothing
        token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
        done = await client.post("/admin/roster/confirm", data={"csrf_token": csrf, "token": token, "filename": "spring.xlsx"})
        people = await client.get(done.headers["location"])
    assert "Imported 2 of 3 rows from spring.xlsx: 1 new, 1 updated, 0 unchanged. 1 row with problems was left out. " in people.text
    assert "2 values skipped and 1 corrected with a warning." in people.text
    kim, _ = person(engine, "kim.park@district.example")
    assert (kim.slack_user_id, kim.timezone) == ("U0AAAAAAA1", "America/New_York")
