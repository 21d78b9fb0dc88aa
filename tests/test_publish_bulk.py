"""Publishing in bulk: every pair's sessions and promises written in a few statements, each exactly once however often
the plan is written again, with progress reported to the end; and the round page's publish, which shows a long
publish under way (reloading itself) instead of holding the request open, and never starts it twice."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bench.publish import ZONES, build_round
from bot.actions import rounds
from bot.actions.access import Actor
from bot.actions.scope import unit_of_work
from bot.errors import UserError
from bot.rounds import schedule
from bot.rounds.calendar import plan_round
from bot.settings import Settings
from bot.web.admin import publishing
from storage import db, repo
from storage.models import PlannedSession, ScheduledAction
from tests.adminkit import PROGRAM, admin_settings, serving, sign_in_with_link


def _round_in_review(engine: Engine, *, pairs: int, now: datetime, program: str = "Bulk") -> int:
    """A 2-session micro round in review with `pairs` pairs over a few time zones and slots; one mentee has left the term."""
    return build_round(engine, pairs, now=now, program=program, left_term=frozenset({1}))


def _stored(engine: Engine, round_id: int) -> tuple[dict[str, ScheduledAction], list[PlannedSession]]:
    with unit_of_work(engine) as session:
        actions = {a.idempotency_key: a for a in repo.round_actions(session, round_id=round_id)}
        sessions = list(session.exec(select(PlannedSession).order_by(PlannedSession.pairing_id, PlannedSession.number)))
        session.expunge_all()
    return actions, sessions


def test_publish_writes_every_promise_once_and_writing_the_plan_again_adds_nothing(engine: Engine, now: datetime) -> None:
    round_id = _round_in_review(engine, pairs=40, now=now)
    settings = Settings(_env_file=None, program_name="Bulk")
    heard: list[tuple[int, int]] = []
    with unit_of_work(engine) as session:
        outcome = rounds.publish_round(
            session, actor=Actor.operator(), now=now, settings=settings, round_id=round_id, progress=lambda done, total: heard.append((done, total))
        )  # fmt: skip
    actions, sessions = _stored(engine, round_id)
    # Progress only goes forward and ends at its total (two steps a pair: planning it, writing its actions).
    assert heard[-1] == (80, 80) and [d for d, _t in heard] == sorted(d for d, _t in heard) and {t for _d, t in heard} == {80}
    assert outcome.pairs == 40 and outcome.actions == len(actions)
    # Two sessions per pair (the pair whose mentee left the term at the program's default hour, as before).
    assert Counter(s.pairing_id for s in sessions) == Counter({p: 2 for p in {s.pairing_id for s in sessions}}) and len(sessions) == 80
    kinds = Counter(a.kind for a in actions.values())
    assert kinds["checkin.ask"] == 40 and kinds["touchpoint.share"] == 40 and kinds["round.notify"] == 1 and kinds["survey.ask"] == 1
    # Nudges carry the reader's zone for quiet hours, as one by one they did.
    assert all(a.payload.get("quiet_tz") in ZONES for a in actions.values() if a.kind in ("checkin.ask", "touchpoint.share"))

    # The plan written again (a publish that crashed after writing, a rematch): nothing twice; a pending action moves to
    # its new time, one already done keeps its own; sessions already planned stay as they were.
    with unit_of_work(engine) as session:
        done = session.exec(select(ScheduledAction).where(ScheduledAction.kind == "round.notify")).one()
        done.status = "done"
        round_ = repo.get_round(session, round_id=round_id)
        later = now + timedelta(days=1)
        pairs = repo.round_pair_rows(session, round_id=round_id)
        plans = schedule._plan_pairs(session, round_=round_, pairs=pairs, now=later, config=schedule.ScheduleConfig())
        again = plan_round(round_id=round_id, published_at=later, end_on=round_.end_on, pairs=plans, calendar=schedule.program_calendar(session, term_id=round_.term_id)[1])
        schedule._schedule(session, round_id=round_id, actions=again)
    actions_after, sessions_after = _stored(engine, round_id)
    assert actions_after.keys() == actions.keys()
    assert [(s.id, s.starts_at) for s in sessions_after] == [(s.id, s.starts_at) for s in sessions]
    assert actions_after[f"round.notify:{round_id}"].due_at == actions[f"round.notify:{round_id}"].due_at  # done: untouched
    moved = {a.key: a.due_at for a in again}
    assert all(actions_after[key].due_at == moved[key] for key in moved if key != f"round.notify:{round_id}")


def test_a_published_round_cannot_be_published_again(engine: Engine, now: datetime) -> None:
    round_id = _round_in_review(engine, pairs=3, now=now)
    settings = Settings(_env_file=None, program_name="Bulk")
    with unit_of_work(engine) as session:
        rounds.publish_round(session, actor=Actor.operator(), now=now, settings=settings, round_id=round_id)
    before, _sessions = _stored(engine, round_id)
    with pytest.raises(UserError, match="published"), unit_of_work(engine) as session:
        rounds.publish_round(session, actor=Actor.operator(), now=now, settings=settings, round_id=round_id)
    assert _stored(engine, round_id)[0].keys() == before.keys()


async def test_a_long_publish_shows_its_progress_on_the_round_page_and_cannot_be_started_twice(
    tmp_path: Path, sqlite_url: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.create_db_engine(sqlite_url)
    round_id = _round_in_review(engine, pairs=12, now=now, program=PROGRAM)
    settings = admin_settings(tmp_path, sqlite_url)
    # A publish that takes longer than the form waits: held at its first progress report until the test lets it go.
    gate, reached = threading.Event(), threading.Event()
    report = publishing.PublishJob.progress

    def held(job: publishing.PublishJob, done: int, total: int) -> None:
        report(job, done, total)
        reached.set()
        assert gate.wait(30)

    monkeypatch.setattr(publishing.PublishJob, "progress", held)
    monkeypatch.setattr(publishing, "INLINE_SECONDS", 0.2)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = await sign_in_with_link(client, settings, now)
        first = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf, "message": "Welcome!"})
        assert reached.wait(10)
        under_way = await client.get(f"/admin/rounds/{round_id}")
        second = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf})
        gate.set()
        for _ in range(100):
            if publishing.running(round_id) is None:
                break
            await asyncio.sleep(0.05)
        ended = await client.get(f"/admin/rounds/{round_id}")
        shown = await client.get(ended.headers.get("location", f"/admin/rounds/{round_id}"))
        afterwards = await client.get(f"/admin/rounds/{round_id}")
    assert first.status_code == 303 and first.headers["location"] == f"/admin/rounds/{round_id}"
    assert under_way.status_code == 200 and under_way.headers["refresh"] == str(publishing.RELOAD_SECONDS)
    assert "Publishing…" in under_way.text and re.search(r"<progress max=\"24\" value=\"\d+\">", under_way.text)
    assert f'action="/admin/rounds/{round_id}/publish"' not in under_way.text  # no second button while it runs
    assert second.status_code == 303  # the second press started nothing: back to the page showing the first
    # Once it ends, the page says so once (through the usual note), then shows the round as published.
    assert ended.status_code == 303 and "Published round" in shown.text and "12 pairs" in shown.text
    assert "refresh" not in afterwards.headers and "Published round" not in afterwards.text and "Publishing…" not in afterwards.text
    with unit_of_work(engine) as session:
        round_ = repo.get_round(session, round_id=round_id)
        notify = session.exec(select(ScheduledAction).where(ScheduledAction.kind == "round.notify")).all()
    assert round_.status == "published" and round_.settings["message"] == "Welcome!" and len(notify) == 1
    engine.dispose()
