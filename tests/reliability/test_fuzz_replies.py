"""Fuzzing the email reply path: arbitrary bodies, charsets, HTML-only mail, quoted threads and attachments.

Each generated reply is real MIME, addressed to a person's signed reply address, and goes in either the way the
IMAP poller hands it over (`InboundMail.from_bytes` -> `handle_mail`) or over real HTTP as a SendGrid inbound post.
What must hold: never a traceback (or a 5xx); the reply is applied and answered (one follow-up queued, in the
thread); a reply with nothing usable gets the friendly "I couldn't find an answer I could use" answer; nothing
already saved is lost; the dialog state and the stored profile agree.
"""

from __future__ import annotations

import base64
import copy
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import httpx
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs
from bot.email import tokens
from bot.email.availability import parse_availability
from bot.email.inbound import InboundMail
from bot.email.render import render_notice
from bot.email.replies import Asked, extract_answers, html_to_text, strip_quoted
from bot.email.router import handle_mail
from bot.flows.parsers import AnswerError
from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from bot.web.app import create_app
from storage import db, repo
from storage.db import session_scope
from storage.models import DialogState, OutboxMessage, ProfileAnswer

PROGRAM = "Reply Program"
ROSTER = "email,name,role,site\nben@d.example,Ben Ortiz,mentee,Garfield\n"
CHARSETS = ("utf-8", "iso-8859-1", "windows-1252", "utf-16", "shift_jis", "koi8-r", "gb2312", "us-ascii")
COULD_NOT_READ = "I couldn't find an answer I could use"
SAVED_NOTHING = "so I saved nothing for it"
NOT_SAVED_YET = "but I haven't saved it yet"

plausible = st.sampled_from([
    "Tue 15:30-16:30", "Tuesdays after 3pm", "mornings", "1. math\n2. SEL", "Availability: Mon 8-9am", "yes", "no", "2",
    "needs: classroom management; assessment", "Grade bands: 6-8", "1", "none", "skip", "-", "Thanks!\n\nBen",
])  # fmt: skip
bodies = st.one_of(
    st.text(max_size=300),
    plausible,
    st.builds(lambda a, b: f"{a}\n\nOn Mon, Nov 23, 2026 at 9:00 AM Mentoring <m@d.example> wrote:\n> {b}", plausible | st.text(max_size=80), st.text(max_size=200)),
    st.builds(lambda a, b: f"{a}\n-- \n{b}\nSent from my iPhone", st.text(max_size=80), st.text(max_size=80)),
    st.builds(lambda a, b: f"{a}\r\n\r\n________________________________\r\nFrom: M <m@d.example>\r\nSent: Monday\r\nTo: Ben\r\n\r\n{b}", plausible, st.text(max_size=100)),
)
html_bodies = st.one_of(
    st.builds(lambda t: f"<html><body><p>{t}</p></body></html>", st.text(max_size=200)),
    st.builds(lambda t, q: f"<div>{t}</div><blockquote>{q}</blockquote>", plausible, st.text(max_size=100)),
    st.text(max_size=300),
    st.sampled_from(["<p>unclosed", "<script>alert(1)</script>", "&#0; &#xD800; &bogus;", "<br><br/><li>Tue 3pm</li>", "<<<>>>"]),
)


