"""The email channel inside the web app: its routes, and the local sink and IMAP poller for the app's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bot.email.imap import ImapPoller
from bot.email.router import email_router
from bot.email.sender import EmailSender
from bot.settings import Settings


def install(app: FastAPI, *, settings: Settings, engine: Engine, senders: Mapping[str, Any], clock: Callable[[], datetime]) -> None:
    """Add the email routes, and run the local sink (no SMTP_HOST) and the IMAP poller (IMAP_HOST) with the app."""
    app.include_router(email_router(settings, engine, clock=clock))
    sender = senders.get("email")
    if isinstance(sender, EmailSender):
        sender.attach(engine, clock)
    poller = ImapPoller(settings, engine, clock=clock) if settings.imap_host else None
    app.state.imap_poller = poller
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[Any]:
        async with inner(the_app) as state:
            if isinstance(sender, EmailSender) and sender.sink is not None:
                await sender.sink.start()
            if poller is not None:
                poller.start()
            try:
                yield state
            finally:
                if poller is not None:
                    await poller.stop()
                if isinstance(sender, EmailSender):
                    await sender.close()

    app.router.lifespan_context = lifespan
