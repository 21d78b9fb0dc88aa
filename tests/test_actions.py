"""The use-case layer on both backends: each operation once, who may run it, one unit of work, typed results."""

from __future__ import annotations

import ast
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.actions import access, exports, people, programs, rounds, terms
from bot.actions.access import ACCESS, Actor
from bot.actions.scope import unit_of_work
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.importer import import_roster
from bot.programs.spec import ProgramSpec
from bot.settings import Settings
from bot.outbox import claim_due
from bot.rounds import schedule
from storage import repo
from storage.models import OutboxMessage, Pairing, PlannedSession, ScheduledAction

PROGRAM = "Northside Induction"
OTHER = "Eastside Residency"
HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity,principal_email,avoid"
ROWS = (
    "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,classroom management;SEL,,Tue 15:00-16:30,America/Los_Angeles,1,boss@d.example,",
    "omar@d.example,Omar Khan,mentor,Garfield,9-12,science,assessment,,Wed 15:00-16:00,America/Los_Angeles,1,boss@d.example,",
    "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,,,",
    "cai@d.example,Cai Li,mentee,Lincoln,9-12,science,,assessment,Wed 15:00-15:45,America/Los_Angeles,,,",
)
OPERATOR = Actor.operator()
# A program admin named in the program's definition, by email: an admin of that program, and of no other.
NORTH_ADMIN = Actor(name="Pat Lee", email="pat.lee@d.example", slack_user_id="U0PAT")


def _settings(database_url: str, tmp_path: Path, **values) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM, require_principal_approval=False, **values)


@pytest.fixture
def term(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> Settings:
    """A program with an open term, everyone enrolled from the roster, and a second program beside it."""
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    settings = _settings(database_url, tmp_path)
    with unit_of_work(engine) as session:
        programs.apply_programs(
            session, actor=OPERATOR, now=now,
            specs=[ProgramSpec(name=PROGRAM, admins=["pat.lee@d.example"], require_approval=False), ProgramSpec(name=OTHER)],
        )  # fmt: skip
    with unit_of_work(engine) as session:
        opened = terms.open_term(session, actor=OPERATOR, now=now, settings=settings, name="Spring 2027", enroll_roster=True, program=PROGRAM)
    assert opened.enrolled.mentors == 2 and opened.enrolled.mentees == 2
    with unit_of_work(engine) as session:
        terms.open_term(session, actor=OPERATOR, now=now, settings=settings, name="Spring 2027", enroll_roster=True, program=OTHER)
    return settings


def _micro_round(engine: Engine, settings: Settings, now: datetime, actor: Actor = OPERATOR, program: str | None = PROGRAM) -> int:
    with unit_of_work(engine) as session:
        round_ = rounds.create_round(
            session, actor=actor, now=now, settings=settings, program=program,
            request=rounds.RoundRequest(kind=" Micro ", topic="classroom management", sessions=2, start_on=date(2027, 2, 1)),
        )  # fmt: skip
        return round_.id


def test_a_round_goes_from_draft_to_running_through_the_actions(engine: Engine, term: Settings, now: datetime) -> None:
    round_id = _micro_round(engine, term, now)
    with unit_of_work(engine) as session:
        opened = rounds.open_round(session, actor=OPERATOR, now=now, round_id=round_id)
    assert opened.round.status == "collecting" and opened.announced == 0
    with unit_of_work(engine) as session:
        matched = rounds.match_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id)
    assert matched.round.status == "review"
    assert {(p.mentor_email, p.mentee_email) for p in matched.pairs} == {("ana@d.example", "ben@d.example")}
    assert matched.summary["matched"] == 1 and matched.mentees == 2
    with unit_of_work(engine) as session:
        table = exports.export_pairings(session, actor=OPERATOR, round_id=round_id)
    assert table.headers[:3] == ["round", "mentor_name", "mentor_email"] and table.rows[0][2] == "ana@d.example"
    with unit_of_work(engine) as session:
        published = rounds.publish_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id, message="  Welcome!  ")
    assert published.pairs == 1 and published.actions > 0
    with unit_of_work(engine) as session:
        started = rounds.start_round(session, actor=OPERATOR, now=now + timedelta(days=1), round_id=round_id)
    assert started.round.status == "running"
    with unit_of_work(engine) as session:
        assert rounds.close_round(session, actor=OPERATOR, now=now + timedelta(days=40), round_id=round_id).round.status == "closed"
    # A closed round is over: there is nothing to call off, and nobody hears anything.
    with unit_of_work(engine) as session, pytest.raises(Conflict, match="round .* is closed: its sessions are over, so there is nothing to call off"):
        rounds.cancel_round(session, actor=OPERATOR, now=now + timedelta(days=41), round_id=round_id)
    with unit_of_work(engine) as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "round.cancelled")).all() == []
        assert {p.status for p in session.exec(select(Pairing).where(Pairing.round_id == round_id))} == {"completed"}


