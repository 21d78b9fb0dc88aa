"""Batch claiming and the continuous drain keep "once": concurrent drainers never hand one message over twice; and the
guide rendered from its kept shared part is the guide rendered whole."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import Engine

from bot import outbox
from bot.guides.context import Mentee, Mentor, sample_contexts
from bot.guides.environment import render_document
from bot.guides.render import document_email_fragment, document_text, guide_document, render_email_parts
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage


def _queue_many(engine: Engine, now: datetime, count: int) -> None:
    with session_scope(engine) as session:
        for n in range(count):
            outbox.enqueue(
                session, idempotency_key=f"batch:{n}", channel="email", purpose="notice", recipient=f"p{n}@d.example", body={"text": "hi"}, now=now
            )


class TwoPhaseRecorder:
    """Hands over like the email sender (checkpoint, then the hand-over) and records every hand-over, in any thread."""

    two_phase = True

    def __init__(self, handed_over: list[str], lock: threading.Lock) -> None:
        self.handed_over, self.lock = handed_over, lock

    async def send(self, message: OutboxMessage, checkpoint) -> str:
        await asyncio.sleep(0)  # let the other slots (and the other worker) interleave
        await checkpoint()
        with self.lock:
            self.handed_over.append(message.idempotency_key)
        return f"id-{message.id}"


def test_two_drainers_in_two_processes_worth_of_threads_never_send_a_message_twice(database_url: str, now: datetime) -> None:
    """Two workers, each with its own engine and event loop, drain the same outbox at once: every message once."""
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    total = 300
    _queue_many(engine, now, total)
    handed_over: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        own = db.create_db_engine(database_url)
        try:
            start.wait()
            sender = TwoPhaseRecorder(handed_over, lock)
            asyncio.run(outbox.drain(own, {"email": sender}, clock=lambda: now, concurrency=4, pass_limit=40))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    counts = Counter(handed_over)
    assert sorted(counts) == sorted(f"batch:{n}" for n in range(total))  # nothing lost
    assert set(counts.values()) == {1}  # nothing handed over twice
    with session_scope(engine) as session:
        statuses = Counter(m.status for m in outbox.messages(session))
        assert statuses == Counter({"sent": total})
        assert {m.attempts for m in outbox.messages(session)} == {1}  # no message was claimed by both
    engine.dispose()


def test_a_batch_claim_takes_each_message_once_and_fences_it(engine: Engine, now: datetime) -> None:
    _queue_many(engine, now, 10)
    first = outbox.claim_due(engine, now=now, limit=6)
    second = outbox.claim_due(engine, now=now, limit=6)
    assert len(first) == 6 and len(second) == 4 and not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim_due(engine, now=now) == []  # the leases hold
    # One transaction marks committing only what this worker still holds: a stale attempt number is refused.
    owned = outbox.write_marks(engine, committing=[(first[0].id, first[0].attempts), (first[1].id, first[1].attempts + 1)], sent=[], now=now)
    assert owned == {first[0].id}


def _uncached_parts(ctx) -> tuple[str, str]:
    doc = render_document(ctx)
    return document_text(doc, program=ctx.program_name, guide_url=ctx.guide_url), document_email_fragment(doc, program=ctx.program_name, guide_url=ctx.guide_url)


def test_the_guide_from_its_kept_shared_part_is_byte_for_byte_the_guide_rendered_whole() -> None:
    odd_names = [
        ("Ana <b>O'Brien</b> & Co", "Lincoln \"Elementary\""), ("Zoë Ñúñez-Łukasz", None), ("Bo  Spaced   Out", "  Site  "),
        ("Dee", "Madison K-8 {{ x }}"), ("Same Name", "Same Site"),
    ]
    checked = 0
    for ctx in sample_contexts():
        variants = [ctx, replace(ctx, guide_url="https://mentor.example/guides/pairing/7?t=a&b=<c>")]
        for mentor_name, site in odd_names:
            mentees = tuple(replace(m, name=f"{mentor_name} {n}" if n else mentor_name, site=site) for n, m in enumerate(ctx.mentees))
            variants.append(replace(ctx, mentor=Mentor(mentor_name, offers=ctx.mentor.offers, site=site), mentees=mentees))
        for variant in variants:
            assert guide_document(variant) == render_document(variant)
            assert render_email_parts(variant) == _uncached_parts(variant)
            checked += 1
    assert checked > 50
    # Two pairs of the same shape share one kept rendering; their guides still differ by the names.
    base = sample_contexts()[0]
    one = replace(base, mentor=Mentor("Alma Ruiz"), mentees=(Mentee("Ben Cho"),))
    two = replace(base, mentor=Mentor("Cy Dale"), mentees=(Mentee("Di Eng"),))
    assert render_email_parts(one) != render_email_parts(two)
    assert "Alma Ruiz" in render_email_parts(one)[0] and "Cy Dale" in render_email_parts(two)[1]