@st.composite
def raw_replies(draw: st.DrawFn, to: str, message_id: str) -> Callable[[], bytes] | bytes:
    """A reply as the bytes a mail server hands over: well-formed, or with a charset or encoding that lies."""
    shape = draw(st.sampled_from(["plain", "html", "both", "attachment", "lying-charset", "bad-base64", "unknown-charset", "empty"]))
    headers = f"From: Ben Ortiz <ben@d.example>\r\nTo: {to}\r\nSubject: Re: Your mentoring profile\r\nMessage-ID: {message_id}\r\n"
    text, html = draw(bodies), draw(html_bodies)
    if shape in ("lying-charset", "bad-base64", "unknown-charset", "empty"):
        if shape == "lying-charset":
            payload = draw(st.binary(max_size=300))
            return (headers + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + payload
        if shape == "bad-base64":
            junk = draw(st.text(alphabet="ABCDEFabcdef0123456789+/=!\r\n ", max_size=200))
            return (headers + f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{junk}").encode()
        if shape == "unknown-charset":
            charset = draw(st.sampled_from(["x-nonsense", "", "utf-9", "unicode-1-1-utf-7", '"'] ))
            return (headers + f"Content-Type: text/plain; charset={charset}\r\n\r\n").encode() + text.encode("utf-8", "replace")
        return (headers + "\r\n").encode()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"], message["Message-ID"] = "Ben Ortiz <ben@d.example>", to, "Re: Your mentoring profile", message_id
    charset = draw(st.sampled_from(CHARSETS))
    try:
        text.encode(charset), html.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    if shape in ("plain", "both", "attachment"):
        message.set_content(text, charset=charset, cte=draw(st.sampled_from(["base64", "quoted-printable"])) if charset != "us-ascii" else "7bit")
        if shape == "both":
            message.add_alternative(html, subtype="html", charset=charset)
        if shape == "attachment":
            name = draw(st.sampled_from(["lesson plan.pdf", "availability.ics", "фото.jpg", "a\"b.txt"]))
            message.add_attachment(draw(st.binary(max_size=2000)), maintype="application", subtype="octet-stream", filename=name)
    else:
        message.set_content(html, subtype="html", charset=charset, cte="base64" if charset not in ("us-ascii",) else "7bit")
    return lambda: message.as_bytes(policy=SMTP)  # MIME boundaries are random: made outside the strategy


def _settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM, reply_domain="reply.district.example",
        email_token_secret="s" * 40, sendgrid_inbound_key="sg-key", scheduler_enabled=False, public_base_url="http://127.0.0.1:9",
    )  # fmt: skip


def _started_profile(engine: Engine, tmp_path: Path, now: datetime) -> tuple[int, str]:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    import_roster(engine, roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    term = service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    with session_scope(engine) as session:
        ben = repo.people_by_email(session, emails=["ben@d.example"])["ben@d.example"].id
    context = dialogs.context_key(flow="profile", term_id=term.id)
    saved = dialogs.answer(engine, person_id=ben, flow="profile", context=context, channel="email", replies={"grade_bands": "6-8", "subjects": "math"}, now=now)
    assert set(saved.outcome.saved) == {"grade_bands", "subjects"}
    return ben, context


class _Tracebacks(logging.Handler):
    """Counts log records that carry a traceback, without keeping every record (10,000 examples log a lot)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(self.format(record))


@dataclass(frozen=True)
class _Baseline:
    """The person's profile dialog and answers as `_started_profile` left them, restored before each example."""

    answers: dict
    step: str | None
    status: str
    updated_at: datetime | None
    expires_at: datetime | None
    profile: dict[str, tuple[object, str, datetime | None]]

    @classmethod
    def take(cls, engine: Engine, *, person_id: int, context: str) -> _Baseline:
        """Snapshot the dialog row and profile rows of `person_id`."""
        with session_scope(engine) as session:
            record = session.exec(select(DialogState).where(DialogState.person_id == person_id, DialogState.flow == "profile", DialogState.context == context)).one()
            rows = session.exec(select(ProfileAnswer).where(ProfileAnswer.person_id == person_id)).all()
            return cls(
                dict(record.answers), record.step, record.status, record.updated_at, record.expires_at,
                {row.question: (copy.deepcopy(row.value), row.source, row.updated_at) for row in rows},
            )  # fmt: skip

    def restore(self, engine: Engine, *, person_id: int, context: str) -> None:
        """Put the dialog and profile back, so each example starts from the same state (the app and engine are reused)."""
        with session_scope(engine) as session:
            record = session.exec(select(DialogState).where(DialogState.person_id == person_id, DialogState.flow == "profile", DialogState.context == context)).one()
            record.answers, record.step, record.status = copy.deepcopy(self.answers), self.step, self.status
            record.updated_at, record.expires_at = self.updated_at, self.expires_at
            session.execute(sa.delete(ProfileAnswer).where(ProfileAnswer.person_id == person_id))
            for question, (value, source, updated_at) in self.profile.items():
                session.add(ProfileAnswer(person_id=person_id, question=question, value=copy.deepcopy(value), source=source, updated_at=updated_at))


_ids = itertools.count()


async def test_arbitrary_replies_never_crash_and_lose_nothing(postgres_url: str, tmp_path: Path, now: datetime, fuzz_profile: str, record_figure) -> None:
    """Arbitrary MIME replies through the IMAP hand-over and SendGrid over HTTP: always answered, nothing lost.

    On PostgreSQL, the stricter store (it refuses NUL in text); the plain examples below run on both backends.
    The app, engine and roster are built once; before each example the person's dialog and profile are put back
    to the same saved answers, so every example answers the same starting point and none depends on another.
    """
    database_url = postgres_url
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    ben, context = _started_profile(engine, tmp_path, now)
    baseline = _Baseline.take(engine, person_id=ben, context=context)
    settings_ = _settings(tmp_path, database_url)
    address = tokens.reply_address(tokens.make_reply_token(settings_.email_token_secret, person_id=ben, flow="profile", context=context, now=now), settings_.reply_domain)
    app = create_app(settings_, clock=lambda: now, senders={})
    totals = {"examples": 0, "http": 0, "answered_nothing": 0, "saved_something": 0}
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mentorbot.test")
    examples: list[tuple[bytes, str, bool]] = []

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
    @given(st.data(), st.booleans())
    def collect(data: st.DataObject, over_http: bool) -> None:
        message_id = f"<r{next(_ids)}@mail.d.example>"
        raw = data.draw(raw_replies(address, message_id))
        examples.append((raw() if callable(raw) else raw, message_id, over_http))

    # Hypothesis drives synchronous tests; the replies it generates are then sent in the app's own event loop.
    collect()
    tracebacks = _Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    with session_scope(engine) as session:
        last_reply_id = session.exec(select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0))).one()
    started = time.monotonic()
    try:
        for raw, message_id, over_http in examples:
            baseline.restore(engine, person_id=ben, context=context)
            if over_http:
                response = await client.post("/email/inbound", params={"key": "sg-key"}, data={"email": raw.decode("utf-8", "replace"), "envelope": '{"to": []}'})
                assert response.status_code == 200, (response.status_code, response.text, raw[:500])
                assert response.json()["status"] == "applied", (response.json(), raw[:500])
                totals["http"] += 1
                saved_keys = None
            else:
                result = handle_mail(engine, settings_, InboundMail.from_bytes(raw), now=now)
                assert result.status == "applied", (result, raw[:500])
                saved_keys = set(result.saved)
            assert not tracebacks.seen, (tracebacks.seen, raw[:500])
            after = dialogs.current_state(engine, person_id=ben, flow="profile", context=context)
            # Nothing already saved is lost: every earlier answer is still there, unchanged unless this reply answered it.
            for key, value in baseline.answers.items():
                assert key in after.answers, (key, raw[:500])
                if saved_keys is not None and key not in saved_keys:
                    assert after.answers[key] == value, (key, raw[:500])
            with session_scope(engine) as session:
                profile = repo.profiles(session, person_ids=[ben])[ben]
                # Only what this example queued (ids only grow): the whole outbox would make the run quadratic.
                queued = list(session.exec(select(OutboxMessage).where(OutboxMessage.id > last_reply_id).order_by(OutboxMessage.id)))
                # Exactly one answer; a completed profile may also queue notices to others (events), which are not answers.
                replies = [message for message in queued if message.purpose == "email.reply.profile"]
                assert len(replies) == 1, ([(m.purpose, m.body) for m in queued], raw[:500])
                last_reply_id = queued[-1].id
                follow_up = render_notice(session, message=replies[-1], settings=settings_, now=now)
            for key, value in after.answers.items():
                assert profile.get(key) == value, (key, profile.get(key), value)  # dialog state and stored profile agree
            understood = replies[-1].body["understood"]
            assert follow_up.text.strip() and follow_up.subject.startswith("Re:")
            assert follow_up.in_reply_to == message_id, (follow_up.in_reply_to, message_id)  # answered in its thread
            if not understood:
                # Nothing saved: the answer says so, asks about the doubtful part, or proposes a reading to confirm.
                assert any(words in follow_up.text for words in (COULD_NOT_READ, SAVED_NOTHING, NOT_SAVED_YET, "passed your message on")), follow_up.text
                totals["answered_nothing"] += 1
            else:
                totals["saved_something"] += 1
            totals["examples"] += 1
    finally:
        logging.getLogger().removeHandler(tracebacks)
        await client.aclose()
        engine.dispose()
    record_figure(
        "Fuzzing: email reply parser", tried=f"arbitrary MIME replies (bodies, charsets, HTML-only, quoted threads, attachments, lying headers) via IMAP hand-over and SendGrid HTTP ({database_url.split(':')[0]})",
        count=totals["examples"], held="never a traceback or 5xx; each reply answered once, in its thread; unreadable ones got the friendly answer; nothing saved was lost; dialog state and profile agree",
        seconds=round(time.monotonic() - started, 1), **{k: v for k, v in totals.items() if k != "examples"},
    )  # fmt: skip


