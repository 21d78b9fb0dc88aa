"""kill -9 while a round publishes: the process publishing, sweeping and sending is killed at a random moment,
restarted, and what Slack (the stand-in) and the SMTP server received is counted per person.

Each trial starts from a fresh database holding a matched round in review. A subprocess publishes it, runs the
due actions (the pairing notices) and delivers the outbox: Slack DMs to people with a Slack ID (and an email copy),
email to everyone else. It is killed during a phase chosen in turn (publishing, the sweep, delivery), then run
again after the dead worker's lease has run out and an unconfirmed email's resend is due. Every person must have
exactly one pairing DM, and their pairing email: once, or twice with the same Message-ID when the kill cut its
hand-over short (the one resend).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import outbox
from bot.doubles.slack import SlackStandIn
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from bot.slack.sender import METADATA_EVENT
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage, Person, Round
from tests.emailkit import RecordingHandler, smtp_server

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = "Crash Program"
HEADER = "email,name,role,slack_user_id,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity"
PUBLISHED = datetime(2027, 2, 1, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles")).astimezone(timezone.utc)  # a school-day morning
PHASES = ("publishing", "sweeping", "delivering")
RESEND = timedelta(minutes=Settings.model_fields["email_resend_unconfirmed_minutes"].default)


def _slack_id(n: int) -> str:
    return f"U{n:08d}"


def _roster(people: int) -> list[str]:
    """Half mentors, half mentees; every other person has a Slack ID."""
    rows = []
    for n in range(people):
        mentor = n % 2 == 0
        rows.append(
            f"p{n}@d.example,Person {n},{'mentor' if mentor else 'mentee'},{_slack_id(n) if n % 4 < 2 else ''},Site {n % 5},6-8,math,"
            f"{'SEL' if mentor else ''},{'' if mentor else 'SEL'},Tue 15:00-16:30,America/Los_Angeles,{1 if mentor else ''}"
        )
    return rows


def _matched_round(engine: Engine, folder: Path, people: int) -> int:
    roster = folder / "roster.csv"
    roster.write_text("\n".join([HEADER, *_roster(people)]) + "\n", encoding="utf-8")
    report = import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=PUBLISHED)
    assert report.imported == people and not report.errors
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=PUBLISHED)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=PUBLISHED)
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, now=PUBLISHED,
        request=service.RoundRequest(sessions=1, start_on=date(2027, 2, 8), end_on=date(2027, 3, 12)),
    )  # fmt: skip
    service.move_round(engine, round_id=round_.id, target="collecting", now=PUBLISHED)
    outcome = service.run_matching(engine, round_id=round_.id, session_minutes=30, now=PUBLISHED)
    assert len(outcome.result.pairs) == people // 2
    return round_.id


async def _worker(database_url: str, smtp_port: int, standin: SlackStandIn, moment: datetime, round_id: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.reliability._faults_publish", database_url, str(smtp_port), standin.api_url, moment.isoformat(), str(round_id),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _kill_during(process: asyncio.subprocess.Process, phase: str, handler: RecordingHandler, standin: SlackStandIn, *, expected: int, rng: random.Random) -> str:
    """Kill the worker at a random moment of `phase`; returns the last phase it announced before dying."""
    seen = "started"

    async def announced(wanted: str) -> None:
        nonlocal seen
        while True:
            line = (await process.stdout.readline()).decode().strip()
            if not line:
                raise AssertionError(f"the worker ended before {wanted}: {(await process.stderr.read()).decode()[-2000:]}")
            seen = line
            if line == wanted:
                return

    await asyncio.wait_for(announced(phase), timeout=900)  # generous: a loaded machine publishes 500 people slowly
    if phase == "delivering":
        # A random point in the burst, counted at the far sides.
        target = rng.randint(1, expected - 1)
        deadline = time.monotonic() + 600
        while len(handler.received) + len(standin.calls_to("chat.postMessage", ok=True)) < target and process.returncode is None:
            assert time.monotonic() < deadline, "the burst stalled"
            await asyncio.sleep(0.002)
    else:
        await asyncio.sleep(rng.uniform(0.0, 1.5))
    process.send_signal(signal.SIGKILL)
    await process.wait()
    assert process.returncode == -signal.SIGKILL, (await process.stderr.read()).decode()[-2000:]
    return seen


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_kill_9_while_publishing_leaves_everyone_exactly_one_pairing_notice_per_channel(
    backend: str, migrated_database: Callable[[str], str], tmp_path: Path, scale, record_figure
) -> None:
    """SIGKILL the publishing process at random moments; after the restart each person has one notice per channel."""
    # Quick: three trials in all (publishing and the sweep on SQLite, delivery on PostgreSQL); full: ten a backend.
    trials, people = scale.pick(2 if backend == "sqlite" else 1, 10), scale.pick(20, 500)
    first_phase = 0 if backend == "sqlite" else 2
    rng = random.Random(2027)
    landed: Counter[str] = Counter()
    resent_total = second_copies = 0
    started = time.monotonic()
    for trial in range(trials):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        database_url = migrated_database(backend)  # a fresh database for each trial
        engine = db.create_db_engine(database_url)
        try:
            round_id = _matched_round(engine, folder, people)
            with session_scope(engine) as session:
                persons = list(session.exec(select(Person)))
            slack_people = {p.slack_user_id: p.email for p in persons if p.slack_user_id}
            expected = len(persons) + len(slack_people)  # an email to everyone, a DM as well to those on Slack
            handler = RecordingHandler()
            server, port = await smtp_server(handler)
            async with SlackStandIn() as standin:
                for user_id, email in slack_people.items():
                    standin.add_user(user_id, email)
                phase = PHASES[(first_phase + trial) % len(PHASES)]
                process = await _worker(database_url, port, standin, PUBLISHED, round_id)
                landed[await _kill_during(process, phase, handler, standin, expected=expected, rng=rng)] += 1
                # The restart comes after the dead worker's outbox lease ran out, and after an unconfirmed email's
                # resend is due (EMAIL_RESEND_UNCONFIRMED_MINUTES, 10 by default), as a restarted server's would.
                restart = await _worker(database_url, port, standin, PUBLISHED + max(outbox.SEND_LEASE, RESEND) + timedelta(minutes=1), round_id)
                out, err = await asyncio.wait_for(restart.communicate(), timeout=600)
                assert restart.returncode == 0 and out.decode().strip().endswith("done"), err.decode()[-3000:]
            server.close()

            with session_scope(engine) as session:
                assert session.get(Round, round_id).status == "published"
                notices = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")))
                unconfirmed = {m.recipient for m in outbox.problems(session) if m.status == "sent"}
                resent = {m.recipient for m in notices if m.channel == "email" and m.last_error == outbox.RESENT_NOTE}
            assert {m.status for m in notices} == {"sent"}, Counter(m.status for m in notices)
            assert unconfirmed == set()  # an unconfirmed hand-over was resent, not left for an admin
            pairing_mail = [r for r in handler.received if r.message["X-Mentorbot-Purpose"] == "pairing"]
            emails = Counter(r.rcpt_tos[0] for r in pairing_mail)
            ids: dict[str, set[str]] = {}
            for received in pairing_mail:
                ids.setdefault(received.rcpt_tos[0], set()).add(received.message["Message-ID"])
            dms = Counter(
                user_id for user_id in slack_people for m in standin.dms(user_id)
                if (m.get("metadata") or {}).get("event_type") == METADATA_EVENT and m["metadata"]["event_payload"]["key"].startswith("pairing:")
            )  # fmt: skip
            for person in persons:
                # Nobody goes without; a second copy only after the kill cut a hand-over short, and with the same Message-ID.
                assert emails[person.email] == 1 or (person.email in resent and emails[person.email] == 2), (trial, person.email, emails[person.email])
                assert len(ids[person.email]) == 1, (trial, person.email, ids[person.email])
                if person.slack_user_id:
                    assert dms[person.slack_user_id] == 1, (trial, person.slack_user_id, dms[person.slack_user_id])
            resent_total += len(resent)
            second_copies += sum(1 for email in resent if emails[email] == 2)
        finally:
            engine.dispose()
    seconds = time.monotonic() - started
    record_figure(
        "Crashes while publishing", tried=f"kill -9 at a random moment while a round publishes to {people} people ({backend})",
        count=trials, held="after restart, each person had one pairing DM and their pairing email (twice, same Message-ID, only after an unconfirmed hand-over)",
        people=people, kills_landed_after=dict(landed), unconfirmed_emails_resent=resent_total, resends_that_made_a_second_copy=second_copies, seconds=round(seconds, 1),
    )  # fmt: skip
