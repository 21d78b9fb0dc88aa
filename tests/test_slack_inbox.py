"""The durable Slack inbox: a signed request is kept before it is acknowledged, and handled from the kept row.

What must hold: an ack never waits on the request's work; a request acknowledged by a process that then stopped is
handled by the next sweep, once; a handler that died is retried, then given up on; a handled row keeps no copy of
what the person typed; and a modal submission still answers with its result.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import sqlalchemy as sa

from bot.doubles.slack import event_callback, message_im, slash_command
from bot.slack import inbox
from storage.db import session_scope
from storage.models import Person, SlackDelivery
from tests.slack_helpers import PROGRAM, signature, slack_harness, wait_for

FORM = "application/x-www-form-urlencoded"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _rows(engine) -> list[SlackDelivery]:
    with session_scope(engine) as session:
        rows = session.execute(sa.select(SlackDelivery).order_by(SlackDelivery.id)).scalars().all()
        session.expunge_all()
        return list(rows)


def _open_term(engine) -> int:
    from bot.rounds import service

    return service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=_now()).id


def test_what_is_kept_and_what_goes_to_bolt() -> None:
    event = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "message", "user": "U1", "text": "hi"}})
    click = str(httpx.QueryParams({"payload": json.dumps({"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a", "action_ts": "1.5"}]})}))
    closed = str(httpx.QueryParams({"payload": json.dumps({"type": "view_closed", "user": {"id": "U1"}, "view": {"callback_id": "flow"}})}))
    command = str(httpx.QueryParams({"command": "/mentoring", "text": "me", "user_id": "U1", "trigger_id": "9.9.x"}))
    assert inbox.delivery_of(event, "application/json") == inbox.Delivery("event", "event:Ev1", "U1")
    assert inbox.delivery_of(click, FORM) == inbox.Delivery("action", "action:U1:1.5", "U1")
    assert inbox.delivery_of(closed, FORM) == inbox.Delivery("view_closed", None, "U1")
    assert inbox.delivery_of(command, FORM) == inbox.Delivery("command", "command:9.9.x", "U1")
    # Answered by Bolt itself: its answer is its result, or it is not a kind the inbox knows.
    submission = str(httpx.QueryParams({"payload": json.dumps({"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "flow"}})}))
    assert inbox.delivery_of(submission, FORM) is None
    assert inbox.delivery_of(json.dumps({"type": "url_verification", "challenge": "c"}), "application/json") is None
    for garbage in ("", "{", "[1]", "command=/m", "a=\x00"):
        assert inbox.delivery_of(garbage, FORM) is None, garbage
        assert inbox.delivery_of(garbage, "application/json") is None, garbage
    # Signed interactions no listener could read are acknowledged and dropped, not handed to Bolt (which answers 500).
    for unreadable in ("payload=%7B", "payload=%5B%5D", 'payload={"type":"block_actions","user":"U1"}', 'payload={"type":"block_actions","user":{"id":"U1"},"actions":true}',
                       'payload={"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":7}]}', 'payload={"type":"view_submission","user":{"id":"U1"},"view":"x"}'):
        assert inbox.delivery_of(unreadable, FORM).kind == "unreadable", unreadable


def test_a_retried_delivery_is_kept_once_and_a_taken_row_is_not_taken_twice(engine) -> None:
    now = _now()
    delivery = inbox.Delivery("event", "event:EvSAME", "U1")
    first = inbox.enqueue(engine, delivery, body="{}", content_type="application/json", now=now)
    assert first is not None
    assert inbox.enqueue(engine, delivery, body="{}", content_type="application/json", now=now) is None
    # Requests Slack never retries have no key and are each kept.
    closed = inbox.Delivery("view_closed", None, "U1")
    assert inbox.enqueue(engine, closed, body="a", content_type=FORM, now=now) != inbox.enqueue(engine, closed, body="b", content_type=FORM, now=now)
    assert inbox.take(engine, first, now=now, lease=timedelta(minutes=2)) == (0, 1)  # no replies sent yet, first claim
    assert inbox.take(engine, first, now=now, lease=timedelta(minutes=2)) is None  # someone is on it
    inbox.finish(engine, first, now=now)
    assert inbox.take(engine, first, now=now + timedelta(hours=1), lease=timedelta(minutes=2)) is None  # done is done
    (row,) = [r for r in _rows(engine) if r.id == first]
    assert (row.status, row.body, row.attempts) == ("done", "", 1)


def test_a_handler_that_died_is_retried_then_given_up_on(engine) -> None:
    now = _now()
    lease = timedelta(minutes=2)
    row = inbox.enqueue(engine, inbox.Delivery("event", "event:EvDIES", "U1"), body='{"x": 1}', content_type="application/json", now=now)
    assert [w.delivery_id for w in inbox.waiting(engine, now=now, unclaimed_for=timedelta(seconds=30))] == []  # just kept: its own process has it
    later = now + timedelta(seconds=31)
    assert [w.body for w in inbox.waiting(engine, now=later, unclaimed_for=timedelta(seconds=30))] == ['{"x": 1}']
    for attempt in range(inbox.MAX_ATTEMPTS):
        assert inbox.take(engine, row, now=later, lease=lease) == (0, attempt + 1)
        later += lease + timedelta(seconds=1)  # ... and its handler never finishes
        if attempt < inbox.MAX_ATTEMPTS - 1:
            assert [w.delivery_id for w in inbox.waiting(engine, now=later, unclaimed_for=timedelta(seconds=30))] == [row]
    assert inbox.waiting(engine, now=later, unclaimed_for=timedelta(seconds=30)) == []
    (kept,) = _rows(engine)
    assert (kept.status, kept.body, kept.attempts) == ("failed", "", inbox.MAX_ATTEMPTS)
    assert "every attempt" in kept.error
    assert inbox.prune(engine, before=later + timedelta(days=3)) == 1


async def test_a_dm_is_kept_acknowledged_handled_and_its_text_not_kept(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        response = await h.driver.event(message_im(h.standin, "UBEN00001", "help me please"), event_id="Ev0KEPT0001")
        assert response.status_code == 200 and response.content == b""
        await h.dm_with("UBEN00001", "Here is what you can do")
        rows = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "done"], what="the kept DM marked done")
    (row,) = rows
    assert (row.delivery_key, row.kind, row.slack_user_id, row.attempts, row.body) == ("event:Ev0KEPT0001", "event", "UBEN00001", 1, "")


async def test_a_request_acknowledged_by_a_process_that_stopped_is_handled_by_the_next_sweep_once(tmp_path: Path, database_url: str) -> None:
    # The sweep here is the test's own call. With the scheduler on, its inbox job runs once at start-up, and on a
    # loaded machine that run could query after the rows below were kept and take them first (then the call below
    # finds nothing). test_the_scheduler_sweep_hands_over_kept_requests proves the scheduler calls this same sweep.
    async with slack_harness(tmp_path, database_url, scheduler_enabled=False) as h:
        channel = h.app.state.slack
        _open_term(h.engine)
        # Two requests acknowledged by an instance that stopped before handling them: kept, never taken.
        dm = json.dumps(event_callback(h.standin, message_im(h.standin, "UBEN00001", "help"), event_id="Ev0ORPHAN01"))
        form = slash_command(h.standin, "UANA00001", "me", response_url=h.standin.new_response_url(), trigger_id=h.standin.new_trigger("UANA00001"))
        command = str(httpx.QueryParams(form))
        long_ago = _now() - timedelta(minutes=5)
        inbox.enqueue(h.engine, inbox.delivery_of(dm, "application/json"), body=dm, content_type="application/json", now=long_ago)
        inbox.enqueue(h.engine, inbox.delivery_of(command, FORM), body=command, content_type=FORM, now=long_ago)
        # Slack retries the DM meanwhile: it is a repeat of a kept delivery, acknowledged and not handled again.
        retry = await h.driver.event(message_im(h.standin, "UBEN00001", "help"), event_id="Ev0ORPHAN01", retry_num=1)
        assert retry.status_code == 200
        assert await channel.handle_waiting() == 2
        assert await channel.handle_waiting() == 0  # already being handled here
        await h.dm_with("UBEN00001", "Here is what you can do")
        (answer,) = await h.responses(form["response_url"])
        assert "Where you stand" in json.dumps(answer) or "Ana" in json.dumps(answer)
        await wait_for(lambda: all(r.status == "done" for r in _rows(h.engine)), what="both rows done")
        assert await channel.handle_waiting() == 0
        await asyncio.sleep(0.3)
        assert len(h.standin.dms("UBEN00001")) == 1  # once, although kept, retried and swept


async def test_the_scheduler_sweep_hands_over_kept_requests(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url, sweep_seconds=1) as h:
        dm = json.dumps(event_callback(h.standin, message_im(h.standin, "UCY000001", "hi"), event_id="Ev0SWEPT001"))
        inbox.enqueue(h.engine, inbox.delivery_of(dm, "application/json"), body=dm, content_type="application/json", now=_now() - timedelta(minutes=1))
        await h.dm_with("UCY000001", "Here is what you can do", timeout=15)


async def test_forged_requests_are_not_kept(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        body = json.dumps(event_callback(h.standin, message_im(h.standin, "UBEN00001", "help")))
        async with httpx.AsyncClient(base_url=h.url) as client:
            forged = await client.post("/slack/events", content=body.encode(), headers={"Content-Type": "application/json", **signature(body, secret="wrong")})
        assert forged.status_code == 401
        assert _rows(h.engine) == []


async def test_erasing_a_person_removes_their_kept_requests(tmp_path: Path, sqlite_url: str) -> None:
    from bot import data_rights

    async with slack_harness(tmp_path, sqlite_url) as h:
        await h.driver.event(message_im(h.standin, "UBEN00001", "help"))
        await h.dm_with("UBEN00001", "Here is what you can do")
        await wait_for(lambda: _rows(h.engine) and _rows(h.engine)[0].status == "done", what="the DM handled")
        with session_scope(h.engine) as session:
            data_rights.erase(session, person_id=h.person_id("ben@d.example"), requested_by="admin:test", channel="admin", now=_now())
        assert [r for r in _rows(h.engine) if r.slack_user_id == "UBEN00001"] == []


def _handler_pids(serve_pid: int) -> dict[int, int]:
    """The Slack handler processes under a `mentorbot serve`: pid -> nice value."""
    from bench.reliability._slack_traffic import HANDLER_COMM, process_tree

    return {pid: nice for pid, (name, _cpu, nice) in process_tree(serve_pid).items() if name == HANDLER_COMM}


def test_serve_acks_in_the_web_process_and_works_in_a_lower_priority_handler_that_comes_back(sqlite_url: str, tmp_path: Path) -> None:
    import os
    import signal

    from bench.reliability._slack_traffic import StandInProcess, dm_request, prepare_database, run_load, start_server, teachers
    from bot.slack import handler

    people = teachers(6)
    prepare_database(sqlite_url, tmp_path, people)

    def answered(report: dict) -> int:
        return sum(count for text, count in report["texts"].items() if text.startswith("*I'm mentorbot"))

    with StandInProcess(people) as standin:
        server = start_server(sqlite_url, standin, tmp_path, "serve")
        try:
            deadline = time.monotonic() + 20
            while not _handler_pids(server.process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)  # it is still starting
            ((first_pid, nice),) = _handler_pids(server.process.pid).items()
            assert nice == handler.NICENESS  # below the web worker, which keeps and acknowledges
            result = asyncio.run(run_load([server.url], [dm_request(people[0], "help")], rate=10))
            assert not result.errors
            assert answered(standin.wait_until(lambda r: answered(r) >= 1)) == 1
            # The handler dies; the web worker goes on acknowledging, and the requests wait in the inbox meanwhile.
            os.kill(first_pid, signal.SIGKILL)
            result = asyncio.run(run_load([server.url], [dm_request(t, "help") for t in people[1:4]], rate=20))
            assert not result.errors, result.errors
            report = standin.wait_until(lambda r: answered(r) >= 4, timeout=30)
            assert answered(report) == 4  # each DM answered once, the last three by the handler serve started again
            deadline = time.monotonic() + 10
            while not (pids := _handler_pids(server.process.pid)) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert list(pids) != [first_pid] and len(pids) == 1
        finally:
            server.stop()
        assert _handler_pids(server.process.pid) == {}  # stopped with serve


async def test_a_request_whose_handler_stopped_after_replying_is_finished_without_replying_again(tmp_path: Path, database_url: str, monkeypatch) -> None:
    # No scheduler, as above: the sweep that takes the row over must be the test's own call, not a late start-up run.
    async with slack_harness(tmp_path, database_url, scheduler_enabled=False) as h:
        channel = h.app.state.slack
        # The first handler sends its answer, then its process stops before it can mark the request done.
        finish, stopped = inbox.finish, []

        def stop_before_finishing(*args, **kwargs):
            if not stopped:
                stopped.append(True)
                raise asyncio.CancelledError  # what the handler sees of its process going away
            return finish(*args, **kwargs)

        monkeypatch.setattr(inbox, "finish", stop_before_finishing)
        await h.driver.event(message_im(h.standin, "UBEN00001", "help"), event_id="Ev0STOPPED1")
        await h.dm_with("UBEN00001", "Here is what you can do")
        (row,) = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "taken" and stopped], what="the row left taken")
        assert (row.replies_sent, row.attempts) == (1, 1) and row.body
        # The stopped handler's task winds down first (its process is gone): until then this process still counts the
        # request as its own and rightly leaves it out of a sweep, which on a loaded machine raced the sweep below.
        await channel.close(grace_seconds=5)
        # Its lease runs out; the sweep hands it to the next handler, which finishes it without a second answer.
        with h.engine.begin() as connection:
            connection.execute(sa.update(SlackDelivery).values(taken_until=_now() - timedelta(seconds=1)))
        assert await channel.handle_waiting() == 1
        (row,) = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "done"], what="the row done")
        assert (row.replies_sent, row.attempts, row.body) == (1, 2, "")
        await asyncio.sleep(0.3)
        assert len(h.standin.dms("UBEN00001")) == 1


async def _retake(h, channel) -> SlackDelivery:
    """Let the stopped handler wind down, run its lease out, and have the sweep hand the request to the next handler."""
    await channel.close(grace_seconds=5)
    with h.engine.begin() as connection:
        connection.execute(sa.update(SlackDelivery).values(taken_until=_now() - timedelta(seconds=1)))
    assert await channel.handle_waiting() == 1
    (row,) = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "done"], what="the row done")
    await asyncio.sleep(0.3)
    return row


async def test_a_handler_killed_after_its_dm_went_out_but_before_noting_it_is_not_followed_by_a_second_dm(
    tmp_path: Path, database_url: str, monkeypatch
) -> None:
    """The last window of a kept request: the DM is in Slack, the count is not saved. The next handler finds the DM's
    reply key in the DM's history (message metadata) and does not post it again."""
    async with slack_harness(tmp_path, database_url, scheduler_enabled=False) as h:
        channel = h.app.state.slack
        note, stopped = inbox.note_replies, []

        def stop_before_noting(*args, **kwargs):
            if not stopped:
                stopped.append(True)
                raise asyncio.CancelledError  # the process goes away right after chat.postMessage answered
            return note(*args, **kwargs)

        monkeypatch.setattr(inbox, "note_replies", stop_before_noting)
        await h.driver.event(message_im(h.standin, "UBEN00001", "help"), event_id="Ev0KILLED01")
        await h.dm_with("UBEN00001", "Here is what you can do")
        (row,) = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "taken" and stopped], what="the row left taken")
        assert (row.replies_sent, row.attempts) == (0, 1)  # nothing recorded: the count is what a kill here loses
        (dm,) = h.standin.dms("UBEN00001")
        assert dm["metadata"] == {"event_type": "mentorbot_reply", "event_payload": {"key": f"reply:{row.id}:1"}}
        row = await _retake(h, channel)
        assert (row.replies_sent, row.attempts) == (1, 2)  # found in the DM, and recorded this time
        assert len(h.standin.dms("UBEN00001")) == 1
        assert h.standin.calls_to("conversations.history", ok=True)  # it looked, rather than guessed


