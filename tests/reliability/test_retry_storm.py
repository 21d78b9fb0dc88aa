"""A retry storm: every Slack delivery arrives four times, and each still has exactly one effect.

Slack redelivers an event when it did not see an ack in time, with `X-Slack-Retry-Num` 1..3 and
`X-Slack-Retry-Reason`. The same script of people using the bot (typed DMs, button clicks, modal submissions,
`/mentoring` commands, and what the outbox sends because of them) runs twice on fresh databases: once with
each request delivered once, once with each delivered four times (the three retries racing each other).
Everything countable must come out the same: DMs posted, messages updated, modals opened, command answers,
rows in every table, outbox messages and their deliveries.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from bench.reliability._slack_traffic import Teacher, sign, submit_request
from bot import dialogs
from bot.doubles.slack import event_callback, find_element, message_im, slash_command
from bot.rounds import service
from storage.db import session_scope
from storage.models import OutboxMessage
from tests.slack_helpers import ADMIN, PROGRAM, Harness, slack_harness, wait_for

RETRY_REASONS = ("http_timeout", "http_error", "too_many_requests")


def storm_roster(count: int) -> tuple[list[Teacher], tuple[str, ...]]:
    """`count` teachers on Slack (a third mentors, approved by one principal on Slack) and the roster rows."""
    people = [Teacher(f"USTORM{n:04d}", f"Storm Teacher{n:03d}", f"storm{n:03d}@d.example", "mentor" if n % 3 == 0 else "mentee") for n in range(count)]
    rows = [
        f"{t.email},{t.name},{t.role},{t.slack_id},Lincoln,6-8,math,SEL,SEL,Tue 15:30-16:30,{2 if t.role == 'mentor' else ''},"
        f"{'pat@d.example' if t.role == 'mentor' else ''},America/Los_Angeles"
        for t in people
    ]
    rows.append("pat@d.example,Pat Principal,mentor,UPAT00001,Lincoln,6-8,math,,,,0,,America/Los_Angeles")
    return people, tuple(rows)


async def deliver(h: Harness, body: bytes, content_type: str, *, times: int) -> list[httpx.Response]:
    """Deliver one request `times` times: the original, then its retries (numbered 1.., racing each other)."""
    async with httpx.AsyncClient(base_url=h.url, timeout=30) as client:

        async def post(retry: int) -> httpx.Response:
            headers = {"Content-Type": content_type, **sign(body, secret=h.settings.slack_signing_secret)}
            if retry:
                headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": RETRY_REASONS[retry % len(RETRY_REASONS)]}
            return await client.post("/slack/events", content=body, headers=headers)

        first = await post(0)
        return [first, *await asyncio.gather(*(post(n) for n in range(1, times)))]


async def settle(h: Harness, quiet: float = 1.0, timeout: float = 60.0) -> None:
    """Wait until the work after the acks is done: no new Web API call for `quiet` seconds and the outbox drained."""
    deadline = time.monotonic() + timeout
    seen, since = len(h.standin.calls), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        with session_scope(h.engine) as session:
            pending = session.exec(select(OutboxMessage.id).where(OutboxMessage.status != "sent")).first()
        if len(h.standin.calls) != seen or pending is not None:
            seen, since = len(h.standin.calls), time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
    raise AssertionError("the app did not settle")


def has_button(message: dict[str, Any], text: str) -> bool:
    """True when a message has a button labelled `text` (or "`text`: explanation")."""
    try:
        _block, element = find_element(message.get("blocks") or [], text=text)
    except LookupError:
        return False
    label = element["text"]["text"].strip().lower()
    return label == text.lower() or label.startswith(text.lower() + ":")


def effects(h: Harness) -> dict[str, Any]:
    """Everything the script's effects can be counted by."""
    with h.engine.connect() as connection:
        rows = {name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() for name, table in SQLModel.metadata.tables.items()}
    posted_keys = Counter(
        ((m.get("metadata") or {}).get("event_payload") or {}).get("key") for messages in h.standin.messages.values() for m in messages if m.get("metadata")
    )
    return {
        "rows": rows,
        "dms_per_user": {channel: len(messages) for channel, messages in sorted(h.standin.messages.items())},
        "calls": dict(Counter(call.method for call in h.standin.calls if call.method not in ("views.publish", "users.info"))),
        "responses": len(h.standin.responses),
        "outbox_posted_twice": sorted(key for key, n in posted_keys.items() if n > 1),
        "outbox_sent": rows["outbox_message"],
    }


