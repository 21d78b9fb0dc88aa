"""The admin page "Replies to read": what teachers wrote that mentorbot could not place, newest first, each with who
sent it, why it was held, their words and the pairing or round it concerns, and a button to mark it handled.

Registered on the admin router by `register`, with the router's own admin and CSRF guards. It shows the program the
admin pages show (and replies tied to no program). The reads and writes are `bot.email.forward`.
"""

# No `from __future__ import annotations`: FastAPI must see the router's own guard types, which are local to admin_router.
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.responses import Response

from bot.email import forward
from bot.settings import Settings
from storage import repo
from storage.db import session_scope
from storage.models import Program

logger = logging.getLogger(__name__)
Show = Literal["open", "done", "all"]
PAGE_SIZE = 50  # replies per page: long threads pasted in make each one tall


def _program(session: Session, name: str) -> Program | None:
    return session.exec(select(Program).where(Program.name == name)).first()


def open_replies(engine: Engine, program_name: str) -> int | None:
    """The nav's count of replies waiting for someone; None when it can't be read (the page must still render)."""
    try:
        with session_scope(engine) as session:
            program = _program(session, program_name)
            return forward.open_count(session, program_id=program.id if program else None)
    except sa.exc.SQLAlchemyError:
        logger.exception("counting the replies to read failed")
        return None


def register(
    router: APIRouter,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime],
    render: Callable[..., Response],
    done: Callable[..., Response],
    program_name: Callable[[], str],
    admin: Any,
    posted: Any,
) -> None:
    """Add GET /admin/replies and its form (mark handled, or open again) to the admin router."""

    @router.get("/replies")
    def replies(request: Request, who: admin, show: Show = "open", page: int = 1) -> Response:  # type: ignore[valid-type]
        page = max(1, min(page, 100_000))
        with session_scope(engine) as session:
            program = _program(session, program_name())
            program_id = program.id if program else None
            # One more than a page tells whether an older page exists, without counting them all.
            rows = forward.list_held(session, program_id=program_id, show=show, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
            waiting = forward.open_count(session, program_id=program_id)
        zone = ZoneInfo(program.timezone if program else settings.default_timezone)
        return render(
            request, "replies.html", active="replies", rows=rows[:PAGE_SIZE], show=show, waiting=waiting, zone=zone, page=page,
            older=len(rows) > PAGE_SIZE,
        )  # fmt: skip

    @router.post("/replies/{held_reply_id}/handled")
    def mark_handled(
        request: Request, who: posted, held_reply_id: int,  # type: ignore[valid-type]
        handled: Annotated[Literal["yes", "no"], Form()] = "yes", show: Annotated[Show, Form()] = "open",
    ) -> Response:  # fmt: skip
        with session_scope(engine) as session:
            program = _program(session, program_name())
            held = forward.set_handled(
                session, held_reply_id=held_reply_id, program_id=program.id if program else None, handled=handled == "yes", by=who.name, now=clock()
            )
            if held is None:
                raise repo.NotFound(f"there is no reply {held_reply_id} to read in {program_name()}")
            note = f"Reply {held.id} is marked handled." if held.status == "done" else f"Reply {held.id} is open again."
        return done(request, f"/admin/replies?show={show}", note)