async def test_a_handler_killed_just_before_its_dm_went_out_leaves_the_next_one_to_send_it(tmp_path: Path, database_url: str, monkeypatch) -> None:
    """The check does not swallow a reply that never reached Slack: nothing in the DM, so the next handler posts it."""
    async with slack_harness(tmp_path, database_url, scheduler_enabled=False) as h:
        channel = h.app.state.slack
        post, stopped = channel.client.chat_postMessage, []

        async def stop_before_posting(*args, **kwargs):
            if not stopped:
                stopped.append(True)
                raise asyncio.CancelledError
            return await post(*args, **kwargs)

        monkeypatch.setattr(channel.client, "chat_postMessage", stop_before_posting)
        await h.driver.event(message_im(h.standin, "UBEN00001", "help"), event_id="Ev0KILLED02")
        (row,) = await wait_for(lambda: [r for r in _rows(h.engine) if r.status == "taken" and stopped], what="the row left taken")
        assert h.standin.dms("UBEN00001") == []
        row = await _retake(h, channel)
        assert (row.replies_sent, row.attempts) == (1, 2)
        (dm,) = h.standin.dms("UBEN00001")
        assert "Here is what you can do" in dm["text"] + json.dumps(dm["blocks"])


def test_claiming_waiting_requests_takes_each_once_with_its_sender_and_gives_up_on_dead_ones(engine) -> None:
    now = _now()
    lease, unclaimed = timedelta(minutes=2), timedelta(seconds=30)
    with engine.begin() as connection:
        connection.execute(sa.insert(Person.__table__).values(
            email="ul@d.example", name="Una Lee", slack_user_id="UUNA00001", timezone="UTC", created_at=now, updated_at=now,
        ))  # fmt: skip
    kept = [inbox.enqueue(engine, inbox.Delivery("event", f"event:EvCLAIM{n}", user), body=f'{{"n": {n}}}', content_type="application/json", now=now + timedelta(seconds=n))
            for n, user in enumerate(("UUNA00001", "UNOBODY01", "UUNA00001"))]  # fmt: skip
    later = now + timedelta(minutes=1)
    claimed = inbox.take_waiting(engine, now=later, unclaimed_for=unclaimed, lease=lease, limit=2, exclude=(kept[0],))
    assert [(w.delivery_id, t) for w, t in claimed] == [(kept[1], (0, 1)), (kept[2], (0, 1))]  # oldest first, none excluded
    assert claimed[0][0].sender is None  # not on the roster: the handler's own lookup links them by email
    assert claimed[1][0].sender[:3] == ("UUNA00001", claimed[1][0].sender.person_id, "Una Lee")
    # Taken rows are not claimed again while their lease runs; the rest is.
    assert [w.delivery_id for w, _t in inbox.take_waiting(engine, now=later, unclaimed_for=unclaimed, lease=lease, limit=10)] == [kept[0]]
    assert inbox.take_waiting(engine, now=later, unclaimed_for=unclaimed, lease=lease, limit=10) == []
    # A row whose handlers kept dying is never claimed again, and marked failed when a claim looks for such rows.
    with engine.begin() as connection:
        connection.execute(sa.update(SlackDelivery).where(SlackDelivery.id == kept[1]).values(attempts=inbox.MAX_ATTEMPTS))
    dead_later = later + lease + timedelta(seconds=1)
    again = inbox.take_waiting(engine, now=dead_later, unclaimed_for=unclaimed, lease=lease, limit=10, give_up=False)
    assert sorted(w.delivery_id for w, _t in again) == [kept[0], kept[2]]  # their leases ran out: taken over, second attempt
    assert {r.id: r.status for r in _rows(engine)}[kept[1]] == "taken"
    inbox.take_waiting(engine, now=dead_later, unclaimed_for=unclaimed, lease=lease, limit=10)
    assert {r.id: r.status for r in _rows(engine)}[kept[1]] == "failed"


