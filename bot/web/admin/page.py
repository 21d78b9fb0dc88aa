"""What every admin page shares: the site (settings, database, clock, templates, signing secret), the route class
that turns errors into friendly pages and adds the security headers, and the FastAPI dependencies that guard a page.

A page router's endpoint asks for what it needs:
- `Page` (GET) or `PostedPage` (a form, its CSRF token checked): an `AdminPage` with the site's settings, engine and
  clock, the admin's session, the program the pages show and the `Actor` that actions are called with;
- `Site` alone, for the sign-in pages that need no session.
Errors an admin can cause are `bot.errors.UserError`s raised by the actions; `AdminRoute` shows each family as one
page (404, 403, 409, 400) with the error's own sentence. Anything else is a bug: logged, and a plain 500 page.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.actions.access import Actor
from bot.actions.scope import program_name_for, unit_of_work
from bot.email import forward
from bot.errors import Conflict, NotAllowed, NotFound, UserError
from bot.rounds import reports
from bot.rounds.kinds import describe as describe_round
from bot.rounds.kinds import kind_of
from bot.settings import Settings
from bot.web.admin import auth
from storage import repo
from storage.models import Program, Round, Term

logger = logging.getLogger(__name__)
PROGRAM_COOKIE = "mentorbot_admin_program"  # which program the admin pages show; a view preference, not a permission
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# How an error a user can cause is shown: the first family it belongs to decides the status and the title.
USER_ERROR_PAGES: tuple[tuple[type[UserError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (NotAllowed, 403, "Not allowed"),
    (Conflict, 409, "That can't be done"),
    (UserError, 400, "That didn't work"),
)


class NotSignedIn(Exception):
    """No valid session."""


class NotAdmin(Exception):
    """Signed in, but not as an admin."""

    def __init__(self, session: auth.AdminSession) -> None:
        super().__init__(session.subject)
        self.session = session


class CsrfFailed(Exception):
    """A form came without the session's token (or from another site)."""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.web.admin", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value: "–" if value is None else f"{value * 100:.0f}%"
    env.filters["num"] = lambda value, digits=1: "–" if value is None else f"{value:.{digits}f}"
    env.filters["count"] = lambda value: f"{value:,}"  # 1,090 pairs, 11,840 actions
    env.globals["action_label"] = reports.action_label
    env.globals["message_label"] = reports.message_label
    env.globals["round_topics"] = round_topics
    env.globals["utc"] = timezone.utc  # stored times without a zone (SQLite gives them back naive) are UTC
    env.globals["describe_round"] = describe_round
    env.globals["check_in_labels"] = reports.CHECK_IN_LABELS
    return env


@dataclass(frozen=True)
class Pager:
    """One page of a long list and the plain GET links to the others, for a `<nav>` that says "pairs 51–100 of 1,090"."""

    items: Sequence[Any]
    number: int  # the page shown, from 1
    pages: int
    total: int
    size: int
    link: Callable[[int], str]  # the address of page n, the other lists' pages and the filter kept

    @property
    def start(self) -> int:
        """The position of the first item shown, from 1 (0 when there is none)."""
        return (self.number - 1) * self.size + 1 if self.total else 0

    @property
    def end(self) -> int:
        return min(self.number * self.size, self.total)

    @property
    def next_size(self) -> int:
        """How many the next page holds ("Next 50", or fewer on the last)."""
        return max(0, min(self.size, self.total - self.end))


