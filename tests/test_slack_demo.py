"""`mentorbot demo`'s Slack leg: late joiners answer through the signed HTTP path, against the stand-in, on the demo's own database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from bot.slack.demo_leg import run_slack_leg
from storage import db, repo
from storage.db import session_scope
from tests.conftest import SHARED_ROSTER


def test_the_slack_leg_plays_opt_in_profiles_and_approval_on_the_callers_term(tmp_path: Path, now: datetime) -> None:
    url = f"sqlite:///{(tmp_path / 'mentorbot.db').as_posix()}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name="Demo", default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name="Demo", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name="Demo", term_name=term.name, require_approval=True, now=now)

    lines = run_slack_leg(Settings(_env_file=None, data_dir=tmp_path), database_url=url, program_name="Demo", term_id=term.id)
    text = "\n".join(lines)
    assert lines[0] == "4 teachers who joined after the roster are added and asked by Slack DM."
    assert "Profiles completed in modal pages: Rosa in 2, Sam in 2, Lee in 2." in text
    assert "typed \"Tuesday-ish\"; the modal said:" in text
    assert "Priya Principal clicked Approve, and Rosa Alvarez was told so in Slack." in text
    # The admin's /mentoring status reads the same term: the 70 on the roster and the 4 who joined late.
    assert "/mentoring status → 74 invited, 70 in" in text
    with session_scope(engine) as session:
        assert [p.name for p in repo.list_people(session)].count("Rosa Alvarez") == 1
        enrolled = {person.email: enrollment for enrollment, person in repo.enrollments(session, term_id=term.id)}
        assert len(repo.list_terms(session, program_id=term.program_id)) == 1
    rosa, sam = enrolled["rosa.alvarez@district.example"], enrolled["sam.okafor@district.example"]
    assert (rosa.role, rosa.status, rosa.approval, rosa.capacity) == ("mentor", "opted_in", "approved", 2)
    assert (sam.role, sam.status) == ("mentee", "opted_in")
    assert enrolled["priya.principal@district.example"].status == "opted_out"
    assert not (tmp_path / "slack" / "slack.db").exists()  # no database of its own any more
