"""Benchmark: every admin page at district scale, over real HTTP, on SQLite and PostgreSQL.

A district's term is seeded through mentorbot's own operations: 2,000 people over a dozen sites (tests/districtkit.py),
a term with everyone enrolled, a micro round matched and published (about 1,000 pairs) and running with check-ins,
survey answers and stalled pairs, a second round in review, a topic event taking sign-ups, held replies, data requests
and a full local mail sink. The mentorbot app is served by uvicorn on loopback (in a thread); a signed-in admin GETs
every GET route of the admin router (listed from the router, so a new page is covered or the bench fails; path
parameters filled with real ids), several times each. The baseline, timed in the same run and alternated with the
pages: a bare FastAPI route on its own uvicorn server that returns a static HTML string of the same size.

Prints the full per-page table (median wall ms, median CPU ms of this process for the request (server and client:
what the page costs whatever else the machine is doing), KB, bare ms, ratio) and emits two rows per backend: the
slowest page (goal under 300 ms) and the largest page (goal under 300 KB).

Usage: PYTHONPATH=. python bench/admin_pages.py [--quick] [--sqlite-only] [--people N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._rows import Row, emit  # noqa: E402
from bot.actions import rounds as round_actions  # noqa: E402
from bot.actions import terms as term_actions  # noqa: E402
from bot.actions.access import Actor  # noqa: E402
from bot.actions.scope import unit_of_work  # noqa: E402
from bot.importer import import_roster  # noqa: E402
from bot.rounds.kinds import RoundRequest  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web.admin import auth  # noqa: E402
from bot.web.admin.router import admin_router  # noqa: E402
from bot.web.app import create_app, loopback_socket  # noqa: E402
from storage import db  # noqa: E402

NOW = datetime(2027, 1, 11, 16, 0, tzinfo=timezone.utc)  # a Monday in January: the round is published, sessions ahead
PROGRAM = "Valley Unified Mentoring"
ZONE = "America/Los_Angeles"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# GET routes that are not pages a person reads: the stylesheet, file downloads, a message's raw HTML (shown inside
# the mail page's frame) and the redirect to Slack's sign-in.
NOT_PAGES = {"/admin/static/admin.css", "/admin/exports/{kind}.{fmt}", "/admin/mail/{name}/html", "/admin/auth/slack"}
SIGNED_OUT = {"/admin/login", "/admin/link/{token}", "/admin/auth/slack/callback"}
GOAL_MS, GOAL_KB = 300.0, 300.0


# --- the district, seeded through mentorbot's own operations ------------------------------------------------------


def seed(url: str, folder: Path, people: int) -> tuple[Settings, dict[str, Any]]:
    """Import, open a term, match and publish a round and start it, leave a second in review and a topic event
    collecting; add check-ins, survey answers, stalled pairs, held replies, data requests and mail. Returns the ids."""
    from sqlmodel import select

    from bot import data_rights
    from bot.email import forward
    from bot.rounds import service
    from bot.rounds.schedule import ScheduleConfig, publish_round
    from storage import repo
    from storage.db import session_scope
    from storage.models import Person
    from tests.adminkit import record_checkins_and_surveys
    from tests.districtkit import write_district_roster

    settings = Settings(
        _env_file=None, data_dir=folder / "data", database_url=url, program_name=PROGRAM, scheduler_enabled=False,
        admin_secret="bench-admin-secret-" + "x" * 20, default_timezone=ZONE,
    )  # fmt: skip
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    operator = Actor.operator()
    started = time.perf_counter()
    import_roster(engine, write_district_roster(folder / "district.csv", people), program_name=PROGRAM, default_timezone=ZONE, now=NOW)
    with unit_of_work(engine) as session:
        term_actions.open_term(session, actor=operator, now=NOW, settings=settings, name="Spring 2027", enroll_roster=True)
    with unit_of_work(engine) as session:
        term_actions.approve_all(session, actor=operator, now=NOW, settings=settings)  # the principals' decisions, at once
    with unit_of_work(engine) as session:
        main = round_actions.create_round(
            session, actor=operator, now=NOW, settings=settings,
            request=RoundRequest(kind="micro", sessions=2, start_on=date(2027, 2, 1), match_on=date(2027, 1, 25)),
        )  # fmt: skip
        main_id = main.id
    service.move_round(engine, round_id=main_id, target="collecting", now=NOW)
    with unit_of_work(engine) as session:
        round_actions.match_round(session, actor=operator, now=NOW, settings=settings, round_id=main_id)
    publish_round(engine, round_id=main_id, now=NOW, config=ScheduleConfig())
    service.move_round(engine, round_id=main_id, target="running", now=NOW)
    # A second round matched over the capacity left, in review; a topic event taking sign-ups.
    with unit_of_work(engine) as session:
        review = round_actions.create_round(
            session, actor=operator, now=NOW, settings=settings,
            request=RoundRequest(kind="micro", topic="classroom management", sessions=1, start_on=date(2027, 3, 1), match_on=date(2027, 2, 22)),
        )  # fmt: skip
        review_id = review.id
        event = round_actions.create_round(
            session, actor=operator, now=NOW, settings=settings,
            request=RoundRequest(kind="event", topics="SEL; assessment; family engagement", sessions=1, start_on=date(2027, 3, 1), match_on=date(2027, 3, 4)),
        )  # fmt: skip
        event_id = event.id
    service.move_round(engine, round_id=review_id, target="collecting", now=NOW)
    service.move_round(engine, round_id=event_id, target="collecting", now=NOW)
    with unit_of_work(engine) as session:
        round_actions.match_round(session, actor=operator, now=NOW, settings=settings, round_id=review_id)
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=main_id)
        record_checkins_and_surveys(session, round_id=main_id, pairings=pairings, now=NOW, comment="A helpful chat, number {n}.")
        for pairing in pairings[7::20]:
            pairing.status = "stalled"  # one pair in twenty stalled: the engagement page lists them
        everyone = list(session.exec(select(Person).order_by(Person.id)).all())
        for n, person in enumerate(everyone[:300]):
            forward.hold_for_people(
                session, person=person, text=f"Can we meet on Thursday instead? {n}", subject="Re: Check-in", reason=forward.REASON_QUESTION,
                flow=None, context="", source_key=f"bench-{n}", now=NOW, settings=settings,
            )  # fmt: skip
        for person in everyone[300:340]:
            data_rights.export(session, person_id=person.id, requested_by="admin:Ada", channel="admin", now=NOW)
        mentee = next(p for p in repo.round_pairings(session, round_id=review_id)).mentee_id
        pairs = len(pairings)
    write_mail_sink(settings.data_dir / "mail", people)
    engine.dispose()
    print(f"  seeded {people:,} people, {pairs:,} published pairs in {time.perf_counter() - started:.0f} s", flush=True)
    return settings, {"main": main_id, "review": review_id, "event": event_id, "mentee": mentee, "pairs": pairs}


def write_mail_sink(folder: Path, count: int) -> None:
    """`count` pairing emails in the local sink, as the sink names them (the newest sort last)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "Valley Mentoring <mentoring@district.example>", f"teacher{n}@district.example"
        message["Subject"], message["Date"] = f"You're paired for Spring 2027 ({n})", "Mon, 11 Jan 2027 08:00:00 -0800"
        message.set_content("Hello,\n\nYou are paired with a mentor this term.\n" * 20)
        message.add_alternative("<p>Hello,</p><p>You are paired with a mentor this term.</p>" * 20, subtype="html")
        stamp = (NOW + timedelta(seconds=n)).strftime("%Y%m%dT%H%M%S")
        (folder / f"{stamp}-{uuid.UUID(int=n).hex[-8:]}.eml").write_bytes(message.as_bytes())