ASKED = [Asked(1, "availability", ("When are you free",)), Asked(2, "needs", ("Needs", "Support")), Asked(3, "match_weights", ("What matters",))]


def test_the_parsers_take_any_text(fuzz_profile: str, record_figure) -> None:
    """strip_quoted, html_to_text, extract_answers and parse_availability on any text: answers or a clear AnswerError."""
    counts = {"examples": 0, "availability_read": 0, "availability_refused": 0}

    @settings(settings.get_profile(fuzz_profile), suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(bodies, html_bodies, st.text(max_size=2000)))
    def check(text: str) -> None:
        kept = strip_quoted(text)
        assert isinstance(kept, str) and ("\r" not in kept)
        assert isinstance(html_to_text(text), str)
        extraction = extract_answers(kept, ASKED, "availability")
        assert set(extraction.answers) <= {a.key for a in ASKED}
        try:
            slots = parse_availability(text)
            counts["availability_read"] += 1
            assert all(0 <= s.start < s.end for s in slots)
        except AnswerError as exc:
            assert exc.message.strip()
            counts["availability_refused"] += 1
        counts["examples"] += 1

    started = time.monotonic()
    check()
    record_figure(
        "Fuzzing: email reply parser", tried="any text into strip_quoted, html_to_text, extract_answers and parse_availability",
        count=counts["examples"], held="no exception but a clear AnswerError", seconds=round(time.monotonic() - started, 1),
        **{k: v for k, v in counts.items() if k != "examples"},
    )  # fmt: skip


