"""The `mentorbot` operations that go through bot/actions/: round preview and cancel, approving everyone waiting,
nudging, the term at a glance, and changing a program's settings and questions, with the inputs people really type
and the mistakes they really make. Each mistake is one plain line and exit code 1, never a traceback (`run` fails the
test on a traceback).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from bot.rounds import schedule
from tests.conftest import SHARED_ROSTER
from tests.test_cli import Ran, run

NOW = "2026-12-01T17:00:00"  # a Tuesday afternoon in UTC: every nudge below is keyed to this minute
MENTORS_ON_ROSTER = 27


def _count(tmp_path: Path, sql: str, database_url: str | None = None) -> int:
    engine = sa.create_engine(database_url or f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _refused(result: Ran, words: str) -> None:
    """One plain line on stderr that says why, and exit code 1."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert words in " ".join(result.stderr.split()), result.stderr


def _enrolled_term(tmp_path: Path, database_url: str | None = None, **env: str) -> None:
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER), database_url=database_url).returncode == 0
    opened = run(tmp_path, "--now", NOW, "term", "open", "Spring 2027", "--enroll-roster", database_url=database_url, extra_env=env)
    assert opened.returncode == 0, opened.stderr


def test_a_round_is_previewed_without_sending_and_called_off_in_any_state_but_closed(tmp_path: Path, database_url: str) -> None:
    _enrolled_term(tmp_path, database_url, REQUIRE_PRINCIPAL_APPROVAL="false")
    assert "Created micro round 1 (draft)" in run(tmp_path, "round", "new", "micro", database_url=database_url).stdout

    preview = run(tmp_path, "round", "preview", "1", database_url=database_url)
    assert preview.returncode == 0, preview.stderr
    shown = " ".join(preview.stdout.split())
    assert "Round 1 was a draft: it is open now (collecting)" in shown and "The matcher ran on the round's pool just now." in shown
    assert "Round 1: 1-session micro-mentoring, review" in shown and "Matched " in shown and " of 40 mentees" in shown
    assert f"Pool of Spring 2027 {MENTORS_ON_ROSTER} mentors ready" in shown and "3 opted out" in shown
    assert "Nothing has been sent. Publish with `mentorbot round publish 1`" in shown
    proposed = _count(tmp_path, "select count(*) from pairing where round_id = 1 and status = 'proposed'", database_url)
    assert proposed > 0
    assert _count(tmp_path, "select count(*) from outbox_message where purpose = 'pairing'", database_url) == 0

    # A second preview shows the same match; --rematch runs the matcher again.
    again = run(tmp_path, "round", "preview", "1", database_url=database_url)
    assert "These are the pairs of the last match; add --rematch" in again.stdout and "was a draft" not in again.stdout
    assert "The matcher ran" in run(tmp_path, "round", "preview", "1", "--rematch", database_url=database_url).stdout

    cancelled = run(tmp_path, "round", "cancel", "1", database_url=database_url)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancelled round 1: {proposed} pairs called off, nobody had been told of a pair, 0 scheduled messages dropped." in " ".join(cancelled.stdout.split())
    assert _count(tmp_path, "select count(*) from pairing where round_id = 1 and status <> 'cancelled'", database_url) == 0
    assert _count(tmp_path, "select count(*) from outbox_message where purpose = 'pairing'", database_url) == 0
    _refused(run(tmp_path, "round", "cancel", "1", database_url=database_url), "round 1 was cancelled already")
    closed = run(tmp_path, "round", "preview", "1", database_url=database_url)  # shown as it stands: never opened or matched again
    assert "Round 1: 1-session micro-mentoring, closed" in closed.stdout and "The matcher ran" not in closed.stdout

    # A published round is called off too: what it scheduled is dropped (the sweep had not sent the notices yet, so
    # nobody had heard of a pair and nobody is told), and then the term can close.
    assert run(tmp_path, "round", "new", "micro", database_url=database_url).returncode == 0
    assert run(tmp_path, "round", "preview", "2", database_url=database_url).returncode == 0
    assert "is now published" in run(tmp_path, "round", "publish", "2", database_url=database_url).stdout
    told = _count(tmp_path, "select count(*) from pairing where round_id = 2 and status = 'published'", database_url)
    due = _count(tmp_path, "select count(*) from scheduled_action where round_id = 2 and status = 'pending'", database_url)
    _refused(run(tmp_path, "term", "close", database_url=database_url), "the term still has rounds that are not closed: round 2 (published)")
    off = run(tmp_path, "round", "cancel", "2", "--message", "Postponed to the autumn", database_url=database_url)
    assert off.returncode == 0, off.stderr
    assert f"Cancelled round 2: {told} pairs called off, nobody had been told of a pair, {due} scheduled messages dropped." in " ".join(off.stdout.split())
    assert _count(tmp_path, "select count(*) from scheduled_action where round_id = 2 and status = 'pending'", database_url) == 0 < due
    assert _count(tmp_path, "select count(*) from outbox_message", database_url) == 0
    _refused(run(tmp_path, "round", "cancel", "2", database_url=database_url), "round 2 was cancelled already")
    closed = run(tmp_path, "term", "close", database_url=database_url)
    assert closed.returncode == 0 and "Closed term Spring 2027" in closed.stdout, closed.stderr

    _refused(run(tmp_path, "round", "cancel", "99", database_url=database_url), "there is no round 99")
    _refused(run(tmp_path, "round", "preview", "99", database_url=database_url), "there is no round 99")
    typed_badly = run(tmp_path, "round", "cancel", "two", database_url=database_url)
    assert typed_badly.returncode == 2 and "round_id" in typed_badly.stderr


