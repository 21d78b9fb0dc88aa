"""The admin page "Data requests": the log of people's exports and erasures, and forms to carry either out.

Registered on the admin router by `register`, with the router's own admin and CSRF guards, so it follows the same
rules as every other admin page. The work itself is `bot.data_rights`; this module only reads forms and renders.
"""

# No `from __future__ import annotations`: FastAPI must see the router's own guard types, which are local to admin_router.
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.engine import Engine
from starlette.responses import Response

from bot import data_rights
from bot.settings import Settings
from storage.db import session_scope


def register(
    router: APIRouter,
    *,
    engine: Engine,
    settings: Settings,
    clock: Callable[[], datetime],
    render: Callable[..., Response],
    done: Callable[..., Response],
    admin: Any,
    posted: Any,
) -> None:
    """Add GET /admin/data-requests and its two forms (export, erase) to the admin router."""

    @router.get("/data-requests")
    def data_requests(request: Request, who: admin) -> Response:  # type: ignore[valid-type]
        with session_scope(engine) as session:
            rows = data_rights.list_requests(session)
        return render(request, "data_requests.html", active="data", rows=rows)

    @router.post("/data-requests/export")
    def export(request: Request, who: posted, email: Annotated[str, Form()]) -> Response:  # type: ignore[valid-type]
        with session_scope(engine) as session:
            person = data_rights.find_person(session, email=email)
            result = data_rights.export(session, person_id=person.id, requested_by=f"admin:{who.name}", channel="admin", now=clock())
        sent = f"emailed to {result.emailed_to}" if result.emailed_to else "not emailed: there is no email address on file"
        return done(request, "/admin/data-requests", f"Export request #{result.request_id}: the person's data is {sent}.")

    @router.post("/data-requests/erase")
    def erase(request: Request, who: posted, email: Annotated[str, Form()], confirm: Annotated[str, Form()] = "") -> Response:  # type: ignore[valid-type]
        if confirm != "yes":
            return done(request, "/admin/data-requests", "Nothing was erased: tick the box to confirm that the erasure can't be undone.")
        with session_scope(engine) as session:
            person = data_rights.find_person(session, email=email)
            result = data_rights.erase(
                session, person_id=person.id, requested_by=f"admin:{who.name}", channel="admin", now=clock(), admin_slack_ids=tuple(settings.slack_admin_ids)
            )
        return done(request, "/admin/data-requests", result.message())
