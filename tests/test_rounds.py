"""Terms and rounds end to end on both backends: import, enroll, approve, match, publish, schedule."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.importer import import_roster
from bot.rounds import schedule, service
from bot.rounds.lifecycle import IllegalTransition
from storage import repo
from storage.db import session_scope

PROGRAM = "Test Program"
CONFIG = schedule.ScheduleConfig(session_minutes=30)
HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity,principal_email,avoid"


def write_roster(folder: Path, *rows: str) -> Path:
    path = folder / "roster.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


SMALL = (
    "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,classroom management;SEL,,Tue 15:00-16:30,America/Los_Angeles,1,boss@d.example,",
    "omar@d.example,Omar Khan,mentor,Garfield,9-12,science,assessment,,Wed 15:00-16:00,America/Los_Angeles,1,boss@d.example,",
    "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,,",
    "cai@d.example,Cai Li,mentee,Lincoln,9-12,science,,assessment,Wed 15:00-15:45,America/Los_Angeles,,,",
    "dee@d.example,Dee Ray,mentee,Lincoln,K-2,arts,,SEL,Fri 15:00-16:00,America/Los_Angeles,,,",
)


def _setup_term(engine: Engine, roster: Path, now: datetime, *, require_approval: bool = False) -> None:
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=require_approval, now=now)


def _new_round(engine: Engine, now: datetime, **request) -> int:
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(**request), now=now
    )
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    return round_.id


def test_matching_a_round_stores_pairs_reasons_and_unmatched(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    round_id = _new_round(engine, now, sessions=2, start_on=date(2027, 2, 1))
    outcome = service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    assert outcome.round.status == "review"
    round_, pairs = service.round_pairs(engine, round_id=round_id)
    assert {(p.mentor_email, p.mentee_email) for p in pairs} == {("ana@d.example", "ben@d.example"), ("omar@d.example", "cai@d.example")}
    assert all(p.reasons and p.score > 0 for p in pairs)
    assert round_.match_summary["matched"] == 2
    assert [u["email"] for u in round_.match_summary["unmatched"]] == ["dee@d.example"]
    assert round_.match_summary["unmatched"][0]["reasons"]


def test_rerunning_in_review_replaces_the_proposal(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    round_id = _new_round(engine, now)
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now + timedelta(hours=1))
    _, pairs = service.round_pairs(engine, round_id=round_id)
    assert len(pairs) == 2
    service.move_round(engine, round_id=round_id, target="published", now=now)
    with pytest.raises(IllegalTransition, match="only a collecting round"):
        service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    _, pairs = service.round_pairs(engine, round_id=round_id)
    assert {p.status for p in pairs} == {"published"}


def test_capacity_is_spent_across_rounds_and_pairs_never_repeat(engine: Engine, tmp_path: Path, now: datetime) -> None:
    roster = write_roster(
        tmp_path,
        "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,SEL,,,America/Los_Angeles,2,,",
        "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,SEL,,America/Los_Angeles,,,",
    )
    _setup_term(engine, roster, now)
    first = _new_round(engine, now)
    assert service.run_matching(engine, round_id=first, session_minutes=30, now=now).result.pairs
    second = _new_round(engine, now)
    outcome = service.run_matching(engine, round_id=second, session_minutes=30, now=now)
    assert outcome.result.pairs == ()  # the only possible pair was made in the first round
    assert outcome.result.unmatched[0].key == "ben@d.example"


def test_mentors_wait_for_their_principal(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now, require_approval=True)
    round_id = _new_round(engine, now)
    assert service.run_matching(engine, round_id=round_id, session_minutes=30, now=now).result.pairs == ()
    service.decide_approval(
        engine, program_name=PROGRAM, term_name=None, mentor_email="ANA@d.example", approve=True, decided_by="boss@d.example", now=now
    )
    service.decide_approval(
        engine, program_name=PROGRAM, term_name=None, mentor_email="omar@d.example", approve=False, decided_by="boss@d.example", now=now
    )
    outcome = service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    assert [(p.mentor, p.mentee) for p in outcome.result.pairs] == [("ana@d.example", "ben@d.example")]
    with pytest.raises(service.RoundError, match="has not opted in as a mentor"):
        service.decide_approval(
            engine, program_name=PROGRAM, term_name=None, mentor_email="ben@d.example", approve=True, decided_by="x", now=now
        )
    with pytest.raises(service.RoundError, match="nobody with the email"):
        service.decide_approval(
            engine, program_name=PROGRAM, term_name=None, mentor_email="who@d.example", approve=True, decided_by="x", now=now
        )


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"kind": "mega"}, "not a kind of round"),
        ({"sessions": 4}, "1, 2 or 3 sessions"),
        ({"kind": "speed", "rotation_minutes": 10}, "needs --rotations"),
        ({"kind": "speed", "rotations": 6, "rotation_minutes": 90}, "3 to 60 minutes"),
        ({"match_on": date(2026, 11, 1)}, "already past"),
        ({"match_on": date(2027, 2, 5), "start_on": date(2027, 2, 1)}, "on or before the start date"),
        ({"start_on": date(2027, 2, 5), "end_on": date(2027, 2, 1)}, "end date must come after"),
    ],
)
def test_impossible_rounds_are_refused(engine: Engine, tmp_path: Path, now: datetime, request_fields: dict, message: str) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    with pytest.raises(service.RoundError, match=message):
        service.create_round(engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(**request_fields), now=now)
    with session_scope(engine) as session:
        term = repo.get_term(session, program_id=repo.get_program(session, name=PROGRAM).id)
        assert repo.list_rounds(session, term_id=term.id) == []


def test_terms_refuse_duplicates_and_close_only_when_done(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    with pytest.raises(service.RoundError, match="already exists"):
        service.open_term(engine, program_name=PROGRAM, timezone="UTC", name="Spring 2027", opt_in_by=None, now=now)
    round_id = _new_round(engine, now)
    with pytest.raises(IllegalTransition, match="not closed"):
        service.close_term(engine, program_name=PROGRAM, name="Spring 2027", now=now)
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    for target in ("published", "running", "closed"):
        service.move_round(engine, round_id=round_id, target=target, now=now)
    assert service.close_term(engine, program_name=PROGRAM, name="Spring 2027", now=now).status == "closed"
    with pytest.raises(IllegalTransition, match="the term is closed"):
        service.create_round(engine, program_name=PROGRAM, term_name="Spring 2027", request=service.RoundRequest(), now=now)


def test_a_round_matches_itself_on_its_match_date_exactly_once(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(match_on=date(2026, 12, 1)), now=now
    )
    assert schedule.run_due_actions(engine, config=CONFIG, now=now) == []  # not due yet
    # 06:00 in Los Angeles on the match date is 14:00 UTC.
    due = datetime.fromisoformat("2026-12-01T14:00:00+00:00")
    assert schedule.run_due_actions(engine, config=CONFIG, now=due - timedelta(minutes=1)) == []
    outcomes = schedule.run_due_actions(engine, config=CONFIG, now=due)
    assert [(status, result) for _, status, result in outcomes] == [("done", "matched 2 of 3 mentees")]
    assert schedule.run_due_actions(engine, config=CONFIG, now=due + timedelta(days=1)) == []
    round_, pairs = service.round_pairs(engine, round_id=round_.id)
    assert round_.status == "review" and len(pairs) == 2


def test_a_round_already_past_collecting_is_skipped_with_a_reason(engine: Engine, tmp_path: Path, now: datetime) -> None:
    _setup_term(engine, write_roster(tmp_path, *SMALL), now)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(match_on=date(2026, 12, 1)), now=now
    )
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)  # the admin matched early
    outcomes = schedule.run_due_actions(engine, config=CONFIG, now=datetime.fromisoformat("2026-12-02T00:00:00+00:00"))
    assert [(status, result) for _, status, result in outcomes] == [
        ("skipped", f"round {round_.id} was already review when its match date came")
    ]
