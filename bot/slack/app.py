"""The Bolt app: every Slack listener registered in one place (`SlackChannel._register`).

Acknowledge at once, work after. Over HTTP, a signed event, button click, slash command or closed modal is kept in
the durable inbox (`bot.slack.inbox`, one INSERT) and answered 200 before any of its work starts; the work then
runs from the kept row through a second Bolt app (`worker_app`, which waits for its listeners), so a crash or
restart between the ack and the effect loses nothing. Retries are harmless: the inbox's delivery key (or, over
Socket Mode, `store.claim`) turns a repeated event, click or command away before it can have an effect.
Only a modal submission answers with its result, because Slack shows inline errors from that answer; checking
a page of answers is a quick database transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.slack import admin
from bot.slack import blocks as bk
from bot.slack import inbox, store
from bot.slack.inbox import receipt_key
from bot.slack.home import home_view
from bot.slack.messages import done_notes, intro, render_prompt
from bot.slack.sender import make_client, slack_error

logger = logging.getLogger(__name__)

HELP_WORDS = {"help", "?", "hi", "hello", "hey", "menu", "start"}
ADMIN_CACHE_SECONDS = 300
RECEIPTS_KEPT = timedelta(days=2)  # Slack redelivers an event at most three times, within the hour
RECEIPT_PRUNE_SECONDS = 3600
ACK_THREADS = 4  # database work an ack waits on (receipts, a submitted page) has threads of its own
INBOX_HANDLERS = 6  # kept requests handled at once per process; the rest wait their turn in the inbox
INBOX_LEASE = timedelta(minutes=2)  # a handler not done by then is presumed dead and its request taken again
INBOX_UNCLAIMED = timedelta(seconds=30)  # a kept request nobody took this long (its process died) is taken by the sweep


@dataclass
class _Replies:
    """The replies of the kept request being handled: how many an earlier handler sent before it stopped, and how
    many this one has come to so far."""

    delivery_id: int
    sent_before: int
    count: int = 0


# Set while a kept request is handled, so that its replies are counted and a second handler skips the first ones.
_REPLIES: contextvars.ContextVar[_Replies | None] = contextvars.ContextVar("mentorbot_slack_replies", default=None)


NOT_ON_ROSTER = (
    "I can't find you on the mentoring program's roster. Ask your program admin to add your Slack ID "
    "(or the email on your Slack profile) to the roster; then I can help."
)
TYPED_HELP = (
    "*I'm mentorbot.* Here is what you can do:\n"
    "• Answer my questions with the buttons, or by typing here when I ask one\n"
    "• Type `profile` to fill in or edit your mentoring profile\n"
    "• Type `opt in` to take part this term or change your answer\n"
    "• Type `join 2` (or `leave 2`) for a topic of an open event, or `join` and a position for interviews\n"
    "• Open my *Home* tab for your status, pairings and upcoming sessions"
)


def _object(value: Any) -> dict[str, Any]:
    """A payload part that should be an object, or an empty one when a forged payload has something else there."""
    return value if isinstance(value, dict) else {}


def _state_values(view: Mapping[str, Any]) -> dict[str, Any]:
    return _object(_object(view.get("state")).get("values"))


def _blank(value: Any) -> bool:
    return value in (None, "", []) or (isinstance(value, list) and not any(str(v).strip() for v in value))


class SlackChannel:
    """The Slack side of mentorbot: a Bolt app plus what its listeners share."""

    def __init__(
        self, settings: Settings, *, engine: Engine, clock: Callable[[], datetime], client: AsyncWebClient | None = None, handle_inline: bool = True
    ) -> None:
        self.settings = settings
        self.handle_inline = handle_inline  # False: a separate handler process (`bot.slack.handler`) takes kept requests
        self.engine = engine
        self.clock = clock
        self.client = client or make_client(settings)
        self._admins: dict[str, tuple[bool, float]] = {}
        self._pruned = float("-inf")
        self._tasks: set[asyncio.Task] = set()
        self._homes_building: set[str] = set()  # people whose Home tab is being built now
        self._homes_stale: set[str] = set()  # ... and changed again meanwhile: build once more when done
        self._ack_threads = ThreadPoolExecutor(max_workers=ACK_THREADS, thread_name_prefix="slack-ack")
        # The app Slack's requests meet: Bolt answers when a listener acks and the listener goes on after. Requests
        # kept in the inbox are handled by a second app, verified at the door already, that waits for its listeners,
        # so a kept row is marked done only when its work is.
        self.app = self._bolt_app("mentorbot", at_the_door=True)
        self.worker_app = self._bolt_app("mentorbot-inbox", at_the_door=False)
        self._verifier = SignatureVerifier(settings.slack_signing_secret or "")
        self._handlers: asyncio.Semaphore | None = None
        self._kept: set[int] = set()  # inbox rows this process is handling or about to

    def _bolt_app(self, name: str, *, at_the_door: bool) -> AsyncApp:
        app = AsyncApp(
            name=name,
            client=self.client,
            signing_secret=self.settings.slack_signing_secret or "",
            process_before_response=not at_the_door,
            request_verification_enabled=at_the_door,
        )
        self._register(app, skip_repeats=at_the_door)
        return app

    def _register(self, app: AsyncApp, *, skip_repeats: bool) -> None:
        if skip_repeats:
            app.middleware(self.skip_repeats)
        app.event("app_home_opened")(self.on_home_opened)
        app.event("message")(self.on_message)
        app.action(re.compile(r"^answer:"))(self.on_answer)
        app.action(re.compile(r"^open_flow"))(self.on_open_flow)
        app.action(re.compile(r"^guide_link"))(self.on_link)
        app.action(re.compile(r"^signup:"))(self.on_signup)
        app.action(admin.ERASE_CONFIRM_ACTION)(self.on_erase_confirmed)
        app.action(admin.ERASE_CANCEL_ACTION)(self.on_erase_cancelled)
        app.view(bk.FLOW_CALLBACK)(self.on_submit)
        app.view_closed(bk.FLOW_CALLBACK)(self.on_closed)
        # Any other view (an old modal, a forged callback_id) is acknowledged and closed, not answered 404.
        app.view(re.compile(".*"))(self.on_other_view)
        app.view_closed(re.compile(".*"))(self.on_other_view)
        app.command(admin.COMMAND)(self.on_command)
        app.error(self.on_error)

    # -- shared helpers ------------------------------------------------------------------------------------

    async def db(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run blocking database work off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def db_before_ack(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Database work an ack waits on, on threads of its own: under load it must not queue behind work done after acks."""
        return await asyncio.get_running_loop().run_in_executor(self._ack_threads, functools.partial(fn, *args, **kwargs))

    async def member(self, user_id: str, *, before_ack: bool = False) -> store.Member | None:
        """The roster person behind a Slack user; linked by their Slack profile's email the first time."""
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

    async def post(self, user_id: str, rendered: bk.Rendered) -> None:
        """A DM to a user (chat.postMessage to a user ID lands in the app's DM with them), once per kept request."""
        await self._once(lambda: self._post_now(user_id, rendered))

    async def _post_now(self, user_id: str, rendered: bk.Rendered) -> None:
        try:
            await self.client.chat_postMessage(channel=user_id, text=rendered.text, blocks=rendered.blocks)
        except SlackApiError as exc:
            logger.warning("could not DM %s: %s", user_id, slack_error(exc))

    async def _once(self, send: Callable[[], Awaitable[None]]) -> None:
        """Send a reply, unless it is one an earlier handler of the same kept request sent before it stopped.

        Replies are counted in the order the listener makes them and the count is saved after each, so a handler
        that dies after its second DM leaves the next one to send the rest, not all of them again. (A handler that
        dies between sending a reply and saving the count still repeats that one reply.)
        """
        replies = _REPLIES.get()
        if replies is None:  # not a kept request: a modal's answer, a scheduled message
            await send()
            return
        replies.count += 1
        if replies.count <= replies.sent_before:
            logger.info("reply %d of kept Slack request %d went out before its handler stopped; not sent again", replies.count, replies.delivery_id)
            return
        await send()
        await self.db(inbox.note_replies, self.engine, replies.delivery_id, replies.count)

    async def say_text(self, user_id: str, text: str) -> None:
        await self.post(user_id, bk.Rendered(text=text, blocks=bk.text_sections(text)))

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

    async def _publish_home_now(self, user_id: str, *, fresh: store.Snapshot | None = None) -> None:
        from bot.rounds.events import program_sections

        model = await self.db(store.home_model, self.engine, self.settings, slack_user_id=user_id, now=self.clock(), fresh=fresh)
        programs = await self.db(program_sections, self.engine, slack_user_id=user_id)
        try:
            await self.client.views_publish(user_id=user_id, view=home_view(model, public_base_url=self.settings.public_base_url, programs=programs, link_secret=self.settings.token_secret))
        except SlackApiError as exc:
            logger.warning("could not publish the Home tab of %s: %s", user_id, slack_error(exc))

    async def guarded(self, user_id: str | None, work: Awaitable[Any]) -> None:
        """Run work after the ack; a failure is logged and the person hears a plain apology, never a traceback."""
        try:
            await work
        except Exception:
            logger.exception("Slack listener failed")
            if user_id:
                await self.say_text(user_id, "Sorry, something went wrong on my side and I couldn't finish that. Please try again in a minute.")

    # -- the inbox: keep, acknowledge, then handle ---------------------------------------------------------

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
        delivery_id = await self.db_before_ack(inbox.enqueue, self.engine, delivery, body=text, content_type=content_type, now=self.clock())
        if delivery_id is None:
            logger.info("ignoring a repeated Slack delivery %s", delivery.key)
        elif self.handle_inline:
            self._start(inbox.Waiting(delivery_id, text, content_type))
        self._prune_now_and_then()
        return True

    def _start(self, kept: inbox.Waiting) -> None:
        if kept.delivery_id in self._kept:
            return
        self._kept.add(kept.delivery_id)
        task = asyncio.create_task(self._handle(kept))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, kept: inbox.Waiting) -> None:
        """Take a kept request, run its listener to the end, and mark it done (or failed, with the error logged)."""
        if self._handlers is None:
            self._handlers = asyncio.Semaphore(INBOX_HANDLERS)
        try:
            async with self._handlers:
                sent_before = await self.db(inbox.take, self.engine, kept.delivery_id, now=self.clock(), lease=INBOX_LEASE)
                if sent_before is None:
                    return  # another process took it, or it is done
                _REPLIES.set(_Replies(kept.delivery_id, sent_before))  # this task's own context: no reset needed
                error = None
                try:
                    request = AsyncBoltRequest(body=kept.body, headers={"content-type": [kept.content_type]}, mode="http")
                    response = await self.worker_app.async_dispatch(request)
                    if response.status >= 500:
                        error = f"the listener answered {response.status}"
                except Exception as exc:  # a listener's own failures are handled in `guarded`; this is the rest
                    logger.exception("handling kept Slack request %s failed", kept.delivery_id)
                    error = f"{type(exc).__name__}: {exc}"
                await self.db(inbox.finish, self.engine, kept.delivery_id, now=self.clock(), error=error)
        finally:
            self._kept.discard(kept.delivery_id)

    async def handle_waiting(self, *, unclaimed_for: timedelta = INBOX_UNCLAIMED) -> int:
        """Start handling kept requests nobody is handling; returns how many were started.

        The web process's sweep takes those left `unclaimed_for` (their process stopped); the handler process takes
        every new one (`unclaimed_for=0`). Only a few more than can run at once are taken, so the rest stay free for
        another process and a backlog waits in the database, not in memory.
        """
        room = 2 * INBOX_HANDLERS - len(self._kept)
        if room <= 0:
            return 0
        found = await self.db(inbox.waiting, self.engine, now=self.clock(), unclaimed_for=unclaimed_for, limit=room, exclude=tuple(self._kept))
        for kept in found:
            self._start(kept)
        return len(found)

    async def close(self, *, grace_seconds: float = 10.0) -> None:
        """Let handlers already running finish (a row left half-done is taken again after its lease)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)

    def _prune_now_and_then(self) -> None:
        if time.monotonic() - self._pruned > RECEIPT_PRUNE_SECONDS:  # off the ack path, at most hourly
            self._pruned = time.monotonic()
            before = self.clock() - RECEIPTS_KEPT
            for prune in (inbox.prune, store.prune_receipts):
                task = asyncio.create_task(self.db(prune, self.engine, before=before))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    # -- middleware: one effect per delivery (Socket Mode and requests Bolt answers itself) ---------------

    async def skip_repeats(self, body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:  # noqa: A002 (Bolt's name)
        key = receipt_key(body)
        if key is not None:
            now = self.clock()
            if not await self.db_before_ack(store.claim, self.engine, key=key, now=now):
                logger.info("ignoring a repeated Slack delivery %s", key)
                return BoltResponse(status=200, body="")
            self._prune_now_and_then()
        return await next()

    # -- events -------------------------------------------------------------------------------------------

    async def on_home_opened(self, event: dict[str, Any]) -> None:
        if event.get("tab") == "home":
            await self.guarded(None, self._home_opened(event["user"]))

    async def _home_opened(self, user_id: str) -> None:
        await self.member(user_id)  # links a roster person by their Slack profile's email on first visit
        await self.publish_home(user_id)

    async def on_message(self, event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        await self.guarded(event["user"], self._typed(event["user"], (event.get("text") or "").strip()))

    async def _typed(self, user_id: str, text: str) -> None:
        member = await self.member(user_id)
        if member is None:
            await self.say_text(user_id, NOT_ON_ROSTER)
            return
        word = text.lower().strip(" .!")
        if word in HELP_WORDS:
            await self.say_text(user_id, TYPED_HELP)
            return
        if word in ("status", "me", "home"):
            await self.post(user_id, bk.Rendered(text="Where you stand", blocks=await self.db(admin.me_blocks, self.engine, self.settings, person_id=member.person_id)))
            return
        if word in ("profile", "my profile", "edit profile", "opt in", "opt-in", "optin", "change"):
            contexts = await self.db(store.term_dialogs, self.engine, self.settings, person_id=member.person_id)
            if contexts is None:
                await self.say_text(user_id, "No mentoring term is open right now; I'll message you when the next one opens.")
                return
            flow, context = ("profile", contexts[1]) if "profile" in word else ("opt_in", contexts[0])
            # Starting the dialog (no replies yet) makes it the one the next typed message answers.
            started = await self.db(store.apply, self.engine, self.settings, person_id=member.person_id, flow=flow, context=context, replies={}, now=self.clock())
            await self.post(user_id, render_prompt(started.snapshot))
            return
        if word.split(" ", 1)[0] in ("join", "leave") and await self._typed_signup(user_id, member.person_id, text):
            return
        dialog = await self.db(store.current_dialog, self.engine, person_id=member.person_id)
        snap = None
        if dialog is not None:
            snap = await self.db(store.snapshot, self.engine, self.settings, person_id=member.person_id, flow=dialog[0], context=dialog[1])
        if snap is None or not snap.pending:
            await self.say_text(user_id, "I'm not waiting for an answer from you right now.\n\n" + TYPED_HELP)
            return
        question = snap.pending[0]
        try:
            applied = await self.db(store.apply, self.engine, self.settings, person_id=member.person_id, flow=snap.flow.key, context=snap.context, replies={question.key: text}, now=self.clock())
        except store.NotAllowed as exc:
            await self.say_text(user_id, f"Sorry, {exc}.")
            return
        rendered = render_prompt(applied.snapshot)
        if applied.errors:
            message = applied.errors.get(question.key) or next(iter(applied.errors.values()))
            rendered.blocks.insert(0, bk.section(f":thinking_face: Hmm, {message}."))
        else:
            rendered.blocks.insert(0, bk.section(f"Got it: *{bk.answered_line(question, applied.saved.get(question.key), applied.snapshot.ctx)}*"))
        rendered.blocks = rendered.blocks[: bk.MESSAGE_BLOCKS]
        await self.post(user_id, rendered)
        await self.publish_home(user_id, fresh=applied.snapshot)

    # -- buttons ------------------------------------------------------------------------------------------

    async def on_link(self, ack: Callable[..., Awaitable[Any]]) -> None:
        await ack()  # a link button opens its URL in Slack; the click only needs acknowledging

    async def on_signup(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self.guarded(body["user"]["id"], self._signup(body, action))

    async def _signup(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A click on a round announcement's topic button (or a pick in an interview's select): join, then say so."""
        from bot.rounds import events

        user_id = body["user"]["id"]
        parts = str(action.get("action_id", "")).split(":")
        member = await self.member(user_id)
        if member is None:
            await self.say_text(user_id, NOT_ON_ROSTER)
            return
        if len(parts) < 3 or not parts[2].isdecimal():
            return
        round_id = int(parts[2])
        if parts[1] == "pick":
            interest = _object(action.get("selected_option")).get("value")
            outcome = await self.db(events.join, self.engine, round_id=round_id, person_id=member.person_id, interest=interest, source="slack", now=self.clock())
        else:
            topic = parts[3] if len(parts) > 3 else None
            outcome = await self.db(events.join, self.engine, round_id=round_id, person_id=member.person_id, topic=topic, source="slack", now=self.clock())
        await self.say_text(user_id, (":white_check_mark: " if outcome.changed else "") + outcome.text)
        await self.publish_home(user_id)

    async def _typed_signup(self, user_id: str, person_id: int, text: str) -> bool:
        """"join 2" / "leave SEL" typed in a DM, for the newest open round that announces itself; False if none is open."""
        from bot.rounds import events

        round_id = await self.db(events.latest_open_round_for, self.engine, person_id=person_id)
        if round_id is None:
            return False
        outcome = await self.db(events.apply_reply, self.engine, round_id=round_id, person_id=person_id, text=text, source="slack", now=self.clock())
        await self.say_text(user_id, (":white_check_mark: " if outcome.changed else "") + outcome.text)
        await self.publish_home(user_id)
        return True

    async def on_erase_confirmed(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        await self.guarded(body["user"]["id"], self._erase_confirmed(body, respond))

    async def _erase_confirmed(self, body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        # The clicker's own record is erased, whatever the button carries: nobody can erase someone else this way.
        user_id = body["user"]["id"]
        member = await self.member(user_id)
        if member is None:
            text = "I can't find you on the program's roster; there is no data of yours to delete (or it was deleted already)."
        else:
            text = await self.db(admin.erase_self, self.engine, self.settings, person_id=member.person_id, slack_user_id=user_id, now=self.clock())
        try:
            await respond(text=text, blocks=bk.text_sections(text), replace_original=True)
        except Exception:  # an expired response_url: say it in a DM instead
            await self.say_text(user_id, text)

    async def on_erase_cancelled(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        text = "Nothing was deleted."
        try:
            await respond(text=text, blocks=bk.text_sections(text), replace_original=True)
        except Exception:  # no (or an expired) response_url: say it in a DM instead
            await self.say_text(body["user"]["id"], text)

    async def on_answer(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self.guarded(body["user"]["id"], self._answer(body, action))

    async def _answer(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        target = bk.parse_ask_block_id(action.get("block_id", ""))
        value = action.get("value") or _object(action.get("selected_option")).get("value")
        if target is None or value is None:
            return
        flow, context, key = target
        member = await self.member(user_id)
        if member is None:
            await self.say_text(user_id, NOT_ON_ROSTER)
            return
        try:
            applied = await self.db(store.apply, self.engine, self.settings, person_id=member.person_id, flow=flow, context=context, replies={key: value}, now=self.clock())
        except store.NotAllowed as exc:
            await self.say_text(user_id, f"Sorry, {exc}.")
            return
        snap = applied.snapshot
        container = _object(body.get("container"))
        if container.get("type") == "message":
            rendered = render_prompt(snap)
            if applied.errors:
                rendered.blocks.insert(1, bk.section(f":warning: {next(iter(applied.errors.values()))}"))
            channel, ts = container.get("channel_id"), container.get("message_ts")
            updated = False
            if isinstance(channel, str) and isinstance(ts, str):
                try:
                    await self.client.chat_update(channel=channel, ts=ts, text=rendered.text, blocks=rendered.blocks[: bk.MESSAGE_BLOCKS])
                    updated = True
                except SlackApiError as exc:
                    logger.warning("could not update the message: %s", slack_error(exc))
            if not updated:  # the click names no message we could update: the next question comes as a new DM
                await self.post(user_id, rendered)
        elif any(q.required for q in snap.pending):
            # Clicked on the Home tab and the dialog needs more (a mentor's number of mentees): ask in a modal.
            await self.open_flow(user_id, snap, body.get("trigger_id"), edit=False)
        await self.publish_home(user_id, fresh=snap)

    async def on_open_flow(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        await self.guarded(body["user"]["id"], self._open_from_button(body, action))

    async def _open_from_button(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        try:
            data = json.loads(action.get("value") or "{}")
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("f"), str) or not isinstance(data.get("c"), str):
            logger.info("ignored an open-form button whose value names no dialog")
            return
        member = await self.member(user_id)
        if member is None:
            await self.say_text(user_id, NOT_ON_ROSTER)
            return
        try:
            snap = await self.db(store.snapshot, self.engine, self.settings, person_id=member.person_id, flow=data["f"], context=data["c"])
        except store.NotAllowed as exc:
            await self.say_text(user_id, f"Sorry, {exc}.")
            return
        await self.open_flow(user_id, snap, body.get("trigger_id"), edit=bool(data.get("e")))

    async def open_flow(self, user_id: str, snap: store.Snapshot, trigger_id: str | None, *, edit: bool) -> None:
        """Open a dialog's next page (or, editing, its first page) in a modal; a late trigger gets a fresh button."""
        keys = [q.key for q in (snap.applicable if edit or not snap.pending else snap.pending)]
        page = bk.paginate(snap.flow.key, snap.context, keys, edit=edit or not snap.pending)
        questions = [q for key in page.keys if (q := snap.question(key)) is not None]
        view = bk.flow_modal(snap.flow, page, questions, snap.ctx, snap.known, intro=intro(snap))
        try:
            await self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = slack_error(exc)
            logger.info("views.open failed for %s: %s", user_id, error)
            again = "Sorry, that took me too long to open." if error in ("expired_trigger_id", "invalid_trigger_id", "trigger_exchanged") else "Sorry, I couldn't open the form."
            button = bk.open_flow_button(snap.flow.key, snap.context, "Open the form", edit=edit)
            await self.post(user_id, bk.Rendered(text=again, blocks=[bk.section(f"{again} Here is the button again:"), {"type": "actions", "elements": [button]}]))

    # -- modals ---------------------------------------------------------------------------------------------

    def _submit_page(self, person_id: int, page: bk.Page, values: Mapping[str, Any], *, keep_blank: bool) -> tuple[Sequence[Any], store.Applied]:
        def read_replies(questions: Sequence[Any]) -> dict[str, Any]:
            replies = bk.read_state(questions, values)
            return replies if keep_blank else {key: value for key, value in replies.items() if not _blank(value)}

        return store.submit_page(
            self.engine, self.settings, person_id=person_id, flow=page.flow, context=page.context, keys=page.keys, read_replies=read_replies, now=self.clock()
        )

    async def on_submit(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], view: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        try:
            page = bk.Page.from_metadata(view.get("private_metadata", ""))
        except bk.BadPage:
            await ack(response_action="update", view=_notice_modal("This form is out of date. Open it again from my Home tab."))
            return
        member = await self.member(user_id, before_ack=True)
        if member is None:
            await ack(response_action="update", view=_notice_modal(NOT_ON_ROSTER))
            return
        try:
            questions, applied = await self.db_before_ack(self._submit_page, member.person_id, page, _state_values(view), keep_blank=True)
        except store.NotAllowed as exc:
            if page.keys:
                await ack(response_action="errors", errors={bk.block_id_for(page.keys[0]): str(exc)[:150]})
            else:
                await ack(response_action="update", view=_notice_modal(f"Sorry, {exc}."))
            return
        errors = bk.input_errors(applied.errors, questions)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        snap = applied.snapshot
        applicable = {q.key for q in snap.applicable}
        if page.edit:
            rest = [key for key in page.rest if key in applicable]
        else:
            rest = [q.key for q in snap.pending if q.key not in page.keys]
        if rest:
            following = bk.paginate(page.flow, page.context, rest, edit=page.edit, number=page.number + 1)
            next_questions = [q for key in following.keys if (q := snap.question(key)) is not None]
            await ack(response_action="update", view=bk.flow_modal(snap.flow, following, next_questions, snap.ctx, snap.known))
        else:
            await ack(response_action="update", view=bk.done_modal(snap.flow, done_notes(snap)))
        if self.handle_inline:
            await self.guarded(user_id, self.publish_home(user_id, fresh=snap))
        else:  # the Home tab is rebuilt by the handler process, as if the person had opened it, off the web worker's CPU
            await self.guarded(None, self.db(inbox.enqueue_home_refresh, self.engine, slack_user_id=user_id, now=self.clock()))

    async def on_other_view(self, ack: Callable[..., Awaitable[Any]]) -> None:
        await ack()

    async def on_closed(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        await self.guarded(None, self._keep_half_done(body, view))

    async def _keep_half_done(self, body: dict[str, Any], view: dict[str, Any]) -> None:
        """A modal closed half-way: keep every answer already given on its page, then show where things stand."""
        user_id = body["user"]["id"]
        member = await self.member(user_id)
        if member is None or not view.get("private_metadata"):
            return
        try:
            page = bk.Page.from_metadata(view["private_metadata"])
            await self.db(self._submit_page, member.person_id, page, _state_values(view), keep_blank=False)
        except (bk.BadPage, store.NotAllowed):
            return
        await self.publish_home(user_id)

    # -- /mentoring -------------------------------------------------------------------------------------------

    async def on_command(self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        await self.guarded(command["user_id"], self._command(command, respond))

    async def _command(self, command: dict[str, Any], respond: Callable[..., Awaitable[Any]]) -> None:
        user_id = command["user_id"]
        try:
            parsed: admin.Command | None = admin.parse(command.get("text") or "")
            usage = None
        except admin.UsageError as exc:
            parsed, usage = None, exc
        if parsed is not None and parsed.name in ("profile", "opt-in"):
            await self._personal_flow(user_id, parsed.name, command.get("trigger_id"), respond, program_name=parsed.program)
            return
        member = await self.member(user_id)
        # A command about oneself needs no admin verdict (users.info); for the rest the action decides who may.
        site_admin = not (parsed is not None and parsed.about_self) and await self.is_admin(user_id)
        actor = admin.slack_actor(user_id, site_admin=site_admin, member=member)
        blocks = await self.db(admin.answer, self.engine, self.settings, parsed if parsed is not None else usage, actor=actor, now=self.clock())
        await self.reply(respond, user_id, blocks)

    async def _personal_flow(
        self, user_id: str, name: str, trigger_id: str | None, respond: Callable[..., Awaitable[Any]], *, program_name: str | None = None
    ) -> None:
        member = await self.member(user_id)
        if member is None:
            await self.reply(respond, user_id, [bk.section(NOT_ON_ROSTER)])
            return
        contexts = await self.db(store.term_dialogs, self.engine, self.settings, person_id=member.person_id, program_name=program_name)
        if contexts is None:
            where = f" in *{program_name}* for you" if program_name else ""
            await self.reply(respond, user_id, [bk.section(f"No mentoring term is open right now{where}; I'll message you when the next one opens.")])
            return
        flow, context = ("profile", contexts[1]) if name == "profile" else ("opt_in", contexts[0])
        snap = await self.db(store.snapshot, self.engine, self.settings, person_id=member.person_id, flow=flow, context=context)
        await self.open_flow(user_id, snap, trigger_id, edit=snap.complete)

    async def reply(self, respond: Callable[..., Awaitable[Any]], user_id: str, blocks: Sequence[dict[str, Any]]) -> None:
        """Answer a command by its response_url (Slack allows five uses), the rest of a long answer by DM."""
        messages = bk.split_blocks(blocks)
        for number, chunk in enumerate(messages):
            fallback = next((b["text"]["text"] for b in chunk if b.get("type") == "section"), "mentorbot")
            rendered = bk.Rendered(text=bk.trim(fallback, 3000), blocks=chunk)
            await self._once(functools.partial(self._reply_part, respond, user_id, rendered, by_url=number < 4))

    async def _reply_part(self, respond: Callable[..., Awaitable[Any]], user_id: str, rendered: bk.Rendered, *, by_url: bool) -> None:
        if by_url:
            try:
                answer = await respond(text=rendered.text, blocks=rendered.blocks, response_type="ephemeral", replace_original=False)
                if getattr(answer, "status_code", 200) == 200:
                    return
                logger.info("response_url answered %s; answering by DM", getattr(answer, "status_code", "?"))
            except Exception as exc:  # an unreachable response_url: fall back to a DM
                logger.info("response_url failed (%s); answering by DM", exc)
        await self._post_now(user_id, rendered)

    async def on_error(self, error: Exception, body: dict[str, Any]) -> None:
        logger.error("unhandled Slack error for %s: %s", body.get("type") or body.get("command"), error)


def _notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something, with a Close button (what a submission turns into when it cannot be saved)."""
    return {"type": "modal", "title": bk.plain("Mentoring", bk.VIEW_TITLE), "close": bk.plain("Close", bk.VIEW_TITLE), "blocks": [bk.section(text)]}


def build_slack_app(settings: Settings, *, engine: Engine, clock: Callable[[], datetime], handle_inline: bool = True) -> SlackChannel:
    """The Slack channel for these settings, sharing the web app's engine and clock."""
    return SlackChannel(settings, engine=engine, clock=clock, handle_inline=handle_inline)
