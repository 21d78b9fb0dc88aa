"""The `mentorbot` command as a user runs it: real files, a real database, the environment a shell would give it.

The commands run in this process through typer's test runner (starting a Python process per command would cost
most of this file's time); the last test starts the installed console script itself, end to end.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.common import console, err_console
from tests.conftest import SHARED_ROSTER
from tests.test_storage import HEAD

MENTORBOT = str(Path(sys.executable).parent / "mentorbot")
ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("demo", "serve", "import", "term", "round", "match", "export", "db")


@dataclass(frozen=True)
class Ran:
    """What one `mentorbot` run left behind: its exit code and what it printed on each stream."""

    returncode: int
    stdout: str
    stderr: str


def run(tmp_path: Path, *args: str, database_url: str | None = None, extra_env: dict | None = None, input: str | None = None) -> Ran:  # noqa: A002 (click's name)
    """Run `mentorbot ARGS` in `tmp_path` with DATA_DIR there, as a shell would: same variables, same width; `input` is what is typed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        for name in ("DATABASE_URL", "DATA_DIR", "PROGRAM_NAME"):
            patch.delenv(name, raising=False)
        for name, value in {"DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", "TERM": "dumb", **(extra_env or {})}.items():
            patch.setenv(name, value)
        if database_url:
            patch.setenv("DATABASE_URL", database_url)
        for shown in (console, err_console):
            patch.setattr(shown, "width", 200)  # what COLUMNS=200 gives a fresh process's consoles
        # An exception that escapes the command is a traceback the user would see: the test fails with it.
        result = CliRunner().invoke(app, list(args), input=input, prog_name="mentorbot", catch_exceptions=False)
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in ran.stdout + ran.stderr, ran.stdout + ran.stderr
    return ran


