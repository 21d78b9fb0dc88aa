"""Keep, acknowledge, then handle (`Intake`): Slack's requests meet the durable inbox here, and its rows are handled.

Over HTTP, a signed event, button click, slash command or closed modal is kept in the inbox (`bot.slack.inbox`, one
INSERT) and answered 200 before any of its work starts (`accept`); a handler then takes the kept row on a lease and
runs it through the worker Bolt app, which waits for its listeners, so the row is marked done only when its work is.
Over Socket Mode, and for requests Bolt answers itself, `skip_repeats` turns a repeated delivery away by its receipt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.slack import inbox, store
from bot.slack.core import SlackCore, count_replies, known_sender
from bot.slack.inbox import receipt_key

logger = logging.getLogger(__name__)

RECEIPTS_KEPT = timedelta(days=2)  # Slack redelivers an event at most three times, within the hour
RECEIPT_PRUNE_SECONDS = 3600
INBOX_HANDLERS = 6  # kept requests handled at once per process; the rest wait their turn in the inbox
INBOX_LEASE = timedelta(minutes=2)  # a handler not done by then is presumed dead and its request taken again
GIVE_UP_SECONDS = 5.0  # how often requests whose handlers kept dying are marked failed (they are never taken meanwhile)
INBOX_UNCLAIMED = timedelta(seconds=30)  # a kept request nobody took this long (its process died) is taken by the sweep


MAX_KEPT_TOGETHER = 200  # requests kept in one transaction at most


class GroupCommit:
    """Requests kept at about the same moment share one transaction: `keep` queues a request, one writer at a time
    keeps everything queued in one commit (off the event loop), and each caller returns only once its row is committed.

    No request waits for company: the first is written at once, and those that arrive while a commit is under way go
    together in the next. `run` runs blocking work on threads (the channel's ack threads).
    """

    def __init__(self, engine_of: Callable[[], Any], run: Callable[..., Awaitable[Any]]) -> None:
        self.engine_of = engine_of
        self.run = run
        self._queued: list[tuple[inbox.ToKeep, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def keep(self, request: inbox.ToKeep) -> int | None:
        """Keep one request; its row id, or None when it repeats a kept delivery (raises what kept it from being kept)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the app serves from a new event loop (tests, the demo): nothing of the old one carries over
            self._loop, self._queued, self._writer = loop, [], None
        future = loop.create_future()
        self._queued.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[:MAX_KEPT_TOGETHER], self._queued[MAX_KEPT_TOGETHER:]
            try:
                outcomes = await self.run(inbox.enqueue_many, self.engine_of(), [request for request, _ in batch])
            except Exception as exc:  # noqa: BLE001 - a single request's failure, or the database gone: its callers hear it
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes):
                if future.done():
                    continue  # its caller went away (the client hung up); the row stays kept, a sweep handles it
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


