"""Who may do what: every `/mentoring` subcommand and every HTTP route, for an admin, a principal, a mentor, a mentee
and a stranger, over signed Slack requests and real HTTP into the app.

Both lists are read from the code (the argparse parser of `bot.slack.admin`, the routes of `create_app`), and each
must match the table below exactly: a new subcommand or route fails this test until its row says who may use it.
Refused attempts change nothing. A participant never sees another's profile: not on the Home tab, not in their
own data, not through a guide link, not in an export.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlmodel import select
from starlette.routing import Route

from bot.rounds import service
from bot.rounds.guides import guide_url
from bot.rounds.schedule import ScheduleConfig, publish_round
from bot.slack import admin
from bot.web.admin import auth
from bot.web.app import create_app
from storage import db, repo
from storage.db import session_scope
from storage.models import Enrollment, Pairing, Person, Program, Round, Term
from tests.adminkit import admin_settings, serving, session_cookie, sign_in_with_link
from tests.slack_helpers import ADMIN, PROGRAM, slack_harness, wait_for
from tests.test_admin_access import seeded_ids

ROLES = ("admin", "principal", "mentor", "mentee", "stranger")

# --- /mentoring ----------------------------------------------------------------------------------

SLACK_USERS = {"admin": ADMIN, "principal": "UPAT00001", "mentor": "UANA00001", "mentee": "UBEN00001", "stranger": "UNOBODY01"}
OK, REFUSED, NOT_ON_ROSTER = "ok", "refused", "not on roster"

# subcommand: (what is typed after /mentoring, then the outcome for admin, principal, mentor, mentee, stranger).
# The admin (in SLACK_ADMIN_IDS) is not on the roster, so the personal commands don't know them either.
SLASH_MATRIX: dict[str, tuple[str, str, str, str, str, str]] = {
    "help": ("help", OK, OK, OK, OK, OK),
    "me": ("me", NOT_ON_ROSTER, OK, OK, OK, NOT_ON_ROSTER),
    "profile": ("profile", NOT_ON_ROSTER, OK, OK, OK, NOT_ON_ROSTER),
    "opt-in": ("opt-in", NOT_ON_ROSTER, OK, OK, OK, NOT_ON_ROSTER),
    "my-data": ("my-data", NOT_ON_ROSTER, OK, OK, OK, NOT_ON_ROSTER),
    "delete-my-data": ("delete-my-data", NOT_ON_ROSTER, OK, OK, OK, NOT_ON_ROSTER),
    "status": ("status", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "pool": ("pool", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "nudge": ("nudge", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "export": ("export 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "rematch": ("rematch 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "erase": ("erase dee@d.example", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "term open": ('term open "Fall 2027"', OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "term close": ("term close", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "term approve": ("term approve --all-pending", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round new micro": ("round new micro --topic SEL", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round new speed": ('round new speed --rotations 2 --minutes 10 --at "2030-01-02 15:00"', OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round new event": ('round new event --topics "SEL; assessment" --match-on 2030-01-10', OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round new interview": ("round new interview --match-on 2030-01-10", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round list": ("round list", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round open": ("round open 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round preview": ("round preview 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round match": ("round match 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round timeline": ("round timeline 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round publish": ("round publish 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round start": ("round start 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round close": ("round close 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "round cancel": ("round cancel 1", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "program show": ("program show", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "program list": ("program list", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "program set": ("program set max_capacity 2", OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "program question add": ('program question add hope "What would help?"', OK, REFUSED, REFUSED, REFUSED, REFUSED),
    "program question remove": ("program question remove hope", OK, REFUSED, REFUSED, REFUSED, REFUSED),
}
# Run last by the admin: closing the term ends what the other commands act on.
LAST = ("program question remove", "erase", "term close")


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every leaf subcommand of the parser, as typed ("round new micro")."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [leaf for name, sub in action.choices.items() for leaf in subcommands(sub, (*prefix, name))]
    return [" ".join(prefix)]


def slack_fingerprint(engine) -> dict[str, Any]:
    """What a refused command must not change."""
    with session_scope(engine) as session:
        return {
            "people": sorted((p.id, p.name, p.email, p.slack_user_id) for p in session.exec(select(Person))),
            "programs": sorted((p.name, json.dumps(p.settings, sort_keys=True)) for p in session.exec(select(Program))),
            "terms": sorted((t.id, t.name, t.status) for t in session.exec(select(Term))),
            "rounds": sorted((r.id, r.kind, r.status) for r in session.exec(select(Round))),
            "pairings": sorted((p.id, p.mentor_id, p.mentee_id, p.status) for p in session.exec(select(Pairing))),
            "enrollments": sorted((e.person_id, e.status, e.approval) for e in session.exec(select(Enrollment))),
        }


async def slash(h, user: str, text: str) -> tuple[str, str]:
    """Run `/mentoring text` as `user`; returns (outcome, what they were shown)."""
    opened_before = len([c for c in h.standin.calls_to("views.open") if c.ok])
    response, url = await h.driver.command(user, text)
    assert response.status_code == 200 and response.text == "", (user, text, response.status_code)  # ack first, always

    def answered() -> Any:
        shown = h.standin.responses_to(url)
        if shown:
            return json.dumps(shown, ensure_ascii=False)
        if len([c for c in h.standin.calls_to("views.open") if c.ok]) > opened_before:
            return json.dumps(h.standin.open_view_of(user), ensure_ascii=False)
        return None

    shown = await wait_for(answered, what=f"an answer to {user}: /mentoring {text}", timeout=20)
    assert "Traceback" not in shown and "went wrong" not in shown and "usage: /mentoring" not in shown, (user, text, shown[:400])
    if ":lock:" in shown:  # the refusal: why, from the access table
        return REFUSED, shown
    if "find you on the" in shown:
        return NOT_ON_ROSTER, shown
    return OK, shown


async def test_every_slash_command_for_every_role(tmp_path: Path, sqlite_url: str, record_figure: Callable[..., None]) -> None:
    listed = subcommands(admin.PARSER)
    assert sorted(listed) == sorted(SLASH_MATRIX), "a /mentoring subcommand is missing from (or gone but still in) SLASH_MATRIX"
    async with slack_harness(tmp_path, sqlite_url) as h:
        now = datetime.now().astimezone()
        service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
        service.enroll_from_roster(h.engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
        round_ = service.create_round(h.engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(sessions=1), now=now)
        service.move_round(h.engine, round_id=round_.id, target="collecting", now=now)
        service.run_matching(h.engine, round_id=round_.id, session_minutes=30, now=now)
        before = slack_fingerprint(h.engine)
        tried = 0
        for role in ROLES[1:]:  # everyone but the admin first, so the admin's commands can't hide a refused one's effect
            for name, (text, *expected) in SLASH_MATRIX.items():
                outcome, shown = await slash(h, SLACK_USERS[role], text)
                assert outcome == expected[ROLES.index(role)], (role, text, outcome, shown[:300])
                if name == "help":
                    assert "round new" not in shown, "admin help shown to a non-admin"
                tried += 1
        assert slack_fingerprint(h.engine) == before, "a refused or personal command changed the program"
        for name in [n for n in SLASH_MATRIX if n not in LAST] + list(LAST):
            text, *expected = SLASH_MATRIX[name]
            outcome, shown = await slash(h, ADMIN, text)
            assert outcome == expected[0], ("admin", text, outcome, shown[:300])
            tried += 1
        with session_scope(h.engine) as session:
            assert session.exec(select(Person).where(Person.email == "dee@d.example")).one()  # `erase` without --yes erases nobody
    record_figure("Access matrix", tried="/mentoring subcommand x role", count=tried, held="only the table's allowed outcomes; refused commands changed nothing",
                  subcommands=len(SLASH_MATRIX), roles=len(ROLES))  # fmt: skip


async def test_a_programs_own_admin_cannot_erase_people(tmp_path: Path, sqlite_url: str) -> None:
    from bot.programs.store import apply_specs
    from bot.programs.yamlfile import parse_programs

    async with slack_harness(tmp_path, sqlite_url) as h:
        apply_specs(h.engine, parse_programs(f"- name: {PROGRAM}\n  admins: [UCY000001]\n"), now=datetime.now().astimezone())
        outcome, _shown = await slash(h, "UCY000001", "status")
        assert outcome == OK  # a program admin runs their program
        outcome, _shown = await slash(h, "UCY000001", "erase dee@d.example --yes")
        assert outcome == REFUSED  # but people are shared by every program: erasing one is for the site's admins
        with session_scope(h.engine) as session:
            assert session.exec(select(Person).where(Person.email == "dee@d.example")).one().name == "Dee Park"


# --- HTTP routes ---------------------------------------------------------------------------------

PUBLIC, LOGIN, FORBIDDEN, UNSIGNED, NOT_FOUND, SIGNED_IN = "public", "sign in first", "forbidden", "unsigned", "not found", "signed in"
WEB_USERS = {"principal": "UPRINCIP01", "mentor": "U88CA81811", "mentee": "U48CD5D187"}  # Slack sessions of non-admins

# (method, path): outcome for admin, principal, mentor, mentee, stranger (anonymous).
ROUTE_MATRIX: dict[tuple[str, str], tuple[str, str, str, str, str]] = {
    # (/openapi.json, /docs and /redoc are not served unless API_DOCS turns them on: tests/test_security_headers.py)
    ("GET", "/health"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/health/live"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/health/ready"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/metrics"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),  # counts only; METRICS_TOKEN closes it (tests/test_operations.py)
    ("POST", "/slack/events"): (UNSIGNED, UNSIGNED, UNSIGNED, UNSIGNED, UNSIGNED),  # Slack's signature, not a cookie
    ("GET", "/guides/pairing/{pairing_id}"): (NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),  # without the link's key
    ("POST", "/email/inbound"): (UNSIGNED, UNSIGNED, UNSIGNED, UNSIGNED, UNSIGNED),  # the provider's signature or key
    ("GET", "/email/unsubscribe/{token}"): (NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),  # without a signed token
    ("POST", "/email/unsubscribe/{token}"): (NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ("GET", "/admin/static/admin.css"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/admin/login"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/admin/auth/slack"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/admin/auth/slack/callback"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("GET", "/admin/link/{token}"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("POST", "/admin/link"): (PUBLIC, PUBLIC, PUBLIC, PUBLIC, PUBLIC),
    ("POST", "/admin/logout"): (SIGNED_IN, SIGNED_IN, SIGNED_IN, SIGNED_IN, LOGIN),
    ("POST", "/admin/logout-everywhere"): (SIGNED_IN, SIGNED_IN, SIGNED_IN, SIGNED_IN, LOGIN),
    ("GET", "/admin"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/program"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/terms"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/terms/{term_id}/close"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/rounds/{round_id}"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/move"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/match"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/rounds/{round_id}/pair"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/pair"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/pairs/{pairing_id}/remove"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/publish"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/rounds/{round_id}/cancel"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/pool"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/equity"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/engagement"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/pairings/{pairing_id}/rematch"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/people"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/people/{person_id}/approval"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/people/approve-all"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/people/nudge"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/roster"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/roster"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/roster/confirm"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/roster/cancel"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/mail"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/mail/{name}"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/mail/{name}/html"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/exports"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/exports/{kind}.{fmt}"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/data-requests"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("GET", "/admin/replies"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/replies/{held_reply_id}/handled"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/data-requests/export"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
    ("POST", "/admin/data-requests/erase"): (SIGNED_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, LOGIN),
}


def app_routes(settings) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD aside, read from the app itself."""
    found: list[tuple[str, str]] = []

    def walk(routes) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
            elif isinstance(route, (APIRoute, Route)):
                found.extend((method, route.path) for method in sorted((route.methods or set()) - {"HEAD"}))

    walk(create_app(settings, senders={}).routes)
    return found


