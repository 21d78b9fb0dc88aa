"""Roster upload: the file is kept aside and previewed (every bad row, what the good rows would do); nothing is
saved until the admin confirms. The staging and the import are `bot.web.admin.roster_upload`."""

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from starlette.responses import Response

from bot.actions.scope import unit_of_work
from bot.roster import RosterFileError
from bot.web.admin import roster_upload
from bot.web.admin.page import AdminPage, Page, PostedPage
from storage import repo

router = APIRouter()


@router.get("/roster")
def roster(page: Page) -> Response:
    return _roster_page(page)


@router.post("/roster")
def upload(page: PostedPage, file: Annotated[UploadFile, File()]) -> Response:
    settings = page.settings
    data = file.file.read(settings.admin_upload_mb * 1024 * 1024 + 1)
    try:
        token = roster_upload.stage(settings, filename=file.filename or "", data=data)
    except roster_upload.UploadProblem as exc:
        # Not a file we take (its type, empty, too large): the upload form again, the reason beside the file field.
        return _roster_page(page, status=400, problem=exc.sentence())
    try:
        preview = roster_upload.preview(page.engine, settings, token=token, filename=file.filename or "roster")
    except RosterFileError as exc:
        # The file is not a roster at all: say why on the upload page itself, and forget the file.
        roster_upload.cancel(settings, token=token)
        return _roster_page(page, status=400, problem=exc.sentence())
    return page.render("roster_preview.html", active="roster", preview=preview, shown=preview.rows[:200])


@router.post("/roster/confirm")
def confirm_upload(page: PostedPage, token: Annotated[str, Form()], filename: Annotated[str, Form()] = "roster") -> Response:
    report = roster_upload.confirm(page.engine, page.settings, token=token, now=page.now())
    skipped = len({e.line for e in report.errors})
    note = f"Imported {report.imported} of {report.data_rows} rows from {filename}: {report.created} new, {report.updated} updated, {report.unchanged} unchanged."
    if skipped:
        note += f" {skipped} row with problems was left out." if skipped == 1 else f" {skipped} rows with problems were left out."
    warned = report.warning_summary()
    if warned:
        note += f" {warned[:1].upper()}{warned[1:]}."
    return page.done("/admin/people", note)


@router.post("/roster/cancel")
def cancel_upload(page: PostedPage, token: Annotated[str, Form()]) -> Response:
    roster_upload.cancel(page.settings, token=token)
    return page.done("/admin/roster", "Nothing was imported.")


def _roster_page(page: AdminPage, *, status: int = 200, problem: str | None = None) -> Response:
    with unit_of_work(page.engine) as session:
        count = repo.count_people(session)
    return page.render("roster.html", status=status, active="roster", people=count, limit=page.settings.admin_upload_mb, problem=problem)