# --- the servers --------------------------------------------------------------------------------------------------


class Served:
    """An ASGI app under uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        self.sock = loopback_socket()
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self.base
            time.sleep(0.02)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def bare_app() -> FastAPI:
    """The baseline: one FastAPI route that returns a static HTML string of the asked size (made once per size)."""
    app = FastAPI()
    made: dict[int, str] = {}

    @app.get("/bare/{size}")
    def bare(size: int) -> HTMLResponse:  # a plain function, run in the thread pool as the admin pages are
        if size not in made:
            made[size] = "<!doctype html><title>bare</title>" + "x" * max(0, size - 34)
        return HTMLResponse(made[size])

    return app


# --- the pages ----------------------------------------------------------------------------------------------------


def page_urls(settings: Settings, ids: dict[str, Any]) -> dict[str, list[str]]:
    """Every GET page of the admin router, with its path parameters filled; a route without a filler fails the run."""
    mail = sorted((settings.data_dir / "mail").glob("*.eml"))[-1].name
    fillers: dict[str, list[str]] = {
        "/admin": ["/admin"],
        "/admin/login": ["/admin/login?next=/admin/pool"],
        "/admin/link/{token}": ["LINK"],  # a fresh one-time link for each request (see fetch)
        "/admin/auth/slack/callback": ["/admin/auth/slack/callback?state=forged&code=x"],
        "/admin/rounds/{round_id}": [
            f"/admin/rounds/{ids['main']}", f"/admin/rounds/{ids['main']}?page=10", f"/admin/rounds/{ids['main']}?timeline=all",
            f"/admin/rounds/{ids['review']}", f"/admin/rounds/{ids['event']}",
        ],  # fmt: skip
        "/admin/rounds/{round_id}/pair": [f"/admin/rounds/{ids['review']}/pair?mentee={ids['mentee']}"],
        "/admin/pool": ["/admin/pool", f"/admin/pool?round={ids['review']}"],
        "/admin/equity": [f"/admin/equity?round={ids['main']}", f"/admin/equity?round={ids['review']}"],
        "/admin/engagement": [f"/admin/engagement?round={ids['main']}"],
        "/admin/people": ["/admin/people", "/admin/people?q=garfield", "/admin/people?page=20"],
        "/admin/roster": ["/admin/roster"],
        "/admin/mail": ["/admin/mail"],
        "/admin/mail/{name}": [f"/admin/mail/{mail}"],
        "/admin/exports": ["/admin/exports"],
        "/admin/data-requests": ["/admin/data-requests"],
        "/admin/replies": ["/admin/replies", "/admin/replies?show=all"],
    }
    engine = db.create_db_engine(settings.resolved_database_url)
    try:
        routes = {route.path for route in admin_router(settings, engine, clock=lambda: NOW).routes if "GET" in route.methods}
    finally:
        engine.dispose()
    missing = routes - NOT_PAGES - set(fillers)
    if missing:
        raise SystemExit(f"bench/admin_pages.py: no URL for the admin page(s) {sorted(missing)}: add them to page_urls")
    return {route: urls for route, urls in fillers.items() if route in routes}


def measure(settings: Settings, ids: dict[str, Any], repeats: int) -> list[dict[str, Any]]:
    """Serve the app and the bare route, sign in, and time each page against the bare route of its size, alternating."""
    urls = page_urls(settings, ids)
    cookie, _csrf = session_cookie(settings)
    app = create_app(settings, clock=lambda: NOW, senders={})
    results = []
    with (
        Served(app) as base, Served(bare_app()) as bare_base, httpx.Client(base_url=base, timeout=120) as client,
        httpx.Client(base_url=base, timeout=120) as signed_out, httpx.Client(base_url=bare_base) as bare,
    ):  # fmt: skip
        client.cookies.set(auth.SESSION_COOKIE, cookie)
        for route, addresses in urls.items():
            for address in addresses:
                page_ms, bare_ms, page_cpu, size, status = [], [], [], 0, 0
                for _ in range(repeats):
                    target = address
                    if address == "LINK":
                        target = auth.make_sign_in_link(settings, now=NOW).url.replace(settings.public_base_url, "").split("#")[0]
                    started, cpu = time.perf_counter(), time.process_time()
                    response = (signed_out if route in SIGNED_OUT else client).get(target)
                    page_ms.append((time.perf_counter() - started) * 1000)
                    page_cpu.append((time.process_time() - cpu) * 1000)
                    size, status = len(response.content), response.status_code
                    started = time.perf_counter()
                    bare.get(f"/bare/{size}").raise_for_status()
                    bare_ms.append((time.perf_counter() - started) * 1000)
                if status >= 400 and route not in SIGNED_OUT:
                    raise SystemExit(f"{address} answered {status}")
                shown = "/admin/link/{token}" if address == "LINK" else address
                results.append({
                    "url": shown, "status": status, "ms": statistics.median(page_ms), "cpu": statistics.median(page_cpu),
                    "bare": statistics.median(bare_ms), "kb": size / 1024,
                })  # fmt: skip
                print(f"    {shown:<52} {results[-1]['ms']:8.1f} ms {results[-1]['kb']:8.1f} KB  bare {results[-1]['bare']:6.1f} ms", flush=True)
    return results


def session_cookie(settings: Settings) -> tuple[str, str]:
    """A live admin session, recorded as signing in records it."""
    session = auth.new_session(subject="U0ADMIN001", name="Ada Admin", via="link", now=NOW, hours=8)
    engine = db.create_db_engine(settings.resolved_database_url)
    try:
        auth.record_session(engine, session, now=NOW)
    finally:
        engine.dispose()
    return auth.dump_session(auth.admin_secret(settings), session), session.csrf


# --- the run ------------------------------------------------------------------------------------------------------


def run_backend(name: str, people: int, repeats: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        if name == "SQLite":
            url, drop = f"sqlite:///{folder}/bench.db", None
        else:
            database = f"bench_pages_{os.getpid()}_{random.randrange(10**6)}"
            admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'create database "{database}"'))
            url = make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)

            def drop() -> None:
                with admin.connect() as connection:
                    connection.execute(sa.text(f'drop database if exists "{database}" with (force)'))
                admin.dispose()

        try:
            print(f"{name}:", flush=True)
            settings, ids = seed(url, Path(folder), people)
            results = measure(settings, ids, repeats)
        finally:
            if drop is not None:
                drop()
    report(name, people, ids, results)
    return results


def report(backend: str, people: int, ids: dict[str, Any], results: list[dict[str, Any]]) -> None:
    print(f"\n{backend}: {people:,} people, {ids['pairs']:,} pairs; median of each page")
    print(f"  {'page':<52} {'ms':>8} {'cpu ms':>8} {'KB':>8} {'bare ms':>8} {'ratio':>7}")
    for r in sorted(results, key=lambda r: -r["ms"]):
        print(f"  {r['url']:<52} {r['ms']:8.1f} {r['cpu']:8.1f} {r['kb']:8.1f} {r['bare']:8.1f} {r['ms'] / r['bare']:6.1f}x")
    slowest = max(results, key=lambda r: r["ms"])
    largest = max(results, key=lambda r: r["kb"])
    case = f"{people:,} people, {ids['pairs']:,} pairs, {backend}"
    emit(Row(
        path="admin pages: slowest page", case=f"{case}: {slowest['url']}", figure=round(slowest["ms"], 1), unit="ms",
        goal=f"under {GOAL_MS:.0f} ms", met=slowest["ms"] < GOAL_MS, baseline=round(slowest["bare"], 1),
        baseline_name="bare FastAPI route, same bytes",
        note=f"slowest of {len(results)} pages; {slowest['cpu']:.0f} ms of CPU (server and client, this process); load average {os.getloadavg()[0]:.1f}",
    ))  # fmt: skip
    emit(Row(
        path="admin pages: largest page", case=f"{case}: {largest['url']}", figure=round(largest["kb"], 1), unit="KB",
        goal=f"under {GOAL_KB:.0f} KB", met=largest["kb"] < GOAL_KB,
    ))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 requests per page (the full run: 9)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--people", type=int, default=2000)
    options = parser.parse_args()
    repeats = 3 if options.quick else 9
    for backend in ("SQLite",) + (() if options.sqlite_only else ("PostgreSQL",)):
        run_backend(backend, options.people, repeats)


if __name__ == "__main__":
    main()
