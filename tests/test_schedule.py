"""Rounds on a schedule: the calendar rules, a whole 3-session round by advancing the clock, and exactly-once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs
from bot.importer import import_roster
from bot.rounds import schedule, service
from bot.rounds.calendar import PairPlan, ProgramCalendar, is_quiet, next_sendable, plan_round, propose_sessions
from bot.rounds.leader import Leadership
from storage import repo
from storage.db import create_db_engine, session_scope
from storage.models import OutboxMessage, Pairing, Person, PlannedSession, Program, ScheduledAction

LA = ZoneInfo("America/Los_Angeles")
CALENDAR = ProgramCalendar(timezone="America/Los_Angeles", blackouts=((date(2027, 2, 15), date(2027, 2, 19)),))
CONFIG = schedule.ScheduleConfig(session_minutes=30)
PROGRAM = "Schedule Program"


def la(*args: int) -> datetime:
    return datetime(*args, tzinfo=LA).astimezone(timezone.utc)


# --- the calendar, pure ------------------------------------------------------------------------


def test_quiet_hours_weekends_and_blackouts() -> None:
    assert not is_quiet(la(2027, 2, 9, 15, 0), person_timezone="America/Los_Angeles", calendar=CALENDAR)
    assert is_quiet(la(2027, 2, 9, 21, 0), person_timezone="America/Los_Angeles", calendar=CALENDAR)  # night
    assert is_quiet(la(2027, 2, 9, 6, 59), person_timezone="America/Los_Angeles", calendar=CALENDAR)  # early morning
    assert is_quiet(la(2027, 2, 13, 12, 0), person_timezone="America/Los_Angeles", calendar=CALENDAR)  # Saturday
    assert is_quiet(la(2027, 2, 16, 12, 0), person_timezone="America/Los_Angeles", calendar=CALENDAR)  # mid-winter break
    # 15:00 in Los Angeles is already 18:00 in New York, still fine; 17:00 is 20:00 there, which is quiet.
    assert not is_quiet(la(2027, 2, 9, 15, 0), person_timezone="America/New_York", calendar=CALENDAR)
    assert is_quiet(la(2027, 2, 9, 17, 0), person_timezone="America/New_York", calendar=CALENDAR)


def test_next_sendable_waits_for_the_next_school_morning() -> None:
    friday_night = la(2027, 2, 12, 22, 0)
    assert next_sendable(friday_night, person_timezone="America/Los_Angeles", calendar=CALENDAR) == la(2027, 2, 22, 7, 0)
    open_moment = la(2027, 2, 9, 10, 0)
    assert next_sendable(open_moment, person_timezone="America/Los_Angeles", calendar=CALENDAR) == open_moment


def test_sessions_land_in_the_shared_window_and_skip_breaks() -> None:
    tuesday_1530_la = (1 * 1440 + 23 * 60 + 30, 1 * 1440 + 24 * 60 + 30)  # Tue 23:30-00:30 UTC
    times = propose_sessions(
        [tuesday_1530_la], sessions=3, session_minutes=30, first_day=date(2027, 2, 8), calendar=CALENDAR, not_before=la(2027, 2, 1, 9)
    )
    local = [start.astimezone(LA) for start, _ in times]
    assert [t.date() for t in local] == [date(2027, 2, 9), date(2027, 2, 23), date(2027, 3, 2)]  # 16 Feb is the break
    assert all(t.time() == time(15, 30) for t in local)
    assert all(end - start == timedelta(minutes=30) for start, end in times)


def test_a_plan_has_every_promise_in_order_and_none_in_quiet_time() -> None:
    sessions = tuple(
        propose_sessions([(1 * 1440 + 23 * 60 + 30, 1 * 1440 + 24 * 60 + 30)], sessions=3, session_minutes=30,
                         first_day=date(2027, 2, 8), calendar=CALENDAR, not_before=la(2027, 2, 1, 9))
    )  # fmt: skip
    plan = plan_round(
        round_id=1, published_at=la(2027, 2, 1, 9), end_on=date(2027, 3, 12),
        pairs=[PairPlan(7, "America/Los_Angeles", "America/New_York", sessions)], calendar=CALENDAR,
    )  # fmt: skip
    kinds = Counter(action.kind for action in plan)
    assert kinds == {
        "round.notify": 1, "round.start": 1, "session.reminder": 12, "touchpoint.share": 2, "touchpoint.feedback": 2,
        "checkin.ask": 1, "checkin.escalate": 1, "survey.ask": 1, "round.close": 1,
    }  # fmt: skip
    assert plan[0].kind == "round.notify" and plan[-1].kind == "round.close"
    assert [a.due_at for a in plan] == sorted(a.due_at for a in plan)
    for action in plan:
        if action.person_timezone:
            assert not is_quiet(action.due_at, person_timezone=action.person_timezone, calendar=CALENDAR), action
    reminders = [a for a in plan if a.kind == "session.reminder"]
    for reminder in reminders:
        start = sessions[reminder.payload["number"] - 1][0]
        assert reminder.due_at < start


# --- a whole round by advancing the clock ------------------------------------------------------

HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity"
ROWS = (
    "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,classroom management,,Tue 15:00-16:30,America/Los_Angeles,1",
    "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,classroom management,Tue 15:30-16:30,America/Los_Angeles,",
    "cam@d.example,Cam Diaz,mentor,Harbor,3-5,science,assessment,,Thu 12:00-13:00,America/Los_Angeles,1",
    "dee@d.example,Dee Ray,mentee,Lincoln,3-5,science,,assessment,Thu 15:00-16:00,America/New_York,",
)


def _published_round(engine: Engine, tmp_path: Path, now: datetime, *, rows=ROWS, sessions: int = 3) -> int:
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        program = repo.get_program(session, name=PROGRAM)
        program.settings = {"blackouts": [["2027-02-15", "2027-02-19"]], "admin_emails": ["admin@d.example"]}
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=now,
        request=service.RoundRequest(sessions=sessions, start_on=date(2027, 2, 8), end_on=date(2027, 3, 12)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    schedule.publish_round(engine, round_id=round_.id, now=now, config=CONFIG, message="Welcome to spring mentoring!")
    assert term.id
    return round_.id


def _travel(engine: Engine, start: datetime, end: datetime, step: timedelta, on_tick=None) -> datetime:
    moment = start
    while moment <= end:
        schedule.run_due_actions(engine, now=moment, config=CONFIG)
        if on_tick:
            on_tick(moment)
        moment += step
    return moment


def _messages(engine: Engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)))


def test_a_three_session_round_runs_itself(engine: Engine, tmp_path: Path) -> None:
    published = la(2027, 2, 1, 9, 0)
    round_id = _published_round(engine, tmp_path, published)
    with session_scope(engine) as session:
        pairs = {(p.mentor_id, p.mentee_id): p.id for p in repo.round_pairings(session, round_id=round_id)}
        people = {p.email: p for p in session.exec(select(Person))}
    ana_ben = pairs[(people["ana@d.example"].id, people["ben@d.example"].id)]

    def answer_check_ins(moment: datetime) -> None:
        # Ana and Ben say they met as soon as they are asked; Cam and Dee never answer.
        for email in ("ana@d.example", "ben@d.example"):
            state = dialogs.current_state(engine, person_id=people[email].id, flow="check_in", context=f"pairing:{ana_ben}")
            if state is None and any(m.purpose == "prompt.check_in" and m.person_id == people[email].id for m in _messages(engine)):
                dialogs.answer(engine, person_id=people[email].id, flow="check_in", context=f"pairing:{ana_ben}", channel="email", replies={"met": "met"}, now=moment)

    _travel(engine, published, la(2027, 3, 25, 9, 0), timedelta(hours=1), on_tick=answer_check_ins)

    with session_scope(engine) as session:
        round_ = repo.get_round(session, round_id=round_id)
        actions = list(session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id)))
        cam_dee = session.get(Pairing, pairs[(people["cam@d.example"].id, people["dee@d.example"].id)])
        assert (round_.status, cam_dee.status) == ("closed", "stalled")
    assert {a.status for a in actions} == {"done"}, [(a.idempotency_key, a.status, a.result) for a in actions if a.status != "done"]

    messages = _messages(engine)
    keys = [m.idempotency_key for m in messages]
    assert len(keys) == len(set(keys))
    by_person = Counter((m.recipient, m.purpose) for m in messages)
    for email in ("ben@d.example", "dee@d.example"):
        assert by_person[(email, "pairing")] == 1
        assert by_person[(email, "session.reminder")] >= 3  # at least one per session
        assert by_person[(email, "touchpoint.share")] == 2
        assert by_person[(email, "prompt.check_in")] == 1
        assert by_person[(email, "prompt.survey")] == 1
    assert by_person[("admin@d.example", "escalation")] == 1  # only the pair that never answered

    ben_first = [m.purpose for m in messages if m.recipient == "ben@d.example"]
    assert ben_first[0] == "pairing" and ben_first[-1] == "prompt.survey"
    assert "Welcome to spring mentoring!" in next(m for m in messages if m.purpose == "pairing").body["text"]
    for message in messages:
        with session_scope(engine) as session:
            tz = session.get(Person, message.person_id).timezone if message.person_id else "America/Los_Angeles"
        local = message.created_at.astimezone(ZoneInfo(tz))
        assert not CALENDAR.is_blackout(local.date()), (message.idempotency_key, local)
        assert local.weekday() < 5 and time(7) <= local.time() < time(19), (message.idempotency_key, local)


def test_actions_missed_during_downtime_run_if_still_useful_else_are_skipped(engine: Engine, tmp_path: Path) -> None:
    published = la(2027, 2, 1, 9, 0)
    round_id = _published_round(engine, tmp_path, published)
    # The server was down from publication until the morning after the first sessions.
    schedule.run_due_actions(engine, now=la(2027, 2, 11, 9, 0), config=CONFIG)  # the restart
    with session_scope(engine) as session:
        actions = {a.idempotency_key: a for a in session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id))}
    notify = actions[f"round.notify:{round_id}"]
    assert notify.status == "done"  # ten days late is still worth telling people they are paired
    restart = la(2027, 2, 11, 9, 0)
    with session_scope(engine) as session:
        starts = {(s.pairing_id, s.number): s.starts_at for s in session.exec(select(PlannedSession))}
    due_reminders = [a for a in actions.values() if a.kind == "session.reminder" and a.due_at <= restart]
    assert due_reminders
    for reminder in due_reminders:
        started = starts[(reminder.payload["pairing_id"], reminder.payload["number"])] <= restart
        assert reminder.status == ("skipped" if started else "done"), reminder.idempotency_key
        if started:
            assert "already started" in reminder.result
    assert any(a.status == "skipped" for a in due_reminders) and any(a.status == "done" for a in due_reminders)


def test_two_workers_carry_out_each_action_once(engine: Engine, tmp_path: Path) -> None:
    published = la(2027, 2, 1, 9, 0)
    round_id = _published_round(engine, tmp_path, published)
    later = la(2027, 2, 10, 12, 0)
    results: list = []

    def worker() -> None:
        results.extend(schedule.run_due_actions(engine, now=later, config=CONFIG))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = Counter(action_id for action_id, _status, _result in results)
    assert ran and max(ran.values()) == 1
    with session_scope(engine) as session:
        due = list(session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.due_at <= later)))
    assert {a.status for a in due} <= {"done", "skipped"}
    assert len(ran) == len(due)


def test_a_stalled_pair_is_rematched_with_someone_new(engine: Engine, tmp_path: Path) -> None:
    rows = ROWS + ("eve@d.example,Eve Moss,mentor,Harbor,3-5,science,assessment,,Thu 15:00-16:00,America/New_York,1",)
    published = la(2027, 2, 1, 9, 0)
    round_id = _published_round(engine, tmp_path, published, rows=rows)
    with session_scope(engine) as session:
        dee = repo.people_by_email(session, emails=["dee@d.example"])["dee@d.example"]
        old = next(p for p in repo.round_pairings(session, round_id=round_id) if p.mentee_id == dee.id)
    new = schedule.rematch(engine, pairing_id=old.id, now=la(2027, 2, 16, 9, 0), config=CONFIG)
    with session_scope(engine) as session:
        assert session.get(Pairing, old.id).status == "cancelled"
        assert new is not None and new.mentee_id == dee.id and new.mentor_id != old.mentor_id
        notices = [m for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")) if m.body["pairing_id"] == new.id]
    assert len(notices) >= 2
    with pytest.raises(service.RoundError, match="cancelled"):
        schedule.rematch(engine, pairing_id=old.id, now=la(2027, 2, 16, 9, 0), config=CONFIG)


def test_a_rematch_keeps_the_programs_rules(engine: Engine, tmp_path: Path) -> None:
    # Dee (Lincoln) needs a mentor from another site in this program; Fin is free but at Lincoln too.
    rows = ROWS + ("fin@d.example,Fin Lee,mentor,Lincoln,3-5,science,assessment,,Thu 12:00-13:00,America/Los_Angeles,1",)
    now = la(2027, 2, 1, 9, 0)
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        repo.get_program(session, name=PROGRAM).settings = {"rules": {"require": ["cross_site"]}}
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=now,
        request=service.RoundRequest(sessions=1, start_on=date(2027, 2, 8), end_on=date(2027, 3, 12)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    schedule.publish_round(engine, round_id=round_.id, now=now, config=CONFIG)
    with session_scope(engine) as session:
        people = repo.people_by_email(session, emails=["dee@d.example", "cam@d.example", "fin@d.example"])
        old = next(p for p in repo.round_pairings(session, round_id=round_.id) if p.mentee_id == people["dee@d.example"].id)
    assert old.mentor_id == people["cam@d.example"].id  # the first match already kept the rule
    new = schedule.rematch(engine, pairing_id=old.id, now=la(2027, 2, 16, 9, 0), config=CONFIG)
    assert new is None or new.mentor_id != people["fin@d.example"].id
    with session_scope(engine) as session:
        assert people["fin@d.example"].id not in {p.mentor_id for p in repo.round_pairings(session, round_id=round_.id) if p.mentee_id == people["dee@d.example"].id}


def test_killing_a_sweep_midway_loses_and_doubles_nothing(database_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(database_url)
    from storage import db

    db.upgrade(engine)
    mentors = [f"m{i}@d.example,Mentor {i},mentor,Lincoln,6-8,math,SEL,,,America/Los_Angeles,1" for i in range(60)]
    mentees = [f"e{i}@d.example,Mentee {i},mentee,Garfield,6-8,math,,SEL,,America/Los_Angeles," for i in range(60)]
    round_id = _published_round(engine, tmp_path, la(2027, 2, 1, 9, 0), rows=tuple(mentors + mentees), sessions=1)
    check_in_time = la(2027, 2, 10, 10, 0)
    script = (
        "import sys, datetime; from storage.db import create_db_engine; from bot.rounds import schedule;"
        "e = create_db_engine(sys.argv[1]); now = datetime.datetime.fromisoformat(sys.argv[2]);"
        "[print(len(schedule.run_due_actions(e, now=now, config=schedule.ScheduleConfig(), limit=1)), flush=True) for _ in range(10000)]"
    )
    worker = subprocess.Popen([sys.executable, "-c", script, database_url, check_in_time.isoformat()], stdout=subprocess.PIPE, text=True)
    for _ in range(25):  # let it carry out some actions, then kill it without warning
        worker.stdout.readline()
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    worker.stdout.close()
    with session_scope(engine) as session:
        done_before = sum(1 for a in session.exec(select(ScheduledAction)) if a.status != "pending" and a.due_at <= check_in_time)
    assert done_before >= 20
    while schedule.run_due_actions(engine, now=check_in_time, config=CONFIG):  # the restart, until nothing is due
        pass

    with session_scope(engine) as session:
        due = [a for a in session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id)) if a.due_at <= check_in_time]
        prompts = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.check_in")))
        pairings = repo.round_pairings(session, round_id=round_id)
    assert {a.status for a in due} <= {"done", "skipped"}
    assert len(prompts) == 2 * len(pairings) == 120
    assert len({(m.person_id, m.body["context"]) for m in prompts}) == 120
    engine.dispose()


def test_one_leader_at_a_time_and_a_standby_takes_over(database_url: str, tmp_path: Path) -> None:
    first_engine, second_engine = create_db_engine(database_url), create_db_engine(database_url)
    lock_file = tmp_path / "scheduler.lock"
    first, second = Leadership(first_engine, lock_file=lock_file), Leadership(second_engine, lock_file=lock_file)
    assert first.try_lead() is True
    assert second.try_lead() is False
    assert first.try_lead() is True  # still ours
    first.resign()
    assert second.try_lead() is True and second.is_leader
    second.resign()
    first_engine.dispose()
    second_engine.dispose()


def test_program_settings_give_the_calendar(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        program = Program(name="P", timezone="America/Chicago", created_at=now, settings={"quiet_hours": ["20:00", "06:30"], "allow_weekends": True})
        session.add(program)
        session.flush()
        term = repo.create_term(session, program_id=program.id, name="T", opt_in_by=None, now=now)
        _, calendar = schedule.program_calendar(session, term_id=term.id)
    assert (calendar.timezone, calendar.quiet_start, calendar.quiet_end, calendar.allow_weekends) == ("America/Chicago", time(20), time(6, 30), True)


def test_pairing_notices_carry_the_guide_for_the_round(engine: Engine, tmp_path: Path) -> None:
    from bot.guides import block_kit_problems

    round_id = _published_round(engine, tmp_path, la(2027, 2, 1, 9, 0))
    schedule.run_due_actions(engine, now=la(2027, 2, 1, 9, 0), config=CONFIG)
    with session_scope(engine) as session:
        notices = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")))
    assert notices and all(n.body["round_id"] == round_id for n in notices)
    for notice in notices:
        guide = notice.body["guide"]
        assert block_kit_problems(guide["slack_blocks"], text=guide["slack_text"]) == []
        assert "Session 3" in guide["email_text"] or "session 3" in guide["email_text"].lower()
        assert notice.body["partner_name"] in guide["email_html"]
        assert "Welcome to spring mentoring!" in guide["email_text"]
        assert len(notice.body["proposed"]) == 3


def test_a_speed_event_sends_schedules_the_day_before_and_announces_each_rotation(engine: Engine, tmp_path: Path) -> None:
    mentors = [f"m{i}@d.example,Mentor {i},mentor,Lincoln,6-8,math,SEL,,,America/Los_Angeles,1" for i in range(4)]
    mentees = [f"e{i}@d.example,Mentee {i},mentee,Garfield,6-8,math,,SEL,,America/Los_Angeles," for i in range(5)]
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *mentors, *mentees]) + "\n", encoding="utf-8")
    created = la(2027, 2, 1, 9, 0)
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=created)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=created)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=created)
    event = la(2027, 2, 10, 15, 30)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=created,
        request=service.RoundRequest(kind="speed", rotations=3, rotation_minutes=10, starts_at=event),
    )  # fmt: skip
    sent_at: dict[str, datetime] = {}

    def note_new(moment: datetime) -> None:
        for message in _messages(engine):
            sent_at.setdefault(message.idempotency_key, moment)

    _travel(engine, created, event - timedelta(hours=1), timedelta(hours=1), on_tick=note_new)
    _travel(engine, event - timedelta(minutes=55), event + timedelta(hours=2), timedelta(minutes=5), on_tick=note_new)
    messages = _messages(engine)
    schedules = [m for m in messages if m.purpose == "speed.schedule" and m.channel == "email"]
    assert len(schedules) == 9  # everyone, by email too
    assert all(event - timedelta(days=2) < sent_at[m.idempotency_key] <= event - timedelta(hours=20) for m in schedules)
    rotations = [m for m in messages if m.purpose == "speed.rotation"]
    for message in rotations:
        start = event + timedelta(minutes=10 * (message.body["rotation"] - 1))
        assert start <= sent_at[message.idempotency_key] < start + timedelta(minutes=10)
        assert "Rotation" in message.body["guide"]["email_text"] or "rotation" in message.body["guide"]["email_text"]
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=round_.id)
        assert repo.get_round(session, round_id=round_.id).status == "closed"
    pairs = [(p.mentor_id, p.mentee_id) for p in pairings]
    assert len(pairs) == len(set(pairs)) == 12  # 4 mentors x 3 rotations, no pair twice
    per_rotation = Counter(p.rotation for p in pairings)
    assert per_rotation == {1: 4, 2: 4, 3: 4}
    sat_out = Counter(p.mentee_id for p in pairings)
    assert sorted(sat_out.values()) == [2, 2, 2, 3, 3]  # the odd mentee out takes turns sitting out


def test_a_speed_event_planned_by_hand_is_planned_again_the_day_before_when_someone_left(engine: Engine, tmp_path: Path) -> None:
    mentors = [f"m{i}@d.example,Mentor {i},mentor,Lincoln,6-8,math,SEL,,,America/Los_Angeles,1" for i in range(3)]
    mentees = [f"e{i}@d.example,Mentee {i},mentee,Garfield,6-8,math,,SEL,,America/Los_Angeles," for i in range(4)]
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([HEADER, *mentors, *mentees]) + "\n", encoding="utf-8")
    created = la(2027, 2, 1, 9, 0)
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=created)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=created)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=created)
    event = la(2027, 2, 10, 15, 30)
    request = service.RoundRequest(kind="speed", rotations=2, rotation_minutes=10, starts_at=event)
    round_ = service.create_round(engine, program_name=PROGRAM, term_name=None, now=created, request=request)
    planned = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=created)
    assert planned.round.status == "review" and len(planned.rotations.meetings) == 6  # 3 mentors x 2 rotations
    summary = planned.round.match_summary
    assert summary["per_rotation"] == [3, 3] and {e["why"] for e in summary["sitting_out"]} == {"more mentees than mentor seats, so mentees take turns resting"}
    schedule.publish_round(engine, round_id=round_.id, now=created, config=CONFIG, message="Room 12, bring a lesson plan")
    with session_scope(engine) as session:
        gone = repo.people_by_email(session, emails=["e0@d.example"])["e0@d.example"]
        repo.get_enrollment(session, term_id=repo.get_round(session, round_id=round_.id).term_id, person_id=gone.id).status = "opted_out"

    ran = schedule.run_due_actions(engine, now=event - timedelta(hours=23), config=CONFIG)
    assert [(status, "planned again: 0 joined and 1 left" in result) for _id, status, result in ran] == [("done", True)], ran
    with session_scope(engine) as session:
        pairs = repo.round_pairings(session, round_id=round_.id)
        schedules = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "speed.schedule")))
        rotations = [a for a in repo.round_actions(session, round_id=round_.id) if a.kind == "speed.rotation"]
    assert len(pairs) == 6 and all(gone.id not in (p.mentor_id, p.mentee_id) for p in pairs) and {p.status for p in pairs} == {"published"}
    assert all(m.person_id != gone.id for m in schedules) and len([m for m in schedules if m.channel == "email"]) == 6
    assert all("Room 12, bring a lesson plan" in m.body["text"] for m in schedules) and len(rotations) == 2
    # The sweep running again sends nothing twice.
    assert [r for r in schedule.run_due_actions(engine, now=event - timedelta(hours=22), config=CONFIG) if r[1] == "done"] == []
    with session_scope(engine) as session:
        assert len(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "speed.schedule")).all()) == len(schedules)