def run_installed(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the installed `mentorbot` console script on this checkout's code, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATA_DIR", "PROGRAM_NAME")}
    env.update({"DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", "TERM": "dumb", "PYTHONPATH": str(ROOT)})
    result = subprocess.run([MENTORBOT, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def people_in(tmp_path: Path, database_url: str | None = None) -> int:
    engine = sa.create_engine(database_url or f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    with engine.connect() as connection:
        count = connection.execute(sa.text("select count(*) from person")).scalar_one()
    engine.dispose()
    return count


def test_help_lists_every_command_and_each_has_examples(tmp_path: Path) -> None:
    top = run(tmp_path, "--help")
    assert top.returncode == 0
    for command in COMMANDS:
        assert command in top.stdout
    for command in ("demo", "serve", "match", "import roster", "term open", "round new", "export people", "db upgrade"):
        shown = run(tmp_path, *command.split(), "--help")
        assert shown.returncode == 0, shown.stderr
        assert "Example" in shown.stdout, command


def test_importing_the_roster_twice_updates_and_never_duplicates(tmp_path: Path, database_url: str) -> None:
    first = run(tmp_path, "import", "roster", str(SHARED_ROSTER), database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert "Imported 70 of 70 rows" in first.stdout and "70 new" in first.stdout
    second = run(tmp_path, "import", "roster", str(SHARED_ROSTER), database_url=database_url)
    assert "0 new, 0 updated, 70 unchanged" in second.stdout
    assert people_in(tmp_path, database_url) == 70

    changed = tmp_path / "changed.csv"
    text = SHARED_ROSTER.read_text(encoding="utf-8").replace("Ana Chen,mentor", "Ana Chen-Ruiz,mentor")
    changed.write_text(text, encoding="utf-8")
    third = run(tmp_path, "import", "roster", str(changed), database_url=database_url)
    assert "0 new, 1 updated, 69 unchanged" in third.stdout
    assert people_in(tmp_path, database_url) == 70


BAD_ROWS = {  # line: (row, column) of rows left out: a required value is wrong
    3: (",No Email,mentee,,", "email"),
    4: ("not-an-email,Bad Email,mentee,,", "email"),
    5: ("noname@d.example,,mentee,,", "name"),
    6: ("role@d.example,Role X,coach,,", "role"),
    11: ("ok@d.example,Duplicate,mentee,,", "email"),
}
WARNED_ROWS = {  # line: (row, column) of rows imported without one bad optional value
    7: ("lots@d.example,Cap Lots,mentor,,lots", "capacity"),
    8: ("neg@d.example,Cap Neg,mentor,,-2", "capacity"),
    9: ("slot@d.example,Slot Ish,mentee,Tuesday-ish,", "availability"),
    10: ("back@d.example,Slot Back,mentee,Mon 09:00-10:00;Tue 16:00-15:00,", "availability"),
}


def _bad_roster(tmp_path: Path) -> Path:
    lines = ["email,name,role,availability,capacity", "ok@d.example,Okay Person,mentee,Mon 15:00-16:00,"]
    rows = {**BAD_ROWS, **WARNED_ROWS}
    lines += [rows[line][0] for line in sorted(rows)]
    lines += ["good@d.example,Good Mentor,mentor,Thu 07:30-08:15,2"]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _table_lines(text: str) -> set[int]:
    """The line numbers in the first column of the rich tables in `text`."""
    return {int(line.split()[1]) for line in text.splitlines() if line.startswith("│ ") and line.split()[1].isdigit()}


def test_bad_rows_are_reported_by_line_and_good_rows_land(tmp_path: Path) -> None:
    result = run(tmp_path, "import", "roster", str(_bad_roster(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "Imported 6 of 11 rows from bad.csv: 6 new, 0 updated, 0 unchanged; 4 values skipped with a warning." in result.stdout
    rejected, _, warned = result.stdout.partition("4 value(s) with a warning (their rows were imported):")
    assert "5 row(s) were not imported:" in rejected
    assert _table_lines(rejected) == set(BAD_ROWS), result.stdout
    assert _table_lines(warned) == set(WARNED_ROWS), result.stdout
    assert "capacity of 1" in warned and "slots were kept" in warned, warned
    assert people_in(tmp_path) == 6


def test_strict_imports_nothing_when_a_row_is_bad(tmp_path: Path) -> None:
    result = run(tmp_path, "import", "roster", "--strict", str(_bad_roster(tmp_path)))
    assert result.returncode == 1
    assert "Nothing imported from bad.csv: --strict is on: 5 of 11 rows have problems and 4 values would be skipped" in result.stdout
    assert "was used" not in result.stdout  # nothing was done, so no warning says what was done
    assert people_in(tmp_path) == 0


def test_strict_also_refuses_a_file_whose_only_problems_are_warnings(tmp_path: Path) -> None:
    path = tmp_path / "tz.csv"
    path.write_text("email,name,role,timezone\nkim@d.example,Kim Park,mentor,PST\nlee@d.example,Lee Ray,mentee,\n", encoding="utf-8")
    strict = run(tmp_path, "import", "roster", "--strict", str(path))
    assert strict.returncode == 1
    assert "Nothing imported from tz.csv: --strict is on: 1 value would be skipped or corrected with a warning." in strict.stdout
    assert people_in(tmp_path) == 0
    relaxed = run(tmp_path, "import", "roster", str(path))
    assert relaxed.returncode == 0
    assert "Imported 2 of 2 rows from tz.csv: 2 new, 0 updated, 0 unchanged; 1 value corrected with a warning." in relaxed.stdout
    assert "It was read as America/Los_Angeles." in relaxed.stdout
    assert people_in(tmp_path) == 2


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (lambda p: p / "missing.csv", "missing.csv"),
        (lambda p: (p / "notes.txt").write_text("hello") and p / "notes.txt", "notes.txt"),
        (lambda p: (p / "norole.csv").write_text("email,name\na@d.example,A\n") and p / "norole.csv", "role"),
    ],
)
def test_file_problems_get_one_plain_line(tmp_path: Path, make_file, message: str) -> None:
    result = run(tmp_path, "import", "roster", str(make_file(tmp_path)))
    assert result.returncode == 1
    assert "Error:" in result.stderr and message in result.stderr


def test_a_wrong_setting_is_named(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "current", extra_env={"DEFAULT_TIMEZONE": "Mars/Olympus"})
    assert result.returncode == 2
    assert "DEFAULT_TIMEZONE" in result.stderr and "Mars/Olympus" in result.stderr


def test_a_database_that_cannot_be_reached_gets_one_plain_line(tmp_path: Path) -> None:
    result = run(tmp_path, "term", "list", database_url="postgresql+psycopg://mentorbot@127.0.0.1:1/nowhere")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot use the database:") and len(result.stderr.strip().splitlines()) == 1


def test_a_bug_is_admitted_plainly_with_exit_code_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.rounds import service

    def broken(*args, **kwargs):
        raise KeyError("enrollment")

    (tmp_path / "one.csv").write_text("email,name,role\nana@d.example,Ana Chen,mentor\n", encoding="utf-8")
    assert run(tmp_path, "import", "roster", "one.csv").returncode == 0  # the program exists, so the action gets as far as the bug
    monkeypatch.setattr(service, "close_term_in", broken)  # what `term close` runs, through bot.actions.terms.close_term
    result = run(tmp_path, "term", "close", "Spring 2027")
    assert result.returncode == 3
    assert "Something went wrong (KeyError: 'enrollment'). Nothing half-done was saved" in result.stderr


def test_a_term_and_round_from_the_command_line(tmp_path: Path) -> None:
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0
    opened = run(tmp_path, "term", "open", "Spring 2027", "--enroll-roster", extra_env={"REQUIRE_PRINCIPAL_APPROVAL": "false"})
    assert run(tmp_path, "term", "list").stdout.count("Spring 2027") == 1
    assert "Opened Spring 2027: enrolled 27 mentors, 40 mentees and 0 both from the roster (3 opted out)." in opened.stdout
    assert "Created micro round 1 (draft)" in run(tmp_path, "round", "new", "micro", "--sessions", "2").stdout

    refused = run(tmp_path, "round", "publish", "1")
    assert refused.returncode == 1
    assert "a round that is draft cannot become published: open it for collection first" in refused.stderr

    assert "Round 1 is now collecting" in run(tmp_path, "round", "open", "1").stdout
    matched = run(tmp_path, "round", "match", "1")
    assert matched.returncode == 0 and "Matched" in matched.stdout and "review" in matched.stdout
    published = run(tmp_path, "round", "publish", "1", "--message", "Welcome!")
    assert "Round 1 is now published" in published.stdout and "scheduled actions" in published.stdout
    timeline = run(tmp_path, "round", "timeline", "1")
    assert "pairing notices to every pair" in timeline.stdout and "end-of-round survey" in timeline.stdout
    assert "round.notify:1" not in timeline.stdout and "(America/Los_Angeles)" in timeline.stdout

    out = tmp_path / "pairs.csv"
    exported = run(tmp_path, "export", "pairings", "1", "--out", str(out))
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert f"Wrote {len(rows)} pairs" in exported.stdout and rows
    # One column set for the pairings export on every front end: the admin pages' table (bot.exports.pairings_table).
    assert list(rows[0]) == [
        "round", "mentor_name", "mentor_email", "mentor_site", "mentee_name", "mentee_email", "mentee_site", "mentee_program",
        "fit", "status", "reasons", "proposed_sessions (America/Los_Angeles)",
    ]  # fmt: skip
    assert {row["status"] for row in rows} == {"published"} and {row["round"] for row in rows} == {"1"}
    assert all(row["reasons"] for row in rows) and all(row["proposed_sessions (America/Los_Angeles)"] for row in rows)
    assert len({row["mentee_email"] for row in rows}) == len(rows)


def test_export_people_reads_back_unchanged(tmp_path: Path) -> None:
    run(tmp_path, "import", "roster", str(SHARED_ROSTER))
    out = tmp_path / "people.csv"
    assert "Wrote 70 people" in run(tmp_path, "export", "people", "--out", str(out)).stdout
    again = run(tmp_path, "import", "roster", str(out))
    assert "0 new, 0 updated, 70 unchanged" in again.stdout


def test_match_a_roster_file_without_a_database(tmp_path: Path) -> None:
    out = tmp_path / "pairings.csv"
    result = run(tmp_path, "match", str(SHARED_ROSTER), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows and set(rows[0]) == {"mentor_email", "mentee_email", "score", "reasons"}
    assert f"Matched {len(rows)} of 40 mentees" in result.stdout
    assert not (tmp_path / "data" / "mentorbot.db").exists()


def test_demo_runs_a_healthy_term_on_one_database_and_mails_every_notice(tmp_path: Path) -> None:
    import re
    from email import policy
    from email.parser import BytesParser

    result = run(tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in ("1. Roster", "2. Term opens", "2a. Late joiners answer in Slack", "2b. A mentee without Slack",
                    "3. A micro-mentoring round", "4. The round runs itself", "5. A topic event", "Where to see everything"):
        assert heading in out
    assert "Imported 70 of 70 rows" in out
    # A healthy program: most mentees matched, the few left out for three different, plainly named reasons.
    matched, mentees = map(int, re.search(r"Matched (\d+) of (\d+) mentees", out).groups())
    assert mentees == 43 and matched / mentees >= 0.85, out  # 40 roster mentees, 2 from Slack, 1 by email
    assert "Unmatched (3), by reason:" in out
    assert "  share no 30-minute window with any mentor who otherwise fits: Deshawn Carter" in out  # free only Friday evenings
    assert "  share no subject with any mentor who otherwise fits: Nia Thompson" in out  # teaches music, which no mentor does
    assert re.search(r"  had eligible mentors, but their seats went to other mentees: (Lena Fischer|Marcus Bell)", out)  # Noor Lopez was full
    # Short: no table of everyone, no per-person reasons; the rest is one command away.
    assert "Who opted in" not in out and "would make 1 mentor eligible" not in out and "… and 35 more pairs." in out
    assert len(out.splitlines()) <= 60, out  # 60 lines 200 columns wide, 68 at 80 columns (509 before)
    assert f"DATA_DIR={tmp_path / 'data' / 'demo'} mentorbot round show 1" in out and "mentorbot admin-link" in out
    # One database: the Slack leg's late joiners and the email leg's mentee are in the round the demo matched.
    demo = tmp_path / "data" / "demo"
    assert sorted(p.name for p in demo.glob("*.db")) == ["mentorbot.db"] and not list((demo / "slack").glob("*.db"))
    engine = sa.create_engine(f"sqlite:///{demo / 'mentorbot.db'}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from round")).scalar() == 2  # the micro round and the event
        assert connection.execute(sa.text("select count(*) from term")).scalar() == 1
        names = [row[0] for row in connection.execute(sa.text("select name from person"))]
        paired = {row[0] for row in connection.execute(sa.text(
            "select p.email from pairing join person p on p.id in (pairing.mentor_id, pairing.mentee_id) where pairing.round_id = 1"))}
        notices = connection.execute(sa.text(
            "select recipient from outbox_message where purpose = 'pairing' and channel = 'email' and status = 'sent'")).scalars().all()
        unsent = connection.execute(sa.text("select count(*) from outbox_message where channel = 'email' and status != 'sent'")).scalar()
    engine.dispose()
    assert len(names) == len(set(names)) == 75  # 70 on the roster, 4 late joiners in Slack, Jordan Lee by email; no two alike
    assert {"rosa.alvarez@district.example", "sam.okafor@district.example", "jordan.lee@student.example"} <= paired
    # Every email went to the sink, pairing notices (one to each side of each pair) included, as files Mail can open.
    assert unsent == 0
    assert len(notices) == 2 * matched
    mail = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in (demo / "mail").glob("*.eml")]
    in_sink = [m for m in mail if "calendar" in {part.get_content_subtype() for part in m.walk()} or "matched" in str(m["Subject"]).lower()]
    assert {m["To"].addresses[0].addr_spec for m in in_sink} >= set(notices)
    assert f"All {len(mail)} emails sent are in the mail sink, {len(notices)} pairing notices among them." in out
    assert "INFO" not in out + result.stderr
    # A second run starts clean rather than tripping over the first one's term.
    assert run(tmp_path, "demo").returncode == 0


def test_db_commands(tmp_path: Path) -> None:
    assert "revision none" in run(tmp_path, "db", "current").stdout
    assert f"Database at revision {HEAD}" in run(tmp_path, "db", "upgrade").stdout
    assert f"revision {HEAD}" in run(tmp_path, "db", "current").stdout


def test_an_xlsx_roster_imports_like_its_csv(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    with SHARED_ROSTER.open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            sheet.append([int(cell) if cell.isdigit() else cell for cell in row])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    result = run(tmp_path, "import", "roster", str(path))
    assert "Imported 70 of 70 rows from roster.xlsx: 70 new" in result.stdout
    again = run(tmp_path, "import", "roster", str(SHARED_ROSTER))
    assert "0 new, 0 updated, 70 unchanged" in again.stdout


def test_opening_a_term_asks_everyone_to_opt_in(tmp_path: Path) -> None:
    run(tmp_path, "import", "roster", str(SHARED_ROSTER))
    opened = run(tmp_path, "--now", "2026-12-01T17:00:00", "term", "open", "Spring 2027", "--opt-in-by", "2027-01-22")
    assert opened.returncode == 0, opened.stderr
    assert "Asked 70 people to opt in" in opened.stdout
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    with engine.connect() as connection:
        channels = dict(connection.execute(sa.text("select channel, count(*) from outbox_message group by channel")).all())
        reminders = connection.execute(sa.text("select count(*) from scheduled_action where kind = 'term.remind'")).scalar_one()
    engine.dispose()
    with SHARED_ROSTER.open(encoding="utf-8") as handle:
        with_slack = sum(1 for row in csv.DictReader(handle) if row["slack_user_id"])
    assert channels == {"slack": with_slack, "email": 70 - with_slack}
    assert reminders == 2


def test_the_installed_console_script_starts_and_runs_a_command(tmp_path: Path) -> None:
    top = run_installed(tmp_path, "--help")
    assert top.returncode == 0, top.stderr
    assert all(command in top.stdout for command in COMMANDS)
    imported = run_installed(tmp_path, "import", "roster", str(SHARED_ROSTER))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 70 of 70 rows" in imported.stdout
    assert people_in(tmp_path) == 70
    refused = run_installed(tmp_path, "round", "publish", "1")
    assert refused.returncode == 1 and "Error:" in refused.stderr