def test_a_published_round_is_called_off_and_only_those_told_of_a_pair_hear_it_once(engine: Engine, term: Settings, now: datetime) -> None:
    with unit_of_work(engine) as session:
        round_id = rounds.create_round(
            session, actor=OPERATOR, now=now, settings=term, request=rounds.RoundRequest(kind="micro", sessions=2, start_on=date(2027, 2, 1))
        ).id  # fmt: skip
    with unit_of_work(engine) as session:
        rounds.preview_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id)
    with unit_of_work(engine) as session:
        published = rounds.publish_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id)
    assert published.pairs == 2
    # The sweep queues the pairing notices; the delivery worker has sent Ana's and Omar's, Ben's and Cai's still wait.
    schedule.run_due_actions(engine, now=now + timedelta(minutes=5), config=schedule.schedule_config(term))
    with unit_of_work(engine) as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")).all()
        assert sorted(m.recipient for m in queued) == ["ana@d.example", "ben@d.example", "cai@d.example", "omar@d.example"]
        for message in queued:
            if message.recipient in ("ana@d.example", "omar@d.example"):
                message.status, message.sent_at = "sent", now + timedelta(minutes=6)
        pending_actions = len(session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.status == "pending")).all())
        sent_before = {m.id for m in session.exec(select(OutboxMessage))}
    assert pending_actions > 10  # reminders, touchpoints, check-ins, the survey, start and close
    with unit_of_work(engine) as session:
        preview = rounds.cancel_preview(session, actor=NORTH_ADMIN, round_id=round_id)
    assert (preview.pairs, preview.told) == (2, 2)

    later = now + timedelta(hours=2)
    with unit_of_work(engine) as session:
        cancelled = rounds.cancel_round(session, actor=NORTH_ADMIN, now=later, round_id=round_id, message="  The district paused the program; thank you!  ")
    assert cancelled.summary() == (
        f"Cancelled round {round_id}: 2 pairs called off, 2 people will be told, {pending_actions} scheduled messages and 2 unsent notices dropped."
    )
    with unit_of_work(engine) as session:
        new = [m for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)) if m.id not in sent_before]
        assert [(m.purpose, m.recipient, m.channel) for m in new] == [
            ("round.cancelled", "ana@d.example", "email"), ("round.cancelled", "omar@d.example", "email")
        ]  # fmt: skip
        body = new[0].body
        assert body["custom_message"] == "The district paused the program; thank you!" and "Ben Ortiz" in body["text"]
        assert [pair["partner_name"] for pair in body["pairs"]] == ["Ben Ortiz"] and len(body["pairs"][0]["proposed"]) == 2
        assert body["pairs"][0]["ics_sequence"] == 1  # outranks the invitation Ana's calendar holds
        unsent = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing", OutboxMessage.status == "dropped")).all()
        assert sorted(m.recipient for m in unsent) == ["ben@d.example", "cai@d.example"]
        assert all(m.last_error == f"round {round_id} was cancelled" for m in unsent)
        assert {p.status for p in session.exec(select(Pairing).where(Pairing.round_id == round_id))} == {"cancelled"}
        assert {a.status for a in session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id))} == {"done", "skipped"}
        sessions = session.exec(select(PlannedSession).join(Pairing, Pairing.id == PlannedSession.pairing_id).where(Pairing.round_id == round_id)).all()
        assert sessions and {s.status for s in sessions} == {"cancelled"}

    # Twice is refused, and tells nobody again; the sweep and the delivery worker find nothing of the round to do.
    with unit_of_work(engine) as session, pytest.raises(Conflict, match=f"round {round_id} was cancelled already"):
        rounds.cancel_round(session, actor=OPERATOR, now=later, round_id=round_id, message="again")
    assert schedule.run_due_actions(engine, now=now + timedelta(days=60), config=schedule.schedule_config(term)) == []
    claimed = claim_due(engine, now=now + timedelta(days=60))
    assert sorted(m.purpose for m in claimed) == ["round.cancelled", "round.cancelled"]
    with unit_of_work(engine) as session:
        closed = terms.close_term(session, actor=OPERATOR, now=later, settings=term, program=PROGRAM)
    assert closed.status == "closed"


