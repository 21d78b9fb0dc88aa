"""Round kinds: every kind in the table describes itself, checks its requests, and runs end to end through the table.

A new kind added to `bot/rounds/kinds.py:KINDS` fails these tests until it has an example below: a description, a
good and a bad request, and a run from creation to pairs.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.rounds import events, schedule, service
from bot.rounds.kinds import KINDS, Matcher, RoundRequest, describe, kind_of
from storage import repo
from storage.db import session_scope
from storage.models import Round
from tests.test_cli import run
from tests.test_events import PROGRAM, person_id, setup_program
from tests.test_interviews import HEADER, ROSTER

CONFIG = schedule.ScheduleConfig(session_minutes=30, public_base_url="http://mentorbot.test")
TODAY = date(2026, 11, 23)  # the `now` fixture's day
SPEED_AT = datetime(2026, 12, 2, 23, 30, tzinfo=timezone.utc)  # Wed Dec 2, 15:30 in Los Angeles

# One round of each kind as stored, and how it reads.
DESCRIBED = {
    "micro": (Round(kind="micro", sessions=2, topic="SEL"), "2-session micro-mentoring on SEL"),
    "speed": (Round(kind="speed", rotations=6, rotation_minutes=10), "speed mentoring, 6\u00d710 min"),
    "event": (Round(kind="event", sessions=1, settings={"topics": ["SEL", "assessment"]}), "topic event on SEL; assessment"),
    "interview": (Round(kind="interview", sessions=1), "informational interviews"),
}

# A request each kind accepts, one it refuses, and the reason it gives.
REQUESTS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "micro": (
        {"sessions": 2, "topic": "SEL", "match_on": date(2026, 12, 1), "start_on": date(2026, 12, 7)},
        {"sessions": 4},
        "a micro-mentoring round has 1, 2 or 3 sessions",
    ),
    "speed": (
        {"rotations": 3, "rotation_minutes": 10, "starts_at": SPEED_AT},
        {"rotation_minutes": 10, "starts_at": SPEED_AT},
        "a speed-mentoring event needs --rotations (how many partners each mentee meets)",
    ),
    "event": (
        {"topics": "SEL; assessment", "start_on": date(2026, 11, 30), "match_on": date(2026, 12, 3), "end_on": date(2026, 12, 8)},
        {"topics": "SEL; assessment", "start_on": date(2026, 11, 30)},
        "a topic event needs --match-on, the day sign-ups close and pairs are made",
    ),
    "interview": (
        {"start_on": date(2026, 11, 30), "match_on": date(2026, 12, 3), "end_on": date(2026, 12, 11)},
        {"start_on": date(2026, 12, 4), "match_on": date(2026, 12, 3)},
        "sign-ups open (--start-on) on or before the match date",
    ),
}


def test_every_kind_in_the_table_has_an_example_here() -> None:
    assert list(KINDS) == ["micro", "speed", "event", "interview"]
    assert set(DESCRIBED) == set(REQUESTS) == set(KINDS)


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_describes_itself(name: str) -> None:
    kind = KINDS[name]
    round_, expected = DESCRIBED[name]
    assert kind.name == name and kind_of(name) is kind and kind_of(round_) is kind and kind.label
    assert kind.describe(round_) == describe(round_) == expected


def test_an_unknown_kind_is_refused_with_the_kinds_there_are() -> None:
    with pytest.raises(service.RoundError, match="'speedy' is not a kind of round; use micro, speed, event or interview"):
        kind_of("speedy")
    with pytest.raises(service.RoundError, match="'speedy' is not a kind of round"):
        service.validate_round_request(RoundRequest(kind="speedy"), today=TODAY)


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_accepts_a_good_request_and_refuses_a_bad_one_with_the_reason(name: str) -> None:
    good, bad, reason = REQUESTS[name]
    KINDS[name].validate(RoundRequest(kind=name, **good), today=TODAY)
    service.validate_round_request(RoundRequest(kind=name, **good), today=TODAY)
    with pytest.raises(service.RoundError) as refused:
        KINDS[name].validate(RoundRequest(kind=name, **bad), today=TODAY)
    assert str(refused.value) == reason
    with pytest.raises(service.RoundError) as refused_by_service:
        service.validate_round_request(RoundRequest(kind=name, **bad), today=TODAY)
    assert str(refused_by_service.value) == reason


def _sign_up(engine: Engine, round_id: int, name: str, now: datetime) -> None:
    """People answer the announcement: two mentors and two mentees for the SEL topic, or two mentees naming a position."""
    if KINDS[name].asks_interest:
        for email in ("dia@d.example", "eli@d.example"):
            outcome = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, email), text="assistant principal", source="email", now=now)
            assert outcome.status == "joined", outcome.text
        return
    for email in ("ava@d.example", "cal@d.example", "dia@d.example", "eli@d.example"):
        outcome = events.join(engine, round_id=round_id, person_id=person_id(engine, email), topic="SEL", source="slack", now=now)
        assert outcome.status == "joined", outcome.text


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_is_created_opened_and_paired_as_its_kind_says(engine: Engine, tmp_path: Path, now: datetime, name: str) -> None:
    kind = KINDS[name]
    setup_program(engine, tmp_path, now, rows=ROSTER, header=HEADER)
    good, _bad, _reason = REQUESTS[name]
    round_ = service.create_round(engine, program_name=PROGRAM, term_name=None, request=RoundRequest(kind=name, **good), now=now)
    assert round_.kind == name and describe(round_)

    # Creating it scheduled exactly what its kind plans: an announcement, the match on its date, or the rotation plan.
    with session_scope(engine) as session:
        stored = repo.get_round(session, round_id=round_.id)
        planned = kind.plan(stored, timezone="America/Los_Angeles", now=now)
        scheduled = [(a.idempotency_key, a.kind, a.due_at) for a in repo.round_actions(session, round_id=round_.id)]
    assert planned and sorted(scheduled) == sorted((p.key, p.action, p.due_at) for p in planned)

    # Opening it announces it to its pool only when its kind announces itself.
    announced = events.open_round(engine, round_id=round_.id, now=now)
    assert (announced > 0) == kind.announces
    if kind.announces:
        _sign_up(engine, round_.id, name, now)
    else:
        refused = events.join(engine, round_id=round_.id, person_id=person_id(engine, "dia@d.example"), topic="SEL", source="slack", now=now)
        assert refused.status == "closed" and "doesn't take sign-ups" in refused.text

    if kind.matcher is Matcher.ROTATION:
        # Planned now, like any round's match, and published; the day-before job sends the schedules from this plan.
        outcome = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
        assert outcome.round.status == "review" and outcome.rotations is not None and outcome.rotations.meetings
        schedule.publish_round(engine, round_id=round_.id, now=now, config=CONFIG)
        (plan,) = planned
        done = schedule.run_due_actions(engine, now=plan.due_at + timedelta(minutes=1), config=CONFIG)
        assert [result for result in done if result[1] == "done"], done
        expected_status = "published"
    else:
        outcome = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
        assert outcome.result.pairs, outcome.round.match_summary
        expected_status = "review"

    paired, pairs = service.round_pairs(engine, round_id=round_.id)
    assert paired.status == expected_status and pairs
    if kind.matcher is Matcher.SIGNUPS:
        # Each pair carries what it is about: the topic joined, or the position the mentee named.
        assert {p.topic for p in pairs} == {"assistant principal" if kind.asks_interest else "SEL"}
        assert {p.mentee_email for p in pairs} <= {"dia@d.example", "eli@d.example"}


def test_round_list_describes_each_round_by_its_kind(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    env = {"PROGRAM_NAME": PROGRAM, "REQUIRE_PRINCIPAL_APPROVAL": "false"}
    assert run(tmp_path, "import", "roster", "roster.csv", extra_env=env).returncode == 0
    assert run(tmp_path, "term", "open", "Spring 2027", "--enroll-roster", extra_env=env).returncode == 0
    today = datetime.now(timezone.utc).date()
    soon, later = str(today + timedelta(days=3)), str(today + timedelta(days=8))
    for args in (
        ("event", "--topics", "SEL; assessment", "--start-on", str(today), "--match-on", soon, "--end-on", later),
        ("micro", "--topic", "SEL", "--sessions", "2"),
        ("speed", "--rotations", "6", "--minutes", "10", "--at", f"{later} 15:30"),
        ("interview", "--match-on", soon),
    ):
        created = run(tmp_path, "round", "new", *args, extra_env=env)
        assert created.returncode == 0, created.stdout + created.stderr

    listing = run(tmp_path, "round", "list", extra_env=env)
    assert listing.returncode == 0
    rows = {line.split()[1]: " ".join(line.split()) for line in listing.stdout.splitlines() if line.split()[1:2] and line.split()[1].isdecimal()}
    assert "topic event on SEL; assessment" in rows["1"] and "micro" not in rows["1"]
    assert "2-session micro-mentoring on SEL" in rows["2"]
    assert "speed mentoring, 6\u00d710 min" in rows["3"]
    assert "informational interviews" in rows["4"]
