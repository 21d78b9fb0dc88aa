"""The Mail page: what the local mail sink holds (DATA_DIR/mail), each message readable, its HTML part sandboxed."""

from fastapi import APIRouter
from starlette.responses import HTMLResponse, Response

from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.outbox import channel_backlog
from bot.web.admin.mail import list_mail, mail_folder, read_html, read_mail
from bot.web.admin.page import Page

# A message's HTML is shown in a sandboxed frame: no scripts, nothing fetched, only its own inline styles and images.
MAIL_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

router = APIRouter()


@router.get("/mail")
def mail_list(page: Page) -> Response:
    folder = mail_folder(page.settings.data_dir)
    items, total = list_mail(folder)
    with unit_of_work(page.engine) as session:
        zone = page.zone(page.program_row(session))
        backlog = channel_backlog(session, slack_configured=page.settings.slack_enabled)
    return page.render("mail.html", active="mail", items=items, total=total, sink=not page.settings.smtp_host, folder=folder, zone=zone, backlog=backlog)


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
