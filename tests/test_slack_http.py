"""Slack's HTTP contract: signed requests only, harmless retries, url_verification, and an ack within 3 seconds."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from bot import dialogs
from bot.doubles.slack import event_callback, message_im, slash_command
from bot.rounds import service
from storage import repo
from storage.db import session_scope
from tests.slack_helpers import ADMIN, PROGRAM, signature, slack_harness, wait_for


def _open_term(h) -> int:
    from datetime import datetime, timezone

    term = service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=datetime.now(timezone.utc))
    return term.id


async def _post(url: str, body: str, headers: dict[str, str], content_type: str = "application/json") -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post("/slack/events", content=body.encode(), headers={"Content-Type": content_type, **headers})


async def test_url_verification_answers_the_challenge(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"})
        response = await _post(h.url, body, signature(body))
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_bad_or_stale_signatures_get_401_and_have_no_effect(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        term_id = _open_term(h)
        form = slash_command(h.standin, ADMIN, 'round new micro --topic "SEL"', response_url=h.standin.new_response_url(), trigger_id=h.standin.new_trigger(ADMIN))
        body = str(httpx.QueryParams(form))
        wrong_secret = await _post(h.url, body, signature(body, secret="not-the-secret"), "application/x-www-form-urlencoded")
        six_minutes_old = await _post(h.url, body, signature(body, timestamp=int(time.time()) - 360), "application/x-www-form-urlencoded")
        unsigned = await _post(h.url, body, {}, "application/x-www-form-urlencoded")
        tampered_headers = signature(body)
        tampered = await _post(h.url, body.replace("SEL", "ELD"), tampered_headers, "application/x-www-form-urlencoded")
        event = json.dumps(event_callback(h.standin, message_im(h.standin, "UANA00001", "help")))
        forged_event = await _post(h.url, event, signature(event, secret="nope"))
        assert [r.status_code for r in (wrong_secret, six_minutes_old, unsigned, tampered, forged_event)] == [401] * 5
        fresh = await _post(h.url, body, signature(body), "application/x-www-form-urlencoded")  # the same request, signed now
        assert fresh.status_code == 200
        await h.responses(form["response_url"])
        with session_scope(h.engine) as session:
            rounds = repo.list_rounds(session, term_id=term_id)
        assert len(rounds) == 1  # only the properly signed request made a round
        assert not h.standin.dms("UANA00001")  # the forged DM event got no answer


async def test_a_redelivered_event_has_no_second_effect(tmp_path: Path, database_url: str) -> None:
    async with slack_harness(tmp_path, database_url) as h:
        term_id = _open_term(h)
        ana = h.person_id("ana@d.example")
        context = dialogs.context_key(flow="opt_in", term_id=term_id)
        dialogs.answer(h.engine, person_id=ana, flow="opt_in", context=context, channel="slack", replies={"role": "mentor"}, now=service_now())
        # Ana types her number of mentees; Slack redelivers the event twice (X-Slack-Retry-Num) as if we were slow.
        event = message_im(h.standin, "UANA00001", "2")
        first = await h.driver.event(event, event_id="Ev0SAME0001")
        await h.dm_with("UANA00001", "Got it")
        again = await h.driver.event(event, event_id="Ev0SAME0001", retry_num=1)
        third = await h.driver.event(event, event_id="Ev0SAME0001", retry_num=2)
        assert [r.status_code for r in (first, again, third)] == [200, 200, 200]
        await asyncio.sleep(0.5)
        assert len(h.standin.dms("UANA00001")) == 1, h.standin.dms("UANA00001")  # one reply, to the first delivery only
        with session_scope(h.engine) as session:
            enrollment = repo.get_enrollment(session, term_id=term_id, person_id=ana)
        assert (enrollment.role, enrollment.capacity) == ("mentor", 2)


async def test_a_repeated_click_has_no_second_effect(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        _open_term(h)
        await h.driver.say("UBEN00001", "opt in")
        await h.dm_with("UBEN00001", "Mentee")
        click = await h.driver.click("UBEN00001", "Mentee")
        payload = dict(httpx.QueryParams(click.request.content.decode()))["payload"]
        await h.dm_with("UBEN00001", "Start my profile")
        updates = len(h.standin.calls_to("chat.update"))
        repeat = await h.driver.post_interaction(json.loads(payload))
        assert repeat.status_code == 200
        await asyncio.sleep(0.5)
        assert len(h.standin.calls_to("chat.update")) == updates


async def test_acks_come_at_once_while_slow_work_goes_on(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        _open_term(h)
        # A workspace admin (not in SLACK_ADMIN_IDS) makes the bot ask users.info, which is slow today.
        h.standin.users["UCY000001"]["is_admin"] = True
        h.standin.delay("users.info", 3.5)
        h.standin.delay("views.publish", 3.5)
        started = time.monotonic()
        command, url = await h.driver.command("UCY000001", "status")
        command_seconds = time.monotonic() - started
        started = time.monotonic()
        home = await h.driver.open_home("UBEN00001")
        home_seconds = time.monotonic() - started
        assert command.status_code == 200 and home.status_code == 200
        assert command_seconds < 1.5 and home_seconds < 1.5, (command_seconds, home_seconds)
        (reply,) = await h.responses(url, timeout=15)
        assert "Spring 2027" in json.dumps(reply)  # the admin got the status after all, by response_url
        await wait_for(lambda: "UBEN00001" in h.standin.homes, timeout=15, what="the Home tab")


def service_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)



def test_receipts_are_claimed_once_and_old_ones_are_forgotten(engine) -> None:
    from datetime import datetime, timedelta, timezone

    from bot.slack import store
    from bot.slack.inbox import receipt_key

    now = datetime(2026, 11, 23, 17, tzinfo=timezone.utc)
    key = receipt_key({"type": "event_callback", "event_id": "Ev123"})
    assert store.claim(engine, key=key, now=now) is True
    assert store.claim(engine, key=key, now=now + timedelta(minutes=5)) is False
    assert store.prune_receipts(engine, before=now - timedelta(days=2)) == 0
    assert store.prune_receipts(engine, before=now + timedelta(days=1)) == 1
    assert store.claim(engine, key=key, now=now + timedelta(days=3)) is True
    assert receipt_key({"command": "/mentoring", "trigger_id": "1.2.abc"}) == "command:1.2.abc"
    assert receipt_key({"type": "view_submission"}) is None  # submissions are idempotent: the same page saves the same answers
