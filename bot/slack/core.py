"""What every Slack listener shares (`SlackCore`): database work off the event loop, the person behind a Slack
user, who is an admin, replies sent once per kept request, and Home tab rebuilds."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.rounds.events import program_sections
from bot.settings import Settings
from bot.slack import blocks as bk
from bot.slack import inbox, store
from bot.slack.home import home_view
from bot.slack.sender import make_client, slack_error

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300
BUILT_KEPT = 5000  # Home tabs and standings kept built (a few KB each), the most recently built people's
ACK_THREADS = 4  # database work an ack waits on (receipts, a submitted page) has threads of its own

NOT_ON_ROSTER = (
    "I can't find you on the mentoring program's roster. Ask your program admin to add your Slack ID "
    "(or the email on your Slack profile) to the roster; then I can help."
)


REPLY_METADATA_EVENT = "mentorbot_reply"  # the metadata a kept request's DM carries: its reply key, found again by a later handler
REPLY_HISTORY_DEPTH = 50  # the DM's newest messages searched for a reply key; a retake comes minutes after the reply


@dataclass
class _Replies:
    """The replies of the kept request being handled: how many an earlier handler recorded before it stopped, whether
    one did stop (`retaken`), and how many this one has come to so far."""

    delivery_id: int
    sent_before: int
    retaken: bool = False
    count: int = 0

    def key(self) -> str:
        """The key of the reply being made: the request and the reply's place among its replies."""
        return f"reply:{self.delivery_id}:{self.count}"


# Set while a kept request is handled, so that its replies are counted and a second handler skips the first ones.
_REPLIES: contextvars.ContextVar[_Replies | None] = contextvars.ContextVar("mentorbot_slack_replies", default=None)


# The sender of the kept request being handled, as read when it was claimed: the listener's first member lookup uses it.
_SENDER: contextvars.ContextVar[inbox.Sender | None] = contextvars.ContextVar("mentorbot_slack_sender", default=None)


def known_sender(sender: inbox.Sender | None) -> None:
    """From here on in this task, the first lookup of `sender`'s member needs no query (read with the request)."""
    _SENDER.set(sender)


def count_replies(delivery_id: int, sent_before: int, *, retaken: bool = False) -> None:
    """From here on in this task, count the replies of kept request `delivery_id`; the first `sent_before` went out
    already, and with `retaken` an earlier handler stopped, so a later reply may have gone out unrecorded too."""
    _REPLIES.set(_Replies(delivery_id, sent_before, retaken))  # the handling task's own context: no reset needed


def as_object(value: Any) -> dict[str, Any]:
    """A payload part that should be an object, or an empty one when a forged payload has something else there."""
    return value if isinstance(value, dict) else {}


