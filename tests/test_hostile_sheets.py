"""Hostile spreadsheets: roster-file bombs refused quickly and whole, and formula-leading cells escaped on every export.

The bombs are built small here and expand when read: a workbook with one value in column XFD per row (what took 46 s
and 800 MB before), a zip member that unpacks a thousand-fold, a CSV whose header names 100,000 columns. Each is
refused with a plain message naming its size and the cap, in well under a second and a few MB, and nothing lands in
the database. Time and peak memory of each refusal are measured (tracemalloc) and printed with `-s`.
"""

from __future__ import annotations

import csv
import io
import re
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from bot import exports
from bot.roster import RosterFileError, RosterLimits, read_roster
from tests.test_cli import run

# Generous bounds on a shared, loaded machine: before the caps the XFD bomb below took about 18 s and 275 MB.
REFUSED_WITHIN_SECONDS = 2.0
REFUSED_WITHIN_MB = 20.0
HOSTILE_CELLS = ('=HYPERLINK("http://evil.example/login","Reset")', "+1", "-2", "@SUM(A1:A9)", "\tx", "\rx")


def refusal(read: Callable[[], object]) -> tuple[str, float, float]:
    """Run `read`, which must refuse the file: its message, the seconds it took and the peak MB it allocated."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(RosterFileError) as refused:
            read()
        seconds = time.perf_counter() - started
        peak_mb = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    finally:
        tracemalloc.stop()
    print(f"\nrefused in {seconds:.3f} s, peak {peak_mb:.1f} MB: {refused.value.message}")
    assert seconds < REFUSED_WITHIN_SECONDS and peak_mb < REFUSED_WITHIN_MB, (seconds, peak_mb)
    return refused.value.message, seconds, peak_mb


def xfd_bomb(path: Path, rows: int = 2000) -> Path:
    """A workbook of a few KB: a roster header, then one value in the sheet's last column (XFD) on every row."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["email", "name", "role"])
    for row in range(2, rows + 2):
        sheet.cell(row=row, column=16_384, value="x")
    book.save(path)
    return path


def without_dimension(path: Path, claim: str | None = None) -> Path:
    """The same workbook with its sheet's declared size removed (or replaced by a false `claim`, like "A1:C3")."""
    target = path.with_name(f"undeclared-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for member in source.infolist():
            data = source.read(member)
            if member.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"<dimension [^>]*/>", f'<dimension ref="{claim}"/>'.encode() if claim else b"", data)
            out.writestr(member.filename, data)
    return target


def test_a_workbook_with_a_value_in_column_xfd_on_every_row_is_refused_from_its_declared_size(tmp_path: Path) -> None:
    bomb = xfd_bomb(tmp_path / "roster.xlsx")
    assert bomb.stat().st_size < 40_000
    message, _, _ = refusal(lambda: read_roster(bomb))
    assert message.startswith(f'"{bomb}" has 16,384 columns (its sheet spans A1:XFD2001); a roster has at most 200')


@pytest.mark.parametrize("claim", [None, "A1:C3"], ids=["no declared size", "a false small size"])
def test_the_column_cap_holds_on_what_the_sheet_really_holds(tmp_path: Path, claim: str | None) -> None:
    bomb = without_dimension(xfd_bomb(tmp_path / "roster.xlsx"), claim)
    message, _, _ = refusal(lambda: read_roster(bomb))
    assert "has 16,384 columns (row 2 has a value in column XFD); a roster has at most 200" in message


def test_a_workbook_with_a_part_that_unpacks_a_thousandfold_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["email", "name", "role"])
    book.save(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.png", b"\0" * (64 * 1024 * 1024))  # 64 MB packed into about 64 KB
    assert path.stat().st_size < 200_000
    message, _, _ = refusal(lambda: read_roster(path))
    assert "has a part that unpacks to 1,0" in message and "(xl/media/image1.png)" in message
    assert "a real workbook's parts unpack to at most 100 times" in message


def test_a_workbook_that_unpacks_past_the_cap_or_has_too_many_parts_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["email", "name", "role"])
    book.save(path)
    unpacked = sum(member.file_size for member in zipfile.ZipFile(path).infolist())
    message, _, _ = refusal(lambda: read_roster(path, limits=RosterLimits(max_unpacked_bytes=unpacked - 1)))
    assert "unpacks to 0 MB; a roster workbook unpacks to at most 0 MB" in message
    message, _, _ = refusal(lambda: read_roster(path, limits=RosterLimits(max_members=3)))
    assert "holds 9 parts" in message