def test_a_round_whose_match_paired_nobody_is_not_published(engine: Engine, term: Settings, now: datetime) -> None:
    with unit_of_work(engine) as session:
        round_id = rounds.create_round(
            session, actor=OPERATOR, now=now, settings=term, request=rounds.RoundRequest(kind="micro", topic="family communication", sessions=1)
        ).id  # fmt: skip
    with unit_of_work(engine) as session:
        preview = rounds.preview_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id)
    assert preview.round.status == "review" and preview.pairs == []
    with unit_of_work(engine) as session, pytest.raises(Conflict) as refused:
        rounds.publish_round(session, actor=NORTH_ADMIN, now=now, settings=term, round_id=round_id)
    said = str(refused.value)
    assert said.startswith(f"round {round_id} has no pairs to publish: the match paired none of its 2 mentees (2 mentors were available)")
    assert "Nothing was sent" in said and "approve the mentors waiting" in said and "relax a rule" in said and f"cancel round {round_id}" in said
    with unit_of_work(engine) as session:
        assert repo.get_round(session, round_id=round_id).status == "review"
        assert session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.kind == "round.notify")).all() == []
        assert rounds.cancel_round(session, actor=NORTH_ADMIN, now=now, round_id=round_id).summary() == (
            f"Cancelled round {round_id}: 0 pairs called off, nobody had been told of a pair, 0 scheduled messages dropped."
        )


def test_a_round_in_review_is_cancelled_without_a_message_and_the_term_can_close(engine: Engine, term: Settings, now: datetime) -> None:
    round_id = _micro_round(engine, term, now)
    with unit_of_work(engine) as session:
        rounds.preview_round(session, actor=OPERATOR, now=now, settings=term, round_id=round_id)
        sent_before = len(session.exec(select(OutboxMessage)).all())
    with unit_of_work(engine) as session:
        cancelled = rounds.cancel_round(session, actor=NORTH_ADMIN, now=now, round_id=round_id)
    assert cancelled.round.status == "closed" and cancelled.pairs_dropped == 1
    with unit_of_work(engine) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == sent_before
        assert {p.status for p in session.exec(select(Pairing).where(Pairing.round_id == round_id))} == {"cancelled"}
        assert {a.status for a in session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id))} <= {"skipped", "done"}
    with unit_of_work(engine) as session:
        closed = terms.close_term(session, actor=OPERATOR, now=now, settings=term, program=PROGRAM)
    assert closed.status == "closed"


def test_a_program_admin_acts_on_their_program_only(engine: Engine, term: Settings, now: datetime) -> None:
    mine = _micro_round(engine, term, now, actor=NORTH_ADMIN)
    theirs = _micro_round(engine, term, now, program=OTHER)
    with unit_of_work(engine) as session:
        assert rounds.open_round(session, actor=NORTH_ADMIN, now=now, round_id=mine).round.status == "collecting"
    with unit_of_work(engine) as session, pytest.raises(NotAllowed, match="only the program's admins of Eastside Residency"):
        rounds.open_round(session, actor=NORTH_ADMIN, now=now, round_id=theirs)
    # Naming a program the round is not in is refused with where it belongs, whoever asks.
    with unit_of_work(engine) as session, pytest.raises(NotFound, match=f"belongs to {OTHER}, not {PROGRAM}"):
        rounds.open_round(session, actor=OPERATOR, now=now, round_id=theirs, program=PROGRAM)
    with unit_of_work(engine) as session, pytest.raises(NotAllowed, match="site's admins"):
        people.erase_person(session, actor=NORTH_ADMIN, now=now, settings=term, email="ben@d.example", confirmed=True, channel="slack")
    with unit_of_work(engine) as session:
        assert [p.name for p, _spec, _size in programs.list_programs(session, actor=NORTH_ADMIN)] == [PROGRAM]
        assert len(programs.list_programs(session, actor=OPERATOR)) == 2


def test_a_participant_reaches_their_own_data_and_nothing_else(engine: Engine, term: Settings, now: datetime) -> None:
    with unit_of_work(engine) as session:
        ben = Actor(name="Ben Ortiz", email="ben@d.example", person_id=_person_id(session, "ben@d.example"))
        result = people.my_data(session, actor=ben, now=now, channel="email")
    assert result.emailed_to == "ben@d.example"
    with unit_of_work(engine) as session, pytest.raises(NotAllowed):
        terms.nudge(session, actor=ben, now=now, settings=term)
    with unit_of_work(engine) as session, pytest.raises(NotAllowed):
        people.my_data(session, actor=OPERATOR, now=now, channel="email")  # the operator is nobody on the roster