class SlackCore:
    """The plumbing Slack's listeners share: settings, engine, clock and Web API client, and the helpers below."""

    def __init__(
        self, settings: Settings, *, engine: Engine, clock: Callable[[], datetime], client: AsyncWebClient | None = None, handle_inline: bool = True
    ) -> None:
        self.settings = settings
        self.handle_inline = handle_inline  # False: a separate handler process (`bot.slack.handler`) takes kept requests
        self.engine = engine
        self.clock = clock
        self.client = client or make_client(settings)
        self._admins: dict[str, tuple[bool, float]] = {}
        self._homes_building: set[str] = set()  # people whose Home tab is being built now
        self._homes_stale: set[str] = set()  # ... and changed again meanwhile: build once more when done
        # The last Home tab (and standing) built per person, with the version of the data it was built from
        # (`store.home_version`, read from the database each time, so a change by any process is seen): see `per_version`.
        self._built: dict[tuple[str, str], tuple[store.HomeVersion, Any]] = {}
        self._ack_threads = ThreadPoolExecutor(max_workers=ACK_THREADS, thread_name_prefix="slack-ack")
        # Keeps a request in the inbox together with those arriving at the same moment (the intake's group commit),
        # once the channel has an intake; until then each is kept in a transaction of its own.
        self.keep_together: Callable[[inbox.ToKeep], Awaitable[int | None]] | None = None

    # -- the database ---------------------------------------------------------------------------------------

    async def db(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run blocking database work off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def db_before_ack(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Database work an ack waits on, on threads of its own: under load it must not queue behind work done after acks."""
        return await asyncio.get_running_loop().run_in_executor(self._ack_threads, functools.partial(fn, *args, **kwargs))

    # -- who is asking ---------------------------------------------------------------------------------------

    async def member(self, user_id: str, *, before_ack: bool = False) -> store.Member | None:
        """The roster person behind a Slack user; linked by their Slack profile's email the first time."""
        sender = _SENDER.get()
        if sender is not None and sender.slack_user_id == user_id:
            _SENDER.set(None)  # only the first lookup: a listener that changes the person reads them afresh after
            return store.Member(sender.person_id, sender.name, sender.email, sender.timezone)
        run = self.db_before_ack if before_ack else self.db
        found = await run(store.member_for, self.engine, slack_user_id=user_id)
        if found is not None:
            return found
        try:
            info = await self.client.users_info(user=user_id)
        except SlackApiError:
            return None
        email = ((info.get("user") or {}).get("profile") or {}).get("email")
        return await run(store.link_member, self.engine, slack_user_id=user_id, email=email, now=self.clock())

    async def is_admin(self, user_id: str) -> bool:
        """Admins are the Slack IDs in SLACK_ADMIN_IDS, or the workspace's admins and owners (users.info)."""
        if user_id in self.settings.slack_admin_ids:
            return True
        cached = self._admins.get(user_id)
        if cached and time.monotonic() - cached[1] < ADMIN_CACHE_SECONDS:
            return cached[0]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
            verdict = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        except SlackApiError as exc:
            logger.warning("users.info for %s failed: %s", user_id, slack_error(exc))
            return False
        self._admins[user_id] = (verdict, time.monotonic())
        return verdict

    # -- replies, each sent once ---------------------------------------------------------------------------

    async def post(self, user_id: str, rendered: bk.Rendered) -> None:
        """A DM to a user (chat.postMessage to a user ID lands in the app's DM with them), once per kept request."""
        await self._once(user_id, lambda key: self._post_now(user_id, rendered, key=key))

    async def _post_now(self, user_id: str, rendered: bk.Rendered, *, key: str | None = None) -> None:
        metadata = {"event_type": REPLY_METADATA_EVENT, "event_payload": {"key": key}} if key else None
        try:
            await self.client.chat_postMessage(channel=user_id, text=rendered.text, blocks=rendered.blocks, metadata=metadata)
        except SlackApiError as exc:
            logger.warning("could not DM %s: %s", user_id, slack_error(exc))

    async def _once(self, user_id: str, send: Callable[[str | None], Awaitable[None]]) -> None:
        """Send a reply, unless it is one an earlier handler of the same kept request sent before it stopped.

        Replies are counted in the order the listener makes them and the count is saved after each, so a handler
        that dies after its second DM leaves the next one to send the rest, not all of them again. A DM carries its
        reply key (the request and the reply's number) in Slack message metadata: a handler that dies between
        posting it and saving the count leaves the next handler to find it in the DM's history and not post it
        again. Only an ephemeral answer by response_url, which no history shows, can still come twice.
        """
        replies = _REPLIES.get()
        if replies is None:  # not a kept request: a modal's answer, a scheduled message
            await send(None)
            return
        replies.count += 1
        if replies.count <= replies.sent_before:
            logger.info("reply %d of kept Slack request %d went out before its handler stopped; not sent again", replies.count, replies.delivery_id)
            return
        key = replies.key()
        if replies.retaken and await self._already_posted(user_id, key):
            logger.info("reply %d of kept Slack request %d is in the DM already (its handler stopped before noting it)", replies.count, replies.delivery_id)
        else:
            await send(key)
        await self.db(inbox.note_replies, self.engine, replies.delivery_id, replies.count)

    async def _already_posted(self, user_id: str, key: str) -> bool:
        """Whether the DM with `user_id` holds a message carrying reply key `key` (False when Slack can't say)."""
        try:
            opened = await self.client.conversations_open(users=user_id)
            history = await self.client.conversations_history(
                channel=opened["channel"]["id"], limit=REPLY_HISTORY_DEPTH, include_all_metadata=True
            )
        except SlackApiError as exc:  # then the reply is sent: a repeat is better than an answer never given
            logger.warning("could not read the DM with %s to look for reply %s: %s", user_id, key, slack_error(exc))
            return False
        for message in history.get("messages") or ():
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == REPLY_METADATA_EVENT and (metadata.get("event_payload") or {}).get("key") == key:
                return True
        return False

    async def say_text(self, user_id: str, text: str) -> None:
        """A plain-text DM to a user, once per kept request."""
        await self.post(user_id, bk.Rendered(text=text, blocks=bk.text_sections(text)))

    async def reply(self, respond: Callable[..., Awaitable[Any]], user_id: str, blocks: Sequence[dict[str, Any]]) -> None:
        """Answer a command by its response_url (Slack allows five uses), the rest of a long answer by DM."""
        messages = bk.split_blocks(blocks)
        for number, chunk in enumerate(messages):
            fallback = next((b["text"]["text"] for b in chunk if b.get("type") == "section"), "mentorbot")
            rendered = bk.Rendered(text=bk.trim(fallback, 3000), blocks=chunk)
            await self._once(user_id, functools.partial(self._reply_part, respond, user_id, rendered, by_url=number < 4))

    async def _reply_part(self, respond: Callable[..., Awaitable[Any]], user_id: str, rendered: bk.Rendered, key: str | None, *, by_url: bool) -> None:
        if by_url:
            try:
                answer = await respond(text=rendered.text, blocks=rendered.blocks, response_type="ephemeral", replace_original=False)
                if getattr(answer, "status_code", 200) == 200:
                    return
                logger.info("response_url answered %s; answering by DM", getattr(answer, "status_code", "?"))
            except Exception as exc:  # an unreachable response_url: fall back to a DM
                logger.info("response_url failed (%s); answering by DM", exc)
        await self._post_now(user_id, rendered, key=key)

    async def guarded(self, user_id: str | None, work: Awaitable[Any]) -> None:
        """Run work after the ack; a failure is logged and the person hears a plain apology, never a traceback."""
        try:
            await work
        except Exception:
            logger.exception("Slack listener failed")
            if user_id:
                await self.say_text(user_id, "Sorry, something went wrong on my side and I couldn't finish that. Please try again in a minute.")

    # -- the Home tab ----------------------------------------------------------------------------------------

    async def refresh_home_later(self, user_id: str) -> None:
        """Have the handler process rebuild a person's Home tab, as if they had opened it (a kept request)."""
        request = inbox.home_refresh(slack_user_id=user_id, now=self.clock())
        if self.keep_together is not None:
            await self.keep_together(request)
        else:
            await self.db(inbox.enqueue, self.engine, request.delivery, body=request.body, content_type=request.content_type, now=request.now)

    async def publish_home(self, user_id: str, *, fresh: store.Snapshot | None = None) -> None:
        """Publish a person's Home tab; at most one build per person at a time, the latest state wins.

        A click or submission while that person's Home tab is being built does not start a second build: it asks the
        running one to build once more when it ends, so a burst of changes costs at most two builds, not one each.
        `fresh`, a dialog snapshot read just now, saves the first build reading it again.
        """
        if user_id in self._homes_building:
            self._homes_stale.add(user_id)
            return
        self._homes_building.add(user_id)
        try:
            while True:
                self._homes_stale.discard(user_id)
                await self._publish_home_now(user_id, fresh=fresh)
                fresh = None  # a second build reads everything: the dialog may have changed since
                if user_id not in self._homes_stale:
                    return
        finally:
            self._homes_building.discard(user_id)
            self._homes_stale.discard(user_id)

    async def per_version(self, what: str, user_id: str, build: Callable[[store.Snapshot | None], Awaitable[Any]], *, fresh: store.Snapshot | None = None) -> Any:
        """`build(fresh)`, or what it built before for this person, when the data their Home tab is built from has not
        changed since (`store.home_version`, one query in the database: a change made by any process is seen).

        Only for what reads nothing outside that data (the Home tab, the person's standing this term).
        """
        now = self.clock()
        # Read before building: a change landing during the build leaves the version older than what is kept, never newer.
        version = await self.db(store.home_version, self.engine, slack_user_id=user_id, now=now)
        if version is None:
            return await build(fresh)
        cached = self._built.get((what, user_id))
        if cached is not None and cached[0] == version:
            return cached[1]
        built = await build(None)  # `fresh` was read before the version, so it could be older than it: read everything
        if len(self._built) >= BUILT_KEPT:
            self._built.pop(next(iter(self._built)))  # the oldest entry: memory stays bounded
        self._built.pop((what, user_id), None)
        self._built[(what, user_id)] = (version, built)
        return built

    async def _build_home_view(self, user_id: str, fresh: store.Snapshot | None) -> dict[str, Any]:
        model = await self.db(store.home_model, self.engine, self.settings, slack_user_id=user_id, now=self.clock(), fresh=fresh)
        programs = await self.db(program_sections, self.engine, slack_user_id=user_id)
        return home_view(model, public_base_url=self.settings.public_base_url, programs=programs, link_secret=self.settings.token_secret)

    async def _publish_home_now(self, user_id: str, *, fresh: store.Snapshot | None = None) -> None:
        view = await self.per_version("home", user_id, functools.partial(self._build_home_view, user_id), fresh=fresh)
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                # Slack said not now: keep a rebuild for when it allows one, or the tab would show the old state
                # until the person's next click.
                retry_after = _retry_after(exc)
                now = self.clock()
                await self.db(inbox.enqueue_home_refresh, self.engine, slack_user_id=user_id, now=now, not_before=now + timedelta(seconds=retry_after))
                logger.info("Home tab of %s rate-limited; rebuilding it in %.0fs", user_id, retry_after)
                return
            logger.warning("could not publish the Home tab of %s: %s", user_id, slack_error(exc))


def _retry_after(exc: SlackApiError) -> float:
    """The seconds a 429 asked to wait (Retry-After), at least one."""
    headers = exc.response.headers or {}
    value = headers.get("Retry-After", headers.get("retry-after", 1))
    try:
        return max(float(value), 1.0)
    except (TypeError, ValueError):
        return 1.0
