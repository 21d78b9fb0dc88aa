"""`SlackSender`: delivers outbox messages as Slack DMs, paced by Slack's own limits, honouring 429s, and never twice.

Each message is posted with its outbox idempotency key in Slack message metadata. When the outbox hands a message
over again (the worker died after Slack took it but before the outbox heard), the sender first looks for that key
in the DM's recent history and reports the message already there instead of posting it a second time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.notices import FlowPrompt, NoticeError, notice_of
from bot.outbox import PermanentFailure, TemporaryFailure, Unreachable
from bot.settings import Settings
from bot.slack import blocks as bk
from bot.slack.messages import render_notice, render_prompt
from bot.slack.store import snapshot
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage, Person

logger = logging.getLogger(__name__)

METADATA_EVENT = "mentorbot_outbox"
# Errors that no retry will cure: the person or channel is gone, or the message itself is wrong.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "user_not_found", "user_disabled", "account_inactive", "cannot_dm_bot", "is_archived",
    "not_in_channel", "invalid_blocks", "msg_too_long", "no_text", "invalid_arguments", "too_many_attachments",
    "restricted_action", "team_access_not_granted", "users_not_found", "user_not_visible",
})  # fmt: skip
# Of those, the ones that mean a person's DM can't be reached (conversations.open: user_not_found, user_disabled,
# user_not_visible, cannot_dm_bot; chat.postMessage to their DM: channel_not_found, is_archived). Slack documents
# account_inactive as "the token's user or workspace is deleted": then nobody is reachable on Slack, and email is
# still the right way to reach each of them. What an admin reads for each:
UNREACHABLE_ERRORS = {
    "user_not_found": "Slack user not found", "users_not_found": "Slack user not found",
    "user_disabled": "Slack account deactivated", "account_inactive": "Slack account deactivated",
    "user_not_visible": "Slack user not visible to the bot", "cannot_dm_bot": "Slack ID is a bot",
    "channel_not_found": "Slack DM not found", "is_archived": "Slack DM archived",
}  # fmt: skip


def slack_error(exc: SlackApiError) -> str:
    """Slack's error code from a failed call (or the HTTP status when the answer was not JSON)."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"http_{exc.response.status_code}")


def make_client(settings: Settings) -> AsyncWebClient:
    """The Web API client every part of the Slack channel uses, pointed at SLACK_API_URL."""
    return AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=30)


# Slack's own limits (api.slack.com/apis/rate-limits), per workspace and method: conversations.open and
# conversations.history are Tier 3 (about 50 a minute, bursts allowed); chat.postMessage is "special": about one
# message a second per channel, with bursts, and several hundred a minute across the workspace. Calls per minute:
METHOD_LIMITS = {"conversations_open": 50, "conversations_history": 50, "chat_postMessage": 300}
BURST_SECONDS = 10  # how many seconds' worth of a method's calls may go at once (Slack allows short bursts)