def test_a_speed_event_is_planned_previewed_and_published_from_the_command_line(tmp_path: Path) -> None:
    _enrolled_term(tmp_path, REQUIRE_PRINCIPAL_APPROVAL="false")
    created = run(tmp_path, "--now", NOW, "round", "new", "speed", "--rotations", "4", "--minutes", "8", "--at", "2027-03-04 15:30")
    assert "Created speed round 1 (draft)" in created.stdout, created.stderr
    _refused(run(tmp_path, "round", "publish", "1"), "a round that is draft cannot become published: open it for collection first")

    matched = run(tmp_path, "--now", NOW, "round", "match", "1")
    assert matched.returncode == 0, matched.stderr
    shown = " ".join(matched.stdout.split())
    meetings = _count(tmp_path, "select count(*) from pairing where round_id = 1 and status = 'proposed'")
    assert "Round 1: speed mentoring, 4×8 min, review" in shown
    assert "4 rotations of 8 minutes; 67 people (27 mentors, 40 mentees);" in shown and f"{meetings} meetings in all, no pair meets twice" in shown
    assert "Sitting out (more mentees than mentor seats, so mentees take turns resting):" in shown
    assert "Rotation schedules go out on Wed 3 Mar at 15:30 program time (America/Los_Angeles) once the round is published." in shown
    assert "The event starts Thu 4 Mar at 15:30: 4 rotations of 8 minutes" in shown and "Publish with `mentorbot round publish 1`" in shown
    assert 0 < meetings <= 27 * 4 and _count(tmp_path, "select count(*) from outbox_message") == 0

    preview = " ".join(run(tmp_path, "--now", NOW, "round", "preview", "1").stdout.split())
    assert "These are the pairs of the last match" in preview and f"{meetings} meetings in all" in preview and "Pool of Spring 2027" in preview
    published = " ".join(run(tmp_path, "--now", NOW, "round", "publish", "1", "--message", "Library, room 2").stdout.split())
    assert f"Round 1 is now published: {meetings} meetings. Rotation schedules go out on Wed 3 Mar at 15:30 program time" in published
    assert _count(tmp_path, "select count(*) from outbox_message") == 0  # nothing goes out before the day before
    planned = _pairs(tmp_path)

    # The day before, the job sends each person their schedule from the published plan: once, however often it runs.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        config = schedule.ScheduleConfig()
        day_before = datetime(2027, 3, 3, 23, 31, tzinfo=timezone.utc)
        ran = schedule.run_due_actions(engine, now=day_before, config=config)
        assert [status for _id, status, _result in ran] == ["done"] and "(as planned)" in ran[0][2]
        assert schedule.run_due_actions(engine, now=day_before + timedelta(minutes=1), config=config) == []
    finally:
        engine.dispose()
    assert _pairs(tmp_path) == planned  # the same meetings, not planned again
    people = _count(tmp_path, "select count(distinct person_id) from outbox_message where purpose = 'speed.schedule'")
    assert people == _count(tmp_path, "select count(*) from outbox_message where purpose = 'speed.schedule' and channel = 'email'") > 50
    assert _count(tmp_path, "select count(*) from outbox_message where purpose = 'speed.schedule' and body like '%Library, room 2%'") >= people
    assert _count(tmp_path, "select count(*) from scheduled_action where round_id = 1 and kind = 'speed.rotation'") == 4
    show = " ".join(run(tmp_path, "round", "show", "1").stdout.split())
    assert "Rotation schedules went out on Wed 3 Mar at 15:31 program time" in show
    listed = " ".join(run(tmp_path, "round", "list").stdout.split())
    assert "│ 1 │ speed mentoring, 4×8 min │ published │" in listed