def test_a_missing_record_is_a_user_error_and_nothing_half_done_is_kept(engine: Engine, term: Settings, now: datetime) -> None:
    with pytest.raises(NotFound, match="there is no round 999"):
        with unit_of_work(engine) as session:
            rounds.publish_round(session, actor=OPERATOR, now=now, settings=term, round_id=999)
    # One unit of work: the round created before the failing step is rolled back with it.
    with pytest.raises(NotFound, match="no term called 'Autumn'"):
        with unit_of_work(engine) as session:
            _created = rounds.create_round(session, actor=OPERATOR, now=now, settings=term, request=rounds.RoundRequest(kind="micro"))
            terms.close_term(session, actor=OPERATOR, now=now, settings=term, name="Autumn")
    with unit_of_work(engine) as session:
        _term, listed = rounds.list_rounds(session, actor=OPERATOR, settings=term, program=PROGRAM)
    assert listed == []


def test_an_admins_decision_on_a_mentor_reaches_the_mentor_once(engine: Engine, term: Settings, now: datetime) -> None:
    for _ in range(2):
        with unit_of_work(engine) as session:
            decision = terms.decide_on_mentor(session, actor=NORTH_ADMIN, now=now, settings=term, mentor_email=" ANA@d.example ", capacity=2)
    assert (decision.approval, decision.capacity) == ("approved", 2)
    with unit_of_work(engine) as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "approval.decided")).all()
    assert len(told) == 1 and told[0].body.get("by") == "Pat Lee"
    with unit_of_work(engine) as session, pytest.raises(UserError, match="has not opted in as a mentor"):
        terms.decide_on_mentor(session, actor=OPERATOR, now=now, settings=term, mentor_email="ben@d.example")


def test_program_settings_change_through_the_definition_and_refuse_what_it_refuses(engine: Engine, term: Settings, now: datetime) -> None:
    with unit_of_work(engine) as session:
        assert programs.set_option(session, actor=NORTH_ADMIN, settings=term, key="topics", value=" SEL ;; assessment ;") == ["SEL", "assessment"]
        programs.add_question(session, actor=NORTH_ADMIN, settings=term, key="Coaching_Style", prompt="How do you like feedback?", kind="choice", options="direct; gentle")
    with unit_of_work(engine) as session:
        shown = programs.show_program(session, actor=OPERATOR, now=now, settings=term, program=PROGRAM)
    assert shown.topics == ("SEL", "assessment") and [q.key for q in shown.custom_questions] == ["coaching_style"]
    for key, value, message in (("max_capacity", "eleven", "1 to 10"), ("allow_weekends", "maybe", "not on or off"), ("colour", "blue", "not a setting")):
        with unit_of_work(engine) as session, pytest.raises(UserError, match=message):
            programs.set_option(session, actor=OPERATOR, settings=term, key=key, value=value)
    with unit_of_work(engine) as session, pytest.raises(NotFound, match="no custom question 'mood'"):
        programs.remove_question(session, actor=OPERATOR, settings=term, key="mood")


def test_a_nudge_twice_in_one_minute_reaches_each_person_once(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    settings = _settings(database_url, tmp_path)
    with unit_of_work(engine) as session:
        opened = terms.open_term(session, actor=OPERATOR, now=now, settings=settings, name="Fall 2027")
    assert opened.asked == 4 and dict(opened.asked_by_channel) == {"email": 4}
    counts = []
    for seconds in (0, 20):
        with unit_of_work(engine) as session:
            counts.append(terms.nudge(session, actor=OPERATOR, now=now + timedelta(days=2, seconds=seconds), settings=settings).opt_in)
    assert counts == [4, 4]
    with unit_of_work(engine) as session:
        prompts = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.opt_in")).all()
    assert len(prompts) == 8  # the invitation and one nudge each


def test_the_access_table_names_exactly_the_operations_the_actions_check() -> None:
    used: set[str] = set()
    folder = Path(access.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "operation" and isinstance(keyword.value, ast.Constant):
                        used.add(keyword.value.value)
                if getattr(node.func, "id", None) in ("authorize", "may") and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                    used.add(node.args[1].value)
    assert used <= set(ACCESS), used - set(ACCESS)
    assert set(ACCESS) - used == set(), f"operations in the table that no action checks: {set(ACCESS) - used}"
    assert all(re.fullmatch(r"[a-z]+\.[a-z_]+", name) for name in ACCESS)


def _person_id(session, email: str) -> int:
    from storage import repo

    return repo.people_by_email(session, emails=[email])[email].id
