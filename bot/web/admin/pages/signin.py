"""Signing in and out (with Slack or a one-time link), the stylesheet, and which program the pages show.

Everything here but signing out and choosing a program is reachable without a session. The sign-in work itself is
`bot.web.admin.auth`; these routes only read the request and set cookies.
"""

import logging
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Form, Request
from sqlmodel import select
from starlette.responses import FileResponse, RedirectResponse, Response

from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.web.admin import auth
from bot.web.admin.page import PROGRAM_COOKIE, AdminSite, PostedPage, SignedInPosted, Site
from storage.models import ScheduledAction

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parents[1] / "static"

router = APIRouter()


@router.get("/static/admin.css", include_in_schema=False)
def stylesheet() -> FileResponse:
    response = FileResponse(STATIC / "admin.css", media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@router.get("/login")
def login(request: Request, site: Site, next: str = "/admin") -> Response:
    session = site.current_session(request)
    if session is not None and auth.is_admin(session, site.settings):
        return RedirectResponse(auth.safe_next(next), status_code=303)
    return site.render(request, "login.html", session=None, next=auth.safe_next(next), slack_ready=_slack_ready(site), error=None)


@router.get("/auth/slack")
def slack_start(request: Request, site: Site, next: str = "/admin") -> Response:
    try:
        start = auth.start_slack_sign_in(site.settings, now=site.clock(), next_path=next)
    except auth.AuthError as exc:
        return site.render(request, "login.html", status=400, session=None, next=auth.safe_next(next), slack_ready=False, error=str(exc))
    response = RedirectResponse(start.redirect_to, status_code=302)
    response.set_cookie(
        auth.OIDC_COOKIE, start.cookie, max_age=auth.OIDC_STATE_SECONDS, path="/admin/auth", httponly=True, samesite="lax", secure=site.secure_cookies
    )
    return response


@router.get("/auth/slack/callback")
def slack_callback(request: Request, site: Site, code: str = "", state: str = "", error: str = "") -> Response:
    slack_ready = _slack_ready(site)
    if error or not code:
        message = "Slack sign-in was cancelled." if error == "access_denied" else f"Slack did not sign you in ({error or 'no code'}). Please try again."
        return site.render(request, "login.html", status=400, session=None, next="/admin", slack_ready=slack_ready, error=message)
    try:
        with httpx.Client(timeout=10.0) as client:
            identity, next_path = auth.finish_slack_sign_in(
                site.settings, code=code, state=state, cookie=request.cookies.get(auth.OIDC_COOKIE), now=site.clock(), jwks=site.jwks, client=client
            )
    except auth.AuthError as exc:
        return site.render(request, "login.html", status=400, session=None, next="/admin", slack_ready=slack_ready, error=str(exc))
    response = RedirectResponse(next_path, status_code=303)
    response.delete_cookie(auth.OIDC_COOKIE, path="/admin/auth")
    logger.info("admin sign-in with Slack: %s (%s)", identity.user_id, "admin" if identity.user_id in site.settings.slack_admin_ids else "not an admin")
    return site.sign_in(response, subject=identity.user_id, name=identity.name, via="slack")


@router.get("/link/{token}")
def link_page(request: Request, site: Site, token: str) -> Response:
    try:
        nonce = auth.read_link(site.secret(), token, now=site.clock())
    except auth.AuthError as exc:
        return _refused(request, site, str(exc))
    with unit_of_work(site.engine) as session:
        used = session.exec(select(ScheduledAction).where(ScheduledAction.idempotency_key == f"admin-link:{nonce}")).first()
    if used is not None:
        return _refused(request, site, "This sign-in link has been used already. Print a new one with `mentorbot admin-link`.")
    return site.render(request, "link.html", session=None, token=token)


@router.post("/link")
def link_sign_in(request: Request, site: Site, token: Annotated[str, Form()]) -> Response:
    try:
        nonce = auth.read_link(site.secret(), token, now=site.clock())
        auth.consume_link(site.engine, nonce=nonce, now=site.clock())
    except auth.AuthError as exc:
        return _refused(request, site, str(exc))
    logger.info("admin sign-in with a one-time link")
    return site.sign_in(RedirectResponse("/admin", status_code=303), subject=f"link:{nonce}", name="Admin (sign-in link)", via="link")


@router.post("/logout")
def logout(site: Site, session: SignedInPosted) -> Response:
    """Sign out: the server ends this session, so a copy of its cookie (and its CSRF token) opens nothing any more."""
    auth.end_session(site.engine, session, now=site.clock())
    logger.info("admin signed out (%s)", session.via)
    return _signed_out()


@router.post("/logout-everywhere")
def logout_everywhere(site: Site, session: SignedInPosted) -> Response:
    """Sign out everywhere: end every live session of this admin (other browsers and devices too)."""
    ended = auth.end_every_session(site.engine, session, now=site.clock())
    logger.info("admin signed out everywhere (%s): %d sessions ended", session.via, ended)
    return _signed_out()


def _signed_out() -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/admin")
    return response


@router.post("/program")
def choose_program(page: PostedPage, name: Annotated[str, Form()]) -> Response:
    """Show the pages of another program (a preference kept in a cookie; every page re-checks it exists)."""
    if name not in page.site.program_names(page.request):
        raise NotFound(f"there is no program called {name!r}")
    response = page.done("/admin", f"Showing {name}.")
    response.set_cookie(PROGRAM_COOKIE, name, max_age=30 * 24 * 3600, path="/admin", httponly=True, samesite="lax", secure=page.site.secure_cookies)
    return response


def _slack_ready(site: AdminSite) -> bool:
    return bool(site.settings.slack_client_id and site.settings.slack_client_secret)


def _refused(request: Request, site: AdminSite, error: str) -> Response:
    """The sign-in page again, saying why the link did not sign anyone in."""
    return site.render(request, "login.html", status=400, session=None, next="/admin", slack_ready=bool(site.settings.slack_client_id), error=error)
