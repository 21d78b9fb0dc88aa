"""Where a program file and the site's settings meet: a program's `require_approval` counts only when its file sets it,
and `program show`, `term status` and `term open` say which applies and why; an exported program applied again changes
nothing; one open term per program unless `--alongside`, and with two open every command names its term."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.conftest import SHARED_ROSTER
from tests.test_cli import run
from tests.test_cli_operations import _count, _refused

NOW = "2026-12-01T17:00:00"
COHORT_ENV = {"PROGRAM_NAME": "Spring cohort"}  # the roster import made the default program too; the commands mean this one
NO_APPROVAL = {**COHORT_ENV, "REQUIRE_PRINCIPAL_APPROVAL": "false"}
# A real first program file: a pool of three sites typed loosely, rules, a question, admins; no require_approval.
COHORT = """\
name: Spring cohort
timezone: America/Chicago
admins: [pat.lee@district.example, U0PAT0001]
pool:
  sites: [Lincoln Elementary, " Madison K-8", Garfield High]
rules:
  relax: [availability]
  require: [same_subject]
topics: [SEL, assessment, family communication]
custom_questions:
  - key: coaching_style
    prompt: How do you like to be coached?
    kind: choice
    options: [direct, reflective]
max_capacity: 2
blackouts: [[2027-03-22, 2027-03-26]]
quiet_hours: ["19:00", "07:00"]
bell_times:
  after_school: ["15:30", "16:30"]
equity:
  high_need_sites: [Garfield High]
  site_cap: 4