def test_a_workbook_with_more_rows_or_cells_than_a_roster_is_refused_as_it_streams(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["email", "name", "role"])
    for number in range(60):
        book.active.append([f"t{number}@d.example", f"Teacher {number}", "mentee"])
    book.save(path)
    undeclared = without_dimension(path)
    assert len(read_roster(undeclared, limits=RosterLimits(max_rows=60)).rows) == 60  # exactly at the cap: read
    message, _, _ = refusal(lambda: read_roster(path, limits=RosterLimits(max_rows=50)))
    assert "has 61 rows (its sheet spans A1:C61); a roster has at most 50 people" in message
    message, _, _ = refusal(lambda: read_roster(undeclared, limits=RosterLimits(max_rows=50)))
    assert "has more than 50 rows; a roster has at most 50 people" in message
    message, _, _ = refusal(lambda: read_roster(undeclared, limits=RosterLimits(max_cells=100)))
    assert "has more than 100 cells" in message


def test_a_csv_whose_header_names_100000_columns_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    header = ["email", "name", "role", *(f"q{number}" for number in range(100_000))]
    path.write_text(",".join(header) + "\nana@d.example,Ana,mentor\n", encoding="utf-8")
    assert path.stat().st_size < 1_000_000
    message, _, _ = refusal(lambda: read_roster(path))
    assert message == (
        f'"{path}" has 100,003 columns on line 1; a roster has at most 200, so delete the extra columns '
        "(or the stray values far to the right) and try again"
    )


def test_csv_columns_lines_rows_and_cells_are_capped(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(["email", "name", "role", *(f"q{n}" for n in range(250))]) + "\n", encoding="utf-8")
    message, _, _ = refusal(lambda: read_roster(wide))
    assert message.startswith(f'"{wide}" has 253 columns; a roster has at most 200')
    # Empty cells after the last column are what spreadsheets leave behind, not columns.
    trailing = tmp_path / "trailing.csv"
    trailing.write_text("email,name,role" + "," * 5000 + "\nana@d.example,Ana,mentor" + "," * 5000 + "\n", encoding="utf-8")
    assert [row.email for row in read_roster(trailing).rows] == ["ana@d.example"]
    stray = tmp_path / "stray.csv"
    stray.write_text("email,name,role\nana@d.example,Ana,mentor" + "," * 300 + "x\n", encoding="utf-8")
    message, _, _ = refusal(lambda: read_roster(stray))
    assert "has 303 columns on line 2" in message
    long_line = tmp_path / "long.csv"
    long_line.write_text("email,name,role,notes\nana@d.example,Ana,mentor," + "y" * 250_000 + "\n", encoding="utf-8")
    message, _, _ = refusal(lambda: read_roster(long_line))
    assert "has a line 250,026 characters long (line 2); a roster line has at most 200,000" in message
    many = tmp_path / "many.csv"
    many.write_text("email,name,role\n" + "".join(f"t{n}@d.example,T {n},mentee\n" for n in range(60)), encoding="utf-8")
    assert len(read_roster(many, limits=RosterLimits(max_rows=60)).rows) == 60
    message, _, _ = refusal(lambda: read_roster(many, limits=RosterLimits(max_rows=59)))
    assert "has more than 59 rows; a roster has at most 59 people" in message
    message, _, _ = refusal(lambda: read_roster(many, limits=RosterLimits(max_cells=30)))
    assert "has more than 30 cells" in message
    message, _, _ = refusal(lambda: read_roster(many, limits=RosterLimits(max_file_bytes=100)))
    assert message.startswith(f'"{many}" is 0 MB; a roster file is at most 0 MB')


def _people_in(tmp_path: Path) -> int:
    if not (tmp_path / "data" / "mentorbot.db").exists():
        return 0
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            return connection.execute(sa.text("select count(*) from person")).scalar_one() if "person" in tables else 0
    finally:
        engine.dispose()


def test_the_cli_refuses_each_bomb_in_one_line_and_imports_nothing(tmp_path: Path) -> None:
    xfd = xfd_bomb(tmp_path / "xfd.xlsx")
    headers = tmp_path / "headers.csv"
    headers.write_text(",".join(["email", "name", "role", *(f"q{n}" for n in range(100_000))]) + "\nana@d.example,Ana,mentor\n")
    for bomb in (xfd, headers):
        for command in (("import", "roster", str(bomb)), ("match", str(bomb))):
            started = time.perf_counter()
            result = run(tmp_path, *command)
            assert time.perf_counter() - started < 5
            assert result.returncode == 1 and "a roster has at most 200" in result.stderr, result.stderr
            assert len(result.stderr.strip().splitlines()) <= 3  # one message, wrapped at most by the console
    assert _people_in(tmp_path) == 0


# ---------------------------------------------------------------- formula injection on every export