def classify(method: str, answer: httpx.Response) -> str:
    status = answer.status_code
    if status == 401 and ("not signed in" in answer.text):
        return LOGIN
    if method == "GET" and status == 303 and answer.headers.get("location", "").startswith("/admin/login?next="):
        return LOGIN
    if status == 403 and "Not an admin here" in answer.text:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status in (400, 401, 403):
        return UNSIGNED
    return PUBLIC if status < 400 else f"error {status}"


async def test_every_route_for_every_role(tmp_path: Path, sqlite_url: str, now: datetime, record_figure: Callable[..., None]) -> None:
    settings = admin_settings(tmp_path, sqlite_url, slack_admin_ids=["U0ADMIN001"], slack_bot_token="xoxb-test", slack_signing_secret="s" * 32)
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    ids = seeded_ids(engine, now, settings)
    routes = app_routes(settings)
    assert sorted(routes) == sorted(ROUTE_MATRIX), "a route is missing from (or gone but still in) ROUTE_MATRIX"
    tried = 0
    async with serving(settings, clock=lambda: now) as base:
        clients: dict[str, httpx.AsyncClient] = {}
        csrf: dict[str, str] = {}
        clients["admin"] = httpx.AsyncClient(base_url=base)
        csrf["admin"] = await sign_in_with_link(clients["admin"], settings, now)
        for role, user in WEB_USERS.items():
            cookie, csrf[role] = session_cookie(settings, subject=user, name=role.title(), via="slack", now=now)
            clients[role] = httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: cookie})
        clients["stranger"], csrf["stranger"] = httpx.AsyncClient(base_url=base), ""
        try:
            # Every role but the admin first; the admin's forms run last (and the sign-outs very last, so the session lasts).
            order = [r for r in ROLES if r != "admin"] + ["admin"]
            sign_outs = [("POST", "/admin/logout"), ("POST", "/admin/logout-everywhere")]
            for role in order:
                for method, path in sorted(ROUTE_MATRIX, key=lambda mp: sign_outs.index(mp) + 1 if mp in sign_outs else 0):
                    if (method, path) == sign_outs[1] and role in WEB_USERS:
                        # The sign-out before ended this role's session: sign in again to try the other way out.
                        cookie, csrf[role] = session_cookie(settings, subject=WEB_USERS[role], name=role.title(), via="slack", now=now)
                        clients[role].cookies.set(auth.SESSION_COOKIE, cookie)
                    elif (method, path) == sign_outs[1] and role == "admin":
                        csrf[role] = await sign_in_with_link(clients[role], settings, now)
                    expected = ROUTE_MATRIX[(method, path)][ROLES.index(role)]
                    url = fill(path, ids)
                    data = {"csrf_token": csrf[role]} if method == "POST" else None
                    answer = await clients[role].request(method, url, data=data)
                    outcome = classify(method, answer)
                    if expected in (PUBLIC, SIGNED_IN):
                        # Past every guard, to the page's own answer (a sign-in page may say "not set up", a form "missing a field").
                        assert outcome not in (LOGIN, FORBIDDEN) and answer.status_code < 500, (role, method, path, answer.status_code, answer.text[:300])
                        assert "Something went wrong" not in answer.text, (role, method, path)
                    else:
                        assert outcome == expected, (role, method, path, answer.status_code, answer.text[:300])
                    assert "Traceback" not in answer.text
                    if role != "admin" and path.startswith("/admin") and expected != PUBLIC:
                        assert "@district.example" not in answer.text, (role, path)  # a refusal shows nobody's data
                    tried += 1
        finally:
            for client in clients.values():
                await client.aclose()
    engine.dispose()
    record_figure("Access matrix", tried="HTTP route x role", count=tried, held="only the table's allowed outcomes", routes=len(ROUTE_MATRIX), roles=len(ROLES))