"""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_setting_decides_approval_unless_the_program_file_sets_it(tmp_path: Path) -> None:
    programs = tmp_path / "cohort.yaml"
    programs.write_text(COHORT, encoding="utf-8")
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0
    assert run(tmp_path, "program", "apply", str(programs), extra_env=NO_APPROVAL).returncode == 0
    shown = run(tmp_path, "program", "show", "Spring cohort", extra_env=NO_APPROVAL)
    assert "# approval: not required (REQUIRE_PRINCIPAL_APPROVAL=false)" in shown.stdout and "require_approval" not in shown.stdout.split("#")[0]

    opened = run(tmp_path, "--now", NOW, "term", "open", "Spring 2027", "--enroll-roster", extra_env=NO_APPROVAL)
    assert opened.returncode == 0, opened.stderr
    assert "await their principal" not in opened.stdout and "approval: not required (REQUIRE_PRINCIPAL_APPROVAL=false)" in opened.stdout
    assert _count(tmp_path, "select count(*) from enrollment where approval = 'pending'") == 0
    assert "approval: not required (REQUIRE_PRINCIPAL_APPROVAL=false)" in run(tmp_path, "term", "status", extra_env=NO_APPROVAL).stdout
    # The same program under the default setting: approval is required, and the status says the setting decided.
    assert "approval: required (REQUIRE_PRINCIPAL_APPROVAL=true)" in run(tmp_path, "term", "status", extra_env=COHORT_ENV).stdout
    assert run(tmp_path, "--now", NOW, "term", "close", extra_env=COHORT_ENV).returncode == 0

    # The file now sets it: the file wins, and every view says the setting is overridden.
    programs.write_text(COHORT + "require_approval: true\n", encoding="utf-8")
    applied = run(tmp_path, "program", "apply", str(programs), extra_env=NO_APPROVAL)
    assert "Spring cohort: updated require_approval" in applied.stdout, applied.stdout
    overridden = "approval: required (program 'Spring cohort' sets require_approval: true; REQUIRE_PRINCIPAL_APPROVAL=false is overridden)"
    assert f"# {overridden}" in run(tmp_path, "program", "show", "Spring cohort", extra_env=NO_APPROVAL).stdout
    opened = run(tmp_path, "--now", NOW, "term", "open", "Fall 2027", "--enroll-roster", extra_env=NO_APPROVAL)
    assert overridden in _one_line(opened.stdout) and "mentors await their principal's approval" in opened.stdout
    assert overridden in _one_line(run(tmp_path, "term", "status", extra_env=NO_APPROVAL).stdout)
    assert _count(tmp_path, "select count(*) from enrollment e join term t on t.id = e.term_id where t.name = 'Fall 2027' and approval = 'pending'") > 0
    # Under the default setting the file agrees with it: nothing is overridden, and no "overridden" is said.
    agreed = run(tmp_path, "term", "status", extra_env=COHORT_ENV).stdout
    assert "approval: required (program 'Spring cohort' sets require_approval: true)" in _one_line(agreed) and "overridden" not in agreed


def test_an_exported_program_applied_again_changes_nothing(tmp_path: Path, database_url: str) -> None:
    programs = tmp_path / "cohort.yaml"
    programs.write_text(COHORT, encoding="utf-8")
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER), database_url=database_url).returncode == 0
    assert run(tmp_path, "program", "apply", str(programs), database_url=database_url).returncode == 0
    # A setting changed one at a time after the file, and a second program of the defaults only: both must survive.
    assert run(tmp_path, "program", "set", "require_approval", "off", "-p", "Spring cohort", database_url=database_url).returncode == 0
    (tmp_path / "plain.yaml").write_text("name: Speed Day\n", encoding="utf-8")
    assert run(tmp_path, "program", "apply", str(tmp_path / "plain.yaml"), database_url=database_url).returncode == 0

    exported = tmp_path / "exported.yaml"
    assert run(tmp_path, "program", "export", "--out", str(exported), database_url=database_url).returncode == 0
    assert "require_approval: false" in exported.read_text(encoding="utf-8")
    before = _state(tmp_path, database_url)
    again = run(tmp_path, "program", "apply", str(exported), database_url=database_url)
    assert again.returncode == 0, again.stderr
    # The roster import's own program (no pool: everyone) is in the export too; it stays as it was.
    assert again.stdout.splitlines() == [
        "District Mentoring: unchanged; pool everyone", "Speed Day: unchanged; pool 70", "Spring cohort: unchanged; pool 27",
    ], again.stdout
    assert _state(tmp_path, database_url) == before
    second = tmp_path / "second.yaml"
    assert run(tmp_path, "program", "export", "--out", str(second), database_url=database_url).returncode == 0
    assert second.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")


def _state(tmp_path: Path, database_url: str | None) -> list[tuple]:
    """Every program row and pool membership, as stored."""
    engine = sa.create_engine(database_url or f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        with engine.connect() as connection:
            programs = connection.execute(sa.text("select name, timezone, settings from program order by name")).all()
            members = connection.execute(sa.text("select pool_id, person_id from pool_member order by pool_id, person_id")).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in programs] + [tuple(row) for row in members]


def test_one_open_term_per_program_unless_alongside_and_then_every_command_names_its_term(tmp_path: Path) -> None:
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0
    assert run(tmp_path, "--now", NOW, "term", "open", "Spring 2027", "--enroll-roster").returncode == 0
    _refused(
        run(tmp_path, "--now", NOW, "term", "open", "Summer Academy", "--enroll-roster"),
        "District Mentoring already has an open term ('Spring 2027'): close it first (term close \"Spring 2027\"), or pass --alongside",
    )
    _refused(run(tmp_path, "--now", NOW, "term", "open", "Spring 2027"), "a term called 'Spring 2027' already exists")
    assert _count(tmp_path, "select count(*) from term") == 1
    alongside = run(tmp_path, "--now", NOW, "term", "open", "Summer Academy", "--enroll-roster", "--alongside")
    assert alongside.returncode == 0, alongside.stderr

    several = "2 terms are open (Spring 2027, Summer Academy): name one with --term"
    for command in (
        ("round", "new", "micro"), ("term", "approve", "--all"), ("term", "approve", "ana.chen.mr6@district.example"), ("term", "status"),
        ("term", "nudge"), ("term", "close"), ("round", "list"),
    ):  # fmt: skip
        _refused(run(tmp_path, "--now", NOW, *command), several)
    assert _count(tmp_path, "select count(*) from round") == 0 and _count(tmp_path, "select count(*) from enrollment where approval = 'approved'") == 0

    approved = run(tmp_path, "--now", NOW, "term", "approve", "--site", "Garfield High", "--term", "Summer Academy")
    assert "Approved 3 mentors at Garfield High in Summer Academy" in approved.stdout, approved.stderr
    assert "Created micro round 1" in run(tmp_path, "round", "new", "micro", "--term", "Summer Academy").stdout
    assert "Summer Academy" in run(tmp_path, "term", "status", "--term", " summer academy").stdout
    _refused(run(tmp_path, "term", "status", "--term", "Sumer Academy"), "there is no term called 'Sumer Academy'")
    assert _count(tmp_path, "select count(*) from round r join term t on t.id = r.term_id where t.name = 'Summer Academy'") == 1
    assert _count(tmp_path, "select count(*) from enrollment e join term t on t.id = e.term_id where t.name = 'Spring 2027' and approval = 'approved'") == 0
    # Closing one leaves one open, and the commands find it again without --term.
    assert run(tmp_path, "--now", NOW, "term", "close", "Spring 2027").returncode == 0
    assert "Approved 24 mentors in Summer Academy" in run(tmp_path, "--now", NOW, "term", "approve", "--all").stdout