def _cells_of(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        try:
            return [["" if v is None else str(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _unsafe(cells: list[list[str]]) -> list[str]:
    return [cell for row in cells for cell in row if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_one_export_writer_escapes_every_formula_start_in_cells_and_headers(fmt: str) -> None:
    table = exports.Table("Fall 24/25: [all]", ["email", *HOSTILE_CELLS, "n", "f", "blank"], [[*HOSTILE_CELLS, -2, 1.5, None]], "t")
    data, _, _ = exports.render(table, fmt)
    if fmt == "csv":
        cells = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    else:
        book = openpyxl.load_workbook(io.BytesIO(data))
        assert book.sheetnames == ["Fall 24-25- -all-"]  # a term's name can't break the sheet title
        cells = [["" if v is None else v for v in row] for row in book.active.iter_rows(values_only=True)]
    assert cells[0] == ["email", *(f"'{cell}" for cell in HOSTILE_CELLS), "n", "f", "blank"]
    assert cells[1][:6] == [f"'{cell}" for cell in HOSTILE_CELLS]
    assert cells[1][6:8] in (["-2", "1.5"], [-2, 1.5])  # numbers stay numbers


def test_stored_answers_of_any_shape_export_as_plain_cells_and_too_wide_a_table_is_a_plain_refusal() -> None:
    odd = [["a", "b"], {"k": "v"}, "bell\x07 and nul\x00", ("x",), 3]
    table = exports.Table("People", ["email", "l", "d", "c", "t", "n"], [["ana@d.example", *odd]], "people")
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(table)))
    assert list(book.active.iter_rows(values_only=True))[1] == ("ana@d.example", "a; b", '{"k": "v"}', "bell and nul", "x", 3)
    assert exports.to_csv(table).decode("utf-8-sig").splitlines()[1] == 'ana@d.example,a; b,"{""k"": ""v""}",bell\x07 and nul\x00,x,3'
    wide = exports.Table("People", [f"q{n}" for n in range(16_385)], [], "people")
    with pytest.raises(exports.ExportTooWide, match="this export has 16,385 columns .* download it as CSV instead"):
        exports.to_xlsx(wide)
    assert exports.to_csv(wide).count(b",") == 16_384


def _hostile_round(tmp_path: Path) -> None:
    """A mentor and a mentee whose emails, names, sites, program and a custom header start formulas, paired in round 1."""
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role", "site", "grade_bands", "subjects", "strengths", "needs", "availability", "@SUM(1)"])
        writer.writerow(["+1@d.example", HOSTILE_CELLS[0], "mentor", "Lincoln", "3-5", "math", "SEL", "", "Mon 15:00-17:00", "=1+1"])
        writer.writerow(["-2@d.example", "@SUM(A1:A9)", "mentee", "-2", "3-5", "math", "", "SEL", "Mon 15:00-17:00", "-3"])
    assert run(tmp_path, "import", "roster", str(roster)).returncode == 0
    # Tab- and CR-leading text can't come through a roster (cells are trimmed); a Slack profile or an old import can.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("update person set site = :site where email = '+1@d.example'"), {"site": "\rx"})
        connection.execute(sa.text("update person set prep_program = :program where email = '-2@d.example'"), {"program": "\tx"})
    engine.dispose()
    env = {"REQUIRE_PRINCIPAL_APPROVAL": "false"}
    assert run(tmp_path, "--now", "2026-12-01T17:00:00", "term", "open", "Spring 2027", "--enroll-roster", extra_env=env).returncode == 0
    assert run(tmp_path, "round", "new", "micro", extra_env=env).returncode == 0
    preview = run(tmp_path, "round", "preview", "1", extra_env=env)
    assert preview.returncode == 0 and "Matched all 1 mentee" in " ".join(preview.stdout.split()), preview.stdout


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_cli_export_escapes_formula_starts(tmp_path: Path, suffix: str) -> None:
    _hostile_round(tmp_path)
    people, pairings = tmp_path / f"people{suffix}", tmp_path / f"pairings{suffix}"
    assert "Wrote 2 people" in run(tmp_path, "export", "people", "--out", str(people)).stdout
    assert "Wrote 1 pairs" in run(tmp_path, "export", "pairings", "1", "--out", str(pairings)).stdout
    written = _cells_of(people)
    assert "'@SUM(1)" in written[0]
    everyone = {row[0]: row for row in written[1:]}
    assert everyone["'+1@d.example"][1:2] + [everyone["'+1@d.example"][4]] == [f"'{HOSTILE_CELLS[0]}", "'\rx"]
    assert everyone["'-2@d.example"][1] == "'@SUM(A1:A9)" and everyone["'-2@d.example"][5] == "'\tx"
    assert {"'=1+1", "'-3", "'-2"} <= {cell for row in written for cell in row}
    pair = _cells_of(pairings)[1]
    assert pair[1:8] == [f"'{HOSTILE_CELLS[0]}", "'+1@d.example", "'\rx", "'@SUM(A1:A9)", "'-2@d.example", "'-2", "'\tx"]
    assert _unsafe(written) == [] and _unsafe(_cells_of(pairings)) == []


def test_an_escaped_export_reads_back_as_it_was(tmp_path: Path) -> None:
    _hostile_round(tmp_path)
    out = tmp_path / "people.csv"
    assert run(tmp_path, "export", "people", "--out", str(out)).returncode == 0
    back = {row.email: row for row in read_roster(out).rows}
    assert back["+1@d.example"].name == HOSTILE_CELLS[0] and back["-2@d.example"].site == "-2"
    assert dict(back["+1@d.example"].custom) == {"@SUM(1)": "=1+1"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_match_and_speed_out_files_escape_formula_starts(tmp_path: Path, suffix: str) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,name,role,grade_bands,subjects,strengths,needs,availability\n"
        "=1@d.example,Ana,mentor,3-5,math,SEL,,Mon 15:00-17:00\n"
        "+1@d.example,Ben,mentee,3-5,math,,SEL,Mon 15:00-17:00\n"
        "-2@d.example,Cy,mentee,3-5,math,,SEL,Mon 15:00-17:00\n",
        encoding="utf-8",
    )
    pairs, schedule = tmp_path / f"pairs{suffix}", tmp_path / f"schedule{suffix}"
    matched = run(tmp_path, "match", str(roster), "--out", str(pairs))
    assert matched.returncode == 0 and f"Wrote 1 pairs to {pairs}" in " ".join(matched.stdout.split()), matched.stdout
    assert run(tmp_path, "speed", str(roster), "--rotations", "2", "--out", str(schedule)).returncode == 0
    written = _cells_of(pairs)
    assert written[0] == ["mentor_email", "mentee_email", "score", "reasons"]
    assert written[1][0] == "'=1@d.example" and written[1][1] in ("'+1@d.example", "'-2@d.example")
    meetings = _cells_of(schedule)[1:]
    assert {row[1] for row in meetings} == {"'=1@d.example"} and {row[2] for row in meetings} == {"'+1@d.example", "'-2@d.example"}
    assert _unsafe(written) == [] and _unsafe(_cells_of(schedule)) == []


# ---------------------------------------------------------------- the admin pages


async def test_the_admin_upload_refuses_the_bombs_and_keeps_nothing_and_people_xlsx_holds_any_stored_answer(
    tmp_path: Path, database_url: str, now
) -> None:
    import httpx
    from sqlmodel import select

    from bot.web.admin.roster_upload import upload_dir
    from storage import db, repo
    from storage.db import session_scope
    from storage.models import Person
    from tests.adminkit import admin_settings, seed_program, serving, sign_in_with_link

    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    seed_program(engine, now)
    with session_scope(engine) as session:
        ana = session.exec(select(Person).order_by(Person.id)).first()
        odd = {"custom:=cmd": ["a", "b"], "custom:notes": {"k": "v"}, "custom:bell": "a\x07b\x1bc", "custom:-x": "\tx"}
        repo.set_profile_answers(session, person_id=ana.id, answers=odd, source="roster", now=now)
        people_before = repo.count_people(session)
    xfd = xfd_bomb(tmp_path / "xfd.xlsx").read_bytes()
    headers = (",".join(["email", "name", "role", *(f"q{n}" for n in range(100_000))]) + "\nana@d.example,Ana,mentor\n").encode()
    settings = admin_settings(tmp_path, database_url)
    try:
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            csrf = await sign_in_with_link(client, settings, now)
            refused = []
            for name, data in (("xfd.xlsx", xfd), ("headers.csv", headers)):
                started = time.perf_counter()
                answer = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": (name, data, "application/octet-stream")})
                refused.append((answer, time.perf_counter() - started))
            people_xlsx = await client.get("/admin/exports/people.xlsx")
            people_csv = await client.get("/admin/exports/people.csv")
    finally:
        with session_scope(engine) as session:
            people_after = repo.count_people(session)
        engine.dispose()
    for (answer, seconds), words in zip(refused, ("has 16,384 columns (its sheet spans A1:XFD2001)", "has 100,003 columns on line 1")):
        assert answer.status_code == 400 and words in answer.text and "a roster has at most 200" in answer.text
        assert seconds < 5
    assert list(upload_dir(settings).iterdir()) == []  # the refused uploads were not kept
    assert people_after == people_before
    assert people_xlsx.status_code == 200 and people_csv.status_code == 200
    sheet = list(openpyxl.load_workbook(io.BytesIO(people_xlsx.content)).active.iter_rows(values_only=True))
    columns = dict(zip(sheet[0], next(row for row in sheet if row[0] == ana.email)))
    assert columns["'=cmd"] == "a; b" and columns["notes"] == '{"k": "v"}' and columns["bell"] == "abc" and columns["'-x"] == "'\tx"