class Pacer:
    """A token bucket: up to `burst` calls at once, then one per `interval`; `hold` stops every caller until
    Slack's Retry-After has passed (and the bucket starts empty after it)."""

    def __init__(self, interval: float, *, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.burst = max(1, burst)
        self.clock = clock
        self._tokens = float(self.burst)
        self._at: float | None = None
        self.blocked_until = 0.0
        self._lock: asyncio.Lock | None = None

    async def wait(self) -> None:
        """Wait for a turn, one caller at a time, and for any 429 hold that arrives meanwhile.

        Tokens are counted from when callers actually go, not from when they were due: on a busy event loop several
        callers due at spaced times can wake together, and would then call Slack in one burst.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self.clock()
                if self._at is not None and self.interval > 0:
                    self._tokens = min(self.burst, self._tokens + (now - self._at) / self.interval)
                elif self.interval <= 0:
                    self._tokens = float(self.burst)
                self._at = now
                if now < self.blocked_until:
                    await asyncio.sleep(self.blocked_until - now)
                elif self._tokens >= 1:
                    self._tokens -= 1
                    return
                else:
                    await asyncio.sleep((1 - self._tokens) * self.interval)

    def hold(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)
        self._tokens, self._at = 0.0, self.blocked_until


class SlackSender:
    """The outbox's sender for the "slack" channel."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        interval: float = 1.0,
        channel_burst: int = 3,
        method_limits: dict[str, int] | None = None,
        longest_wait: float = 30.0,
        history_depth: int = 50,
    ) -> None:
        self.settings = settings
        self._engine = engine
        # Paced the way Slack limits: each method on its own, and posts per channel (`interval` apart after a burst of
        # `channel_burst`), so DMs to many people go as fast as Slack allows rather than one global step at a time.
        self.interval, self.channel_burst = interval, channel_burst
        limits = METHOD_LIMITS if method_limits is None else method_limits
        self._method_pacers = {m: Pacer(60 / n, burst=max(1, n * BURST_SECONDS // 60)) for m, n in limits.items()}
        self._channel_pacers: dict[str, Pacer] = {}
        self.longest_wait = longest_wait  # a Retry-After up to this is waited out here; longer ones go back to the outbox
        self.history_depth = history_depth
        self._client: AsyncWebClient | None = None
        self._channels: dict[str, str] = {}

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.create_db_engine(self.settings.resolved_database_url)
        return self._engine

    @property
    def client(self) -> AsyncWebClient:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    async def send(self, message: OutboxMessage) -> str | None:
        refused = await asyncio.to_thread(self._refused_before, message)
        if refused:  # queued before Slack refused this person: email, without asking Slack again
            raise Unreachable(refused)
        try:
            rendered = await asyncio.to_thread(self.render, message)
        except NoticeError as exc:  # no retry can read it: the message fails with the reason, for an admin to see
            raise PermanentFailure(f"can't render the Slack message: {exc}") from exc
        try:
            channel = await self._dm_channel(message.recipient)
            if message.attempts > 1:
                found = await self._already_posted(channel, message.idempotency_key)
                if found:
                    return f"{channel}/{found}"
            response = await self._call(
                "chat_postMessage",
                channel=channel,
                text=rendered.text,
                blocks=rendered.blocks,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": message.idempotency_key}},
                unfurl_links=False,
            )
        except PermanentFailure as exc:
            raise self._sorted(exc, message.recipient) from None
        return f"{channel}/{response['ts']}"

    @staticmethod
    def _sorted(exc: PermanentFailure, recipient: str) -> PermanentFailure:
        """A refusal that means the person can't be reached on Slack becomes `Unreachable` (the outbox emails them
        instead); a refusal of a channel post says what the admin should do."""
        error = getattr(exc, "slack_error", "")
        if recipient.startswith(("C", "G")):
            if error == "not_in_channel":
                return PermanentFailure(
                    f"the bot is not in channel {recipient}: invite it there (/invite @mentorbot), or give the app the "
                    "chat:write.public scope and reinstall it (Slack said not_in_channel)"
                )
            if error in ("channel_not_found", "is_archived"):
                return PermanentFailure(f"can't post in channel {recipient} ({error}): check the program's announce_channel")
            return exc
        if error in UNREACHABLE_ERRORS:
            return Unreachable(f"{UNREACHABLE_ERRORS[error]} ({error})")
        return exc

    def _refused_before(self, message: OutboxMessage) -> str | None:
        """Slack's earlier refusal of this message's person at this Slack ID, if it still stands."""
        if message.person_id is None:
            return None
        with session_scope(self.engine) as session:
            person = session.get(Person, message.person_id)
            if person is None or person.slack_failing_at is None or person.slack_user_id != message.recipient:
                return None
            return person.slack_failure or "Slack refused their messages"

    def render(self, message: OutboxMessage) -> bk.Rendered:
        """The Slack message for an outbox message (dialog prompts are rendered from the dialog as it stands now).

        Raises `NoticeError` when the message holds no notice that can be read.
        """
        notice = notice_of(message)
        if isinstance(notice, FlowPrompt) and message.person_id is not None:
            snap = snapshot(self.engine, self.settings, person_id=message.person_id, flow=notice.flow, context=notice.context)
            return render_prompt(snap, reminder=notice.reminder)
        timezone = None
        if message.person_id is not None:
            with session_scope(self.engine) as session:
                person = session.get(Person, message.person_id)
                timezone = person.timezone if person else None
        return render_notice(notice, timezone=timezone)

    async def _dm_channel(self, recipient: str) -> str:
        if recipient.startswith(("C", "G")):
            return recipient  # a channel (a program's announce channel) is posted to as it is
        if recipient not in self._channels:
            response = await self._call("conversations_open", users=recipient)
            self._channels[recipient] = response["channel"]["id"]
        return self._channels[recipient]

    async def _already_posted(self, channel: str, key: str) -> str | None:
        response = await self._call("conversations_history", channel=channel, limit=self.history_depth, include_all_metadata=True)
        for posted in response.get("messages") or ():
            metadata = posted.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT and (metadata.get("event_payload") or {}).get("key") == key:
                return posted.get("ts")
        return None

    def _pacers(self, method: str, channel: str | None) -> list[Pacer]:
        """The method's pacer (it carries a 429's hold), then for a post the channel's."""
        method_pacer = self._method_pacers.setdefault(method, Pacer(60 / 50, burst=50 * BURST_SECONDS // 60))  # unlisted: Tier 3
        if method != "chat_postMessage" or not channel:
            return [method_pacer]
        if channel not in self._channel_pacers:
            self._channel_pacers[channel] = Pacer(self.interval, burst=self.channel_burst)
        return [method_pacer, self._channel_pacers[channel]]

    async def _call(self, method: str, **kwargs: Any) -> Any:
        """One Web API call, paced; 429s are waited out (briefly) or handed back to the outbox with Retry-After."""
        pacers = self._pacers(method, kwargs.get("channel"))
        held_by = pacers[0]
        for _attempt in range(3):
            held = held_by.blocked_until - held_by.clock()
            if held > self.longest_wait:
                # Slack asked for a long wait already: back to the outbox at once, rather than holding this worker
                # (and the email waiting behind it in the same delivery run) for minutes.
                raise TemporaryFailure(f"Slack rate limit on {method}", retry_after=held)
            for pacer in reversed(pacers):  # the channel's turn first, so a busy channel doesn't hold the method's tokens
                await pacer.wait()
            try:
                return await getattr(self.client, method)(**kwargs)
            except SlackApiError as exc:
                response = exc.response
                error = slack_error(exc)
                if response.status_code == 429:
                    retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)) or 1)
                    held_by.hold(retry_after)  # Slack's limits are per method: other methods go on
                    if retry_after > self.longest_wait:
                        raise TemporaryFailure(f"Slack rate limit on {method}", retry_after=retry_after) from None
                    logger.info("Slack asked us to wait %.0fs before %s", retry_after, method)
                    continue
                if error in PERMANENT_ERRORS:
                    refused = PermanentFailure(f"Slack refused {method}: {error}")
                    refused.slack_error = error  # type: ignore[attr-defined]
                    raise refused from None
                raise TemporaryFailure(f"Slack error on {method}: {error}") from None
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise TemporaryFailure(f"could not reach Slack for {method}: {type(exc).__name__}") from None
        raise TemporaryFailure(f"Slack kept rate-limiting {method}", retry_after=max(held_by.blocked_until - held_by.clock(), 1.0))