def _pairs(tmp_path: Path) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("select id, rotation, mentor_id, mentee_id, status from pairing where round_id = 1 order by id")))
    finally:
        engine.dispose()


def test_round_list_calls_each_round_by_its_own_kind(tmp_path: Path) -> None:
    _enrolled_term(tmp_path, REQUIRE_PRINCIPAL_APPROVAL="false")
    assert run(tmp_path, "--now", NOW, "round", "new", "micro", "--topic", "SEL").returncode == 0
    event = run(tmp_path, "--now", NOW, "round", "new", "event", "--topics", " classroom management ;; SEL ;", "--match-on", "2027-01-20")
    assert "Created event round 2" in event.stdout, event.stderr
    assert run(tmp_path, "--now", NOW, "round", "new", "interview", "--match-on", "2027-01-21").returncode == 0
    rows = [" ".join(line.split()) for line in run(tmp_path, "round", "list").stdout.splitlines()]
    assert "│ 1 │ 1-session micro-mentoring on SEL │ draft │ │ │" in rows
    assert "│ 2 │ topic event on classroom management; SEL │ draft │ 2027-01-20 │ │" in rows
    assert "│ 3 │ informational interviews │ draft │ 2027-01-21 │ │" in rows
    assert not any("│ 2 │ micro" in row for row in rows)


def test_a_round_of_another_program_is_refused_by_name(tmp_path: Path) -> None:
    programs = tmp_path / "programs.yaml"
    programs.write_text("- name: Induction\n  require_approval: false\n- name: SEL Series\n  require_approval: false\n", encoding="utf-8")
    assert run(tmp_path, "program", "apply", str(programs)).returncode == 0
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0  # district-wide: no --program needed
    _refused(run(tmp_path, "round", "list"), "there are several programs; name one with --program: Induction, SEL Series")
    for name in ("Induction", "SEL Series"):
        assert run(tmp_path, "term", "open", "Spring 2027", "--enroll-roster", "--program", name).returncode == 0
    assert "Created micro round 1" in run(tmp_path, "round", "new", "micro", "--program", "induction").stdout

    _refused(run(tmp_path, "round", "cancel", "1", "--program", "SEL Series"), "round 1 belongs to Induction, not SEL Series")
    _refused(run(tmp_path, "round", "preview", "1", "-p", "SEL Series"), "round 1 belongs to Induction, not SEL Series")
    _refused(run(tmp_path, "export", "pairings", "1", "--program", "SEL Series"), "round 1 belongs to Induction")
    _refused(run(tmp_path, "round", "show", "1", "--program", "Speed Day"), "round 1 belongs to Induction, not Speed Day")
    assert _count(tmp_path, "select count(*) from round where status = 'draft'") == 1  # nothing was moved by the refusals
    # The right program, however it is typed, and no program at all, both reach the round.
    assert "Round 1: 1-session micro-mentoring" in run(tmp_path, "round", "show", "1", "--program", "  INDUCTION ").stdout
    assert "Cancelled round 1: 0 pairs called off" in run(tmp_path, "round", "cancel", "1").stdout