async def test_requests_kept_at_once_share_one_commit_and_a_bad_one_fails_alone(engine) -> None:
    from bot.slack.intake import GroupCommit

    batches: list[int] = []

    async def run(fn, engine_, requests):  # the writer's thread hop, counting what each transaction carried
        batches.append(len(requests))
        return await asyncio.to_thread(fn, engine_, requests)

    keeper = GroupCommit(lambda: engine, run)
    now = _now()

    def event(key: str, body: str | None = "{}") -> inbox.ToKeep:
        return inbox.ToKeep(inbox.Delivery("event", key, "U1"), body, "application/json", now)

    requests = [event(f"event:EvG{n}") for n in range(20)] + [event("event:EvG3"), event("event:EvBAD", body=None)]
    outcomes = await asyncio.gather(*(keeper.keep(request) for request in requests), return_exceptions=True)
    assert batches == [22]  # all queued before the writer ran: one transaction tried for all of them
    assert isinstance(outcomes[-1], sa.exc.IntegrityError)  # the bad one (no body) fails; the rest are kept alone instead
    assert all(isinstance(outcome, int) for outcome in outcomes[:20]) and len(set(outcomes[:20])) == 20
    assert outcomes[20] is None  # the same delivery twice in one batch: the second is a retry
    # Slack retries some of them later, beside new ones: one commit, retries recognised, new ones kept.
    again = await asyncio.gather(*(keeper.keep(event(key)) for key in ("event:EvG0", "event:EvG19", "event:EvG20", "event:EvBAD")))
    assert batches[1:] == [4] and again[:2] == [None, None] and all(isinstance(outcome, int) for outcome in again[2:])
    keys = [row.delivery_key for row in _rows(engine)]
    assert sorted(keys) == sorted({*(f"event:EvG{n}" for n in range(21)), "event:EvBAD"})  # each once


async def test_concurrent_signed_requests_and_their_retries_are_each_kept_once(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url, slack_handlers="process", scheduler_enabled=False) as h:  # kept, not handled
        bodies = [json.dumps(event_callback(h.standin, message_im(h.standin, "UBEN00001", f"hi {n}"), event_id=f"Ev0CONC{n:04d}")) for n in range(30)]
        bodies += bodies[:10]  # Slack's retries, arriving among the first deliveries
        async with httpx.AsyncClient(base_url=h.url) as client:
            answers = await asyncio.gather(*(
                client.post("/slack/events", content=body.encode(), headers={"Content-Type": "application/json", **signature(body)}) for body in bodies
            ))  # fmt: skip
        assert [answer.status_code for answer in answers] == [200] * 40
        rows = _rows(h.engine)
        assert sorted(row.delivery_key for row in rows) == sorted(f"event:Ev0CONC{n:04d}" for n in range(30))
        assert all(row.status == "new" and row.body for row in rows)  # every acknowledged request's row was committed
