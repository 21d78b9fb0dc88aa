"""What `mentorbot` prints for long results: the lead paragraph first and last, 20 pairs and the unmatched by cause
unless --all, the timeline in words, people's own text printed literally, and dates written any other way refused."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import run

HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity\n"


def _roster(tmp_path: Path, mentees: int = 60) -> Path:
    """Mentors free Monday 16:00-17:00; half the mentees free then, half only on Thursday mornings (availability binds);
    two people with names that look like rich markup."""
    rows = [
        "ana@d.example,[/] Ana,mentor,Lincoln,6-8,math,SEL,,Mon 16:00-17:00,America/Los_Angeles,10\n",
        "bo@d.example,[bold]Bo,mentor,Lincoln,6-8,math,SEL,,Mon 16:00-17:00,America/Los_Angeles,10\n",
        "cat@d.example,Cat Ruiz,mentor,Lincoln,6-8,math,SEL,,Mon 16:00-17:00,America/Los_Angeles,10\n",
        "cy@d.example,[red]Cy[/red] [link=x],mentee,Lincoln,6-8,math,,SEL,Mon 16:00-17:00,America/Los_Angeles,\n",
    ]
    for i in range(mentees - 1):
        when = "Mon 16:00-17:00" if i % 2 else "Thu 08:00-09:00"
        rows.append(f"m{i:02d}@d.example,Mentee {i:02d},mentee,Lincoln,6-8,math,,SEL,{when},America/Los_Angeles,\n")
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_file_matcher_leads_with_the_paragraph_and_summarises_long_lists(tmp_path: Path) -> None:
    roster = _roster(tmp_path)
    shown = run(tmp_path, "match", str(roster), "--week-of", "2027-02-01")
    assert shown.returncode == 0, shown.stderr
    # Every seat is taken: the seats bind, not availability, so the lead says that and no "relaxing" sentence.
    lead = ("Matched 30 of 60 mentees, using 30 of 30 seats of 3 mentors; 30 unmatched. There are 30 seats for 60 "
            "mentees: only recruiting mentors (or more capacity) can place the other 30.")
    flat = _flat(shown.stdout)
    assert flat.startswith(lead) and flat.endswith(lead)  # first, and last so it is not scrolled away
    assert "(20 of 30 pairs shown; --all prints every one" in flat
    assert "Unmatched, by cause" in flat and "and 26 more" in flat and "Mentee 58" not in flat
    # Names that look like markup print as written.
    assert "[red]Cy[/red] [link=x]" in shown.stdout and "[bold]Bo" in shown.stdout and "[/] Ana" in shown.stdout
    every = run(tmp_path, "match", str(roster), "--week-of", "2027-02-01", "--all")
    assert all(f"Mentee {i:02d}" in every.stdout for i in range(59))
    assert "no mentor with capacity shares a 30-minute window" in _flat(every.stdout)
    assert shown.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_round_when_every_mentor_awaits_approval_then_after_approving(tmp_path: Path) -> None:
    roster = _roster(tmp_path, mentees=25)
    assert run(tmp_path, "import", "roster", str(roster)).returncode == 0
    assert run(tmp_path, "term", "open", "Spring 2027", "--enroll-roster").returncode == 0
    assert run(tmp_path, "round", "new", "micro", "--sessions", "1", "--start", "2027-02-01").returncode == 0
    assert run(tmp_path, "round", "open", "1").returncode == 0
    waiting = run(tmp_path, "round", "match", "1")
    assert waiting.returncode == 0, waiting.stderr
    assert ("Matched 0 of 25 mentees: no mentor has a seat this round. 3 mentors await their principal's approval; "
            "approving them would match 13 more (`mentorbot term approve --all`)") in _flat(waiting.stdout)
    assert "25 found no mentor with a seat left" in _flat(waiting.stdout.replace("│", " "))
    assert run(tmp_path, "term", "approve", "--all-pending").returncode == 0
    lead = ("Matched 13 of 25 mentees, using 13 of 30 seats of 3 mentors; 12 unmatched. 12 of 12 unmatched share no "
            "30-minute window with any mentor who otherwise fits; relaxing availability would match 12 more.")
    matched = run(tmp_path, "round", "match", "1")
    assert _flat(matched.stdout).endswith(lead) and lead in _flat(matched.stdout)[:600]
    assert "[red]Cy[/red] [link=x]" in matched.stdout
    for command in ("show", "preview"):
        assert _flat(run(tmp_path, "round", command, "1").stdout).endswith(lead)
    preview = _flat(run(tmp_path, "round", "preview", "1").stdout)
    assert "No grade band, subject or topic is short of places. What holds the forecast back: 12 of 12 unmatched" in preview
    assert run(tmp_path, "--now", "2027-01-20T17:00", "round", "publish", "1").returncode == 0
    timeline = run(tmp_path, "round", "timeline", "1")
    assert "Wed 20 Jan 2027" in timeline.stdout and "pairing notices to every pair" in timeline.stdout
    assert "session.reminder:" not in timeline.stdout and "UTC" not in timeline.stdout
    every = run(tmp_path, "round", "timeline", "1", "--all")
    cy = [line for line in every.stdout.splitlines() if "reminder a day before session 1 · [red]Cy[/red] [link=x] (mentee) · due" in line]
    assert len(cy) == 1 and re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Jan|Feb) \d\d:\d\d PST · .*", cy[0]), cy


def test_dates_take_iso_forms_and_anything_else_gets_one_line(tmp_path: Path) -> None:
    assert run(tmp_path, "term", "open", "Spring 2027").returncode == 0
    wrong = run(tmp_path, "round", "new", "micro", "--start", "02/01/2027")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert _flat(wrong.stderr) == "Error: --start: '02/01/2027' is not a date; write it as YYYY-MM-DD, e.g. 2027-02-01"
    at = run(tmp_path, "round", "new", "speed", "--rotations", "3", "--minutes", "5", "--at", "4 March 3pm")
    assert at.returncode == 2 and "--at: '4 March 3pm' is not a date and time" in _flat(at.stderr)
    for written in ("2027-02-01", "2027-02-01 15:30", "2027-02-01T15:30"):
        assert run(tmp_path, "round", "new", "micro", "--start", written).returncode == 0
    assert run(tmp_path, "round", "new", "speed", "--rotations", "3", "--minutes", "5", "--at", "2027-03-04T15:30").returncode == 0
    assert run(tmp_path, "match", "x.csv", "--week-of", "1/2/27").returncode == 2