def test_approving_one_mentor_then_everyone_still_waiting(tmp_path: Path) -> None:
    _enrolled_term(tmp_path)  # principals' approval is required by default
    status = " ".join(run(tmp_path, "term", "status").stdout.split())
    assert "Spring 2027 70 invited: 67 in, 3 out, 0 not answered yet" in status
    assert f"mentors: 0 confirmed, {MENTORS_ON_ROSTER} waiting for principals" in status and "No rounds yet." in status

    _refused(run(tmp_path, "term", "approve"), "name the mentor by email")
    _refused(run(tmp_path, "term", "approve", "   "), "name the mentor by email")
    _refused(run(tmp_path, "term", "approve", "ana.chen.mr6@district.example", "--all-pending"), "name no mentor")
    _refused(run(tmp_path, "term", "approve", "--all", "--decline"), "no --decline")
    _refused(run(tmp_path, "term", "approve", "--site", "  "), "--site and --principal need a value")
    _refused(run(tmp_path, "term", "approve", "nobody@district.example"), "nobody with the email nobody@district.example is on the roster")
    _refused(run(tmp_path, "term", "approve", "ana.chen.mr6@district.example", "--capacity", "40"), "capacity must be a whole number from 0 to 10")
    _refused(run(tmp_path, "term", "approve", "--all-pending", "--program", "Nope"), "there is no program called 'Nope'")
    # A site nobody waits at (a typo) is refused with the sites and principals that do have mentors waiting; nothing changes.
    _refused(run(tmp_path, "term", "approve", "--site", "Lincon Elementary"), "no mentor at site 'Lincon Elementary' is waiting for approval in Spring 2027")
    _refused(run(tmp_path, "term", "approve", "--site", "Lincon Elementary"), "mentors are waiting at Cesar Chavez High (2), Garfield High (3)")
    _refused(run(tmp_path, "term", "approve", "--principal", "principal.nobody@district.example"), "mentors are waiting for principals principal.cesar@district.example (2)")
    _refused(run(tmp_path, "term", "approve", "--site", "Madison K-8", "--principal", "principal.cesar@district.example"), "at site 'Madison K-8' and of principal")
    assert _count(tmp_path, "select count(*) from enrollment where approval = 'approved'") == 0

    one = run(tmp_path, "--now", NOW, "term", "approve", " ANA.CHEN.MR6@District.Example ", "--capacity", "2", "--by", "principal@district.example")
    assert "Ana Chen (ana.chen.mr6@district.example): approved as a mentor, capacity 2." in one.stdout, one.stderr
    # A site typed as people type it: case and spacing don't matter.
    site = run(tmp_path, "--now", NOW, "term", "approve", "--site", "  lincoln   ELEMENTARY ")
    assert site.returncode == 0, site.stderr
    assert "Approved 3 mentors at Lincoln Elementary in Spring 2027; each is told." in site.stdout
    principal = run(tmp_path, "--now", NOW, "term", "approve", "--principal", "Principal.Madison@District.Example")
    assert "Approved 4 mentors of principal principal.madison@district.example in Spring 2027" in principal.stdout, principal.stderr
    rest = run(tmp_path, "--now", NOW, "term", "approve", "--all-pending")
    assert rest.returncode == 0, rest.stderr
    assert f"Approved {MENTORS_ON_ROSTER - 1 - 3 - 4} mentors in Spring 2027" in rest.stdout and "Ana Chen" not in rest.stdout
    assert "No mentor is waiting for a principal's approval in Spring 2027." in run(tmp_path, "term", "approve", "--all").stdout
    # With nobody waiting anywhere a filter is no mistake: it simply has nobody to approve.
    assert "No mentor at Garfield High is waiting" in run(tmp_path, "term", "approve", "--site", "Garfield High").stdout
    assert _count(tmp_path, "select count(*) from enrollment where approval = 'pending'") == 0
    assert _count(tmp_path, "select count(*) from enrollment where approval = 'approved' and approved_by = 'principal@district.example'") == 1
    # Every mentor hears the decision once, as from a principal's own answer.
    assert _count(tmp_path, "select count(*) from outbox_message where body like '%approval_decided%'") == MENTORS_ON_ROSTER
    assert _count(tmp_path, "select count(distinct person_id) from outbox_message where body like '%approval_decided%'") == MENTORS_ON_ROSTER
    status = " ".join(run(tmp_path, "term", "status").stdout.split())
    assert f"mentors: {MENTORS_ON_ROSTER} confirmed, 0 waiting for principals" in status


def test_nudging_asks_who_has_not_answered_once_a_minute(tmp_path: Path) -> None:
    _refused(run(tmp_path, "term", "nudge"), "no program called")
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0
    _refused(run(tmp_path, "term", "nudge"), "no term is open")
    _refused(run(tmp_path, "term", "status"), "no term is open")
    assert "Asked 70 people" in run(tmp_path, "--now", NOW, "term", "open", "Spring 2027", "--opt-in-by", "2027-01-22").stdout
    status = " ".join(run(tmp_path, "term", "status").stdout.split())
    assert "Spring 2027 (opt-in by 2027-01-22) 70 invited: 0 in, 0 out, 70 not answered yet" in status
    assert "messages: 70 waiting to send, 0 failed" in status
    # No SLACK_BOT_TOKEN here: the 49 Slack people's invitations are shown going by email, nobody waits on Slack.
    assert "Slack: not set up, 49 waiting to go by email instead · Email: 21 waiting" in status

    later = "2026-12-02T18:30:00"
    nudged = run(tmp_path, "--now", later, "term", "nudge")
    assert "Nudged 70 people about opting in, 0 about their profile and 0 principals" in nudged.stdout, nudged.stderr
    queued = _count(tmp_path, "select count(*) from outbox_message")
    assert queued == 140
    # The same nudge twice in a minute (a double press) reaches each person once.
    assert run(tmp_path, "--now", later, "term", "nudge").returncode == 0
    assert _count(tmp_path, "select count(*) from outbox_message") == queued
    assert run(tmp_path, "--now", "2026-12-02T18:31:00", "term", "nudge").returncode == 0
    assert _count(tmp_path, "select count(*) from outbox_message") == queued + 70


