"""The demo's email leg runs end to end on loopback and tells what happened."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.email.demo_leg import run_email_leg
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from storage import db
from tests.conftest import SHARED_ROSTER


def test_the_email_leg_completes_opt_in_and_profile_by_reply(tmp_path: Path, now: datetime) -> None:
    url = f"sqlite:///{(tmp_path / 'demo.db').as_posix()}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name="Demo", default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name="Demo", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    engine.dispose()
    lines = run_email_leg(Settings(_env_file=None, data_dir=tmp_path), database_url=url, term_id=term.id, now=now)
    text = "\n".join(lines)
    assert 'email to Jordan Lee: "Mentoring this term: Spring 2027"' in text
    assert "from Outlook, the thread quoted below" in text and "-> answer: saved 1 answer; profile complete" in text
    assert lines[-1] == "Stored for Jordan Lee: mentee, opted_in; needs classroom management, family engagement"
    # The second answer mail saved three answers, asked to confirm the subjects it read from "Math, sciense", and
    # still needed the two questions left open.
    assert "-> answer: saved 3 answers; asks to confirm one it hasn't saved; still needs 2, 5" in text
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 5