async def play(tmp_path: Path, database_url: str, *, people_count: int, rounds: int, times: int) -> tuple[dict[str, Any], list[int]]:
    """Run the script with every delivery made `times` times; returns the effects and every HTTP status seen."""
    people, roster = storm_roster(people_count)
    tmp_path.mkdir(parents=True, exist_ok=True)
    statuses: list[int] = []
    async with slack_harness(tmp_path, database_url, roster=roster) as h:
        for t in people:
            h.standin.add_user(t.slack_id, t.name, email=t.email)
        term = service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=datetime.now(timezone.utc))
        context = dialogs.context_key(flow="opt_in", term_id=term.id)

        async def event(user: str, text: str, event_id: str) -> None:
            body = json.dumps(event_callback(h.standin, message_im(h.standin, user, text), event_id=event_id)).encode()
            statuses.extend(r.status_code for r in await deliver(h, body, "application/json", times=times))

        async def click(user: str, text: str) -> None:
            prompt = await wait_for(lambda: next((m for m in reversed(h.standin.dms(user)) if has_button(m, text)), None), what=f"a {text!r} button for {user}")
            response = await h.driver.click(user, text, message=prompt)  # the original delivery
            statuses.append(response.status_code)
            if times > 1:
                retries = await deliver(h, response.request.content, "application/x-www-form-urlencoded", times=times)
                statuses.extend(r.status_code for r in retries[1:])  # retries[0] is one more first delivery: also a repeat

        async def command(user: str, text: str, trigger: str) -> None:
            form = slash_command(h.standin, user, text, response_url=f"{h.standin.url}/response/{trigger}", trigger_id=trigger)
            statuses.extend(r.status_code for r in await deliver(h, str(httpx.QueryParams(form)).encode(), "application/x-www-form-urlencoded", times=times))

        for index, t in enumerate(people):
            await event(t.slack_id, "help", f"EvHELP{index:05d}")
            await event(t.slack_id, "opt in", f"EvOPTIN{index:04d}")
            await click(t.slack_id, t.role.title())
            if t.role == "mentor":
                await click(t.slack_id, "2")
            await command(t.slack_id, "me", f"1.{index}.me")
            submission = submit_request(t, context)  # the opt-in page submitted again from a modal: the same answers
            for response in await deliver(h, submission.body, submission.content_type, times=times):
                statuses.append(response.status_code)
                assert response.json().get("response_action") in ("update", "errors")
        for number in range(rounds):
            await command(ADMIN, f'round new micro --topic "Storm topic {number}" --sessions 2', f"2.{number}.round")
        await settle(h)
        return effects(h), statuses



@pytest.fixture(params=["sqlite", "postgres"])
def two_databases(request: pytest.FixtureRequest, migrated_database: Callable[[str], str]) -> tuple[str, str]:
    """Two fresh databases of one backend, migrated to head: one for the single deliveries, one for the storm."""
    return migrated_database(request.param), migrated_database(request.param)


async def test_every_delivery_four_times_has_the_effects_of_one(tmp_path: Path, two_databases: tuple[str, str], scale, record_figure) -> None:
    people, rounds = scale.pick(4, 30), scale.pick(1, 10)
    once_url, storm_url = two_databases
    once, once_statuses = await play(tmp_path / "once", once_url, people_count=people, rounds=rounds, times=1)
    storm, storm_statuses = await play(tmp_path / "storm", storm_url, people_count=people, rounds=rounds, times=4)
    assert set(once_statuses) == set(storm_statuses) == {200}
    assert len(storm_statuses) == 4 * len(once_statuses)
    # The script did things: DMs answered, buttons clicked, rounds made, approvals asked and sent by the outbox.
    assert once["rows"]["round"] == rounds and once["responses"] == people + rounds
    assert once["calls"]["chat.update"] >= people and once["outbox_sent"] > 0
    assert storm["outbox_posted_twice"] == [] and once["outbox_posted_twice"] == []
    assert storm == once
    record_figure(
        "Retry storm", tried="every DM, click, modal submission and /mentoring command delivered 4 times (X-Slack-Retry-Num 1-3 racing)",
        count=len(storm_statuses), held="effects identical to single delivery: DMs, updates, command answers, rows, outbox sends",
        backend="postgresql" if "postgresql" in storm_url else "sqlite", people=people, rounds=rounds,
        dms=sum(once["dms_per_user"].values()), outbox_messages=once["outbox_sent"],
    )  # fmt: skip
