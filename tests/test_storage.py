"""Storage on both backends: migrations, uniqueness, UTC times, JSON answers, idempotent scheduling."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage import db, repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person

EXPECTED_TABLES = {
    "program", "pool", "pool_member", "person", "profile_answer", "term", "enrollment", "round", "pairing",
    "planned_session", "dialog_state", "outbox_message", "scheduled_action", "check_in", "survey_answer",
    "round_signup", "data_request", "held_reply", "admin_session",
}  # fmt: skip
HEAD = "0009"


def _person(session, now, email="ana@district.example", **extra) -> Person:
    person, outcome = repo.upsert_person(
        session, existing=None, fields={"email": email, "name": "Ana Chen", "role": "mentor", **extra}, now=now
    )
    assert outcome == "created"
    session.flush()
    return person


def test_migrations_create_every_table_and_downgrade_to_empty(empty_database_url: str) -> None:
    engine = db.create_db_engine(empty_database_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == HEAD
    assert EXPECTED_TABLES <= set(sa.inspect(engine).get_table_names())
    db.downgrade(engine, "base")
    assert set(sa.inspect(engine).get_table_names()) & EXPECTED_TABLES == set()
    db.upgrade(engine)  # and back up again, as an admin recovering would
    assert db.current_revision(engine) == HEAD
    engine.dispose()


def test_migrations_match_the_models(empty_database_url: str) -> None:
    """Alembic sees no difference between the migrated schema and the SQLModel tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = db.create_db_engine(empty_database_url)
    db.upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_person_email_is_unique(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        _person(session, now)
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            session.add(Person(email="ana@district.example", name="Other Ana", created_at=now, updated_at=now))
    with session_scope(engine) as session:
        assert repo.count_people(session) == 1


def test_upsert_person_reports_unchanged_and_updated(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        _person(session, now)
    later = now + timedelta(days=1)
    with session_scope(engine) as session:
        existing = repo.people_by_email(session, emails=["ana@district.example"])["ana@district.example"]
        _, outcome = repo.upsert_person(
            session, existing=existing, fields={"email": "ana@district.example", "name": "Ana Chen"}, now=later
        )
        assert outcome == "unchanged"
        _, outcome = repo.upsert_person(
            session, existing=existing, fields={"email": "ana@district.example", "name": "Ana Chen-Ruiz"}, now=later
        )
        assert outcome == "updated"
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=["ana@district.example"])["ana@district.example"]
        assert person.name == "Ana Chen-Ruiz"
        assert person.updated_at == later
        assert person.created_at == now


def test_migration_0008_adds_and_removes_the_slack_failing_columns(empty_database_url: str) -> None:
    engine = db.create_db_engine(empty_database_url)
    try:
        db.upgrade(engine, "0008")
        assert {"slack_failing_at", "slack_failure"} <= {c["name"] for c in sa.inspect(engine).get_columns("person")}
        db.downgrade(engine, "0007")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("person")}
        assert not {"slack_failing_at", "slack_failure"} & columns and "email_failing_at" in columns
    finally:
        engine.dispose()


