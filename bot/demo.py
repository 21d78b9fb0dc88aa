"""`mentorbot demo`: a whole term on a fresh demo database, through the same code paths the real commands use."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import Counter
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

from bot import dialogs, report
from bot.email.demo_leg import run_email_leg
from bot.email.sender import EmailSender
from bot.importer import import_roster
from bot.rounds import events, service
from bot.rounds.calendar import ProgramCalendar, next_sendable
from bot.rounds.schedule import ScheduleConfig, publish_round, run_due_actions, schedule_config
from bot.settings import Settings
from bot.slack.demo_leg import run_slack_leg
from storage import db, repo
from bot.outbox import deliver_due
from bot.outbox import messages as outbox_messages
from storage.db import session_scope
from sqlmodel import col, select

from storage.models import OutboxMessage, Pairing, ScheduledAction

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
    # One database for every leg, named as `mentorbot` names it in DATA_DIR, so DATA_DIR=<demo dir> opens it all.
    database = demo_dir / "mentorbot.db"
    database_url = f"sqlite:///{database.as_posix()}"
    # Every leg runs on these: the demo's folder and database, and never a real mail server.
    demo_settings = settings.model_copy(update={
        "data_dir": demo_dir, "database_url": database_url, "program_name": DEMO_PROGRAM, "smtp_host": None, "imap_host": None,
    })  # fmt: skip
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    roster = roster or shipped_roster()
    console.print(Rule("mentorbot demo"))
    console.print(f"Demo database: {database} (every leg below acts on it)", highlight=False)

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
    approved, seats = _principals_decide(engine, term_name=term.name, now=now + timedelta(days=2))
    console.print(f"Principals approved {approved} mentors, who offer {seats} mentee places.")

    console.print(Rule("2a. Late joiners answer in Slack (a stand-in of Slack on loopback)"))
    slack_lines = run_slack_leg(demo_settings, database_url=database_url, program_name=DEMO_PROGRAM, term_id=term.id, now=now)
    for line in slack_lines:
        console.print(line, highlight=False)

    console.print(Rule("2b. A mentee without Slack answers by email (the local mail sink)"))
    for line in run_email_leg(demo_settings, database_url=database_url, term_id=term.id, now=now):
        console.print(line, highlight=False)

    console.print(Rule("3. A micro-mentoring round is matched and published"))
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
    report.print_match_brief(console, round_, pairs, shown=5)

    console.print(Rule("4. The round runs itself"))
    timeline, end = asyncio.run(run_schedule_leg(engine, demo_settings, round_id=round_.id, start=published_at, config=config))
    report.print_sent_summary(console, [m for m in timeline if m.created_at >= published_at], timezone_name=settings.default_timezone)
    round_, _pairs = service.round_pairs(engine, round_id=round_.id)
    console.print(f"Round {round_.id} ran on its own schedule and is {round_.status}.")

    console.print(Rule("5. A topic event fills from one announcement"))
    for line in run_event_leg(engine, term_name=term.name, now=now, session_minutes=settings.session_minutes):
        console.print(line, highlight=False)
    asyncio.run(deliver_email(engine, demo_settings, now=end))  # the event's emails too (announcements, sign-ups)

    console.print(Rule("Where to see everything"))
    mails = len(list((demo_dir / "mail").glob("*.eml")))
    with session_scope(engine) as session:
        notices = sum(1 for m in outbox_messages(session, purpose="pairing") if m.channel == "email" and m.status == "sent")
    engine.dispose()
    console.print(f"All {mails} emails sent are in the mail sink, {notices} pairing notices among them.", highlight=False)
    where = f"DATA_DIR={demo_dir}"
    console.print(f"  {where} mentorbot round show {round_.id}   # every pair and reason", highlight=False)
    console.print(f"  {where} mentorbot serve          # admin pages, Mail included", highlight=False)
    console.print(f"  {where} mentorbot admin-link     # (another terminal) sign in", highlight=False)


async def deliver_email(engine, settings: Settings, *, now: datetime, sender: EmailSender | None = None) -> int:
    """Send every email due by `now` to the demo's mail sink; returns how many went."""
    own = sender is None
    sender = sender or EmailSender(settings, engine=engine, clock=lambda: now)
    sent = 0
    try:
        for _ in range(1000):  # a bound, not a target: each pass sends a batch, and a pass with nothing due ends it
            batch = await deliver_due(engine, {"email": sender}, now=now, limit=200)
            sent += sum(1 for delivery in batch if delivery.status == "sent")
            if not batch:
                break
    finally:
        if own:
            await sender.close()
            if sender.sink is not None:
                await sender.sink.stop()
    return sent


