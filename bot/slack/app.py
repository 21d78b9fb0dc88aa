"""The Slack channel (`SlackChannel`): two Bolt apps over one set of listeners, and the inbox that feeds them.

Acknowledge at once, work after. Over HTTP, a signed event, button click, slash command or closed modal is kept in
the durable inbox (`bot.slack.inbox`, one INSERT) and answered 200 before any of its work starts; the work then
runs from the kept row through a second Bolt app (`worker_app`, which waits for its listeners), so a crash or
restart between the ack and the effect loses nothing (`bot.slack.intake`). Retries are harmless: the inbox's
delivery key (or, over Socket Mode, `store.claim`) turns a repeated event, click or command away before it can have
an effect. Only a modal submission answers with its result, because Slack shows inline errors from that answer;
checking a page of answers is a quick database transaction.

The listeners are in `bot.slack.listeners`, registered in one place (`listeners.register`); what they share (the
database, members, admins, replies sent once, Home tab rebuilds) is `bot.slack.core.SlackCore`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.slack.core import SlackCore
from bot.slack.intake import INBOX_UNCLAIMED, Intake
from bot.slack.listeners import register


class SlackChannel(SlackCore):
    """The Slack side of mentorbot: the Bolt apps, the inbox's intake, and what the listeners share (`SlackCore`)."""

    def __init__(
        self, settings: Settings, *, engine: Engine, clock: Callable[[], datetime], client: AsyncWebClient | None = None, handle_inline: bool = True
    ) -> None:
        super().__init__(settings, engine=engine, clock=clock, client=client, handle_inline=handle_inline)
        # The app Slack's requests meet: Bolt answers when a listener acks and the listener goes on after. Requests
        # kept in the inbox are handled by a second app, verified at the door already, that waits for its listeners,
        # so a kept row is marked done only when its work is.
        self.worker_app = self._bolt_app("mentorbot-inbox", at_the_door=False)
        self.intake = Intake(self, worker_app=self.worker_app)
        self.keep_together = self.intake.keep
        self.app = self._bolt_app("mentorbot", at_the_door=True)

    def _bolt_app(self, name: str, *, at_the_door: bool) -> AsyncApp:
        app = AsyncApp(
            name=name,
            client=self.client,
            signing_secret=self.settings.slack_signing_secret or "",
            process_before_response=not at_the_door,
            request_verification_enabled=at_the_door,
        )
        if at_the_door:  # the worker app's requests were turned away as repeats when they were kept (the inbox's key)
            app.middleware(self.intake.skip_repeats)
        register(app, self)
        return app

    async def accept(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Keep a signed request that can be answered before it is handled and start handling it; False leaves it to Bolt.

        True means: acknowledge now with an empty 200 (`Intake.accept`).
        """
        return await self.intake.accept(body, headers)

    async def handle_waiting(self, *, unclaimed_for: timedelta = INBOX_UNCLAIMED) -> int:
        """Start handling kept requests nobody is handling; returns how many were started (`Intake.handle_waiting`)."""
        return await self.intake.handle_waiting(unclaimed_for=unclaimed_for)

    async def close(self, *, grace_seconds: float = 10.0) -> None:
        """Let handlers already running finish (a row left half-done is taken again after its lease)."""
        await self.intake.close(grace_seconds=grace_seconds)


def build_slack_app(settings: Settings, *, engine: Engine, clock: Callable[[], datetime], handle_inline: bool = True) -> SlackChannel:
    """The Slack channel for these settings, sharing the web app's engine and clock."""
    return SlackChannel(settings, engine=engine, clock=clock, handle_inline=handle_inline)
