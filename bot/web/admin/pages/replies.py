"""The admin page "Replies to read": what teachers wrote that mentorbot could not place, newest first, each with who
sent it, why it was held, their words and the pairing or round it concerns, and a button to mark it handled.

It shows the program the admin pages show (and replies tied to no program). The reads and writes are
`bot.email.forward`.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query
from starlette.responses import Response

from bot.actions.scope import unit_of_work
from bot.email import forward
from bot.errors import NotFound
from bot.web.admin.page import Page, PostedPage

Show = Literal["open", "done", "all"]
PAGE_SIZE = 50  # replies per page: long threads pasted in make each one tall

router = APIRouter()


@router.get("/replies")
def replies(page: Page, show: Show = "open", number: Annotated[int, Query(alias="page")] = 1) -> Response:
    number = max(1, min(number, 100_000))
    with unit_of_work(page.engine) as session:
        program = page.program_row(session)
        program_id = program.id if program else None
        # One more than a page tells whether an older page exists, without counting them all.
        rows = forward.list_held(session, program_id=program_id, show=show, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
        waiting = forward.open_count(session, program_id=program_id)
    return page.render(
        "replies.html", active="replies", rows=rows[:PAGE_SIZE], show=show, waiting=waiting, zone=page.zone(program), page=number,
        older=len(rows) > PAGE_SIZE,
    )  # fmt: skip


@router.post("/replies/{held_reply_id}/handled")
def mark_handled(
    page: PostedPage, held_reply_id: int, handled: Annotated[Literal["yes", "no"], Form()] = "yes", show: Annotated[Show, Form()] = "open"
) -> Response:
    with unit_of_work(page.engine) as session:
        program = page.program_row(session)
        held = forward.set_handled(
            session, held_reply_id=held_reply_id, program_id=program.id if program else None, handled=handled == "yes", by=page.session.name,
            now=page.now(),
        )  # fmt: skip
        if held is None:
            raise NotFound(f"there is no reply {held_reply_id} to read in {page.program}")
        note = f"Reply {held.id} is marked handled." if held.status == "done" else f"Reply {held.id} is open again."
    return page.done(f"/admin/replies?show={show}", note)
