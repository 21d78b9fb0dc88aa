"""Roster import at a size that takes the bulk paths: a roster covering most people on file (one full read)
and a small roster against many people (chunked IN lists), with updates, self-reported answers and kept values."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.importer import import_roster
from storage import repo
from storage.db import session_scope

HEADER = ["email", "name", "role", "site", "subjects", "strengths", "timezone", "capacity"]


def _roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def _rows(count: int) -> list[list[str]]:
    return [
        [f"t{i}@d.example", f"Teacher {i}", "mentor" if i % 2 else "mentee", "Lincoln", "math;ELA", "SEL" if i % 2 else "",
         "America/Chicago", "2" if i % 2 else ""]
        for i in range(count)
    ]  # fmt: skip


def test_a_large_reimport_diffs_against_everyone_on_file(engine: Engine, tmp_path: Path, now: datetime):
    rows = _rows(700)
    first = import_roster(engine, _roster(tmp_path / "a.csv", rows), program_name="P", default_timezone="UTC", now=now)
    assert (first.created, first.updated, first.unchanged) == (700, 0, 0)
    with session_scope(engine) as session:
        t3 = repo.people_by_email(session, emails=["t3@d.example"])["t3@d.example"]
        repo.set_profile_answers(session, person_id=t3.id, answers={"subjects": ["science"]}, source="slack", now=now)
    rows[5][3] = "Garfield"  # a person field changed
    rows[7][4] = "PE"  # an answer changed
    rows[3][4] = "arts"  # the person's own Slack answer wins over the roster's
    rows[9][6] = "Mars/Olympus"  # a bad time zone: left out with a warning, the one on file kept
    again = import_roster(engine, _roster(tmp_path / "b.csv", rows), program_name="P", default_timezone="UTC", now=now)
    assert (again.created, again.updated, again.unchanged) == (0, 2, 698)
    assert len(again.warnings) == 1 and "America/Chicago" in (again.warnings[0].outcome or "")
    with session_scope(engine) as session:
        people = repo.people_by_email(session, emails=[f"t{i}@d.example" for i in (3, 5, 7, 9)])
        answers = repo.profiles(session, person_ids=[p.id for p in people.values()])
        assert people["t5@d.example"].site == "Garfield"
        assert people["t9@d.example"].timezone == "America/Chicago"
        assert answers[people["t7@d.example"].id]["subjects"] == ["PE"]
        assert answers[people["t3@d.example"].id]["subjects"] == ["science"]
        assert repo.count_people(session) == 700


def test_a_small_roster_among_many_people_updates_only_its_own(engine: Engine, tmp_path: Path, now: datetime):
    import_roster(engine, _roster(tmp_path / "all.csv", _rows(1200)), program_name="P", default_timezone="UTC", now=now)
    few = [row[:] for row in _rows(600)[-3:]]  # 597..599, as they are on file
    few[0][1] = "Renamed Teacher"
    few.append(["new@d.example", "New Person", "mentee", "Lincoln", "math", "", "UTC", ""])
    report = import_roster(engine, _roster(tmp_path / "few.csv", few), program_name="P", default_timezone="UTC", now=now)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 2)
    with session_scope(engine) as session:
        people = repo.people_by_email(session, emails=["t597@d.example", "new@d.example", "t1000@d.example"])
        assert people["t597@d.example"].name == "Renamed Teacher"
        assert repo.profiles(session, person_ids=[people["new@d.example"].id])[people["new@d.example"].id]["subjects"] == ["math"]
        assert people["t1000@d.example"].name == "Teacher 1000"
        assert repo.count_people(session) == 1201


def test_a_bulk_import_stores_awkward_values_and_times_exactly(engine: Engine, tmp_path: Path, now: datetime):
    # Enough rows that PostgreSQL takes people and answers by COPY: quotes, backslashes, tabs and accents must come
    # through as written, times as the aware UTC instant given, list answers as JSON lists.
    rows = _rows(1100)
    rows[4][1] = 'Zoë "Jo" O\'Brien \\ Núñez'
    rows[4][4] = 'math\\science;arts "studio";Ünïcode\ttab'
    import_roster(engine, _roster(tmp_path / "a.csv", rows), program_name="P", default_timezone="UTC", now=now)
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=["t4@d.example"])["t4@d.example"]
        answers = repo.profile_rows(session, person_ids=[person.id])[person.id]
        assert person.name == 'Zoë "Jo" O\'Brien \\ Núñez'
        assert person.created_at == now and person.updated_at == now
        assert answers["subjects"].value == ["math\\science", 'arts "studio"', "Ünïcode tab"]
        assert answers["subjects"].source == "roster" and answers["subjects"].updated_at == now
        assert answers["strengths"].value == []
        assert repo.count_people(session) == 1100


def test_a_bulk_import_refreshes_each_pooled_program_once_from_what_it_wrote(engine: Engine, tmp_path: Path, now: datetime):
    from bot.programs.pools import pool_member_ids
    from bot.programs.store import apply_specs
    from bot.programs.yamlfile import parse_programs

    apply_specs(engine, parse_programs(
        "- name: Lincoln math\n  pool: {sites: [Lincoln], subjects: [Math]}\n- name: Mentors\n  pool: {roles: [mentor]}\n- name: Everyone\n"
    ), now=now)  # fmt: skip
    rows = _rows(1100)  # all at Lincoln with math; odd lines mentors
    for row in rows[:100]:
        row[4] = "ELA"  # not math: out of "Lincoln math"
    first = import_roster(engine, _roster(tmp_path / "a.csv", rows), program_name="P", default_timezone="UTC", now=now)
    assert first.pool_changes == {"Lincoln math": (1000, 0), "Mentors": (550, 0), "Everyone": (1100, 0)}
    for row in rows[100:110]:
        row[3] = "Garfield"  # moved away from Lincoln
    again = import_roster(engine, _roster(tmp_path / "b.csv", rows), program_name="P", default_timezone="UTC", now=now)
    assert again.pool_changes == {"Lincoln math": (0, 10), "Mentors": (0, 0), "Everyone": (0, 0)}
    with session_scope(engine) as session:
        lincoln = repo.get_program(session, name="Lincoln math")
        members = pool_member_ids(session, program_id=lincoln.id)
        people = repo.people_by_email(session, emails=["t0@d.example", "t105@d.example", "t200@d.example"])
        assert members is not None and len(members) == 990
        assert people["t200@d.example"].id in members
        assert people["t0@d.example"].id not in members and people["t105@d.example"].id not in members
        assert len(pool_member_ids(session, program_id=repo.get_program(session, name="Everyone").id) or ()) == 1100
