"""The admin pages under /admin: server-rendered Jinja2, SVG charts, no JavaScript and nothing from a CDN.

Every route but sign-in and the stylesheet depends on `require_admin`; every form posts a CSRF token that
`require_csrf` checks against the session. Errors an admin can cause (a move a round can't make, a bad file,
a stale link) come back as a friendly page with what to do; anything else is logged and shown as a plain
"something went wrong" page. Routes that touch the database are plain functions, run in FastAPI's thread pool.
"""


import contextvars
import logging
import math
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bot.roster import RosterFileError
from bot.rounds import events, service
from bot.rounds.lifecycle import IllegalTransition, allowed_round_moves
from bot.settings import Settings
from bot.rounds import reports
from bot import exports
from bot.web.admin import auth, charts, held_replies, mail, review, roster_upload
from storage import repo
from storage.db import session_scope
from storage.models import Enrollment, Pairing, Person, Program, Round, ScheduledAction, Term

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 50
PROGRAM_COOKIE = "mentorbot_admin_program"  # which program the admin pages show; a view preference, not a permission
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
MAIL_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MOVE_LABELS = {"collecting": "Open for collection", "running": "Start the sessions", "closed": "Close the round"}


class NotSignedIn(Exception):
    """No valid session."""


class NotAdmin(Exception):
    def __init__(self, session: auth.AdminSession) -> None:
        super().__init__(session.subject)
        self.session = session


class CsrfFailed(Exception):
    """A form came without the session's token (or from another site)."""


class PageNotFound(Exception):
    """Something an admin asked for does not exist; the message says what."""


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bot.web.admin", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda value: "–" if value is None else f"{value * 100:.0f}%"
    env.filters["num"] = lambda value, digits=1: "–" if value is None else f"{value:.{digits}f}"
    env.globals["action_label"] = reports.action_label
    env.globals["check_in_labels"] = reports.CHECK_IN_LABELS
    return env


