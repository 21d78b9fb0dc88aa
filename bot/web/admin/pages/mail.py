"""The Mail page: what the local mail sink holds (DATA_DIR/mail), each message readable, its HTML part sandboxed."""

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import HTMLResponse, Response

from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.outbox import channel_backlog
from bot.web.admin.mail import list_mail, mail_folder, read_html, read_mail
from bot.web.admin.page import Page, Pager, page_address

# A message's HTML is shown in a sandboxed frame: no scripts, nothing fetched, only its own inline styles and images.
MAIL_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

router = APIRouter()
PER_PAGE = 50  # messages per page, newest first: only those are opened and read


@router.get("/mail")
def mail_list(page: Page, number: Annotated[int, Query(alias="page")] = 1) -> Response:
    folder = mail_folder(page.settings.data_dir)
    number = max(1, number)
    items, total = list_mail(folder, limit=PER_PAGE, skip=(number - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    if number > pages:  # past the end: the last page, as every pager does
        number = pages
        items, total = list_mail(folder, limit=PER_PAGE, skip=(number - 1) * PER_PAGE)
    pager = Pager(items, number, pages, total, PER_PAGE, lambda n: page_address("/admin/mail", page=n if n > 1 else None))
    with unit_of_work(page.engine) as session:
        zone = page.zone(page.program_row(session))
        backlog = channel_backlog(session, slack_configured=page.settings.slack_enabled)
    return page.render(
        "mail.html", active="mail", items=items, pager=pager, total=total, sink=not page.settings.smtp_host, folder=folder, zone=zone, backlog=backlog
    )


@router.get("/mail/{name}")
def mail_message(page: Page, name: str) -> Response:
    detail = read_mail(mail_folder(page.settings.data_dir), name)
    if detail is None:
        raise NotFound(f"there is no message called {name} in the mail folder")
    return page.render("mail_message.html", active="mail", detail=detail)


@router.get("/mail/{name}/html")
def mail_html(page: Page, name: str) -> Response:
    html = read_html(mail_folder(page.settings.data_dir), name)
    if html is None:
        raise NotFound(f"message {name} has no HTML part")
    return HTMLResponse(html, headers={"Content-Security-Policy": MAIL_CSP})
