"""The email replies corpus through the real inbound path: every reply posted to the running app's webhook
(Mailgun body-mime and SendGrid raw posts in turn), and every third one also delivered to a private dovecot and read
by one IMAP poll. Each case asserts its own expectation (saved, asked, kept, machine, forwarded).

Every case must be met: understood, or (where the reply is truly ambiguous) answered with a specific question and
nothing saved wrongly; robots ignored; questions for a person passed on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from bot.email.imap import ImapPoller
from tests.email_corpus import CASES
from tests.email_corpus.runner import Score, deliver_to_mailbox, new_database, prepare, run_imap, score, settings_for, webhook_scores
from tests.emailkit import Dovecot, start_dovecot

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)
IMAP_SHARE = CASES[::3]  # a representative third: every client, language and flow appears in it



@pytest.fixture(scope="module")
def webhook_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Score]:
    """The whole corpus through POST /email/inbound of one running app on one database."""
    return asyncio.run(webhook_scores(CASES, tmp_path_factory.mktemp("corpus-webhook"), now=NOW))


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    try:
        server = start_dovecot()
    except Exception as exc:
        pytest.fail(f"could not start dovecot for the IMAP corpus run: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def imap_run(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot) -> dict[str, Score]:
    """A third of the corpus appended to one mailbox and read by a single poll."""
    folder = tmp_path_factory.mktemp("corpus-imap")
    url = f"sqlite:///{(folder / 'corpus.db').as_posix()}"
    engine = new_database(url)
    settings = settings_for(
        url, folder / "data", imap_host=dovecot.host, imap_port=dovecot.port, imap_security="none", imap_username=dovecot.user, imap_password=dovecot.password,
    )  # fmt: skip
    prepared = prepare(engine, settings, IMAP_SHARE, now=NOW, roster_dir=folder)
    assert deliver_to_mailbox(dovecot.host, dovecot.port, dovecot.user, dovecot.password, prepared) == len(prepared)
    poller = ImapPoller(settings, engine, clock=lambda: NOW)
    observed = asyncio.run(run_imap(poller, engine, prepared))
    engine.dispose()
    return {c.id: score(c, observed[c.id]) for c in IMAP_SHARE}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_webhook(case, webhook_run: dict[str, Score]) -> None:
    outcome = webhook_run[case.id]
    assert outcome.met, outcome.detail


@pytest.mark.parametrize("case", IMAP_SHARE, ids=[c.id for c in IMAP_SHARE])
def test_imap(case, imap_run: dict[str, Score]) -> None:
    outcome = imap_run[case.id]
    assert outcome.met, outcome.detail


def test_the_corpus_is_wide_enough() -> None:
    """At least 160 replies, from every client family, in every language, for every dialog and every outcome kind."""
    assert len(CASES) >= 160
    assert {c.lang for c in CASES} == {"en", "es", "fr", "de", "pt", "nl", "it"}
    assert {c.flow for c in CASES} == {"opt_in", "profile", "approval", "check_in", "survey"}
    assert {c.expectation for c in CASES} == {"saved", "asks", "machine", "forwarded"}
    assert {c.style for c in CASES} == {"top", "bottom", "inline"}
    assert {c.cte for c in CASES} >= {"base64", "quoted-printable"} and {c.charset for c in CASES} >= {"iso-8859-1", "windows-1252"}
