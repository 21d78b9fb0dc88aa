"""The email channel's outbox sender: render a notice, then hand it to SMTP with aiosmtplib.

Connections are pooled and reused (at most `max_connections` at once, which also bounds concurrency), with
STARTTLS, implicit TLS or plain SMTP and a login as the settings say. A send is split at the one moment
that matters for "exactly once": the message body is written, then the outbox records that the message is
being committed, and only then the final "." goes out. See `bot.outbox` for what each outcome means.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from sqlalchemy.engine import Engine

from bot.email.render import render_notice, wire_bytes
from bot.email.sink import LocalSink
from bot.email.smtp import SmtpConfig
from bot.flows.parsers import AnswerError, parse_email
from bot.notices import NoticeError
from bot.rounds.guides import guide_rows
from bot.outbox import PermanentFailure, TemporaryFailure, Unconfirmed
from bot.settings import Settings
from storage import db
from storage.db import session_scope
from sqlmodel import col, select

from storage.models import OutboxMessage, Pairing, Person, Program, Round, Term

logger = logging.getLogger(__name__)


Checkpoint = Callable[[], Awaitable[None] | None]


class _Pool:
    """Idle SMTP connections kept for reuse, and a gate that bounds how many are in use."""

    def __init__(self, config: Callable[[], SmtpConfig]) -> None:
        self._config = config
        self._idle: list[aiosmtplib.SMTP] = []
        self._gate: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections belong to one event loop; a new loop starts a new pool
            self._idle, self._loop = [], loop
            self._gate = asyncio.Semaphore(self._config().max_connections)
        assert self._gate is not None
        return self._gate

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self._config()
        context = ssl.create_default_context() if config.security != "none" else None
        if context is not None and not config.validate_certs:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        client = aiosmtplib.SMTP(
            hostname=config.host, port=config.port, timeout=config.timeout,
            use_tls=config.security == "ssl", start_tls=True if config.security == "starttls" else False,
            tls_context=context, username=config.username, password=config.password,
        )  # fmt: skip
        await client.connect()
        return client

    async def acquire(self, *, fresh: bool = False) -> aiosmtplib.SMTP:
        while self._idle and not fresh:
            client = self._idle.pop()
            if client.is_connected:
                return client
        return await self._connect()

    def release(self, client: aiosmtplib.SMTP, *, healthy: bool) -> None:
        if healthy and client.is_connected and asyncio.get_running_loop() is self._loop:
            self._idle.append(client)
        else:
            client.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await asyncio.wait_for(client.quit(), timeout=2)
            except Exception:
                client.close()


def _code_failure(code: int, text: str, stage: str) -> Exception:
    message = f"{code} {text.strip()} (at {stage})"
    return TemporaryFailure(message) if 400 <= code < 500 else PermanentFailure(message)


class EmailSender:
    """Delivers email outbox messages. `two_phase` tells the outbox to pass a checkpoint to `send`."""

    two_phase = True

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        smtp: SmtpConfig | Callable[[], SmtpConfig] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._engine = engine
        self.sink = None
        if smtp is None and not settings.smtp_host:
            self.sink = LocalSink(settings.data_dir / "mail")
            smtp = self.sink.smtp_config
        self._smtp = smtp if callable(smtp) else (lambda config=smtp or SmtpConfig.from_settings(settings): config)
        self._pool = _Pool(self._smtp)
        self._prepared: dict[tuple[int, int], object] = {}  # (id, attempt) -> what `prepare` rendered for `send`
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    def attach(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        """Use the app's engine (and clock) instead of opening an engine of its own."""
        if self._engine is None:
            self._engine = engine
        if clock is not None:
            self._clock = clock

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.create_db_engine(self.settings.resolved_database_url)
        return self._engine

    def _render(self, message: OutboxMessage, now: datetime, session=None) -> tuple[bytes | None, str | None, str | None]:
        """(wire bytes, Message-ID, None) for a message, or (None, None, why it is skipped)."""
        if session is None:
            with session_scope(self.engine) as own:
                return self._render(message, now, own)
        person = session.get(Person, message.person_id) if message.person_id is not None else None
        try:
            rendered = render_notice(session, message=message, settings=self.settings, now=now)
        except NoticeError as exc:  # no retry can read it: the message fails with the reason, for an admin to see
            raise PermanentFailure(f"can't render the email: {exc}") from exc
        if rendered.skip:
            return None, None, rendered.skip
        data, message_id = wire_bytes(message, rendered, settings=self.settings, person=person, now=now)
        return data, message_id, None

    def _render_batch(self, messages: list[OutboxMessage], now: datetime) -> dict[tuple[int, int], object]:
        # One session for the batch: the round, program and term its notices share are read once (the identity map).
        out: dict[tuple[int, int], object] = {}
        with session_scope(self.engine) as session:
            # Held for the whole batch: the session's identity map keeps rows only while something refers to them.
            session.info["batch_rows"] = _load_together(session, messages)
            for message in messages:
                try:
                    out[(message.id, message.attempts)] = self._render(message, now, session)
                except Exception as exc:  # kept, and raised by `send` for this message alone
                    out[(message.id, message.attempts)] = exc
                    session.rollback()
        return out

    async def prepare(self, messages: list[OutboxMessage]) -> None:
        """Render a batch of claimed messages ahead of `send`, in a thread (the outbox calls this per claimed batch)."""
        self._prepared.update(await asyncio.to_thread(self._render_batch, messages, self._clock()))

    async def send(self, message: OutboxMessage, checkpoint: Checkpoint | None = None) -> str | None:
        """Send one message; returns its Message-ID. Raises the outbox's failure types."""
        try:
            recipient = parse_email(message.recipient)
        except AnswerError as exc:
            raise PermanentFailure(f"bad address {message.recipient!r}: {exc}") from exc
        prepared = self._prepared.pop((message.id, message.attempts), None)
        if prepared is None:
            prepared = await asyncio.to_thread(self._render, message, self._clock())
        if isinstance(prepared, BaseException):
            raise prepared
        data, message_id, skipped = prepared
        if data is None:
            logger.info("email %s not sent: %s", message.idempotency_key, skipped)
            return f"skipped: {skipped}"
        if self.sink is not None:
            await self.sink.start()
        gate = self._pool._bind()
        async with gate:
            return await self._send_on_pool(recipient, data, message_id, checkpoint)

    async def _send_on_pool(self, recipient: str, data: bytes, message_id: str | None, checkpoint: Checkpoint | None) -> str | None:
        """The SMTP transaction on a pooled connection, once more on a fresh one if the pooled one was stale."""
        for attempt in (1, 2):
            try:
                client = await self._pool.acquire(fresh=attempt == 2)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                raise TemporaryFailure(f"can't reach the mail server: {type(exc).__name__}: {exc}") from exc
            try:
                await self._transaction(client, sender=self.settings.mail_from, recipient=recipient, data=data, checkpoint=checkpoint)
            except _StaleConnection:
                self._pool.release(client, healthy=False)
                if attempt == 2:
                    raise TemporaryFailure("the mail server closed the connection before the message was sent") from None
                continue
            except BaseException:
                self._pool.release(client, healthy=False)
                raise
            self._pool.release(client, healthy=True)
            return message_id
        raise AssertionError("unreachable")

    async def _transaction(self, client: aiosmtplib.SMTP, *, sender: str, recipient: str, data: bytes, checkpoint: Checkpoint | None) -> None:
        timeout = self._smtp().timeout
        try:
            await client.mail(sender, timeout=timeout)
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise _StaleConnection() from exc
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code == 421:
                raise TemporaryFailure(f"421 {exc.message} (at MAIL)") from exc
            raise _code_failure(exc.code, exc.message, "MAIL") from exc
        except (OSError, asyncio.TimeoutError, aiosmtplib.SMTPTimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__} at MAIL: {exc}") from exc
        try:
            await client.rcpt(recipient, timeout=timeout)
        except aiosmtplib.SMTPResponseException as exc:
            raise _code_failure(exc.code, exc.message, "RCPT") from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, asyncio.TimeoutError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__} at RCPT: {exc}") from exc
        await self._data(client, data, checkpoint, timeout)

    async def _data(self, client: aiosmtplib.SMTP, data: bytes, checkpoint: Checkpoint | None, timeout: float) -> None:
        """DATA in two halves: the body, then (after the checkpoint is recorded) the final dot."""
        protocol = client.protocol
        if protocol is None:
            raise TemporaryFailure("the mail server connection closed before DATA")
        body = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data))
        lock = getattr(protocol, "_command_lock", None) or asyncio.Lock()
        async with lock:
            try:
                _expect_reply(protocol)
                protocol.write(b"DATA\r\n")
                start = await protocol.read_response(timeout=timeout)
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, asyncio.TimeoutError) as exc:
                raise TemporaryFailure(f"{type(exc).__name__} at DATA: {exc}") from exc
            if start.code != 354:
                raise _code_failure(start.code, start.message, "DATA")
            try:
                protocol.write(body)
            except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
                raise TemporaryFailure(f"{type(exc).__name__} while writing the message: {exc}") from exc
            if checkpoint is not None:
                try:
                    pending = checkpoint()
                    if inspect.isawaitable(pending):
                        await pending
                except BaseException:
                    # Without the final dot the server discards the message; closing the connection makes sure.
                    client.close()
                    raise
            try:
                _expect_reply(protocol)
                protocol.write(b".\r\n")
            except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
                raise TemporaryFailure(f"{type(exc).__name__} before the end of the message: {exc}") from exc
            try:
                done = await protocol.read_response(timeout=timeout)
            except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError, asyncio.TimeoutError) as exc:
                raise Unconfirmed(f"the mail server went silent after the whole message was sent ({type(exc).__name__})") from exc
        if not 200 <= done.code < 300:
            raise _code_failure(done.code, done.message, "end of DATA")

    async def close(self) -> None:
        """Close pooled connections and the local sink, if this sender runs one."""
        await self._pool.close()
        if self.sink is not None:
            await self.sink.stop()


