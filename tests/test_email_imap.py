"""The IMAP poller against a real dovecot (a private instance with its own config, port and maildir)."""

from __future__ import annotations

import imaplib
import time
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import notify
from bot.email import tokens
from bot.email.imap import ImapPoller
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from storage.db import session_scope
from storage.models import DialogState, OutboxMessage, Person
from tests.emailkit import Dovecot, start_dovecot


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """A running dovecot; the test run fails (does not skip) when it can't be started."""
    try:
        server = start_dovecot()
    except Exception as exc:  # missing package, bad config, port trouble: all are failures in CI
        pytest.fail(f"could not start dovecot for the IMAP tests: {exc}", pytrace=False)
    yield server
    server.stop()


def _clear(server: Dovecot) -> imaplib.IMAP4:
    client = imaplib.IMAP4(server.host, server.port)
    client.login(server.user, server.password)
    client.select("INBOX")
    client.store("1:*", "+FLAGS", "(\\Deleted)") if client.search(None, "ALL")[1][0] else None
    client.expunge()
    return client


def _deliver(client: imaplib.IMAP4, *, to: str, text: str, message_id: str, sender: str = "Ben Ortiz <ben@d.example>", extra: dict | None = None) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, "Re: Mentoring this term"
    mail["Message-ID"], mail["Date"] = message_id, format_datetime(datetime(2026, 11, 23, 17, 5).astimezone())
    for key, value in (extra or {}).items():
        mail[key] = value
    mail.set_content(text)
    assert client.append("INBOX", None, imaplib.Time2Internaldate(time.time()), mail.as_bytes())[0] == "OK"


async def test_the_poller_applies_replies_once_and_ignores_what_it_cant_tie_to_a_dialog(
    dovecot: Dovecot, engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role\nben@d.example,Ben Ortiz,mentee\n", encoding="utf-8")
    import_roster(engine, roster, program_name="P", default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name="P", timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    notify.invite_to_term(engine, term_id=term.id, now=now)
    settings = Settings(
        _env_file=None, database_url=database_url, data_dir=tmp_path, email_token_secret="i" * 32, reply_domain="reply.example",
        imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none", imap_username=dovecot.user, imap_password=dovecot.password,
    )  # fmt: skip
    with session_scope(engine) as session:
        ben = session.exec(select(Person).where(Person.email == "ben@d.example")).one()
    good = tokens.reply_address(tokens.make_reply_token(settings.email_token_secret, person_id=ben.id, flow="opt_in", context=f"term:{term.id}", now=now), "reply.example")
    forged = tokens.reply_address(tokens.make_reply_token("someone else's secret", person_id=ben.id, flow="opt_in", context=f"term:{term.id}", now=now), "reply.example")

    client = _clear(dovecot)
    _deliver(client, to=forged, text="1", message_id="<forged@x.example>")
    _deliver(client, to=good, text="Out of office until Monday", message_id="<ooo@x.example>", extra={"Auto-Submitted": "auto-replied"})
    _deliver(client, to=good, text="Mentee\r\n\r\nSent from my iPhone\r\n\r\n> On Nov 23, 2026, at 9:00 AM, P <m@x> wrote:\r\n> 1 = Mentor", message_id="<good@x.example>")
    poller = ImapPoller(settings, engine, clock=lambda: now)
    results = await poller.poll_once()
    assert [r.status for r in results] == ["ignored", "ignored", "applied"]
    assert "reply token rejected" in results[0].reason and results[1].reason in ("automatic message", "automatic reply")
    assert results[2].saved == {"role": "mentee"}
    client.noop()  # see the poller's flag changes in this session
    assert client.search(None, "UNSEEN")[1] == [b""]  # all three read and flagged

    # The same reply seen again (a poll that crashed before flagging) does nothing twice.
    client.store("3", "-FLAGS", "(\\Seen)")
    client.noop()
    again = await poller.poll_once()
    assert [r.status for r in again] == ["duplicate"]
    client.logout()

    with session_scope(engine) as session:
        state = session.exec(select(DialogState).where(DialogState.person_id == ben.id, DialogState.flow == "opt_in")).one()
        assert (state.answers, state.status, state.channel) == ({"role": "mentee"}, "complete", "email")
        follow_ups = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "email.reply.opt_in")).all()
        assert len(follow_ups) == 1 and follow_ups[0].body["thread"]["in_reply_to"] == "<good@x.example>"


async def test_a_wrong_password_is_a_failed_poll_not_a_crash(dovecot: Dovecot, engine: Engine, tmp_path: Path, now: datetime) -> None:
    settings = Settings(
        _env_file=None, data_dir=tmp_path, imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none",
        imap_username=dovecot.user, imap_password="wrong", imap_poll_seconds=0.05,
    )  # fmt: skip
    poller = ImapPoller(settings, engine, clock=lambda: now)
    poller.start()
    for _ in range(1000):
        if poller.last_error:
            break
        await __import__("asyncio").sleep(0.02)
    await poller.stop()
    assert poller.last_error and "login" in poller.last_error
