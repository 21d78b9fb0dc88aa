"""`mentorbot match`, `speed` and `pool` on a roster file, as a user runs them: real files, the commands run in-process."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

from bot.cli_match import read_roster_people
from bot.matching import RoundSettings, match_round
from tests.conftest import SHARED_ROSTER
from tests.test_cli import run


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:  # the one export writer starts with a byte-order mark
        return list(csv.DictReader(handle))


def test_roster_people_match_like_the_database_path():
    # The file-only path builds participants without storage models; it must match the same way.
    from bot.rounds.participants import match_roster_file

    week = date(2027, 2, 1)
    slow = match_roster_file(SHARED_ROSTER, default_timezone="America/Los_Angeles", topic=None, sessions=1,
                             session_minutes=30, week_of=week)
    people = read_roster_people(SHARED_ROSTER, default_timezone="America/Los_Angeles", week_of=week)
    fast = match_round(people.participants, RoundSettings(session_minutes=30, reference_date=week))
    assert (fast.pairs, fast.unmatched, fast.total_score) == (slow.result.pairs, slow.result.unmatched, slow.result.total_score)
    assert (people.mentors, people.mentees) == (slow.mentors, slow.mentees)


def test_group_sessions_write_groups_and_times(tmp_path: Path) -> None:
    out = tmp_path / "groups.csv"
    result = run(tmp_path, "match", str(SHARED_ROSTER), "--group-size", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert rows and set(rows[0]) == {"mentor_email", "mentee_email", "score", "reasons", "group", "group_time"}
    sizes = Counter((row["mentor_email"], row["group"]) for row in rows)
    assert max(sizes.values()) <= 2
    assert all("group" in row["reasons"] and row["group_time"] for row in rows)
    assert "Groups" in result.stdout and f"Matched {len(rows)} of 40 mentees" in result.stdout
    assert "min-cost flow (groups), optimal" in result.stdout


def test_fair_matching_reports_the_gap(tmp_path: Path) -> None:
    out = tmp_path / "fair.csv"
    result = run(tmp_path, "match", str(SHARED_ROSTER), "--fair", "--time-limit", "10", "--report", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "CP-SAT" in result.stdout and "gap to the best bound" in result.stdout
    assert "By site" in result.stdout and "By program" in result.stdout and "Mentor load" in result.stdout
    rows = _rows(out)
    assert set(rows[0]) == {"mentor_email", "mentee_email", "score", "reasons"}
    assert len({row["mentee_email"] for row in rows}) == len(rows)


def test_group_sessions_with_a_fairness_floor(tmp_path: Path) -> None:
    plain_out, fair_out = tmp_path / "plain.csv", tmp_path / "fair.csv"
    plain = run(tmp_path, "match", str(SHARED_ROSTER), "--group-size", "3", "--out", str(plain_out))
    assert plain.returncode == 0, plain.stderr
    result = run(tmp_path, "match", str(SHARED_ROSTER), "--group-size", "3", "--fair", "--time-limit", "10",
                 "--out", str(fair_out))
    assert result.returncode == 0, result.stderr
    assert "CP-SAT" in result.stdout and "gap to the best bound" in result.stdout
    rows = _rows(fair_out)
    assert rows and set(rows[0]) == {"mentor_email", "mentee_email", "score", "reasons", "group", "group_time"}
    assert max(Counter((row["mentor_email"], row["group"]) for row in rows).values()) <= 3
    assert len({row["mentee_email"] for row in rows}) == len(rows)
    assert all("group" in row["reasons"] and row["group_time"] for row in rows)
    # Every member of a group meets at that group's one time.
    times: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        times.setdefault((row["mentor_email"], row["group"]), set()).add(row["group_time"])
    assert all(len(found) == 1 for found in times.values())
    # The floor never costs a placement: as many mentees as the plain group round.
    assert len(rows) == len(_rows(plain_out))
    assert f"Matched {len(rows)} of 40 mentees" in result.stdout


def _tiny_roster(tmp_path: Path) -> Path:
    # One mentor, two mentees; Ben (North) fits better than Bea (South).
    path = tmp_path / "tiny.csv"
    path.write_text(
        "email,name,role,site,program,grade_bands,subjects,strengths,needs,capacity\n"
        "amy@d.example,Amy Chen,mentor,North,,6-8,math,assessment,,1\n"
        "ben@d.example,Ben Ortiz,mentee,North,EPP,6-8,math,,assessment,\n"
        "bea@d.example,Bea Park,mentee,South,Corps,6-8,,,assessment,\n",
        encoding="utf-8",
    )
    return path


def _mentees_in(tmp_path: Path, roster: Path, *options: str) -> tuple[set[str], str]:
    out = tmp_path / "pairs.csv"
    result = run(tmp_path, "match", str(roster), *options, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return {row["mentee_email"] for row in _rows(out)}, result.stdout


def test_site_quotas_program_caps_and_their_mistakes(tmp_path: Path) -> None:
    roster = _tiny_roster(tmp_path)
    assert _mentees_in(tmp_path, roster)[0] == {"ben@d.example"}
    lifted, shown = _mentees_in(tmp_path, roster, "--min-site", "South=1")
    assert lifted == {"bea@d.example"} and "min-cost flow (site quotas), optimal" in shown
    assert _mentees_in(tmp_path, roster, "--max-site", "north=0")[0] == {"bea@d.example"}
    capped, shown = _mentees_in(tmp_path, roster, "--max-program", "EPP=0")
    assert capped == {"bea@d.example"} and "CP-SAT, optimal" in shown
    short, shown = _mentees_in(tmp_path, roster, "--min-site", "South=2")
    assert short == {"bea@d.example"}
    assert "Note: site South: only 1 of the minimum 2 placements can be met" in " ".join(shown.split())
    bad = run(tmp_path, "match", str(roster), "--min-site", "South")
    assert bad.returncode == 1 and "Error:" in bad.stderr and "NAME=COUNT" in bad.stderr
    # Group rounds take the same quotas: one group of one place, and South's minimum takes it.
    grouped, shown = _mentees_in(tmp_path, roster, "--group-size", "1", "--min-site", "South=1")
    assert grouped == {"bea@d.example"} and "min-cost flow (groups, site quotas), optimal" in shown
    grouped, shown = _mentees_in(tmp_path, roster, "--group-size", "1", "--max-program", "EPP=0")
    assert grouped == {"bea@d.example"} and "CP-SAT, optimal" in shown
    assert _mentees_in(tmp_path, roster, "--group-size", "2", "--max-site", "North=0")[0] == {"bea@d.example"}


def test_speed_schedule_never_repeats_a_pair(tmp_path: Path) -> None:
    out = tmp_path / "schedule.csv"
    result = run(tmp_path, "speed", str(SHARED_ROSTER), "--rotations", "5", "--minutes", "7", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert list(rows[0]) == ["rotation", "mentor_email", "mentee_email", "score"]
    pairs = [(r["mentor_email"], r["mentee_email"]) for r in rows]
    assert len(pairs) == len(set(pairs))
    assert max(Counter((r["rotation"], r["mentee_email"]) for r in rows).values()) == 1
    assert max(Counter((r["rotation"], r["mentor_email"]) for r in rows).values()) == 1
    assert {r["rotation"] for r in rows} == {"1", "2", "3", "4", "5"}
    assert f"{len(rows)} meetings over 5 rotations of 7 minutes" in result.stdout and "0 repeats" in result.stdout
    assert "+28 min" in result.stdout


def test_pool_health_names_thin_areas_and_the_forecast(tmp_path: Path) -> None:
    result = run(tmp_path, "pool", str(SHARED_ROSTER))
    assert result.returncode == 0, result.stderr
    assert "Health per area" in result.stdout and "(short)" in result.stdout
    flat = " ".join(result.stdout.split())
    # The demo roster is built so three mentees stay unmatched for three causes (tools/make_demo_roster.py).
    assert "Forecast: 3 would go unmatched" in flat
    assert "Recruit mentors for grade band 9-12 (10 places for 11 mentees)" in flat and "subject music (no mentor for 1 mentee)" in flat
    # 6-8 has more places than mentees: no advice to recruit there.
    assert "grade band 6-8 (" not in flat
    # What really binds, with its counterfactual from a second run of the matcher.
    assert "1 of 3 unmatched share no subject with any mentor who otherwise fits, though relaxing the subject rule alone would place none of them" in flat


def test_new_commands_have_help_with_examples(tmp_path: Path) -> None:
    for command in ("speed", "pool", "match"):
        shown = run(tmp_path, command, "--help")
        assert shown.returncode == 0 and "Example" in shown.stdout, command
    assert "--group-size" in run(tmp_path, "match", "--help").stdout


def _interview_roster(tmp_path: Path) -> Path:
    # Two mentees want to learn about instructional coaching; only one coach works at another site.
    path = tmp_path / "interviews.csv"
    path.write_text(
        "email,name,role,site,position,interests,grade_bands,subjects,capacity\n"
        "ana@d.example,Ana Ruiz,mentor,Lincoln,Instructional Coach,,6-8,math,2\n"
        "cy@d.example,Cy Lee,mentor,Roosevelt,assistant principal,,6-8,math,2\n"
        "ben@d.example,Ben Ortiz,mentee,Roosevelt,teacher,instructional coach;Lincoln,6-8,math,\n"
        "dee@d.example,Dee Fox,mentee,Lincoln,teacher,instructional coach,6-8,math,\n"
        "eve@d.example,Eve Ray,mentee,Lincoln,teacher,,6-8,math,\n",
        encoding="utf-8",
    )
    return path


def test_require_interest_and_cross_site_from_a_roster_file(tmp_path: Path) -> None:
    roster = _interview_roster(tmp_path)
    assert _mentees_in(tmp_path, roster)[0] == {"ben@d.example", "dee@d.example", "eve@d.example"}
    matched, shown = _mentees_in(tmp_path, roster, "--require", "interest", "--require", "cross_site", "--all")
    assert matched == {"ben@d.example"}
    rows = _rows(tmp_path / "pairs.csv")
    assert rows[0]["mentor_email"] == "ana@d.example"
    assert "Ben wants to learn about the role of instructional coach; Ana is an Instructional Coach at Lincoln" in rows[0]["reasons"]
    assert "cross-site pair: Lincoln and Roosevelt" in rows[0]["reasons"]
    flat = " ".join(shown.split())
    assert "none of those works at another site" in flat  # Dee: the only coach is at her own site
    assert "Eve lists no roles or sites to learn about" in flat
    same_site, _ = _mentees_in(tmp_path, roster, "--require", "interest")
    assert same_site == {"ben@d.example", "dee@d.example"}
    bad = run(tmp_path, "match", str(roster), "--require", "same_grade")
    assert bad.returncode == 1 and "'same_grade' is not a rule a round can add; --require takes cross_site, interest, same_subject" in bad.stderr
    typo = run(tmp_path, "match", str(roster), "--relax", "availabilty")
    assert typo.returncode == 1 and "'availabilty' is not a rule a round can relax; --relax takes availability, grade_band, strengths, subject" in typo.stderr
    shown_help = " ".join(run(tmp_path, "match", "--help").stdout.split())
    assert "--require interest --require cross_site" in shown_help and "same_subject (both list subjects" in shown_help


def test_relaxing_a_rule_from_the_command_line_lets_a_pair_through(tmp_path: Path) -> None:
    # Two teachers of different grade bands: no pair under the default rules; with --relax grade_band, one.
    roster = tmp_path / "bands.csv"
    roster.write_text(
        "email,name,role,site,grade_bands,subjects,availability,capacity\n"
        "ana@d.example,Ana Ruiz,mentor,Lincoln,K-2,math,Tue 15:00-16:00,1\n"
        "ben@d.example,Ben Ortiz,mentee,Roosevelt,9-12,math,Tue 15:00-16:00,\n",
        encoding="utf-8",
    )
    assert _mentees_in(tmp_path, roster)[0] == set()
    assert _mentees_in(tmp_path, roster, "--relax", " Grade-Band ")[0] == {"ben@d.example"}


def test_people_who_share_a_name_are_told_apart_by_email(tmp_path: Path) -> None:
    # Two mentees called Priya Silva, both paired with Kim Evans: printed by name alone, the two pairs would look like
    # one pair listed twice.
    from bot.cli_match import distinct_names

    names = distinct_names([("a@x.org", "Ana Ruiz"), ("b@x.org", "ana ruiz "), ("c@x.org", "Ben Li"), ("d@x.org", " ")])
    assert names == {"a@x.org": "Ana Ruiz (a@x.org)", "b@x.org": "ana ruiz (b@x.org)", "c@x.org": "Ben Li",
                     "d@x.org": "d@x.org"}
    roster = tmp_path / "namesakes.csv"
    roster.write_text(
        "email,name,role,grade_bands,subjects,strengths,needs,availability,capacity\n"
        "kim.evans@d.example,Kim Evans,mentor,K-2,science,co-teaching,,Thu 15:00-16:30,2\n"
        "priya.silva.ee6@d.example,Priya Silva,mentee,K-2,science,,co-teaching,Thu 15:30-16:30,\n"
        "priya.silva.ee9@d.example,Priya Silva ,mentee,K-2,science,,co-teaching,Thu 15:00-16:00,\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "match", str(roster), "--out", str(tmp_path / "pairs.csv"))
    assert result.returncode == 0, result.stderr
    assert "Priya Silva (priya.silva.ee6@d.example)" in result.stdout
    assert "Priya Silva (priya.silva.ee9@d.example)" in result.stdout
    assert "Kim Evans (" not in result.stdout