def _load_together(session, messages: list[OutboxMessage]) -> list[object]:
    """Read the people, pairings, rounds, terms and programs a batch of notices names in a few queries, so rendering
    finds them in the session, and their guides' answers and planned sessions (`guide_rows`); returns the rows (the caller holds them for as long as the batch renders)."""
    pairing_ids = {m.body.get("pairing_id") for m in messages if isinstance(m.body, dict)} - {None}
    wanted = [int(i) for i in pairing_ids if str(i).isdecimal()]
    pairings = session.exec(select(Pairing).where(col(Pairing.id).in_(wanted))).all() if wanted else []
    people = {m.person_id for m in messages} | {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
    people.discard(None)
    rows: list[object] = [*pairings]
    session.info["guide_rows"] = guide_rows(session, pairings)
    if people:
        rows += session.exec(select(Person).where(col(Person.id).in_(list(people)))).all()
    round_ids = {p.round_id for p in pairings}
    if round_ids:
        rounds = session.exec(select(Round).where(col(Round.id).in_(list(round_ids)))).all()
        terms = session.exec(select(Term).where(col(Term.id).in_(list({r.term_id for r in rounds})))).all()
        programs = session.exec(select(Program).where(col(Program.id).in_(list({t.program_id for t in terms})))).all()
        rows += [*rounds, *terms, *programs]
    return rows


class _StaleConnection(Exception):
    """A pooled connection the server had already closed; nothing was sent on it."""


def _expect_reply(protocol: object) -> None:
    # aiosmtplib >= 5 tracks whether a reply is awaited so stray bytes are never taken for one.
    if hasattr(protocol, "_response_pending"):
        protocol._response_pending = True