def test_program_settings_and_questions_are_changed_one_at_a_time(tmp_path: Path) -> None:
    _refused(run(tmp_path, "program", "set", "require_approval", "off"), "no program called")
    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER)).returncode == 0

    assert "require_approval is now off." in run(tmp_path, "program", "set", "require_approval", "OFF").stdout
    assert "max_capacity is now 3." in run(tmp_path, "program", "set", "MAX_CAPACITY", " 3").stdout
    # What an admin types is shown as typed: brackets are text, not terminal markup.
    topics = run(tmp_path, "program", "set", "topics", " [bold]SEL[/bold] ;; assessment ; ")
    assert "topics is now [bold]SEL[/bold]; assessment." in topics.stdout
    _refused(run(tmp_path, "program", "set", "max_capacity", "11"), "max_capacity must be a whole number from 1 to 10")
    _refused(run(tmp_path, "program", "set", "max_capacity", "two"), "max_capacity must be a whole number from 1 to 10")
    _refused(run(tmp_path, "program", "set", "topics", " ; ;"), "topics needs at least one item")
    _refused(run(tmp_path, "program", "set", "allow_weekends", "maybe"), "'maybe' is not on or off")
    _refused(run(tmp_path, "program", "set", "shoe_size", "9"), "'shoe_size' is not a setting that can be changed here")
    _refused(run(tmp_path, "program", "set", "admin_emails", "lead@district.example; not an email"), "not an address: not an email")
    assert "admin_emails is now lead@district.example." in run(tmp_path, "program", "set", "admin_emails", " lead@district.example ;").stdout
    _refused(run(tmp_path, "program", "set", "topics", "SEL", "--program", "Speed Day"), "there is no program called 'Speed Day'")

    added = run(tmp_path, "program", "question", "add", "Coaching_Style", "How do you like feedback?", "--kind", "choice", "--options", "Written notes; A quick chat;")
    assert "Question coaching_style added; everyone's profile asks it from now on." in added.stdout, added.stderr
    assert "Question confidence added" in run(tmp_path, "program", "question", "add", "confidence", "How confident?", "--kind", "Scale", "--min", "1", "--max", "5", "--required").stdout
    _refused(run(tmp_path, "program", "question", "add", "bad key!", "Why?"), "a question key is one word of letters, digits and _")
    _refused(run(tmp_path, "program", "question", "add", "style", "Pick one", "--kind", "choice", "--options", "Only one"), "at least two options")
    _refused(run(tmp_path, "program", "question", "add", "blank", "   "), "the question needs a prompt")
    _refused(run(tmp_path, "program", "question", "add", "mood", "How?", "--kind", "slider"), "kind")
    _refused(run(tmp_path, "program", "question", "remove", "nope"), "there is no custom question 'nope'")

    shown = run(tmp_path, "program", "show", "District Mentoring").stdout
    assert "require_approval: false" in shown and "'[bold]SEL[/bold]'" in shown and "- assessment" in shown
    assert "key: coaching_style" in shown and "- A quick chat" in shown and "key: confidence" in shown and "required: true" in shown
    assert "Question coaching_style removed." in run(tmp_path, "program", "question", "remove", " COACHING_STYLE ").stdout
    shown = run(tmp_path, "program", "show", "District Mentoring").stdout
    assert "coaching_style" not in shown and "key: confidence" in shown
    listing = " ".join(run(tmp_path, "program", "list").stdout.split())  # one admin: the address set above
    assert "│ District Mentoring │ America/Los_Angeles │ everyone │ 1 │ 1 │ - │" in listing


def test_exports_write_the_shared_tables_formula_safe(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "role", "site"])
        writer.writerow(["ana@d.example", "Ana Chen", "mentor", "Lincoln"])
        writer.writerow(["eve@d.example", '=HYPERLINK("http://x.example")', "mentee", "@Garfield"])
    assert run(tmp_path, "import", "roster", str(roster)).returncode == 0
    out = tmp_path / "people.csv"
    assert "Wrote 2 people" in run(tmp_path, "export", "people", "--out", str(out)).stdout
    with out.open(encoding="utf-8-sig") as handle:
        written = {row["email"]: (row["name"], row["site"]) for row in csv.DictReader(handle)}
    # A spreadsheet shows these as text and never runs them.
    assert written == {"ana@d.example": ("Ana Chen", "Lincoln"), "eve@d.example": ("'=HYPERLINK(\"http://x.example\")", "'@Garfield")}
    _refused(run(tmp_path, "export", "pairings", "7"), "there is no round 7")