def test_a_reply_in_base64_with_a_bad_padding_is_still_answered(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    """One generated case kept as a plain example: a base64 body that does not decode."""
    ben, context = _started_profile(engine, tmp_path, now)
    settings_ = _settings(tmp_path, database_url)
    address = tokens.reply_address(tokens.make_reply_token(settings_.email_token_secret, person_id=ben, flow="profile", context=context, now=now), settings_.reply_domain)
    raw = (
        f"From: ben@d.example\r\nTo: {address}\r\nMessage-ID: <b64@d.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(b'Tue 15:30-16:30').decode()[:-3]}!\r\n"
    ).encode()
    result = handle_mail(engine, settings_, InboundMail.from_bytes(raw), now=now)
    assert result.status == "applied"
    assert dialogs.current_state(engine, person_id=ben, flow="profile", context=context).answers["grade_bands"] == ["6-8"]


async def test_a_reply_in_a_charset_python_does_not_know_is_answered_not_refused(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    """Found by the fuzzer: `charset=x-nonsense` made reading the body raise, a 500 to SendGrid and a dead letter over IMAP."""
    ben, context = _started_profile(engine, tmp_path, now)
    settings_ = _settings(tmp_path, database_url)
    address = tokens.reply_address(tokens.make_reply_token(settings_.email_token_secret, person_id=ben, flow="profile", context=context, now=now), settings_.reply_domain)
    raw = f"From: ben@d.example\r\nTo: {address}\r\nMessage-ID: <cs@d.example>\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\nTue 15:30-16:30\r\n"
    app = create_app(settings_, clock=lambda: now, senders={})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mentorbot.test") as client:
        response = await client.post("/email/inbound", params={"key": "sg-key"}, data={"email": raw, "envelope": '{"to": []}'})
    assert (response.status_code, response.json()["status"]) == (200, "applied")
    state = dialogs.current_state(engine, person_id=ben, flow="profile", context=context)
    assert state.answers["availability"] == ["Tue 15:30-16:30"] and state.answers["grade_bands"] == ["6-8"]


def test_a_reply_with_a_nul_byte_is_saved_and_answered_on_both_backends(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    """Found by the fuzzer: a NUL in a reply saved the answer, then PostgreSQL refused the follow-up (503, no answer sent)."""
    ben, context = _started_profile(engine, tmp_path, now)
    settings_ = _settings(tmp_path, database_url)
    address = tokens.reply_address(tokens.make_reply_token(settings_.email_token_secret, person_id=ben, flow="profile", context=context, now=now), settings_.reply_domain)
    mail = InboundMail(sender="ben@d.example", recipients=[address], subject="Re: \x00profile", text="grade bands: 6-8\x00; 9-12\x00 \x00?", message_id="<nul@d.example>")
    result = handle_mail(engine, settings_, mail, now=now)
    assert result.status == "applied"
    with session_scope(engine) as session:
        (follow_up,) = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == result.reply_key)).all()
        assert "\x00" not in str(follow_up.body)
    assert dialogs.current_state(engine, person_id=ben, flow="profile", context=context).answers["subjects"] == ["math"]