def admin_router(settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> APIRouter:
    """The /admin pages for one program at a time (the admin's choice, else PROGRAM_NAME), on `engine`, with `clock` as the time."""
    env = _environment()
    # The program this request's pages act on: the admin's choice (a cookie), checked against the database per request.
    chosen_program: contextvars.ContextVar[str | None] = contextvars.ContextVar("admin_program", default=None)

    def program_name() -> str:
        return chosen_program.get() or settings.program_name

    def program_names() -> list[str]:
        with session_scope(engine) as session:
            return list(session.exec(select(Program.name).order_by(Program.name)))
    cached_secret: list[str] = []

    def secret() -> str:
        # Read (or made) on first use, not when the app is built.
        if not cached_secret:
            cached_secret.append(auth.admin_secret(settings))
        return cached_secret[0]
    jwks = auth.JwksCache()
    secure_cookies = settings.public_base_url.startswith("https://")

    # --- rendering helpers -------------------------------------------------------------------------

    def render(request: Request, template: str, *, status: int = 200, session: auth.AdminSession | None = None, **context: Any) -> HTMLResponse:
        session = session if session is not None else getattr(request.state, "admin", None)
        flash = session.flash if session is not None else None
        is_admin = session is not None and auth.is_admin(session, settings)
        body = env.get_template(template).render(
            request=request, admin=session, is_admin=is_admin, replies_open=held_replies.open_replies(engine, program_name()) if is_admin else None,
            csrf=session.csrf if session else "", flash=flash,
            program_name=program_name(), program_names=program_names() if session is not None else [], path=request.url.path, **context,
        )  # fmt: skip
        response = HTMLResponse(body, status_code=status)
        if flash and session is not None:
            _set_session(response, _with_flash(session, None))
        return response

    def error_page(request: Request, title: str, message: str, *, status: int, hint: str | None = None) -> HTMLResponse:
        session = getattr(request.state, "admin", None)
        return render(request, "error.html", status=status, session=session, title=title, message=message, hint=hint, signed_in=session is not None)

    def _with_flash(session: auth.AdminSession, flash: str | None) -> auth.AdminSession:
        return auth.AdminSession(session.subject, session.name, session.via, session.csrf, session.expires_at, flash)

    def _set_session(response: Response, session: auth.AdminSession) -> None:
        max_age = max(0, session.expires_at - int(clock().timestamp()))
        response.set_cookie(
            auth.SESSION_COOKIE, auth.dump_session(secret(), session), max_age=max_age, path="/admin",
            httponly=True, samesite="lax", secure=secure_cookies,
        )  # fmt: skip

    def done(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
        """Redirect after a form, carrying a one-time message."""
        response = RedirectResponse(url, status_code=303)
        session = getattr(request.state, "admin", None)
        if session is not None and flash:
            _set_session(response, _with_flash(session, flash))
        return response

    # --- the route class: friendly errors and security headers ----------------------------------------

    class AdminRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                wanted = request.cookies.get(PROGRAM_COOKIE)
                token = chosen_program.set(wanted if wanted and wanted in program_names() else None)
                try:
                    return await guarded(request)
                finally:
                    chosen_program.reset(token)

            async def guarded(request: Request) -> Response:
                try:
                    response = await original(request)
                except NotSignedIn:
                    if request.method in ("GET", "HEAD"):
                        response = RedirectResponse(f"/admin/login?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}", status_code=303)
                    else:
                        response = error_page(request, "Please sign in", "You are not signed in, so nothing was done.", status=401, hint="Sign in and try again.")
                except NotAdmin as exc:
                    who = exc.session.name + (f" (Slack {exc.session.subject})" if exc.session.via == "slack" else "")
                    response = error_page(
                        request, "Not an admin here",
                        f"You are signed in as {who}, who is not an admin of {program_name()}.",
                        status=403, hint="Ask whoever runs mentorbot to add your Slack member ID to SLACK_ADMIN_IDS.",
                    )  # fmt: skip
                except CsrfFailed:
                    response = error_page(
                        request, "That form has expired", "The form did not carry this session's security token, so nothing was done.",
                        status=403, hint="Go back, reload the page and send the form again.",
                    )  # fmt: skip
                except PageNotFound as exc:
                    response = error_page(request, "Not found", str(exc), status=404)
                except repo.NotFound as exc:
                    response = error_page(request, "Not found", _sentence(str(exc)), status=404)
                except (service.RoundError, IllegalTransition) as exc:
                    response = error_page(request, "That can't be done", _sentence(str(exc)), status=409)
                except (roster_upload.UploadProblem, RosterFileError, auth.AuthError) as exc:
                    response = error_page(request, "That didn't work", _sentence(str(exc)), status=400)
                except RequestValidationError as exc:
                    fields = sorted({str(error["loc"][-1]) for error in exc.errors()})
                    response = error_page(
                        request, "Something in the form was not understood",
                        "Please check " + ", ".join(fields) + " and send the form again.", status=400,
                    )  # fmt: skip
                except StarletteHTTPException as exc:
                    response = error_page(request, "That didn't work", str(exc.detail), status=exc.status_code)
                except Exception:
                    logger.exception("admin page %s %s failed", request.method, request.url.path)
                    response = error_page(
                        request, "Something went wrong", "The page could not be shown because of a problem on our side. Nothing half-done was saved.",
                        status=500, hint="Try again; if it keeps happening, the server log has the details.",
                    )  # fmt: skip
                if "content-security-policy" not in response.headers:
                    response.headers["Content-Security-Policy"] = CSP
                response.headers.setdefault("X-Content-Type-Options", "nosniff")
                response.headers.setdefault("Referrer-Policy", "same-origin")
                response.headers.setdefault("X-Frame-Options", "DENY" if "sandbox" not in response.headers["content-security-policy"] else "SAMEORIGIN")
                response.headers.setdefault("Cache-Control", "no-store")
                return response

            return handler

    router = APIRouter(prefix="/admin", route_class=AdminRoute)

    # --- access ---------------------------------------------------------------------------------------

    def current_session(request: Request) -> auth.AdminSession | None:
        return auth.load_session(secret(), request.cookies.get(auth.SESSION_COOKIE), now=clock())

    def require_admin(request: Request) -> auth.AdminSession:
        session = current_session(request)
        if session is None:
            raise NotSignedIn()
        request.state.admin = session
        if not auth.is_admin(session, settings):
            raise NotAdmin(session)
        return session

    async def check_csrf(request: Request, session: auth.AdminSession) -> None:
        origin = request.headers.get("origin")
        # Browsers send Origin with every form post; it must be this site (as the browser or PUBLIC_BASE_URL names it).
        if origin and urlsplit(origin).netloc not in (request.headers.get("host", ""), urlsplit(settings.public_base_url).netloc):
            raise CsrfFailed()
        form = await request.form()
        if not auth.csrf_matches(session, form.get("csrf_token")):  # type: ignore[arg-type]
            raise CsrfFailed()

    async def require_csrf(request: Request, admin: Annotated[auth.AdminSession, Depends(require_admin)]) -> auth.AdminSession:
        await check_csrf(request, admin)
        return admin

    async def require_signed_in_csrf(request: Request) -> auth.AdminSession:
        """Signing out needs a session and the form's token, not admin rights."""
        session = current_session(request)
        if session is None:
            raise NotSignedIn()
        request.state.admin = session
        await check_csrf(request, session)
        return session

    Admin = Annotated[auth.AdminSession, Depends(require_admin)]
    Posted = Annotated[auth.AdminSession, Depends(require_csrf)]

    def sign_in(response: Response, *, subject: str, name: str, via: str) -> Response:
        session = auth.new_session(subject=subject, name=name, via=via, now=clock(), hours=settings.admin_session_hours)
        _set_session(response, session)
        return response

    # --- shared lookups -------------------------------------------------------------------------------

    def program(session: Session) -> Program | None:
        return session.exec(select(Program).where(Program.name == program_name())).first()

    def zone_of(prog: Program | None) -> ZoneInfo:
        return ZoneInfo(prog.timezone if prog else settings.default_timezone)

    def terms_of(session: Session) -> list[Term]:
        prog = program(session)
        return list(reversed(repo.list_terms(session, program_id=prog.id))) if prog else []

    def chosen_term(session: Session, term_id: int | None) -> Term | None:
        terms = terms_of(session)
        if term_id is not None:
            for term in terms:
                if term.id == term_id:
                    return term
            raise PageNotFound(f"There is no term {term_id} in {program_name()}.")
        return next((t for t in terms if t.status == "open"), terms[0] if terms else None)

    def get_round(session: Session, round_id: int) -> tuple[Round, Term]:
        round_ = session.get(Round, round_id)
        term = session.get(Term, round_.term_id) if round_ else None
        prog = program(session)
        if round_ is None or term is None or prog is None or term.program_id != prog.id:
            raise PageNotFound(f"There is no round {round_id} in {program_name()}.")
        return round_, term

    def now() -> datetime:
        return clock()

    # --- sign-in (no session needed) ------------------------------------------------------------------

    @router.get("/static/admin.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        response = FileResponse(STATIC / "admin.css", media_type="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    @router.get("/login")
    def login(request: Request, next: str = "/admin") -> Response:
        session = current_session(request)
        if session is not None and auth.is_admin(session, settings):
            return RedirectResponse(auth.safe_next(next), status_code=303)
        return render(request, "login.html", session=None, next=auth.safe_next(next), slack_ready=bool(settings.slack_client_id and settings.slack_client_secret), error=None)

    @router.get("/auth/slack")
    def slack_start(request: Request, next: str = "/admin") -> Response:
        try:
            start = auth.start_slack_sign_in(settings, now=clock(), next_path=next)
        except auth.AuthError as exc:
            return render(request, "login.html", status=400, session=None, next=auth.safe_next(next), slack_ready=False, error=str(exc))
        response = RedirectResponse(start.redirect_to, status_code=302)
        response.set_cookie(auth.OIDC_COOKIE, start.cookie, max_age=auth.OIDC_STATE_SECONDS, path="/admin/auth", httponly=True, samesite="lax", secure=secure_cookies)
        return response

    @router.get("/auth/slack/callback")
    def slack_callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        slack_ready = bool(settings.slack_client_id and settings.slack_client_secret)
        if error or not code:
            message = "Slack sign-in was cancelled." if error == "access_denied" else f"Slack did not sign you in ({error or 'no code'}). Please try again."
            return render(request, "login.html", status=400, session=None, next="/admin", slack_ready=slack_ready, error=message)
        try:
            with httpx.Client(timeout=10.0) as client:
                identity, next_path = auth.finish_slack_sign_in(
                    settings, code=code, state=state, cookie=request.cookies.get(auth.OIDC_COOKIE), now=clock(), jwks=jwks, client=client
                )
        except auth.AuthError as exc:
            return render(request, "login.html", status=400, session=None, next="/admin", slack_ready=slack_ready, error=str(exc))
        response = RedirectResponse(next_path, status_code=303)
        response.delete_cookie(auth.OIDC_COOKIE, path="/admin/auth")
        logger.info("admin sign-in with Slack: %s (%s)", identity.user_id, "admin" if identity.user_id in settings.slack_admin_ids else "not an admin")
        return sign_in(response, subject=identity.user_id, name=identity.name, via="slack")

    @router.get("/link/{token}")
    def link_page(request: Request, token: str) -> Response:
        try:
            nonce = auth.read_link(secret(), token, now=clock())
        except auth.AuthError as exc:
            return render(request, "login.html", status=400, session=None, next="/admin", slack_ready=bool(settings.slack_client_id), error=str(exc))
        with session_scope(engine) as session:
            used = session.exec(select(ScheduledAction).where(ScheduledAction.idempotency_key == f"admin-link:{nonce}")).first()
        if used is not None:
            return render(request, "login.html", status=400, session=None, next="/admin", slack_ready=bool(settings.slack_client_id), error="This sign-in link has been used already. Print a new one with `mentorbot admin-link`.")
        return render(request, "link.html", session=None, token=token)

    @router.post("/link")
    def link_sign_in(request: Request, token: Annotated[str, Form()]) -> Response:
        try:
            nonce = auth.read_link(secret(), token, now=clock())
            auth.consume_link(engine, nonce=nonce, now=clock())
        except auth.AuthError as exc:
            return render(request, "login.html", status=400, session=None, next="/admin", slack_ready=bool(settings.slack_client_id), error=str(exc))
        logger.info("admin sign-in with a one-time link")
        return sign_in(RedirectResponse("/admin", status_code=303), subject=f"link:{nonce}", name="Admin (sign-in link)", via="link")

    @router.post("/logout")
    def logout(request: Request, admin: Annotated[auth.AdminSession, Depends(require_signed_in_csrf)]) -> Response:
        response = RedirectResponse("/admin/login", status_code=303)
        response.delete_cookie(auth.SESSION_COOKIE, path="/admin")
        return response

    @router.post("/program")
    def choose_program(request: Request, admin: Posted, name: Annotated[str, Form()]) -> Response:
        """Show the pages of another program (a preference kept in a cookie; every page re-checks it exists)."""
        if name not in program_names():
            raise PageNotFound(f"There is no program called {name!r}.")
        response = done(request, "/admin", f"Showing {name}.")
        response.set_cookie(PROGRAM_COOKIE, name, max_age=30 * 24 * 3600, path="/admin", httponly=True, samesite="lax", secure=secure_cookies)
        return response

    # --- program overview -----------------------------------------------------------------------------

    @router.get("")
    def overview(request: Request, admin: Admin) -> Response:
        from bot.outbox import problems

        with session_scope(engine) as session:
            prog = program(session)
            terms = reports.load_overview(session, program_id=prog.id) if prog else []
            people = repo.count_people(session)
            outbox = reports.outbox_counts(session)
            trouble = problems(session)[:10]
        open_term = next((t for t in terms if t.term.status == "open"), None)
        return render(
            request, "overview.html", active="program", prog=prog, terms=terms, open_term=open_term, people=people,
            outbox=outbox, problems=trouble, zone=zone_of(prog), when=reports.when, today=now().date(),
            moves=allowed_round_moves, move_labels=MOVE_LABELS,
        )  # fmt: skip

    @router.post("/terms")
    def open_term(
        request: Request, admin: Posted, name: Annotated[str, Form()], join: Annotated[Literal["roster", "invite"], Form()] = "roster",
        opt_in_by: Annotated[str, Form()] = "",
    ) -> Response:
        from bot.notify import invite_to_term
        from bot.rounds.schedule import schedule_term_reminders

        by = _date(opt_in_by, "opt-in date")
        term = service.open_term(engine, program_name=program_name(), timezone=settings.default_timezone, name=name, opt_in_by=by, now=now())
        if join == "roster":
            counts = service.enroll_from_roster(
                engine, program_name=program_name(), term_name=term.name, require_approval=settings.require_principal_approval, now=now()
            )
            note = (
                f"Opened {term.name}: enrolled {counts.mentors} mentors, {counts.mentees} mentees and {counts.both} both"
                + (f"; {counts.awaiting_approval} mentors await their principal's approval." if counts.awaiting_approval else ".")
            )
        else:
            asked = invite_to_term(engine, term_id=term.id, now=now())
            schedule_term_reminders(engine, term_id=term.id, now=now())
            note = f"Opened {term.name}: asked {asked} people to opt in; reminders follow after 3 and 7 days."
        return done(request, "/admin", note)

    @router.post("/terms/{term_id}/close")
    def close_term(request: Request, admin: Posted, term_id: int) -> Response:
        with session_scope(engine) as session:
            term = chosen_term(session, term_id)
        service.close_term(engine, program_name=program_name(), name=term.name, now=now())
        return done(request, "/admin", f"Closed {term.name}.")

    @router.post("/rounds")
    def new_round(
        request: Request, admin: Posted, kind: Annotated[Literal["micro", "speed"], Form()] = "micro", topic: Annotated[str, Form()] = "",
        sessions: Annotated[int, Form()] = 1, start_on: Annotated[str, Form()] = "", match_on: Annotated[str, Form()] = "",
        end_on: Annotated[str, Form()] = "", rotations: Annotated[str, Form()] = "", rotation_minutes: Annotated[str, Form()] = "",
    ) -> Response:
        request_ = service.RoundRequest(
            kind=kind, topic=topic, sessions=sessions, start_on=_date(start_on, "start date"), match_on=_date(match_on, "match date"),
            end_on=_date(end_on, "end date"), rotations=_int(rotations, "rotations"), rotation_minutes=_int(rotation_minutes, "minutes per rotation"),
        )  # fmt: skip
        round_ = service.create_round(engine, program_name=program_name(), term_name=None, request=request_, now=now())
        return done(request, f"/admin/rounds/{round_.id}", f"Created round {round_.id} ({round_.kind}); open it for collection when people are ready.")

    # --- round review ---------------------------------------------------------------------------------

    @router.get("/rounds/{round_id}")
    def round_page(request: Request, admin: Admin, round_id: int) -> Response:
        with session_scope(engine) as session:
            round_, term = get_round(session, round_id)
            prog = program(session)
            pairings = repo.round_pairings(session, round_id=round_id)
            ids = {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
            people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(list(ids))))} if ids else {}
            actions = repo.round_actions(session, round_id=round_id)
            unmatched = list((round_.match_summary or {}).get("unmatched", []))
            emails = [u.get("email") for u in unmatched if u.get("email")]
            unmatched_ids = {p.email: p.id for p in repo.people_by_email(session, emails=emails).values()}
        live = [p for p in pairings if p.status != "cancelled"]
        return render(
            request, "round.html", active="program", round=round_, term=term, pairings=pairings, live=len(live), people=people,
            actions=actions, steps=reports.timeline_steps(actions), summary=reports.summarize_actions(actions), unmatched=unmatched, unmatched_ids=unmatched_ids,
            moves=[m for m in allowed_round_moves(round_.status) if m in MOVE_LABELS], move_labels=MOVE_LABELS,
            zone=zone_of(prog), when=reports.when, edits=list((round_.match_summary or {}).get("edits", [])),
        )  # fmt: skip

    @router.post("/rounds/{round_id}/move")
    def move(request: Request, admin: Posted, round_id: int, target: Annotated[Literal["collecting", "running", "closed"], Form()]) -> Response:
        with session_scope(engine) as session:
            draft = get_round(session, round_id)[0].status == "draft"
        if target == "collecting" and draft:
            # Opening for collection is the same operation the CLI's and Slack's `round open` run: a topic event or
            # interview round also announces itself to its pool (once per person).
            queued = events.open_round(engine, round_id=round_id, now=now())
            note = f"Round {round_id} is now collecting." + (f" Announced to {queued} people or channels." if queued else "")
            return done(request, f"/admin/rounds/{round_id}", note)
        round_ = service.move_round(engine, round_id=round_id, target=target, now=now())
        return done(request, f"/admin/rounds/{round_id}", f"Round {round_id} is now {round_.status}.")

    @router.post("/rounds/{round_id}/match")
    def match(request: Request, admin: Posted, round_id: int) -> Response:
        with session_scope(engine) as session:
            get_round(session, round_id)
        outcome = service.run_matching(engine, round_id=round_id, session_minutes=settings.session_minutes, now=now())
        return done(
            request, f"/admin/rounds/{round_id}",
            f"Matched {len(outcome.result.pairs)} of {outcome.mentees} mentees with {outcome.mentors} mentors. Review the pairs, then publish.",
        )  # fmt: skip

    @router.get("/rounds/{round_id}/pair")
    def pair_page(request: Request, admin: Admin, round_id: int, mentee: int) -> Response:
        with session_scope(engine) as session:
            round_, term = get_round(session, round_id)
            if round_.status != "review":
                raise service.RoundError(f"round {round_id} is {round_.status}; pairs can be changed by hand only while it is in review")
            person, options = review.mentor_options(session, round_=round_, mentee_id=mentee, session_minutes=settings.session_minutes, today=now().date())
        return render(request, "pair_pick.html", active="program", round=round_, mentee=person, options=options)

    @router.post("/rounds/{round_id}/pair")
    def pair(
        request: Request, admin: Posted, round_id: int, mentee_id: Annotated[int, Form()], mentor_id: Annotated[int, Form()],
        confirm: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with session_scope(engine) as session:
                get_round(session, round_id)
                check = review.set_pair(
                    session, round_id=round_id, mentor_id=mentor_id, mentee_id=mentee_id, admin=admin.name,
                    session_minutes=settings.session_minutes, now=now(), override=confirm == "yes",
                )  # fmt: skip
        except review.BreaksRules as exc:
            with session_scope(engine) as session:
                round_, _term = get_round(session, round_id)
            return render(request, "pair_warning.html", status=409, active="program", round=round_, check=exc.check)
        note = f"{check.mentee.name} is now paired with {check.mentor.name}" + (" (overriding the rules you saw)." if check.broken else ".")
        return done(request, f"/admin/rounds/{round_id}", note)

    @router.post("/rounds/{round_id}/pairs/{pairing_id}/remove")
    def unpair(request: Request, admin: Posted, round_id: int, pairing_id: int) -> Response:
        with session_scope(engine) as session:
            get_round(session, round_id)
            mentee = review.remove_pair(session, round_id=round_id, pairing_id=pairing_id, admin=admin.name, now=now())
        return done(request, f"/admin/rounds/{round_id}", f"{mentee.name} is unpaired and back on the unmatched list.")

    @router.post("/rounds/{round_id}/publish")
    def publish(request: Request, admin: Posted, round_id: int, message: Annotated[str, Form()] = "") -> Response:
        from bot.rounds.schedule import publish_round
        from bot.rounds.schedule import schedule_config

        with session_scope(engine) as session:
            get_round(session, round_id)
        outcome = publish_round(engine, round_id=round_id, now=now(), config=schedule_config(settings), message=message.strip() or None)
        return done(request, f"/admin/rounds/{round_id}", f"Published round {round_id}: {outcome.pairs} pairs; {outcome.actions} notices, reminders and check-ins scheduled.")

    # --- pool health ----------------------------------------------------------------------------------

    @router.get("/pool")
    def pool(request: Request, admin: Admin, term: int | None = None, round: int | None = None, topic: str = "") -> Response:
        with session_scope(engine) as session:
            the_term = chosen_term(session, term)
            report, candidates = None, []
            if the_term is not None:
                candidates = [r for r in repo.list_rounds(session, term_id=the_term.id) if r.status in ("draft", "collecting", "review")]
                chosen = next((r for r in candidates if r.id == round), None)
                if round is not None and chosen is None:
                    raise PageNotFound(f"Round {round} is not a round of {the_term.name} that is still being formed.")
                report = reports.load_pool_report(
                    session, term=the_term, session_minutes=settings.session_minutes, today=now().date(), topic=topic.strip() or None, round_=chosen
                )
        rule_chart = combined_chart = None
        if report is not None:
            flag = f"scarce: under {report.health.healthy_ratio} mentors per mentee"
            by_rule = sorted(report.health.areas, key=lambda a: (not a.flagged, a.ratio if a.ratio is not None else 99, a.rule, a.area))
            rule_chart = charts.paired_bars(
                "Mentors with capacity and mentees, one matching rule at a time",
                [(f"{a.rule}: {a.area}", a.mentors, a.mentees, a.flagged) for a in by_rule if a.mentees],
                series=("Mentors with capacity", "Mentees"), flag_text=flag, empty="Nobody has opted in yet.",
            )  # fmt: skip
            combined_chart = charts.paired_bars(
                "Mentors with capacity and mentees per area (grade band · subject · topic)"
                + (" — the 25 neediest" if len(report.combined) > 25 else ""),
                [(a.label, a.mentors, a.mentees, a.scarce) for a in report.combined[:25]],
                series=("Mentors with capacity", "Mentees"), flag_text=flag, empty="Nobody has opted in yet.",
            )  # fmt: skip
        return render(
            request, "pool.html", active="pool", term=the_term, report=report, rule_chart=rule_chart, combined_chart=combined_chart, candidates=candidates,
            chosen_round=round, topic=topic, ratio=reports.SCARCE_RATIO, terms=_term_choices(),
        )  # fmt: skip

    def _term_choices() -> list[Term]:
        with session_scope(engine) as session:
            return terms_of(session)

    # --- equity ---------------------------------------------------------------------------------------

    @router.get("/equity")
    def equity(request: Request, admin: Admin, round: int | None = None) -> Response:
        with session_scope(engine) as session:
            rounds = _matched_rounds(session)
            chosen = _pick(rounds, round)
            equity = (
                reports.load_equity_report(session, round_=chosen, session_minutes=settings.session_minutes, today=now().date())
                if chosen is not None
                else None
            )
        context: dict[str, Any] = {"rounds": rounds, "chosen": chosen, "equity": equity}
        if equity is not None:
            result = equity.report
            context["site_chart"] = _rate_chart("Match rate by site", result.by_site, result.match_rate)
            context["program_chart"] = _rate_chart("Match rate by preparation program", result.by_program, result.match_rate)
            context["fit_chart"] = charts.bar_chart(
                "Mean fit of matched mentees, by site",
                [
                    charts.Bar(g.name, g.mean_fit, note=f"{g.matched} matched")
                    for g in sorted(result.by_site, key=lambda g: -(g.mean_fit or 0))
                    if g.mean_fit is not None
                ],
                value_format=lambda v: f"{v:.0f}", empty="Nobody was matched in this round.",
            )  # fmt: skip
            context["load_chart"] = charts.column_chart(
                "Mentor load: how many mentees each mentor has in this round",
                [(str(load.mentees), load.mentors) for load in result.mentor_load],
                x_label="mentees per mentor", y_label="mentors", empty="No mentors were in the pool.",
            )  # fmt: skip
        return render(request, "equity.html", active="equity", **context)

    def _rate_chart(title: str, groups: Any, overall_rate: float) -> Any:
        return charts.bar_chart(
            title,
            [
                charts.Bar(
                    g.name, g.match_rate * 100,
                    note=f"{g.matched} of {g.mentees}" + (f", mean fit {g.mean_fit:.0f}" if g.mean_fit is not None else ""),
                    flagged=g.match_rate < overall_rate - 0.1,
                )  # fmt: skip
                for g in groups
            ],
            unit="%", max_value=100, empty="No mentees in this round.", value_format=lambda v: f"{v:.0f}",
        )  # fmt: skip

    def _matched_rounds(session: Session) -> list[Round]:
        found = []
        for term in terms_of(session):
            found += [r for r in reversed(repo.list_rounds(session, term_id=term.id)) if r.status in ("review", "published", "running", "closed")]
        return found

    def _pick(rounds: list[Round], round_id: int | None) -> Round | None:
        if round_id is None:
            return rounds[0] if rounds else None
        for r in rounds:
            if r.id == round_id:
                return r
        raise PageNotFound(f"Round {round_id} has no pairs to report on.")

    # --- engagement -----------------------------------------------------------------------------------

    @router.get("/engagement")
    def engagement(request: Request, admin: Admin, round: int | None = None) -> Response:
        with session_scope(engine) as session:
            rounds = [r for r in _matched_rounds(session) if r.status != "review"]
            chosen = _pick(rounds, round)
            term = session.get(Term, chosen.term_id) if chosen is not None else chosen_term(session, None)
            report = reports.load_engagement_report(session, term=term, round_=chosen) if term is not None else None
        context: dict[str, Any] = {"rounds": rounds, "chosen": chosen, "report": report, "term": term}
        if report is not None:
            order = reports.CHECK_IN_ORDER
            context["check_in_chart"] = charts.stacked_bars(
                "Check-in answers: did the pair meet?",
                [("Mentors", [report.mentor_check_ins[a] for a in order]), ("Mentees", [report.mentee_check_ins[a] for a in order])],
                series=[reports.CHECK_IN_LABELS[a] for a in order],
                colors=[charts.GREEN, charts.SKY, charts.ORANGE, charts.VERMILLION, "#C8CDD2"],
                empty="No check-ins have been asked in this round yet.",
            )  # fmt: skip
            context["survey_chart"] = charts.stacked_bars(
                "Survey: how much people agree",
                [(item.text, list(item.counts)) for item in report.survey],
                series=list(reports.LIKERT_LABELS),
                colors=[charts.VERMILLION, charts.ORANGE, "#C8CDD2", charts.SKY, charts.BLUE],
                empty="No survey answers yet.",
                label_chars=50,
            )  # fmt: skip
            context["status_chart"] = charts.bar_chart(
                "Pairs by status", [charts.Bar(status, count, flagged=status == "stalled") for status, count in sorted(report.pair_status.items())],
                empty="This round has no pairs.",
            )  # fmt: skip
        return render(request, "engagement.html", active="engagement", **context)

    @router.post("/pairings/{pairing_id}/rematch")
    def rematch(request: Request, admin: Posted, pairing_id: int) -> Response:
        from bot.rounds.schedule import rematch as rematch_pairing
        from bot.rounds.schedule import schedule_config

        with session_scope(engine) as session:
            pairing = session.get(Pairing, pairing_id)
            if pairing is None:
                raise PageNotFound(f"There is no pairing {pairing_id}.")
            round_, _term = get_round(session, pairing.round_id)
            mentee = session.get(Person, pairing.mentee_id)
        new = rematch_pairing(engine, pairing_id=pairing_id, now=now(), config=schedule_config(settings))
        if new is None:
            note = f"Pairing {pairing_id} is cancelled; no other mentor can take {mentee.name} now."
        else:
            with session_scope(engine) as session:
                mentor = session.get(Person, new.mentor_id)
            note = f"{mentee.name} is rematched with {mentor.name}; both have been told."
        return done(request, f"/admin/engagement?round={round_.id}", note)

    # --- people and roster ----------------------------------------------------------------------------

    @router.get("/people")
    def people(request: Request, admin: Admin, q: str = "", page: Annotated[int, Query(ge=1)] = 1) -> Response:
        with session_scope(engine) as session:
            term = chosen_term(session, None)
            statement = select(Person)
            if q.strip():
                like = f"%{q.strip().lower()}%"
                statement = statement.where(
                    sa.or_(*(sa.func.lower(sa.func.coalesce(column, "")).like(like) for column in (Person.name, Person.email, Person.site, Person.prep_program)))
                )
            total = session.exec(select(sa.func.count()).select_from(statement.subquery())).one()
            found = list(session.exec(statement.order_by(Person.name, Person.email).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
            enrolled: dict[int, Enrollment] = {}
            pending = 0
            if term is not None:
                ids = [p.id for p in found]
                if ids:
                    enrolled = {e.person_id: e for e in session.exec(select(Enrollment).where(Enrollment.term_id == term.id, col(Enrollment.person_id).in_(ids)))}
                pending = session.exec(
                    select(sa.func.count()).select_from(Enrollment).where(
                        Enrollment.term_id == term.id, Enrollment.status == "opted_in", Enrollment.approval == "pending"
                    )
                ).one()  # fmt: skip
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return render(request, "people.html", active="people", people=found, total=total, q=q, page=page, pages=pages, term=term, enrolled=enrolled, pending=pending)

    @router.post("/people/{person_id}/approval")
    def approval(request: Request, admin: Posted, person_id: int, decision: Annotated[Literal["approve", "decline"], Form()], q: Annotated[str, Form()] = "") -> Response:
        with session_scope(engine) as session:
            person = session.get(Person, person_id)
            if person is None:
                raise PageNotFound(f"There is nobody with number {person_id} on file.")
        enrollment = service.decide_approval(
            engine, program_name=program_name(), term_name=None, mentor_email=person.email, approve=decision == "approve", decided_by=admin.name, now=now()
        )
        return done(request, "/admin/people" + (f"?q={quote(q)}" if q else ""), f"{person.name}: {enrollment.approval} as a mentor, capacity {enrollment.capacity}.")

    @router.post("/people/approve-all")
    def approve_all(request: Request, admin: Posted) -> Response:
        with session_scope(engine) as session:
            term = chosen_term(session, None)
            if term is None or term.status != "open":
                raise service.RoundError("no term is open")
            emails = [
                person.email for enrollment, person in repo.enrollments(session, term_id=term.id)
                if enrollment.status == "opted_in" and enrollment.approval == "pending"
            ]  # fmt: skip
        for email in emails:
            service.decide_approval(engine, program_name=program_name(), term_name=term.name, mentor_email=email, approve=True, decided_by=admin.name, now=now())
        return done(request, "/admin/people", f"Approved {len(emails)} mentors on their principals' behalf.")

    @router.get("/roster")
    def roster(request: Request, admin: Admin) -> Response:
        with session_scope(engine) as session:
            count = repo.count_people(session)
        return render(request, "roster.html", active="roster", people=count, limit=settings.admin_upload_mb, problem=None)

    @router.post("/roster")
    def upload(request: Request, admin: Posted, file: Annotated[UploadFile, File()]) -> Response:
        data = file.file.read(settings.admin_upload_mb * 1024 * 1024 + 1)
        token = roster_upload.stage(settings, filename=file.filename or "", data=data)
        try:
            preview = roster_upload.preview(engine, settings, token=token, filename=file.filename or "roster")
        except RosterFileError as exc:
            roster_upload.cancel(settings, token=token)
            with session_scope(engine) as session:
                count = repo.count_people(session)
            return render(request, "roster.html", status=400, active="roster", people=count, limit=settings.admin_upload_mb, problem=_sentence(str(exc)))
        return render(request, "roster_preview.html", active="roster", preview=preview, shown=preview.rows[:200])

    @router.post("/roster/confirm")
    def confirm_upload(request: Request, admin: Posted, token: Annotated[str, Form()], filename: Annotated[str, Form()] = "roster") -> Response:
        report = roster_upload.confirm(engine, settings, token=token, now=now())
        skipped = len({e.line for e in report.errors})
        note = f"Imported {report.imported} of {report.data_rows} rows from {filename}: {report.created} new, {report.updated} updated, {report.unchanged} unchanged."
        if skipped:
            note += f" {skipped} rows with problems were left out."
        return done(request, "/admin/people", note)

    @router.post("/roster/cancel")
    def cancel_upload(request: Request, admin: Posted, token: Annotated[str, Form()]) -> Response:
        roster_upload.cancel(settings, token=token)
        return done(request, "/admin/roster", "Nothing was imported.")

    # --- mail -----------------------------------------------------------------------------------------

    folder = mail.mail_folder(settings.data_dir)

    @router.get("/mail")
    def mail_list(request: Request, admin: Admin) -> Response:
        items, total = mail.list_mail(folder)
        with session_scope(engine) as session:
            zone = zone_of(program(session))
        return render(request, "mail.html", active="mail", items=items, total=total, sink=not settings.smtp_host, folder=folder, zone=zone)

    @router.get("/mail/{name}")
    def mail_message(request: Request, admin: Admin, name: str) -> Response:
        detail = mail.read_mail(folder, name)
        if detail is None:
            raise PageNotFound(f"There is no message called {name} in the mail folder.")
        return render(request, "mail_message.html", active="mail", detail=detail)

    @router.get("/mail/{name}/html")
    def mail_html(request: Request, admin: Admin, name: str) -> Response:
        html = mail.read_html(folder, name)
        if html is None:
            raise PageNotFound(f"Message {name} has no HTML part.")
        return HTMLResponse(html, headers={"Content-Security-Policy": MAIL_CSP})

    # --- exports --------------------------------------------------------------------------------------

    @router.get("/exports")
    def exports_page(request: Request, admin: Admin) -> Response:
        with session_scope(engine) as session:
            terms = terms_of(session)
            rounds = {t.id: list(reversed(repo.list_rounds(session, term_id=t.id))) for t in terms}
        return render(request, "exports.html", active="exports", terms=terms, rounds=rounds)

    @router.get("/exports/{kind}.{fmt}")
    def export(
        request: Request, admin: Admin, kind: Literal["pairings", "participation", "survey", "people"], fmt: Literal["csv", "xlsx"],
        round: int | None = None, term: int | None = None,
    ) -> Response:
        with session_scope(engine) as session:
            zone = zone_of(program(session))
            if kind == "pairings":
                if round is None:
                    raise PageNotFound("Say which round to export (?round=ID).")
                round_, _term = get_round(session, round)
                table = exports.pairings_table(session, round_=round_, zone=zone)
            elif kind == "participation":
                the_term = chosen_term(session, term)
                if the_term is None:
                    raise PageNotFound("There is no term to export yet.")
                table = exports.participation_table(session, term=the_term)
            elif kind == "survey":
                round_ = get_round(session, round)[0] if round is not None else None
                the_term = session.get(Term, round_.term_id) if round_ is not None else chosen_term(session, term)
                if the_term is None:
                    raise PageNotFound("There is no term to export yet.")
                table = exports.survey_table(session, term=the_term, round_=round_, zone=zone)
            else:
                table = None
        if table is None:
            table = _people_table()
        data, media_type, filename = exports.render(table, fmt)
        return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    def _people_table() -> exports.Table:
        from bot.importer import write_roster_csv
        import csv as csv_module

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "people.csv"
            write_roster_csv(engine, path)
            with path.open(encoding="utf-8", newline="") as handle:
                rows = list(csv_module.reader(handle))
        return exports.Table("People", rows[0], rows[1:], "people-roster")

    # --- data requests (bot/web/admin/data_requests.py) ----------------------------------------------

    from bot.web.admin import data_requests

    data_requests.register(router, engine=engine, settings=settings, clock=clock, render=render, done=done, admin=Admin, posted=Posted)
    held_replies.register(
        router, engine=engine, settings=settings, clock=clock, render=render, done=done, program_name=program_name, admin=Admin, posted=Posted
    )

    return router


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _date(text: str, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise service.RoundError(f"the {what} '{text}' is not a date like 2027-02-01") from None


def _int(text: str, what: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise service.RoundError(f"{what} must be a whole number, not '{text}'") from None


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
