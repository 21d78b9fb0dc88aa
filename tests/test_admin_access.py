"""Who may reach each /admin route, route by route, over real HTTP: anonymous visitors, a signed-in Slack user who is
not an admin, and an admin. The routes are read from the app itself, so a new route is covered the day it lands.
Refused requests change nothing in the database. Forms without this session's CSRF token are refused too."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.web.admin import auth
from bot.web.app import create_app
from storage import db, repo
from storage.db import session_scope
from storage.models import Enrollment, HeldReply, Pairing, Person, Round, ScheduledAction, Term
from tests.adminkit import admin_settings, csrf_of, seed_engagement, seed_program, serving, session_cookie, sign_in_with_link

# Reachable without signing in: the sign-in pages themselves and the stylesheet they use.
PUBLIC = {
    ("GET", "/admin/login"),
    ("GET", "/admin/auth/slack"),
    ("GET", "/admin/auth/slack/callback"),
    ("GET", "/admin/link/{token}"),
    ("POST", "/admin/link"),
    ("GET", "/admin/static/admin.css"),
}
# Needs a session, but not admin rights: anyone signed in may sign out (here, or everywhere).
ANY_SESSION = {("POST", "/admin/logout"), ("POST", "/admin/logout-everywhere")}
EML = "20261123T170000.000000Z-abcdef12.eml"


def admin_routes(settings) -> list[tuple[str, str]]:
    app = create_app(settings, senders={})
    found = []

    def walk(routes) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI keeps included routers as branches
                walk(route.original_router.routes)
            elif isinstance(route, APIRoute) and route.path.startswith("/admin"):
                found.extend((method, route.path) for method in sorted(route.methods - {"HEAD"}))

    walk(app.routes)
    return found


def fingerprint(engine: Engine) -> dict[str, object]:
    """Enough of the database to see that a refused request changed nothing."""
    with session_scope(engine) as session:
        return {
            "people": repo.count_people(session),
            "terms": [(t.id, t.status) for t in session.exec(select(Term))],
            "rounds": [(r.id, r.status) for r in session.exec(select(Round))],
            "pairings": sorted((p.id, p.mentor_id, p.mentee_id, p.status) for p in session.exec(select(Pairing))),
            "approvals": sorted((e.person_id, e.approval) for e in session.exec(select(Enrollment))),
            "held replies": sorted((h.id, h.status) for h in session.exec(select(HeldReply))),
            "actions": session.exec(
                select(sa.func.count()).select_from(ScheduledAction).where(ScheduledAction.kind != auth.LINK_ACTION_KIND)
            ).one(),
        }


def fill(path: str, ids: dict[str, object]) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    extra = {
        "/admin/rounds/{round_id}/pair": f"?mentee={ids['mentee']}",
        "/admin/exports/{kind}.{fmt}": f"?round={ids['round_id']}",
    }.get(path, "")
    return filled + extra


def seeded_ids(engine: Engine, now: datetime, settings) -> dict[str, object]:
    running = seed_program(engine, now)
    seed_engagement(engine, running, now)
    round_id = seed_program_round(engine, now)  # a second round, in review
    with session_scope(engine) as session:
        pairing = repo.round_pairings(session, round_id=running)[0]
        term = session.exec(select(Term)).first()
        from bot.email.forward import REASON_QUESTION, hold_for_people

        held = hold_for_people(
            session, person=session.get(Person, pairing.mentee_id), text="Can we meet on Thursday instead?", subject="Re: Check-in",
            reason=REASON_QUESTION, flow="check_in", context=f"pairing:{pairing.id}", source_key="email.reply:access", now=now, settings=settings,
        )  # fmt: skip
    mail = settings.data_dir / "mail"
    mail.mkdir(parents=True, exist_ok=True)
    (mail / EML).write_bytes(b"From: a@b.example\r\nTo: c@d.example\r\nSubject: Hi\r\nContent-Type: text/html\r\n\r\n<p>Hi</p>\r\n")
    return {
        "round_id": round_id, "pairing_id": pairing.id, "term_id": term.id, "person_id": pairing.mentor_id,
        "mentee": pairing.mentee_id, "name": EML, "kind": "pairings", "fmt": "csv", "token": "x", "held_reply_id": held.held_reply_id,
    }  # fmt: skip


def seed_program_round(engine: Engine, now: datetime) -> int:
    from bot.rounds import service

    round_ = service.create_round(engine, program_name="District Mentoring", term_name=None, request=service.RoundRequest(sessions=1), now=now)
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    return round_.id


async def test_every_admin_route_refuses_anonymous_and_non_admin_visitors(tmp_path: Path, database_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url, slack_admin_ids=["U0ADMIN001"])
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    ids = seeded_ids(engine, now, settings)
    routes = admin_routes(settings)
    guarded = [r for r in routes if r not in PUBLIC and r not in ANY_SESSION]
    assert len(guarded) >= 25, guarded
    assert {path for _m, path in PUBLIC} <= {path for _m, path in routes}
    before = fingerprint(engine)
    stranger_cookie, stranger_csrf = session_cookie(settings, subject="U0TEACHER1", name="Tess Teacher", via="slack", now=now)
    async with serving(settings, clock=lambda: now) as base:
        async with httpx.AsyncClient(base_url=base) as anonymous, httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: stranger_cookie}) as stranger:
            for method, path in guarded:
                url = fill(path, ids)
                data = {"csrf_token": stranger_csrf, "name": "Sneaky term", "decision": "approve", "target": "collecting", "mentor_id": "1", "mentee_id": "2", "token": "t"}
                answer = await anonymous.request(method, url, data=data if method == "POST" else None)
                if method == "GET":
                    assert answer.status_code == 303, (method, path, answer.status_code)
                    assert answer.headers["location"].startswith("/admin/login?next=/admin"), (path, answer.headers["location"])
                else:
                    assert answer.status_code == 401 and "not signed in" in answer.text, (method, path, answer.status_code)
                assert "@district.example" not in answer.text, (method, path)
                refused = await stranger.request(method, url, data=data if method == "POST" else None)
                assert refused.status_code == 403, (method, path, refused.status_code)
                assert "not an admin" in refused.text and "U0TEACHER1" in refused.text, (method, path)
                assert "@district.example" not in refused.text, (method, path)
                assert refused.headers["content-security-policy"].startswith("default-src 'none'")
    assert fingerprint(engine) == before
    engine.dispose()


async def test_an_admin_reaches_every_admin_route(tmp_path: Path, database_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    ids = seeded_ids(engine, now, settings)
    routes = [r for r in admin_routes(settings) if r not in PUBLIC and r not in ANY_SESSION]  # signing out would end the walk
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        for method, path in routes:
            url = fill(path, ids)
            if method == "GET":
                answer = await client.get(url)
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
            else:
                # An empty form (but this session's token): the admin gets past the guard to the form's own checks.
                answer = await client.post(url, data={"csrf_token": csrf})
                assert answer.status_code not in (401, 403), (path, answer.status_code)
                assert answer.status_code in (303, 400, 404, 409), (path, answer.status_code, answer.text[:500])
                assert "Something went wrong" not in answer.text, path
    engine.dispose()


async def test_forms_without_this_sessions_token_are_refused(tmp_path: Path, database_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    round_id = seed_program(engine, now)
    before = fingerprint(engine)
    _other_cookie, other_csrf = session_cookie(settings, subject="link:other", name="Other admin", via="link", now=now)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        missing = await client.post(f"/admin/rounds/{round_id}/publish", data={})
        wrong = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": other_csrf})
        cross_site = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf}, headers={"Origin": "https://evil.example"})
        term = await client.post("/admin/terms", data={"name": "Fall 2027"})
        page = await client.get(f"/admin/rounds/{round_id}")
    for answer in (missing, wrong, cross_site, term):
        assert answer.status_code == 403 and "form has expired" in answer.text
    assert fingerprint(engine) == before
    assert 'name="csrf_token"' in page.text
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", page.text, flags=re.S)
    assert forms and all('name="csrf_token"' in form for form in forms)
    engine.dispose()


async def test_every_form_on_every_page_carries_the_csrf_token(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    ids = seeded_ids(engine, now, settings)
    pages = ["/admin", f"/admin/rounds/{ids['round_id']}", f"/admin/rounds/{ids['round_id']}/pair?mentee={ids['mentee']}", "/admin/pool",
             "/admin/equity", "/admin/engagement", "/admin/people", "/admin/roster", "/admin/mail", "/admin/exports", "/admin/replies"]  # fmt: skip
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        seen = 0
        for path in pages:
            html = (await client.get(path)).text
            for form in re.findall(r"<form([^>]*)>(.*?)</form>", html, flags=re.S):
                if 'method="post"' in form[0]:
                    seen += 1
                    assert 'name="csrf_token"' in form[1], (path, form[0])
                    assert csrf_of(form[1])
    assert seen >= 15
    engine.dispose()