def fill(path: str, ids: dict[str, object]) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
    extra = {"/admin/rounds/{round_id}/pair": f"?mentee={ids['mentee']}", "/admin/exports/{kind}.{fmt}": f"?round={ids['round_id']}"}.get(path, "")
    return filled + extra


# --- what a participant sees ------------------------------------------------------------------------


async def test_a_participant_sees_their_own_guide_and_home_and_nobody_elses_profile(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        now = datetime.now().astimezone()
        service.open_term(h.engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
        service.enroll_from_roster(h.engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
        round_ = service.create_round(h.engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(sessions=1), now=now)
        service.move_round(h.engine, round_id=round_.id, target="collecting", now=now)
        service.run_matching(h.engine, round_id=round_.id, session_minutes=30, now=now)
        secret = h.settings.token_secret
        publish_round(h.engine, round_id=round_.id, now=now, config=ScheduleConfig(public_base_url=h.settings.public_base_url, link_secret=secret))
        with session_scope(h.engine) as session:
            people = {p.id: p for p in session.exec(select(Person))}
            answers = repo.profiles(session, person_ids=list(people))
            pairings = repo.round_pairings(session, round_id=round_.id)
        assert len(pairings) >= 2
        mine = next(p for p in pairings if people[p.mentee_id].slack_user_id)
        other = next(p for p in pairings if p.id != mine.id)
        me, partner = people[mine.mentee_id], people[mine.mentor_id]
        strangers = [p for p in people.values() if p.id not in (me.id, partner.id)]
        async with httpx.AsyncClient(base_url=h.url) as client:
            own = await client.get(guide_url("", mine.id, secret))
            someone_elses = await client.get(f"/guides/pairing/{other.id}")
            my_key_on_their_pair = await client.get(f"/guides/pairing/{other.id}?k=" + guide_url("", mine.id, secret).split("k=")[1])
        assert own.status_code == 200 and me.name in own.text
        assert someone_elses.status_code == 404 and my_key_on_their_pair.status_code == 404
        assert people[other.mentee_id].name not in someone_elses.text + my_key_on_their_pair.text
        await h.driver.open_home(me.slack_user_id)
        home = json.dumps(await wait_for(lambda: h.standin.homes.get(me.slack_user_id), what="the Home tab"), ensure_ascii=False)
        assert partner.name in home and f"k={guide_url('', mine.id, secret).split('k=')[1]}" in home
        for stranger in strangers:
            assert stranger.email not in home and stranger.name not in home, stranger.name
        assert json.dumps(answers[partner.id].get("availability")) not in home  # the partner's profile stays theirs
        asked = await slash(h, me.slack_user_id, "my-data")
        summary = json.dumps(await h.dm_with(me.slack_user_id, "Everything mentorbot holds about you"), ensure_ascii=False)
        assert asked[0] == OK and me.email in summary
        for stranger in strangers:
            assert stranger.email not in summary and stranger.name not in summary
        assert partner.email not in summary
        refused = await slash(h, me.slack_user_id, f"export {round_.id}")
        assert refused[0] == REFUSED and partner.email not in refused[1]
        with session_scope(h.engine) as session:
            assert session.exec(select(sa.func.count()).select_from(Person)).one() == len(people)
