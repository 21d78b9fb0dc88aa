"""Slack details that leave people with less than they should get: a Home tab Slack rate-limited is rebuilt after the
Retry-After (kept in the inbox, so a restart doesn't lose it), and the `text` of updated and typed replies is the whole
message in words (what notifications and screen readers give), not a stub."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.rounds import service
from bot.slack import blocks as bk
from storage.models import SlackDelivery
from tests.slack_helpers import PROGRAM, slack_harness, wait_for


def _open_term(h) -> None:
    from datetime import datetime, timezone

    service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=datetime.now(timezone.utc))


def _home_retries(engine) -> list:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(SlackDelivery.__table__.c.status, SlackDelivery.__table__.c.received_at).where(SlackDelivery.__table__.c.delivery_key.like("home-retry:UBEN00001:%"))
        ).all()


async def test_a_rate_limited_home_tab_is_published_again_after_retry_after(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        _open_term(h)
        h.standin.rate_limit("views.publish", retry_after=2, times=1)
        opened = await h.driver.open_home("UBEN00001")
        assert opened.status_code == 200
        await wait_for(lambda: h.standin.calls_to("views.publish", ok=False), what="the rate-limited views.publish")
        (kept,) = await wait_for(lambda: _home_retries(h.engine), what="a Home rebuild kept for later")
        assert kept.status == "new"
        channel = h.app.state.slack
        # Nothing takes it before Slack's Retry-After has passed, not even a handler that takes every new request.
        assert await channel.intake.handle_waiting(unclaimed_for=timedelta(0)) == 0
        assert h.standin.calls_to("views.publish", ok=True) == []
        await asyncio.sleep(2.1)
        assert await channel.intake.handle_waiting(unclaimed_for=timedelta(0)) == 1
        published = await wait_for(lambda: h.standin.calls_to("views.publish", ok=True), what="the Home tab published")
        assert published[0].args["user_id"] == "UBEN00001" and "Spring 2027" in str(published[0].args["view"])
        await wait_for(lambda: [r for r in _home_retries(h.engine) if r.status == "done"], what="the kept rebuild marked done")


async def test_updated_and_typed_replies_carry_the_whole_message_as_text(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        _open_term(h)
        await h.driver.say("UBEN00001", "opt in")
        await h.dm_with("UBEN00001", "Mentee")
        await h.driver.click("UBEN00001", "Mentee")
        (update,) = await wait_for(lambda: h.standin.calls_to("chat.update", ok=True), what="the clicked message updated")
        text = update.args["text"]
        blocks = update.args["blocks"]
        words = bk.plain_text_of(blocks if isinstance(blocks, list) else json.loads(blocks))
        assert text == words and "Start my profile" in text and "\n" in text and "*" not in text

        await h.driver.say("UBEN00001", "status")
        status = await h.dm_with("UBEN00001", "Spring 2027")
        assert status["text"] == bk.plain_text_of(status["blocks"]) and "Spring 2027" in status["text"]


def test_plain_text_keeps_the_words_and_drops_the_markup() -> None:
    blocks = [
        bk.header("Your pairing"),
        bk.section(":tada: You're matched with *Ana Chen* — <https://m.example/guides/7|the conversation guide>"),
        {"type": "section", "fields": [bk.mrkdwn("*When:* Tue 15:30"), bk.mrkdwn("*Where:* Room 12")]},
        bk.context("Reply here or by email."),
        {"type": "actions", "elements": [bk.button("Yes", action_id="a"), bk.button("Not this term", action_id="b")]},
        bk.divider(),
    ]
    assert bk.plain_text_of(blocks) == (
        "Your pairing\nYou're matched with Ana Chen — the conversation guide\nWhen: Tue 15:30\nWhere: Room 12\n"
        "Reply here or by email.\nChoices: Yes · Not this term"
    )
    assert bk.plain_text_of([]) == "mentorbot" and len(bk.plain_text_of([bk.section("x" * 2900)] * 3)) == 3000
