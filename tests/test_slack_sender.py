"""SlackSender against the stand-in: DMs rendered from the outbox, 429s honoured and paced, errors sorted into
temporary and permanent, and a message handed over again after a crash is not posted twice."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from bot import notify
from bot.doubles.slack import SlackStandIn
from bot.importer import import_roster
from bot.outbox import claim_due, deliver_due, enqueue, messages
from bot.rounds import service
from bot.settings import Settings
from bot.slack.sender import METADATA_EVENT, SlackSender
from storage.db import session_scope
from tests.slack_helpers import HEADER, PROGRAM, ROSTER, SECRET, SLACK_USERS

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)


def _setup(engine: Engine, tmp_path: Path) -> int:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    import_roster(engine, path, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=NOW)
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=NOW)
    return term.id


def _sender(tmp_path: Path, engine: Engine, standin: SlackStandIn, **kwargs) -> SlackSender:
    settings = Settings(_env_file=None, data_dir=tmp_path, program_name=PROGRAM, slack_bot_token=standin.bot_token, slack_signing_secret=SECRET, slack_api_url=standin.api_url)
    return SlackSender(settings, engine=engine, **kwargs)


def _users(standin: SlackStandIn) -> None:
    for user_id, name in SLACK_USERS.items():
        standin.add_user(user_id, name)


async def test_invitations_go_out_as_dms_carrying_their_outbox_key(engine: Engine, tmp_path: Path) -> None:
    term_id = _setup(engine, tmp_path)
    notify.invite_to_term(engine, term_id=term_id, now=NOW)
    async with SlackStandIn() as standin:
        _users(standin)
        sender = _sender(tmp_path, engine, standin)
        deliveries = await deliver_due(engine, {"slack": sender}, now=NOW)
        assert sorted(d.status for d in deliveries) == ["sent"] * 4
        invite = standin.dms("UANA00001")[0]
        assert invite["metadata"]["event_type"] == METADATA_EVENT
        assert invite["metadata"]["event_payload"]["key"] == f"prompt.opt_in:term:{term_id}:{_person(engine, 'ana@d.example')}:1:slack"
        assert [e["text"]["text"] for b in invite["blocks"] if b["type"] == "actions" for e in b["elements"]][-1] == "Not this term"
    with session_scope(engine) as session:
        sent = [m for m in messages(session) if m.channel == "slack"]
    assert {m.status for m in sent} == {"sent"} and all(m.provider_id.startswith("DU") for m in sent)


def _person(engine: Engine, email: str) -> int:
    from storage import repo

    with session_scope(engine) as session:
        return repo.people_by_email(session, emails=[email])[email].id


async def test_a_429_holds_its_method_only_and_dms_to_many_people_are_not_spaced_by_us(engine: Engine, tmp_path: Path) -> None:
    term_id = _setup(engine, tmp_path)
    notify.invite_to_term(engine, term_id=term_id, now=NOW)
    async with SlackStandIn() as standin:
        _users(standin)
        standin.rate_limit("chat.postMessage", retry_after=1, times=1)
        sender = _sender(tmp_path, engine, standin)
        deliveries = await deliver_due(engine, {"slack": sender}, now=NOW)
    assert sorted(d.status for d in deliveries) == ["sent"] * 4  # nothing dropped
    posts = [c for c in standin.calls if c.method == "chat.postMessage"]
    limited = next(c for c in posts if c.error == "ratelimited")
    # Posts already on their way when the 429 came (concurrent sends) arrive with it; none is started during the wait.
    later_posts = [c for c in posts if c.at > limited.at + 0.05]
    assert later_posts and min(c.at for c in later_posts) - limited.at >= 0.95
    assert sender._method_pacers["conversations_open"].blocked_until == 0  # the hold is chat.postMessage's alone
    sent = [c for c in later_posts if c.ok]
    assert len([c for c in posts if c.ok]) == 4 and max(c.at for c in sent) - min(c.at for c in sent) < 0.9  # four DMs, no global step


async def test_posts_to_one_channel_go_a_burst_then_one_per_interval(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        for n in range(4):
            enqueue(session, idempotency_key=f"ch:{n}", channel="slack", purpose="notice", recipient="CANNOUNCE1", body={"notice": "reminder", "text": f"Note {n}", "person_name": "Channel"}, now=NOW)
    async with SlackStandIn() as standin:
        standin.add_channel("CANNOUNCE1")
        sender = _sender(tmp_path, engine, standin, interval=0.3, channel_burst=2)
        deliveries = await deliver_due(engine, {"slack": sender}, now=NOW)
    assert [d.status for d in deliveries] == ["sent"] * 4, [d.detail for d in deliveries]
    at = sorted(c.at for c in standin.calls if c.method == "chat.postMessage" and c.ok)
    gaps = [b - a for a, b in zip(at, at[1:])]
    assert gaps[0] < 0.2 and min(gaps[1:]) >= 0.25, gaps  # two at once, then paced per channel


async def test_a_long_retry_after_goes_back_to_the_outbox_with_its_time(engine: Engine, tmp_path: Path) -> None:
    term_id = _setup(engine, tmp_path)
    notify.invite_to_term(engine, term_id=term_id, now=NOW)
    async with SlackStandIn() as standin:
        _users(standin)
        standin.rate_limit("conversations.open", retry_after=120, times=50)
        sender = _sender(tmp_path, engine, standin)
        deliveries = await deliver_due(engine, {"slack": sender}, now=NOW, limit=1)
    assert [d.status for d in deliveries] == ["pending"]
    with session_scope(engine) as session:
        (waiting,) = [m for m in messages(session) if m.id == deliveries[0].message_id]
        assert waiting.next_attempt_at == NOW + timedelta(seconds=120)
        assert "rate limit" in waiting.last_error


async def test_a_long_retry_after_sends_every_slack_message_back_without_holding_up_email(engine: Engine, tmp_path: Path) -> None:
    from bot.outbox import FALLBACKS

    term_id = _setup(engine, tmp_path)
    notify.invite_to_term(engine, term_id=term_id, now=NOW)  # 4 Slack DMs and Dee's email
    async with SlackStandIn() as standin:
        _users(standin)
        standin.rate_limit("conversations.open", retry_after=600, times=1)
        started = time.monotonic()
        deliveries = await deliver_due(engine, {"slack": _sender(tmp_path, engine, standin), "email": _RecordingEmail()}, now=NOW, fallbacks=FALLBACKS, concurrency=1)
    assert time.monotonic() - started < 10  # nobody sat out the ten minutes
    assert sorted(d.status for d in deliveries) == ["pending"] * 4 + ["sent"]
    assert len(standin.calls_to("conversations.open")) == 1  # Slack was not asked again during its Retry-After
    with session_scope(engine) as session:
        waiting = [m for m in messages(session) if m.channel == "slack"]
    assert {m.status for m in waiting} == {"pending"} and all(NOW + timedelta(seconds=590) <= m.next_attempt_at <= NOW + timedelta(seconds=600) for m in waiting)


class _RecordingEmail:
    """An email channel that takes every message (the SMTP path has tests of its own)."""

    async def send(self, message) -> str:
        return f"<{message.id}@test>"


async def test_unknown_people_and_channels_fail_for_good_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    with session_scope(engine) as session:
        gone, _ = enqueue(session, idempotency_key="t:gone", channel="slack", purpose="session.reminder", recipient="UGONE0001", body={"notice": "reminder", "text": "hello"}, now=NOW)
        lost, _ = enqueue(session, idempotency_key="t:lost", channel="slack", purpose="session.reminder", recipient="UBEN00001", body={"notice": "reminder", "text": "hello"}, now=NOW)
        ids = {gone.id: "user_not_found", lost.id: "channel_not_found"}
    async with SlackStandIn() as standin:
        _users(standin)
        standin.fail("chat.postMessage", "channel_not_found")
        deliveries = await deliver_due(engine, {"slack": _sender(tmp_path, engine, standin)}, now=NOW)
    assert {d.message_id: d.status for d in deliveries} == {gone.id: "failed", lost.id: "failed"}
    with session_scope(engine) as session:
        for message in messages(session):
            assert ids[message.id] in message.last_error and message.status == "failed"


async def test_a_message_handed_over_again_after_a_crash_is_not_posted_twice(engine: Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    with session_scope(engine) as session:
        enqueue(session, idempotency_key="t:once", channel="slack", purpose="session.reminder", recipient="UBEN00001", body={"notice": "reminder", "text": "once"}, now=NOW)
    async with SlackStandIn() as standin:
        _users(standin)
        sender = _sender(tmp_path, engine, standin)
        (first,) = claim_due(engine, now=NOW, channels=("slack",))
        provider_id = await sender.send(first)  # Slack took it, then the worker died before recording it
        (again,) = claim_due(engine, now=NOW + timedelta(minutes=6), channels=("slack",))  # the lease ran out
        assert again.attempts == 2
        assert await sender.send(again) == provider_id
        assert len(standin.dms("UBEN00001")) == 1
        assert standin.calls_to("conversations.history")[0].args["include_all_metadata"] in (True, "true", "1")


async def test_a_pairing_notice_shows_reasons_times_in_the_readers_zone_and_the_guide(engine: Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    notice = {
        "notice": "pairing", "role": "mentee", "partner_name": "Ana Chen", "partner_email": "ana@d.example", "topic": "SEL", "sessions": 2,
        "reasons": ["both teach 6-8 math", "Ana's strengths meet your need: SEL"], "proposed": [["2027-02-02T23:30:00+00:00", "2027-02-03T00:00:00+00:00"]],
        "custom_message": "Thank you!", "guide_url": "http://mentorbot.test/guides/pairing/7", "text": "You're matched with Ana Chen.",
    }  # fmt: skip
    with session_scope(engine) as session:
        enqueue(session, idempotency_key="pairing:7", channel="slack", purpose="pairing", recipient="UBEN00001", person_id=_person(engine, "ben@d.example"), body=notice, now=NOW)
    async with SlackStandIn() as standin:
        _users(standin)
        await deliver_due(engine, {"slack": _sender(tmp_path, engine, standin)}, now=NOW)
        (dm,) = standin.dms("UBEN00001")
    shown = str(dm["blocks"])
    assert "Ana's strengths meet your need: SEL" in shown and "Thank you!" in shown
    assert "Tue Feb 2, 15:30–16:00 (America/Los_Angeles)" in shown
    assert "http://mentorbot.test/guides/pairing/7" in shown


async def test_callers_due_together_after_a_busy_moment_still_go_one_interval_apart() -> None:
    # Three callers are given turns 0.1 s apart; then the event loop is busy for 0.35 s, so the second and third
    # both wake late. They must still go 0.1 s apart, not in one burst the moment the loop is free.
    from bot.slack.sender import Pacer

    pacer = Pacer(0.1)
    went: list[float] = []

    async def caller() -> None:
        await pacer.wait()
        went.append(time.monotonic())

    async def busy_loop() -> None:
        await asyncio.sleep(0.05)
        time.sleep(0.35)  # a blocking moment on the loop, as under load

    await asyncio.gather(caller(), caller(), caller(), busy_loop())
    gaps = [b - a for a, b in zip(went, went[1:])]
    assert len(went) == 3 and min(gaps) >= 0.095, gaps