def paginate(items: Sequence[Any], *, number: int, size: int, link: Callable[[int], str]) -> Pager:
    """The `number`th page of `size` items; a number past the end shows the last page, one below 1 the first."""
    pages = max(1, -(-len(items) // size))
    number = min(max(1, number), pages)
    return Pager(items[(number - 1) * size : number * size], number, pages, len(items), size, link)


def page_address(path: str, anchor: str = "", **params: object) -> str:
    """`path` with the given query parameters, leaving out the empty ones (None, "", a first page passed as None)."""
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return path + ("?" + urlencode(kept) if kept else "") + (f"#{anchor}" if anchor else "")


def round_topics(round_: Round) -> str:
    """What a round is about, as its kind says: a topic event's topics ("SEL; assessment; family communication"), a
    round's one topic, else "any topic"."""
    return "; ".join(topic for topic in kind_of(round_).topics(round_) if topic) or "any topic"


class AdminSite:
    """One app's admin pages: its settings, database and clock, the templates, and the secret sessions are signed with."""

    def __init__(self, settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> None:
        self.settings, self.engine, self.clock = settings, engine, clock
        self.templates = _environment()
        self.jwks = auth.JwksCache()
        self.secure_cookies = settings.public_base_url.startswith("https://")
        self._secret: str | None = None
        # The route class of this site's pages: it hands them this site (see AdminRoute).
        self.route_class: type[APIRoute] = type("SiteRoute", (AdminRoute,), {"site": self})

    def secret(self) -> str:
        """ADMIN_SECRET or the kept one; read (or made) on first use, not when the app is built."""
        if self._secret is None:
            self._secret = auth.admin_secret(self.settings)
        return self._secret

    def current_session(self, request: Request) -> auth.AdminSession | None:
        """The session the request's cookie carries, if any and still live on the server (not signed out, not expired)."""
        now = self.clock()
        session = auth.load_session(self.secret(), request.cookies.get(auth.SESSION_COOKIE), now=now)
        if session is None or not auth.session_is_live(self.engine, session, now=now):
            return None
        return session

    # --- the program the pages show ------------------------------------------------------------------

    def program_names(self, request: Request) -> list[str]:
        """Every program's name, by name (read once per request)."""
        self._resolve_program(request)
        return request.state.program_names

    def program_name(self, request: Request) -> str:
        """The program the pages show: the admin's choice (a cookie naming a program that exists), else the only program,
        else PROGRAM_NAME, as `bot.actions.scope.program_name_for` decides for every front end."""
        self._resolve_program(request)
        return request.state.program

    def _resolve_program(self, request: Request) -> None:
        if getattr(request.state, "program", None) is not None:
            return
        wanted = request.cookies.get(PROGRAM_COOKIE)
        try:
            with unit_of_work(self.engine) as session:
                names = list(session.exec(select(Program.name).order_by(Program.name)))
                try:
                    name = program_name_for(session, requested=wanted if wanted in names else None, default=self.settings.program_name)
                except NotFound:
                    # Several programs and none is PROGRAM_NAME: the pages show PROGRAM_NAME's (empty) view and the chooser.
                    name = self.settings.program_name
        except sa.exc.SQLAlchemyError:
            # An error page must still render while the database is away; the page's own query reports the failure.
            logger.exception("reading the programs for the admin pages failed")
            names, name = [], self.settings.program_name
        request.state.program_names, request.state.program = names, name

    def open_replies(self, program_name: str) -> int | None:
        """The nav's count of replies waiting for someone; None when it can't be read (the page must still render)."""
        try:
            with unit_of_work(self.engine) as session:
                program = session.exec(select(Program).where(Program.name == program_name)).first()
                return forward.open_count(session, program_id=program.id if program else None)
        except sa.exc.SQLAlchemyError:
            logger.exception("counting the replies to read failed")
            return None

    # --- responses -------------------------------------------------------------------------------------

    def render(self, request: Request, template: str, *, status: int = 200, session: auth.AdminSession | None = None, **context: Any) -> HTMLResponse:
        """A page from its template, with the nav, the one-time message and the session's CSRF token."""
        session = session if session is not None else getattr(request.state, "admin", None)
        flash = session.flash if session is not None else None
        is_admin = session is not None and auth.is_admin(session, self.settings)
        program = self.program_name(request)
        body = self.templates.get_template(template).render(
            request=request, admin=session, is_admin=is_admin, replies_open=self.open_replies(program) if is_admin else None,
            csrf=session.csrf if session else "", flash=flash, program_name=program,
            program_names=self.program_names(request) if session is not None else [], path=request.url.path, **context,
        )  # fmt: skip
        response = HTMLResponse(body, status_code=status)
        if flash and session is not None:
            self.set_session(response, session.with_flash(None))
        return response

    def error_page(self, request: Request, title: str, message: str, *, status: int, hint: str | None = None) -> HTMLResponse:
        """A friendly error page: what happened and what to do."""
        session = getattr(request.state, "admin", None)
        return self.render(request, "error.html", status=status, session=session, title=title, message=message, hint=hint, signed_in=session is not None)

    def user_error_page(self, request: Request, error: UserError) -> HTMLResponse:
        """The page for an error the admin can cause: its family gives the status and the title, its message the text."""
        status, title = next((status, title) for family, status, title in USER_ERROR_PAGES if isinstance(error, family))
        return self.error_page(request, title, error.sentence(), status=status)

    def set_session(self, response: Response, session: auth.AdminSession) -> None:
        """Write the signed session cookie."""
        max_age = max(0, session.expires_at - int(self.clock().timestamp()))
        response.set_cookie(
            auth.SESSION_COOKIE, auth.dump_session(self.secret(), session), max_age=max_age, path="/admin",
            httponly=True, samesite="lax", secure=self.secure_cookies,
        )  # fmt: skip

    def sign_in(self, response: Response, *, subject: str, name: str, via: str) -> Response:
        """Start a session for whoever just proved who they are, recorded server-side so signing out can end it."""
        now = self.clock()
        session = auth.new_session(subject=subject, name=name, via=via, now=now, hours=self.settings.admin_session_hours)
        auth.record_session(self.engine, session, now=now)
        self.set_session(response, session)
        return response

    def done(self, request: Request, url: str, flash: str | None = None) -> RedirectResponse:
        """Redirect after a form, carrying a one-time message."""
        response = RedirectResponse(url, status_code=303)
        session = getattr(request.state, "admin", None)
        if session is not None and flash:
            self.set_session(response, session.with_flash(flash))
        return response


# --- the route class: friendly errors and security headers --------------------------------------------


class AdminRoute(APIRoute):
    """A route of the admin pages: hands the page its site, shows errors as pages, and adds the security headers.

    Each site makes a subclass naming itself (`AdminSite.route_class`), so the site is on `request.state` before
    the form is read or any dependency runs, and an error page can always be rendered.
    """

    site: AdminSite

    def get_route_handler(self) -> Callable:
        original = super().get_route_handler()
        site = self.site

        async def handler(request: Request) -> Response:
            request.state.admin_site = site
            try:
                response = await original(request)
            except NotSignedIn:
                if request.method in ("GET", "HEAD"):
                    response = RedirectResponse(f"/admin/login?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}", status_code=303)
                else:
                    response = site.error_page(request, "Please sign in", "You are not signed in, so nothing was done.", status=401, hint="Sign in and try again.")
            except NotAdmin as exc:
                who = exc.session.name + (f" (Slack {exc.session.subject})" if exc.session.via == "slack" else "")
                response = site.error_page(
                    request, "Not an admin here", f"You are signed in as {who}, who is not an admin of {site.program_name(request)}.",
                    status=403, hint="Ask whoever runs mentorbot to add your Slack member ID to SLACK_ADMIN_IDS.",
                )  # fmt: skip
            except CsrfFailed:
                response = site.error_page(
                    request, "That form has expired", "The form did not carry this session's security token, so nothing was done.",
                    status=403, hint="Go back, reload the page and send the form again.",
                )  # fmt: skip
            except UserError as exc:
                response = site.user_error_page(request, exc)
            except RequestValidationError as exc:
                fields = sorted({str(error["loc"][-1]) for error in exc.errors()})
                response = site.error_page(
                    request, "Something in the form was not understood", "Please check " + ", ".join(fields) + " and send the form again.", status=400
                )
            except StarletteHTTPException as exc:
                response = site.error_page(request, "That didn't work", str(exc.detail), status=exc.status_code)
            except Exception:
                logger.exception("admin page %s %s failed", request.method, request.url.path)
                response = site.error_page(
                    request, "Something went wrong", "The page could not be shown because of a problem on our side. Nothing half-done was saved.",
                    status=500, hint="Try again; if it keeps happening, the server log has the details.",
                )  # fmt: skip
            _add_security_headers(response)
            return response

        return handler


def _add_security_headers(response: Response) -> None:
    if "content-security-policy" not in response.headers:
        response.headers["Content-Security-Policy"] = CSP
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY" if "sandbox" not in response.headers["content-security-policy"] else "SAMEORIGIN")
    response.headers.setdefault("Cache-Control", "no-store")


# --- dependencies: the site, the session, the form's token, the page --------------------------------------


def site_of(request: Request) -> AdminSite:
    """The admin site serving this request (AdminRoute put it there)."""
    return request.state.admin_site


Site = Annotated[AdminSite, Depends(site_of)]


def signed_in(request: Request, site: Site) -> auth.AdminSession:
    """The request's session; NotSignedIn without one."""
    session = site.current_session(request)
    if session is None:
        raise NotSignedIn()
    request.state.admin = session
    return session


SignedIn = Annotated[auth.AdminSession, Depends(signed_in)]


def require_admin(site: Site, session: SignedIn) -> auth.AdminSession:
    """The session of an admin (checked on every request); NotAdmin for anyone else."""
    if not auth.is_admin(session, site.settings):
        raise NotAdmin(session)
    return session


Admin = Annotated[auth.AdminSession, Depends(require_admin)]


async def check_csrf(request: Request, site: AdminSite, session: auth.AdminSession) -> None:
    """Refuse a form from another site or without this session's token."""
    origin = request.headers.get("origin")
    # Browsers send Origin with every form post; it must be this site (as the browser or PUBLIC_BASE_URL names it).
    if origin and urlsplit(origin).netloc not in (request.headers.get("host", ""), urlsplit(site.settings.public_base_url).netloc):
        raise CsrfFailed()
    form = await request.form()
    if not auth.csrf_matches(session, form.get("csrf_token")):  # type: ignore[arg-type]
        raise CsrfFailed()


async def require_csrf(request: Request, site: Site, admin: Admin) -> auth.AdminSession:
    """An admin's session, for a form that carried its token."""
    await check_csrf(request, site, admin)
    return admin


async def require_signed_in_csrf(request: Request, site: Site, session: SignedIn) -> auth.AdminSession:
    """Any session, for a form that carried its token: signing out needs no admin rights."""
    await check_csrf(request, site, session)
    return session


Posted = Annotated[auth.AdminSession, Depends(require_csrf)]
SignedInPosted = Annotated[auth.AdminSession, Depends(require_signed_in_csrf)]


@dataclass(frozen=True)
class AdminPage:
    """One admin request: the site, who asks, and the program the pages show; what an endpoint needs to call an action."""

    site: AdminSite
    request: Request
    session: auth.AdminSession
    program: str

    @property
    def settings(self) -> Settings:
        return self.site.settings

    @property
    def engine(self) -> Engine:
        return self.site.engine

    @property
    def actor(self) -> Actor:
        """The admin as the actions see them: a site admin (a one-time link, or a Slack ID in SLACK_ADMIN_IDS)."""
        slack_user_id = self.session.subject if self.session.via == "slack" else None
        return Actor(name=self.session.name, site_admin=True, slack_user_id=slack_user_id)

    def now(self) -> datetime:
        """The time, from the site's clock."""
        return self.site.clock()

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """The page from its template."""
        return self.site.render(self.request, template, status=status, **context)

    def done(self, url: str, flash: str | None = None) -> RedirectResponse:
        """Redirect after a form, carrying a one-time message."""
        return self.site.done(self.request, url, flash)

    # --- reads the pages share ------------------------------------------------------------------------

    def program_row(self, session: Session) -> Program | None:
        """The program the pages show, when it exists yet."""
        return session.exec(select(Program).where(Program.name == self.program)).first()

    def zone(self, program: Program | None) -> ZoneInfo:
        """The program's time zone (DEFAULT_TIMEZONE before it exists)."""
        return ZoneInfo(program.timezone if program else self.settings.default_timezone)

    def terms(self, session: Session) -> list[Term]:
        """The program's terms, newest first."""
        program = self.program_row(session)
        return list(reversed(repo.list_terms(session, program_id=program.id))) if program else []

    def term(self, session: Session, term_id: int | None) -> Term | None:
        """The term asked for (NotFound if it is not the program's), else the open one, else the newest."""
        terms = self.terms(session)
        if term_id is not None:
            for term in terms:
                if term.id == term_id:
                    return term
            raise NotFound(f"there is no term {term_id} in {self.program}")
        return next((t for t in terms if t.status == "open"), terms[0] if terms else None)

    def round(self, session: Session, round_id: int) -> tuple[Round, Term]:
        """A round of the program and its term; NotFound for a round of another program or none."""
        round_ = session.get(Round, round_id)
        term = session.get(Term, round_.term_id) if round_ else None
        program = self.program_row(session)
        if round_ is None or term is None or program is None or term.program_id != program.id:
            raise NotFound(f"there is no round {round_id} in {self.program}")
        return round_, term

    def matched_rounds(self, session: Session) -> list[Round]:
        """The program's rounds that have pairs to report on, newest first."""
        found = []
        for term in self.terms(session):
            found += [r for r in reversed(repo.list_rounds(session, term_id=term.id)) if r.status in ("review", "published", "running", "closed")]
        return found


def pick_round(rounds: list[Round], round_id: int | None) -> Round | None:
    """The round asked for among `rounds` (NotFound if it is not one), else the first."""
    if round_id is None:
        return rounds[0] if rounds else None
    for round_ in rounds:
        if round_.id == round_id:
            return round_
    raise NotFound(f"round {round_id} has no pairs to report on")


def admin_page(request: Request, site: Site, admin: Admin) -> AdminPage:
    """The page an admin asked for."""
    return AdminPage(site, request, admin, site.program_name(request))


def posted_page(request: Request, site: Site, admin: Posted) -> AdminPage:
    """The page an admin's form was sent to, its token checked."""
    return AdminPage(site, request, admin, site.program_name(request))


Page = Annotated[AdminPage, Depends(admin_page)]
PostedPage = Annotated[AdminPage, Depends(posted_page)]
