"""`mentorbot demo`: a whole term on a fresh demo database, through the same code paths the real commands use."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from bot import dialogs, report
from bot.email.demo_leg import run_email_leg
from bot.importer import import_roster
from bot.rounds import events, service
from bot.rounds.calendar import ProgramCalendar, next_sendable
from bot.rounds.schedule import ScheduleConfig, publish_round, run_due_actions, schedule_config
from bot.settings import Settings
from bot.slack.demo_leg import run_slack_leg
from storage import db, repo
from bot.outbox import messages as outbox_messages
from storage.db import session_scope
from storage.models import OutboxMessage

DEMO_PROGRAM = "Demo District Mentoring"


def shipped_roster() -> Path:
    """The synthetic roster the demo ships with."""
    return Path(str(resources.files("bot") / "demo_data" / "roster.csv"))


def term_name_for(moment: datetime) -> str:
    """The name of the next school term after `moment`, e.g. "Spring 2027"."""
    if moment.month >= 8:
        return f"Spring {moment.year + 1}"
    return f"Fall {moment.year}"


def run_demo(settings: Settings, *, console: Console, now: datetime, roster: Path | None = None) -> None:
    """Import, open a term, enroll, approve mentors, match and publish a 2-session micro round, run it to the end, and print what happened."""
    # The demo tells its own story; the servers it runs on loopback keep their routine logs to themselves.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # a skipped overlapping tick is routine here
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)  # every run starts clean: database, mail and the Slack leg's files
    demo_dir.mkdir(parents=True, exist_ok=True)
    database = demo_dir / "demo.db"
    engine = db.create_db_engine(f"sqlite:///{database.as_posix()}")
    db.upgrade(engine)
    roster = roster or shipped_roster()
    console.print(Rule("mentorbot demo"))
    console.print(f"Demo database: {database}")

    console.print(Rule("1. Roster"))
    imported = import_roster(
        engine, roster, program_name=DEMO_PROGRAM, default_timezone=settings.default_timezone, now=now
    )
    report.print_import(console, imported)

    console.print(Rule("2. Term opens and teachers opt in"))
    term = service.open_term(
        engine,
        program_name=DEMO_PROGRAM,
        timezone=settings.default_timezone,
        name=term_name_for(now),
        opt_in_by=(now + timedelta(days=14)).date(),
        now=now,
    )
    console.print(f"Opened [bold]{term.name}[/bold], opt-in by {term.opt_in_by}.")
    _program_calendar(engine, now=now)
    counts = service.enroll_from_roster(
        engine, program_name=DEMO_PROGRAM, term_name=term.name, require_approval=settings.require_principal_approval, now=now
    )
    report.print_enrollment_counts(console, counts)
    _principals_decide(engine, term_name=term.name, now=now + timedelta(days=2))
    _print_opt_ins(console, engine, term_id=term.id)

    console.print(Rule("2a. Teachers answer in Slack (a stand-in of Slack's Web API on loopback)"))
    for line in run_slack_leg(settings.model_copy(update={"data_dir": demo_dir}), now=now, folder=demo_dir / "slack"):
        console.print(line, highlight=False)

    console.print(Rule("2b. A mentee without Slack answers by email (the local mail sink)"))
    email_settings = settings.model_copy(update={"data_dir": demo_dir})
    for line in run_email_leg(email_settings, database_url=f"sqlite:///{database.as_posix()}", term_id=term.id, now=now):
        console.print(line, highlight=False)

    console.print(Rule("3. A micro-mentoring round is matched"))
    match_on = (now + timedelta(days=14)).date()
    round_ = service.create_round(
        engine,
        program_name=DEMO_PROGRAM,
        term_name=term.name,
        request=service.RoundRequest(
            kind="micro", sessions=2, match_on=match_on, start_on=match_on + timedelta(days=7), end_on=match_on + timedelta(days=35)
        ),
        now=now,
    )
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    match_time = now + timedelta(days=14)
    service.run_matching(engine, round_id=round_.id, session_minutes=settings.session_minutes, now=match_time)
    config = schedule_config(settings)
    published_at = next_sendable(match_time + timedelta(hours=2), person_timezone=settings.default_timezone, calendar=ProgramCalendar(timezone=settings.default_timezone))
    publish_round(engine, round_id=round_.id, now=published_at, config=config, message="Thank you for taking part this term!")
    round_, pairs = service.round_pairs(engine, round_id=round_.id)
    report.print_match(console, round_, pairs)

    console.print(Rule("4. The round runs itself"))
    timeline = run_schedule_leg(engine, round_id=round_.id, start=published_at, config=config)
    report.print_sent_by_day(console, timeline, timezone_name=settings.default_timezone)
    round_, _pairs = service.round_pairs(engine, round_id=round_.id)

    console.print(Rule("5. A topic event fills from one announcement"))
    for line in run_event_leg(engine, term_name=term.name, now=now, session_minutes=settings.session_minutes):
        console.print(line, highlight=False)

    console.print(Rule("Summary"))
    summary = round_.match_summary
    console.print(
        f"{imported.imported} people imported; {counts.mentors + counts.both} mentors and "
        f"{counts.mentees + counts.both} mentees opted in to {term.name}; round {round_.id} "
        f"({round_.sessions} sessions) matched {summary['matched']} of {summary['mentees']} mentees, ran on its own "
        f"schedule ({len(timeline)} messages queued) and is {round_.status}."
    )
    console.print("Try it on your own roster: [bold]mentorbot match ROSTER.csv[/bold]  or  [bold]mentorbot --help[/bold]")


def run_event_leg(engine, *, term_name: str, now: datetime, session_minutes: int) -> list[str]:
    """A three-topic event: announced once to the pool, joined by one reply each, matched topic by topic."""
    with session_scope(engine) as session:
        people = [(e, p) for e, p in repo.enrollments(session, term_id=repo.get_term(session, program_id=repo.get_program(session, name=DEMO_PROGRAM).id, name=term_name).id) if e.status == "opted_in"]
        answers = repo.profiles(session, person_ids=[p.id for _, p in people])
    offered = Counter(s for e, p in people if e.role in ("mentor", "both") for s in answers[p.id].get("strengths") or ())
    wanted = Counter(n for e, p in people if e.role in ("mentee", "both") for n in answers[p.id].get("needs") or ())
    topics = [topic for topic, _count in (wanted & offered).most_common(3)]
    start = now + timedelta(days=21)
    request = service.RoundRequest(kind="event", topics="; ".join(topics), sessions=1, start_on=start.date(), match_on=(start + timedelta(days=3)).date(), end_on=(start + timedelta(days=8)).date())
    round_ = service.create_round(engine, program_name=DEMO_PROGRAM, term_name=term_name, request=request, now=now)
    with session_scope(engine) as session:
        # A topic brings teachers together across grades and subjects, so the event relaxes those two rules.
        repo.get_round(session, round_id=round_.id).settings = {**round_.settings, "relax": ["grade_band", "subject"]}
    announced = events.open_round(engine, round_id=round_.id, now=start)
    again = events.open_round(engine, round_id=round_.id, now=start + timedelta(hours=1))
    lines = [f"Round {round_.id} offers {len(topics)} topics: " + "; ".join(topics), f"One announcement each: {announced} queued (opening it again queued {again})."]
    joined = Counter()
    for enrollment, person in people:
        mine = [t for t in topics if t in (answers[person.id].get("strengths") if enrollment.role in ("mentor", "both") else answers[person.id].get("needs")) or ()]
        if mine:  # one reply each: the topic's number, as an email reply or a typed "join 2" would say it
            outcome = events.apply_reply(engine, round_id=round_.id, person_id=person.id, text=str(topics.index(mine[0]) + 1), source="email", now=start + timedelta(hours=2))
            joined[outcome.status] += 1
    lines.append(f"Replies: {joined['joined']} joined" + (f", {joined['full']} over the event cap" if joined["full"] else ""))
    service.run_matching(engine, round_id=round_.id, session_minutes=session_minutes, now=start + timedelta(days=3))
    round_, _pairs = service.round_pairs(engine, round_id=round_.id)
    lines += [f"  {line}" for line in events.topic_lines(round_.match_summary)]
    return lines


def run_schedule_leg(engine, *, round_id: int, start: datetime, config: ScheduleConfig) -> list[OutboxMessage]:
    """Advance the clock hour by hour until the round closes; participants answer check-ins as real people might."""
    moment = start
    answered: set[tuple[int, int]] = set()
    for _ in range(24 * 120):  # four months of hours is far longer than any round
        run_due_actions(engine, now=moment, config=config)
        with session_scope(engine) as session:
            status = repo.get_round(session, round_id=round_id).status
            asked = [m for m in outbox_messages(session, purpose="prompt.check_in") if m.person_id is not None]
        for message in asked:
            pairing_id = int(message.body["context"].split(":")[1])
            # Most people answer the check-in; every fifth pair goes quiet, so the escalation shows.
            if pairing_id % 5 and (pairing_id, message.person_id) not in answered:
                answered.add((pairing_id, message.person_id))
                dialogs.answer(engine, person_id=message.person_id, flow="check_in", context=message.body["context"], channel=message.channel, replies={"met": "met"}, now=moment)
        if status == "closed":
            break
        moment += timedelta(hours=1)
    with session_scope(engine) as session:
        return outbox_messages(session)


def _program_calendar(engine, *, now: datetime) -> None:
    """The demo district's winter break and its program admin, so the schedule has a calendar to respect."""
    with session_scope(engine) as session:
        program = repo.get_program(session, name=DEMO_PROGRAM)
        year = now.year if now.month < 12 or now.day < 21 else now.year
        program.settings = {
            **(program.settings or {}),
            "blackouts": [[f"{year}-12-21", f"{year + 1}-01-01"]],
            "admin_emails": ["mentoring.admin@district.example"],
        }


