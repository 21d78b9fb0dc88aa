"""The admin page "Data requests": the log of people's exports and erasures, and forms to carry either out.

The work is `bot.actions.people` (send_person_data, erase_person), over `bot.data_rights`; this module only reads
forms and renders.
"""

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.responses import Response

from bot import data_rights
from bot.actions import people
from bot.actions.scope import unit_of_work
from bot.errors import UserError
from bot.web.admin.forms import FormError, refused
from bot.web.admin.page import AdminPage, Page, PostedPage

EMAIL_FIELD = {"email": "email", "Nobody": "email"}  # every refusal of these forms is about the address given

router = APIRouter()


@router.get("/data-requests")
def data_requests(page: Page) -> Response:
    return _data_requests_page(page)


def _data_requests_page(page: AdminPage, *, form_error: FormError | None = None) -> Response:
    with unit_of_work(page.engine) as session:
        rows = data_rights.list_requests(session)
        zone = page.zone(page.program_row(session))
    return page.render("data_requests.html", status=form_error.status if form_error else 200, active="data", rows=rows, zone=zone, form_error=form_error)


@router.post("/data-requests/export")
def export(page: PostedPage, email: Annotated[str, Form()]) -> Response:
    try:
        with unit_of_work(page.engine) as session:
            result = people.send_person_data(session, actor=page.actor, now=page.now(), email=email, channel="admin")
    except UserError as error:
        return _data_requests_page(page, form_error=refused("export", error, {"email": email}, EMAIL_FIELD))
    sent = f"emailed to {result.emailed_to}" if result.emailed_to else "not emailed: there is no email address on file"
    return page.done("/admin/data-requests", f"Export request #{result.request_id}: the person's data is {sent}.")


@router.post("/data-requests/erase")
def erase(page: PostedPage, email: Annotated[str, Form()], confirm: Annotated[str, Form()] = "") -> Response:
    if confirm != "yes":
        unticked = FormError(
            form="erase", field="confirm", status=400, values={"email": email}, message="Nothing was erased: tick the box to confirm that the erasure can't be undone."
        )
        return _data_requests_page(page, form_error=unticked)
    try:
        with unit_of_work(page.engine) as session:
            plan = people.erase_person(session, actor=page.actor, now=page.now(), settings=page.settings, email=email, confirmed=True, channel="admin")
    except UserError as error:
        return _data_requests_page(page, form_error=refused("erase", error, {"email": email}, EMAIL_FIELD))
    result = plan.result if plan.result is not None else data_rights.ErasureResult(plan.person.id, already_erased=True)
    return page.done("/admin/data-requests", result.message())