def run_event_leg(engine, *, term_name: str, now: datetime, session_minutes: int) -> list[str]:
    """A three-topic event: announced once to the pool, joined by one reply each, matched topic by topic."""
    with session_scope(engine) as session:
        people = [(e, p) for e, p in repo.enrollments(session, term_id=repo.get_term(session, program_id=repo.get_program(session, name=DEMO_PROGRAM).id, name=term_name).id) if e.status == "opted_in"]
        answers = repo.profiles(session, person_ids=[p.id for _, p in people])
        load = repo.mentor_load(session.exec(select(Pairing).where(Pairing.status != "cancelled")).all())
    # The event runs beside the micro round, so a mentor offers only the places that round left them.
    room = {p.id: max(e.capacity - load.get(p.id, 0), 0) for e, p in people if e.role in ("mentor", "both")}
    offered = Counter({})
    for e, p in people:
        for strength in answers[p.id].get("strengths") or () if room.get(p.id) else ():
            offered[strength] += room[p.id]
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
    mentors_on: Counter[str] = Counter()
    for enrollment, person in people:
        if enrollment.role in ("mentor", "both"):
            # A mentor with places left offers the topic of theirs that has the fewest mentors so far.
            mine = sorted((t for t in topics if t in (answers[person.id].get("strengths") or ())), key=lambda t: mentors_on[t])
            if not room.get(person.id) or not mine:
                continue
            mentors_on[mine[0]] += 1
        else:
            mine = [t for t in topics if t in (answers[person.id].get("needs") or ())]
        if mine:  # one reply each: the topic's number, as an email reply or a typed "join 2" would say it
            outcome = events.apply_reply(engine, round_id=round_.id, person_id=person.id, text=str(topics.index(mine[0]) + 1), source="email", now=start + timedelta(hours=2))
            joined[outcome.status] += 1
    lines.append(f"Replies: {joined['joined']} joined" + (f", {joined['full']} over the event cap" if joined["full"] else ""))
    service.run_matching(engine, round_id=round_.id, session_minutes=session_minutes, now=start + timedelta(days=3))
    round_, _pairs = service.round_pairs(engine, round_id=round_.id)
    lines += [f"  {line}" for line in events.topic_lines(round_.match_summary)]
    return lines


async def run_schedule_leg(engine, settings: Settings, *, round_id: int, start: datetime, config: ScheduleConfig) -> tuple[list[OutboxMessage], datetime]:
    """Run the clock from `start` until the round closes, sending each moment's email to the mail sink; participants
    answer check-ins as real people might. Returns every message queued and the last moment the clock reached.

    The clock jumps from one due action or email to the next (at most a day at a time), as a server's would pass them.
    """
    moment = start
    answered: set[tuple[int, int]] = set()
    sender = EmailSender(settings, engine=engine, clock=lambda: moment)
    try:
        for _ in range(24 * 120):  # four months of hours is far longer than any round
            run_due_actions(engine, now=moment, config=config)
            await deliver_email(engine, settings, now=moment, sender=sender)
            with session_scope(engine) as session:
                status = repo.get_round(session, round_id=round_id).status
                asked = [m for m in outbox_messages(session, purpose="prompt.check_in") if m.person_id is not None]
                upcoming = _next_due(session, after=moment)
            for message in asked:
                pairing_id = int(message.body["context"].split(":")[1])
                # Most people answer the check-in; every fifth pair goes quiet, so the escalation shows.
                if pairing_id % 5 and (pairing_id, message.person_id) not in answered:
                    answered.add((pairing_id, message.person_id))
                    dialogs.answer(engine, person_id=message.person_id, flow="check_in", context=message.body["context"], channel=message.channel, replies={"met": "met"}, now=moment)
            if status == "closed":
                break
            moment = min(upcoming or moment + timedelta(days=1), moment + timedelta(days=1))
    finally:
        await sender.close()
        if sender.sink is not None:
            await sender.sink.stop()
    with session_scope(engine) as session:
        return outbox_messages(session), moment


def _next_due(session, *, after: datetime) -> datetime | None:
    """The next moment a scheduled action or an email falls due, later than `after` (an answer may add one sooner)."""
    action = session.exec(
        select(ScheduledAction.due_at).where(ScheduledAction.status == "pending", col(ScheduledAction.due_at) > after).order_by(ScheduledAction.due_at).limit(1)
    ).first()
    mail = session.exec(
        select(OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == "pending", OutboxMessage.channel == "email", col(OutboxMessage.next_attempt_at) > after)
        .order_by(OutboxMessage.next_attempt_at).limit(1)
    ).first()
    due = [moment for moment in (action, mail) if moment is not None]
    return min(due).replace(tzinfo=timezone.utc) if due and min(due).tzinfo is None else (min(due) if due else None)


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


def _principals_decide(engine, *, term_name: str, now: datetime) -> tuple[int, int]:
    """Each principal approves the mentors waiting on them (the demo's stand-in for their Slack or email answer).

    Returns how many mentors were approved and the mentee places they offer."""
    with session_scope(engine) as session:
        program = repo.get_program(session, name=DEMO_PROGRAM)
        term = repo.get_term(session, program_id=program.id, name=term_name)
        pending = [(enrollment, person) for enrollment, person in repo.enrollments(session, term_id=term.id) if enrollment.approval == "pending"]
        waiting = [(person.email, person.principal_email) for _enrollment, person in pending]
        seats = sum(enrollment.capacity for enrollment, _person in pending)
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
    return len(waiting), seats