def _principals_decide(engine, *, term_name: str, now: datetime) -> None:
    """Each principal approves the mentors waiting on them (the demo's stand-in for their Slack or email answer)."""
    with session_scope(engine) as session:
        program = repo.get_program(session, name=DEMO_PROGRAM)
        term = repo.get_term(session, program_id=program.id, name=term_name)
        waiting = [(person.email, person.principal_email) for enrollment, person in repo.enrollments(session, term_id=term.id) if enrollment.approval == "pending"]
    for mentor_email, principal in waiting:
        service.decide_approval(
            engine,
            program_name=DEMO_PROGRAM,
            term_name=term_name,
            mentor_email=mentor_email,
            approve=True,
            decided_by=principal or "program admin",
            now=now,
        )


def _print_opt_ins(console: Console, engine, *, term_id: int) -> None:
    with session_scope(engine) as session:
        rows = repo.enrollments(session, term_id=term_id)
    table = Table("role", "name", "site", "capacity", "principal", title="Who opted in")
    for enrollment, person in sorted(rows, key=lambda pair: (pair[0].role, pair[1].name)):
        if enrollment.status != "opted_in":
            continue
        is_mentor = enrollment.role in ("mentor", "both")
        table.add_row(
            enrollment.role,
            person.name,
            person.site or "",
            str(enrollment.capacity) if is_mentor else "",
            enrollment.approval.replace("_", " ") if is_mentor else "",
        )
    console.print(table)