def test_migration_0009_adds_and_removes_the_admin_session_table(empty_database_url: str) -> None:
    engine = db.create_db_engine(empty_database_url)
    try:
        db.upgrade(engine, "0009")
        assert {"key_hash", "account", "expires_at", "ended_at"} <= {c["name"] for c in sa.inspect(engine).get_columns("admin_session")}
        db.downgrade(engine, "0008")
        assert "admin_session" not in sa.inspect(engine).get_table_names() and "held_reply" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_new_slack_id_from_the_roster_lifts_the_slack_failing_mark(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        ana = _person(session, now, slack_user_id="UOLD00001")
        ana.slack_failing_at, ana.slack_failure = now, "Slack account deactivated (user_disabled)"
    with session_scope(engine) as session:
        existing = repo.people_by_email(session, emails=["ana@district.example"])["ana@district.example"]
        repo.upsert_person(session, existing=existing, fields={"name": "Ana C."}, now=now)
        assert existing.slack_failing_at == now  # another change leaves the mark
        repo.upsert_person(session, existing=existing, fields={"slack_user_id": "UNEW00001"}, now=now)
    with session_scope(engine) as session:
        person = repo.people_by_email(session, emails=["ana@district.example"])["ana@district.example"]
        assert (person.slack_user_id, person.slack_failing_at, person.slack_failure) == ("UNEW00001", None, None)


def test_times_come_back_as_aware_utc(engine: Engine) -> None:
    pacific = datetime(2027, 3, 14, 9, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    with session_scope(engine) as session:
        person = _person(session, pacific)
        person_id = person.id
    with session_scope(engine) as session:
        stored = session.get(Person, person_id)
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.created_at == pacific


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with session_scope(engine) as session:
            session.add(Person(email="x@district.example", name="X", created_at=datetime(2027, 1, 1), updated_at=datetime(2027, 1, 1)))


def test_profile_answers_keep_what_people_said_themselves(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        person_id = _person(session, now).id
        assert repo.set_profile_answers(
            session, person_id=person_id, answers={"strengths": ["SEL"], "availability": ["Mon 15:00-16:00"]}, source="roster", now=now
        )
    with session_scope(engine) as session:
        repo.set_profile_answers(session, person_id=person_id, answers={"strengths": ["co-teaching", "SEL"]}, source="slack", now=now)
    with session_scope(engine) as session:
        changed = repo.set_profile_answers(
            session,
            person_id=person_id,
            answers={"strengths": ["assessment"], "availability": ["Tue 15:00-16:00"]},
            source="roster",
            now=now,
            keep_answers_from=("slack", "email"),
        )
        assert changed
    with session_scope(engine) as session:
        answers = repo.profiles(session, person_ids=[person_id])[person_id]
    assert answers == {"strengths": ["co-teaching", "SEL"], "availability": ["Tue 15:00-16:00"]}


def test_a_failed_transaction_leaves_nothing_half_written(engine: Engine, now: datetime) -> None:
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            person_id = _person(session, now).id
            repo.set_profile_answers(session, person_id=person_id, answers={"needs": ["SEL"]}, source="roster", now=now)
            session.flush()
            raise RuntimeError("crash mid-import")
    with session_scope(engine) as session:
        assert repo.count_people(session) == 0
        assert repo.profiles(session, person_ids=[1]) == {1: {}}


def test_enrollment_is_one_per_person_and_term(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        program = repo.get_or_create_program(session, name="P", timezone="America/Chicago", now=now)
        term = repo.create_term(session, program_id=program.id, name="Spring 2027", opt_in_by=date(2027, 1, 22), now=now)
        person_id = _person(session, now).id
        repo.upsert_enrollment(session, term_id=term.id, person_id=person_id, role="mentor", capacity=2, status="opted_in", approval="pending", now=now)
        session.flush()
        repo.upsert_enrollment(session, term_id=term.id, person_id=person_id, role="mentor", capacity=1, status="opted_in", approval="approved", now=now)
    with session_scope(engine) as session:
        rows = repo.enrollments(session, term_id=term.id)
    assert len(rows) == 1
    assert (rows[0][0].capacity, rows[0][0].approval) == (1, "approved")


def test_outbox_idempotency_key_is_unique(engine: Engine, now: datetime) -> None:
    message = dict(idempotency_key="pairing-notice:7:ana", channel="email", purpose="pairing-notice", recipient="ana@district.example", created_at=now)
    with session_scope(engine) as session:
        session.add(OutboxMessage(**message, body={"text": "hello"}))
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            session.add(OutboxMessage(**message, body={"text": "hello again"}))


def test_scheduled_action_is_created_once_and_claimed_once(engine: Engine, now: datetime) -> None:
    due = now + timedelta(hours=1)
    with session_scope(engine) as session:
        first = repo.schedule_action(session, idempotency_key="round.match:1", kind="round.match", due_at=due)
        again = repo.schedule_action(session, idempotency_key="round.match:1", kind="round.match", due_at=due + timedelta(hours=1))
        assert first.id == again.id
    with session_scope(engine) as session:
        assert repo.due_action_ids(session, now=now) == []
        assert repo.due_action_ids(session, now=due + timedelta(hours=1)) == [first.id]
    with session_scope(engine) as session:
        assert repo.claim_action(session, action_id=first.id) is True
    with session_scope(engine) as session:
        assert repo.claim_action(session, action_id=first.id) is False
        repo.finish_action(session, action_id=first.id, status="done", result="ok", now=due)
    with session_scope(engine) as session:
        action = repo.get_action(session, action_id=first.id)
        assert (action.status, action.result, action.done_at) == ("done", "ok", due)
        assert repo.due_action_ids(session, now=due + timedelta(days=1)) == []


def test_json_columns_round_trip(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        program = repo.get_or_create_program(session, name="P", timezone="UTC", now=now)
        term = repo.create_term(session, program_id=program.id, name="T", opt_in_by=None, now=now)
        round_ = repo.create_round(session, term_id=term.id, fields={"kind": "micro", "sessions": 2, "settings": {"relax": ["subject"], "cross_site": "prefer"}}, now=now)
        round_id = round_.id
    with session_scope(engine) as session:
        stored = repo.get_round(session, round_id=round_id, for_update=True)
        assert stored.settings == {"relax": ["subject"], "cross_site": "prefer"}
        assert stored.status == "draft"
        assert stored.created_at == now.astimezone(timezone.utc)
