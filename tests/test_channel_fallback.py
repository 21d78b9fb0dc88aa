"""Every message reaches a person: Slack when Slack works, email otherwise, exactly once.

Slack not set up on the server (messages queued for Slack before, and new ones), and Slack refusing a person for good
(user_not_found, user_disabled, account_inactive from the stand-in): each message arrives once at a real aiosmtpd
sink, the person is marked so later messages go by email, the mark lifts when they write on Slack, and someone no
channel reaches is reported instead of waiting forever."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot import notify
from bot.doubles.slack import SlackStandIn
from bot.email.sender import EmailSender
from bot.importer import import_roster
from bot.notices import Pairing
from bot.outbox import FALLBACKS, channel_backlog, deliver_due, messages, problems
from bot.rounds import service
from bot.settings import Settings
from bot.slack.sender import SlackSender
from bot.slack.store import member_for
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from tests.emailkit import FaultyHandler, RecordingHandler, smtp_server
from tests.slack_helpers import HEADER, PROGRAM, ROSTER, SECRET, SLACK_USERS

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)


def _term(engine: Engine, tmp_path: Path) -> int:
    path = tmp_path / "roster.csv"
    path.write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    import_roster(engine, path, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=NOW)
    return service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=NOW).id


def _settings(tmp_path: Path, port: int, standin: SlackStandIn | None = None) -> Settings:
    slack = {"slack_bot_token": standin.bot_token, "slack_signing_secret": SECRET, "slack_api_url": standin.api_url} if standin else {}
    return Settings(
        _env_file=None, data_dir=tmp_path, program_name=PROGRAM, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        mail_from="mentoring@district.example", reply_domain="reply.district.example", email_token_secret="k" * 32, **slack,
    )  # fmt: skip


def _person(engine: Engine, email: str) -> Person:
    with session_scope(engine) as session:
        return repo.people_by_email(session, emails=[email])[email]


async def _drain(engine: Engine, senders: dict, now: datetime) -> list:
    done = []
    while batch := await deliver_due(engine, senders, now=now, fallbacks=FALLBACKS):
        done += batch
    return done


def _inbox(handler: RecordingHandler) -> Counter:
    return Counter((r.rcpt_tos[0], r.message["X-Mentorbot-Purpose"]) for r in handler.received)


async def test_without_slack_every_slack_message_goes_by_email_once_including_those_queued_before(engine: Engine, tmp_path: Path) -> None:
    term_id = _term(engine, tmp_path)
    # Queued for Slack while an older server ran (one had even failed a try), before this server came up without Slack.
    notify.invite_to_term(engine, term_id=term_id, now=NOW - timedelta(days=2))
    with session_scope(engine) as session:
        stale = next(m for m in messages(session) if m.channel == "slack")
        stale.attempts, stale.last_error = 1, "could not reach Slack for chat_postMessage: ClientConnectorError"
        assert {m.channel for m in messages(session)} == {"slack", "email"}
        slack_backlog = channel_backlog(session, slack_configured=False)
    assert slack_backlog.summary().startswith("Slack: not set up, 4 waiting to go by email instead · Email: 1 waiting")

    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    email = EmailSender(_settings(tmp_path, port), engine=engine, clock=lambda: NOW)
    try:
        deliveries = await _drain(engine, {"email": email}, NOW)
        # A later notice for a Slack person, and a second worker tick: still one email each.
        ana = _person(engine, "ana@d.example")
        with session_scope(engine) as session:
            notify.send_notice(session, person=session.get(Person, ana.id), purpose="pairing", key="9:1", notice=Pairing(pairing_id=9, round_id=1, role="mentor", partner_name="Ben Ortiz"), now=NOW, email_copy=True)
        deliveries += await _drain(engine, {"email": email}, NOW + timedelta(minutes=1))
        assert await _drain(engine, {"email": email}, NOW + timedelta(hours=1)) == []
    finally:
        await email.close()
        server.close()

    everyone = {"ana@d.example", "ben@d.example", "cy@d.example", "dee@d.example", "pat@d.example"}
    assert _inbox(handler) == Counter({**{(a, "prompt.opt_in"): 1 for a in everyone}, ("ana@d.example", "pairing"): 1})
    assert Counter(d.status for d in deliveries) == Counter({"moved": 5, "sent": 6})
    with session_scope(engine) as session:
        moved = [m for m in messages(session) if m.channel == "slack"]
        assert {m.status for m in moved} == {"moved"} and all("Slack is not set up" in m.last_error for m in moved)
        assert all(m.provider_id.startswith("moved to email #") for m in moved)
        assert {m.status for m in messages(session) if m.channel == "email"} == {"sent"}
        # Slack not being set up says nothing about the people: nobody is marked.
        assert all(p.slack_failing_at is None for p in repo.list_people(session))
        assert channel_backlog(session, slack_configured=False).summary() == "Slack: not set up, 0 waiting to go by email instead · Email: 0 waiting"


async def test_a_slack_refusal_emails_that_message_once_and_later_ones_until_slack_works_again(engine: Engine, tmp_path: Path) -> None:
    term_id = _term(engine, tmp_path)
    notify.invite_to_term(engine, term_id=term_id, now=NOW)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    async with SlackStandIn() as standin:
        for user_id, name in SLACK_USERS.items():
            if user_id != "UBEN00001":  # Ben left the workspace: user_not_found
                standin.add_user(user_id, name)
        standin.users["UCY000001"]["deleted"] = True  # Cy's account was deactivated: user_disabled
        settings = _settings(tmp_path, port, standin)
        senders = {"slack": SlackSender(settings, engine=engine), "email": EmailSender(settings, engine=engine, clock=lambda: NOW)}
        try:
            deliveries = await _drain(engine, senders, NOW)
            assert Counter(d.status for d in deliveries) == Counter({"sent": 5, "moved": 2})
            assert _inbox(handler) == Counter({("ben@d.example", "prompt.opt_in"): 1, ("cy@d.example", "prompt.opt_in"): 1, ("dee@d.example", "prompt.opt_in"): 1})
            assert len(standin.dms("UANA00001")) == len(standin.dms("UPAT00001")) == 1

            ben, cy = _person(engine, "ben@d.example"), _person(engine, "cy@d.example")
            assert ben.slack_failing_at == NOW and ben.slack_failure == "Slack user not found (user_not_found)"
            assert cy.slack_failure == "Slack account deactivated (user_disabled)"

            # Ana's workspace account goes inactive mid-term: her pairing (which also has an email copy) arrives once.
            standin.fail("chat.postMessage", "account_inactive")
            with session_scope(engine) as session:
                people = {p.email: p for p in repo.list_people(session)}
                queued = notify.send_notice(session, person=people["ana@d.example"], purpose="pairing", key="7:2", notice=Pairing(pairing_id=7, round_id=2, role="mentor", partner_name="Ben Ortiz"), now=NOW, email_copy=True)
                assert [m.channel for m in queued] == ["slack", "email"]
                # Ben is marked: his next message is queued for email straight away, Slack is not asked again.
                (later,) = notify.send_notice(session, person=people["ben@d.example"], purpose="pairing", key="7:1", notice=Pairing(pairing_id=7, round_id=2, role="mentee", partner_name="Ana Chen"), now=NOW)
                assert later.channel == "email"
            calls_before = len(standin.calls)
            await _drain(engine, senders, NOW + timedelta(minutes=1))
            assert [c.method for c in standin.calls[calls_before:]] == ["chat.postMessage"]  # Ana's try only
            assert _inbox(handler)[("ana@d.example", "pairing")] == 1 and _inbox(handler)[("ben@d.example", "pairing")] == 1
            assert _person(engine, "ana@d.example").slack_failure == "Slack account deactivated (account_inactive)"

            # Ben is back in the workspace and writes to the bot: Slack works for him again.
            standin.add_user("UBEN00001", "Ben Ortiz")
            assert member_for(engine, slack_user_id="UBEN00001") is not None
            assert _person(engine, "ben@d.example").slack_failing_at is None
            with session_scope(engine) as session:
                ben_row = session.get(Person, ben.id)
                (again,) = notify.send_notice(session, person=ben_row, purpose="pairing", key="8:1", notice=Pairing(pairing_id=8, round_id=3, role="mentee", partner_name="Ana Chen"), now=NOW)
                assert again.channel == "slack"
            await _drain(engine, senders, NOW + timedelta(minutes=2))
            assert len(standin.dms("UBEN00001")) == 1
        finally:
            await senders["email"].close()
            server.close()
    # Nothing anyone received twice, and nothing left waiting.
    assert max(_inbox(handler).values()) == 1
    with session_scope(engine) as session:
        assert not [m for m in messages(session) if m.status in ("pending", "sending", "committing")]


async def test_someone_no_channel_reaches_is_reported_not_kept_waiting(engine: Engine, tmp_path: Path) -> None:
    term_id = _term(engine, tmp_path)
    with session_scope(engine) as session:
        cy = repo.people_by_email(session, emails=["cy@d.example"])["cy@d.example"]
        cy.email_failing_at, cy.email_failure = NOW - timedelta(days=3), "550 5.1.1 mailbox unavailable"
    notify.invite_to_term(engine, term_id=term_id, now=NOW)
    handler = FaultyHandler(script=["421@MAIL"])  # the mail server turns away the first message (Dee's): try later
    server, port = await smtp_server(handler)
    async with SlackStandIn() as standin:
        for user_id, name in SLACK_USERS.items():
            standin.add_user(user_id, name)
        standin.users["UCY000001"]["deleted"] = True
        settings = _settings(tmp_path, port, standin)
        senders = {"slack": SlackSender(settings, engine=engine), "email": EmailSender(settings, engine=engine, clock=lambda: NOW)}
        try:
            deliveries = await deliver_due(engine, senders, now=NOW, fallbacks=FALLBACKS, concurrency=1)
        finally:
            await senders["email"].close()
            server.close()
    failed = [d for d in deliveries if d.status == "failed"]
    assert len(failed) == 1 and failed[0].detail.startswith("unreachable: Slack account deactivated (user_disabled); Cy Diaz's email address bounces")
    assert not [r for r in handler.received if r.rcpt_tos == ["cy@d.example"]]
    with session_scope(engine) as session:
        assert [m.id for m in problems(session)] == [failed[0].message_id]
        backlog = channel_backlog(session, slack_configured=True)
        assert [(p.name, p.reason) for p in backlog.unreachable] == [("Cy Diaz", "email bounces, Slack account deactivated (user_disabled)")]
        line = backlog.summary(ZoneInfo("America/Los_Angeles"))
    assert line == (
        "Slack: 0 waiting · Email: 1 waiting (next try 09:00, 421 4.3.2 Service shutting down, try later (at MAIL)) · "
        "1 person unreachable (email bounces, Slack account deactivated (user_disabled))"
    )


async def test_a_post_to_the_announce_channel_says_to_invite_the_bot_when_slack_answers_not_in_channel(engine: Engine, tmp_path: Path) -> None:
    _term(engine, tmp_path)
    from bot.outbox import enqueue

    with session_scope(engine) as session:
        enqueue(session, idempotency_key="round.announce:1:channel:CANNOUNCE", channel="slack", purpose="round.announce", recipient="CANNOUNCE", body={"notice": "reminder", "text": "hello"}, now=NOW)
    async with SlackStandIn() as standin:
        standin.add_channel("CANNOUNCE")
        standin.fail("chat.postMessage", "not_in_channel")
        settings = _settings(tmp_path, 25, standin)
        (delivery,) = await deliver_due(engine, {"slack": SlackSender(settings, engine=engine)}, now=NOW, fallbacks=FALLBACKS)
    assert delivery.status == "failed"
    assert "the bot is not in channel CANNOUNCE: invite it there (/invite @mentorbot), or give the app the chat:write.public scope" in delivery.detail
    with session_scope(engine) as session:
        assert session.get(OutboxMessage, delivery.message_id).status == "failed"
