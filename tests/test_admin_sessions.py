"""Admin sessions end when they are ended, over real HTTP: a copied cookie replayed after sign-out opens nothing and its
CSRF token creates nothing; "sign out everywhere" ends every session of that admin in every browser and no one else's;
a correctly signed cookie the server never issued, one from before server-side sessions, or one past its time is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.web.admin import auth
from storage import db
from storage.db import session_scope
from storage.models import AdminSessionRecord, Round
from tests.adminkit import admin_settings, csrf_of, seed_program, serving, session_cookie, sign_in_with_link

A_ROUND = {"kind": "micro", "topic": "classroom management", "sessions": "2", "start_on": "2026-12-07", "end_on": "2027-01-29"}


@pytest.fixture
def engine(database_url: str) -> Iterator:
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def rounds_in(engine) -> int:
    with session_scope(engine) as session:
        return len(list(session.exec(select(Round))))


def records(engine) -> list[AdminSessionRecord]:
    with session_scope(engine) as session:
        return list(session.exec(select(AdminSessionRecord).order_by(AdminSessionRecord.id)))


def refused_to_sign_in(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


async def test_a_cookie_kept_after_sign_out_opens_nothing_and_its_token_creates_nothing(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    seed_program(engine, now, match=False)
    async with serving(settings, clock=lambda: now) as base:
        async with httpx.AsyncClient(base_url=base) as browser:
            csrf = await sign_in_with_link(browser, settings, now)
            kept_cookie = browser.cookies[auth.SESSION_COOKIE]  # what an attacker copied from the browser
            # While the session lives, the copy works: this is the attack the sign-out must stop.
            async with httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: kept_cookie}) as attacker:
                assert (await attacker.get("/admin")).status_code == 200
                created = await attacker.post("/admin/rounds", data={"csrf_token": csrf, **A_ROUND})
            assert created.status_code == 303, created.text
            before = rounds_in(engine)
            signed_out = await browser.post("/admin/logout", data={"csrf_token": csrf})
            assert signed_out.status_code == 303 and signed_out.headers["location"] == "/admin/login"
            assert auth.SESSION_COOKIE not in browser.cookies
        async with httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: kept_cookie}) as attacker:
            page = await attacker.get("/admin")
            pool = await attacker.get("/admin/pool?term=1")
            replayed = await attacker.post("/admin/rounds", data={"csrf_token": csrf, **A_ROUND})
            again = await attacker.post("/admin/logout-everywhere", data={"csrf_token": csrf})
    assert refused_to_sign_in(page) and refused_to_sign_in(pool)
    assert pool.headers["location"] == "/admin/login?next=/admin/pool%3Fterm%3D1"
    assert replayed.status_code == 401 and "nothing was done" in replayed.text
    assert again.status_code == 401
    assert rounds_in(engine) == before  # the old CSRF token created nothing
    [record] = records(engine)
    assert record.ended_why == "signed out" and record.ended_at == now and record.account == auth.LINK_ACCOUNT
    assert auth.SESSION_COOKIE not in str(record.key_hash) and len(record.key_hash) == 64  # only the key's digest is stored


async def test_sign_out_everywhere_ends_every_session_of_that_admin_and_no_one_elses(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url, slack_admin_ids=["U0ADA00001", "U0BO000001"])
    # Ada signed in from her laptop and her phone; Bo from his desk.
    ada_laptop, _ = session_cookie(settings, subject="U0ADA00001", name="Ada", via="slack", now=now)
    ada_phone, ada_phone_csrf = session_cookie(settings, subject="U0ADA00001", name="Ada", via="slack", now=now)
    bo_desk, _ = session_cookie(settings, subject="U0BO000001", name="Bo", via="slack", now=now)
    async with serving(settings, clock=lambda: now) as base:
        browsers = {name: httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: cookie}) for name, cookie in
                    (("ada laptop", ada_laptop), ("ada phone", ada_phone), ("bo desk", bo_desk))}  # fmt: skip
        # Two more sessions opened by one-time links: the server operator's, in two browsers.
        browsers["link one"], browsers["link two"] = httpx.AsyncClient(base_url=base), httpx.AsyncClient(base_url=base)
        try:
            link_csrf = await sign_in_with_link(browsers["link one"], settings, now)
            await sign_in_with_link(browsers["link two"], settings, now)
            home = await browsers["ada phone"].get("/admin")
            assert home.status_code == 200 and csrf_of(home.text) == ada_phone_csrf
            assert 'formaction="/admin/logout-everywhere"' in home.text and "Sign out everywhere" in home.text
            live_before = {name: (await browser.get("/admin")).status_code for name, browser in browsers.items()}

            ended_ada = await browsers["ada phone"].post("/admin/logout-everywhere", data={"csrf_token": ada_phone_csrf})
            after_ada = {name: await browser.get("/admin") for name, browser in browsers.items()}
            ended_links = await browsers["link two"].post("/admin/logout-everywhere", data={"csrf_token": csrf_of((await browsers["link two"].get("/admin")).text)})
            after_links = {name: await browser.get("/admin") for name, browser in browsers.items()}
            stale_form = await browsers["link one"].post("/admin/terms", data={"csrf_token": link_csrf, "name": "Sneaky term"})
        finally:
            for browser in browsers.values():
                await browser.aclose()
    assert set(live_before.values()) == {200}
    assert ended_ada.status_code == 303 and ended_ada.headers["location"] == "/admin/login"
    assert refused_to_sign_in(after_ada["ada laptop"]) and refused_to_sign_in(after_ada["ada phone"])
    assert {after_ada[name].status_code for name in ("bo desk", "link one", "link two")} == {200}
    assert ended_links.status_code == 303
    assert refused_to_sign_in(after_links["link one"]) and refused_to_sign_in(after_links["link two"])
    assert after_links["bo desk"].status_code == 200  # another admin's session is not theirs to end
    assert stale_form.status_code == 401
    engine = db.create_db_engine(sqlite_url)
    try:
        ended = [(r.account, r.ended_why) for r in records(engine) if r.ended_at is not None]
        live = [r.account for r in records(engine) if r.ended_at is None]
    finally:
        engine.dispose()
    assert sorted(ended) == sorted([("U0ADA00001", "signed out everywhere")] * 2 + [(auth.LINK_ACCOUNT, "signed out everywhere")] * 2)
    assert live == ["U0BO000001"]


async def test_cookies_the_server_never_issued_or_no_longer_honours_are_refused(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url, admin_session_hours=1, slack_admin_ids=["U0ADA00001", "U0BO000001"])
    secret = auth.admin_secret(settings)
    # Signed with the real secret (as a leaked secret would allow) but never recorded by a sign-in.
    unrecorded, unrecorded_csrf = session_cookie(settings, subject="link:forged", name="Mallory", via="link", now=now, record=False)
    # The cookie shape from before server-side sessions: no key naming a record.
    old_shape = auth._serializer(secret, "session").dumps({"sub": "link:old", "name": "Old", "via": "link", "csrf": "c" * 43, "exp": int(now.timestamp()) + 3600})
    # A recorded session whose account in the cookie was edited: the signature holds only with the secret, but the record disagrees.
    recorded = auth.new_session(subject="U0ADA00001", name="Ada", via="slack", now=now, hours=1)
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    auth.record_session(engine, recorded, now=now)
    engine.dispose()
    swapped = auth.dump_session(secret, auth.AdminSession("U0BO000001", "Bo", "slack", recorded.csrf, recorded.expires_at, key=recorded.key))
    clock = {"now": now}
    async with serving(settings, clock=lambda: clock["now"]) as base:
        answers = {}
        for label, cookie in (("unrecorded", unrecorded), ("old shape", old_shape), ("swapped", swapped)):
            async with httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: cookie}) as client:
                answers[label] = await client.get("/admin")
                answers[label + " form"] = await client.post("/admin/terms", data={"csrf_token": unrecorded_csrf, "name": "Sneaky term"})
        async with httpx.AsyncClient(base_url=base) as browser:
            await sign_in_with_link(browser, settings, now)
            clock["now"] = now + timedelta(minutes=59)
            answers["an hour less a minute"] = await browser.get("/admin")
            clock["now"] = now + timedelta(hours=1, seconds=1)
            answers["past its hour"] = await browser.get("/admin")
    for label in ("unrecorded", "old shape", "swapped", "past its hour"):
        assert refused_to_sign_in(answers[label]), label
    for label in ("unrecorded form", "old shape form", "swapped form"):
        assert answers[label].status_code == 401, label
    assert answers["an hour less a minute"].status_code == 200


def test_old_session_records_are_cleared_when_someone_signs_in(engine, now: datetime) -> None:
    week_ago = now - timedelta(days=8)
    old = auth.new_session(subject="link:a", name="A", via="link", now=week_ago, hours=12)
    ended = auth.new_session(subject="link:b", name="B", via="link", now=week_ago, hours=24 * 30)
    auth.record_session(engine, old, now=week_ago)
    auth.record_session(engine, ended, now=week_ago)
    assert auth.end_session(engine, ended, now=week_ago) == 1
    assert auth.end_session(engine, ended, now=week_ago) == 0  # ending twice ends nothing more
    fresh = auth.new_session(subject="U0ADA00001", name="Ada", via="slack", now=now, hours=12)
    auth.record_session(engine, fresh, now=now)
    assert [r.account for r in records(engine)] == ["U0ADA00001"]
    assert auth.session_is_live(engine, fresh, now=now) and not auth.session_is_live(engine, old, now=now)