class Intake:
    """The inbox's two ends for one channel: keeping signed requests (`accept`) and handling kept ones (`handle_waiting`)."""

    def __init__(self, channel: SlackCore, *, worker_app: AsyncApp) -> None:
        self.channel = channel
        self.worker_app = worker_app  # runs a kept request's listeners and waits for them
        self._verifier = SignatureVerifier(channel.settings.slack_signing_secret or "")
        self._handlers: asyncio.Semaphore | None = None
        self._kept: set[int] = set()  # inbox rows this process is handling or about to
        self._tasks: set[asyncio.Task] = set()
        self._pruned = float("-inf")
        self._gave_up = float("-inf")
        # The group commit writes on a thread of its own: a kept request's ack must not queue behind the modal
        # submissions that occupy the channel's ack threads with their reads and saves.
        self._keep_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-keep")
        self._keeper = GroupCommit(lambda: channel.engine, self._on_keep_thread)

    async def keep(self, request: inbox.ToKeep) -> int | None:
        """Keep a request in the inbox together with those arriving at the same moment (one commit for all); its row
        id, or None when it repeats a kept delivery."""
        return await self._keeper.keep(request)

    async def _on_keep_thread(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._keep_thread, functools.partial(fn, *args))

    async def accept(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Keep a signed request that can be answered before it is handled and start handling it; False leaves it to Bolt.

        True means: acknowledge now with an empty 200. A retry of a kept delivery is accepted and does nothing.
        Requests with a bad or stale signature are left to Bolt, which refuses them (401) as it always does.
        """
        if not self._verifier.is_valid(body=body, timestamp=headers.get("x-slack-request-timestamp"), signature=headers.get("x-slack-signature")):
            return False
        text = body.decode("utf-8", errors="replace")
        content_type = headers.get("content-type") or ""
        delivery = inbox.delivery_of(text, content_type)
        if delivery is None:
            return False
        if delivery.kind == "unreadable":  # signed, so from Slack's side, but not a shape any listener reads
            logger.info("acknowledged and ignored an interaction that could not be read (%s)", delivery.key)
            return True
        channel = self.channel
        # Kept together with the requests arriving meanwhile (one commit for all); acknowledged once its row is committed.
        delivery_id = await self._keeper.keep(inbox.ToKeep(delivery, text, content_type, channel.clock()))
        if delivery_id is None:
            logger.info("ignoring a repeated Slack delivery %s", delivery.key)
        elif channel.handle_inline:
            self._start(inbox.Waiting(delivery_id, text, content_type))
        self._prune_now_and_then()
        return True

    def _start(self, kept: inbox.Waiting, taken: inbox.Taken | None = None) -> None:
        if kept.delivery_id in self._kept:
            return
        self._kept.add(kept.delivery_id)
        task = asyncio.create_task(self._handle(kept, taken))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, kept: inbox.Waiting, taken: inbox.Taken | None = None) -> None:
        """Take a kept request (unless `taken` says it is ours already), run its listener to the end, and mark it done
        (or failed, with the error logged)."""
        channel = self.channel
        if self._handlers is None:
            self._handlers = asyncio.Semaphore(INBOX_HANDLERS)
        try:
            async with self._handlers:
                if taken is None:
                    taken = await channel.db(inbox.take, channel.engine, kept.delivery_id, now=channel.clock(), lease=INBOX_LEASE)
                if taken is None:
                    return  # another process took it, or it is done
                count_replies(kept.delivery_id, taken.replies_sent, retaken=taken.attempt > 1)
                known_sender(kept.sender)
                error = None
                try:
                    request = AsyncBoltRequest(body=kept.body, headers={"content-type": [kept.content_type]}, mode="http")
                    response = await self.worker_app.async_dispatch(request)
                    if response.status >= 500:
                        error = f"the listener answered {response.status}"
                except Exception as exc:  # a listener's own failures are handled in `guarded`; this is the rest
                    logger.exception("handling kept Slack request %s failed", kept.delivery_id)
                    error = f"{type(exc).__name__}: {exc}"
                await channel.db(inbox.finish, channel.engine, kept.delivery_id, now=channel.clock(), error=error)
        finally:
            self._kept.discard(kept.delivery_id)

    async def handle_waiting(self, *, unclaimed_for: timedelta = INBOX_UNCLAIMED) -> int:
        """Start handling kept requests nobody is handling; returns how many were started.

        The web process's sweep takes those left `unclaimed_for` (their process stopped); the handler process takes
        every new one (`unclaimed_for=0`). They are claimed as they are found (one transaction, not one per request),
        and only a few more than can run at once, so the rest stay free for another process and a backlog waits in the
        database, not in memory.
        """
        room = 2 * INBOX_HANDLERS - len(self._kept)
        if room <= 0:
            return 0
        channel = self.channel
        give_up = time.monotonic() - self._gave_up > GIVE_UP_SECONDS
        if give_up:
            self._gave_up = time.monotonic()
        found = await channel.db(
            inbox.take_waiting, channel.engine, now=channel.clock(), unclaimed_for=unclaimed_for, lease=INBOX_LEASE, limit=room,
            exclude=tuple(self._kept), give_up=give_up,
        )  # fmt: skip
        for kept, taken in found:
            self._start(kept, taken)
        return len(found)

    async def close(self, *, grace_seconds: float = 10.0) -> None:
        """Let handlers already running finish (a row left half-done is taken again after its lease)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned > RECEIPT_PRUNE_SECONDS:  # off the ack path, at most hourly
            self._pruned = time.monotonic()
            channel = self.channel
            before = channel.clock() - RECEIPTS_KEPT
            for prune in (inbox.prune, store.prune_receipts):
                task = asyncio.create_task(channel.db(prune, channel.engine, before=before))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def skip_repeats(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:  # noqa: A002 (Bolt's name)
        """Bolt middleware: one effect per delivery (Socket Mode and requests Bolt answers itself), by its receipt."""
        key = receipt_key(body)
        if key is not None:
            channel = self.channel
            if not await channel.db_before_ack(store.claim, channel.engine, key=key, now=channel.clock()):
                logger.info("ignoring a repeated Slack delivery %s", key)
                return BoltResponse(status=200, body="")
            self._prune_now_and_then()
        return await next()
