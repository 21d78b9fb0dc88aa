"""Admin sign-in over real HTTP: Slack OpenID Connect against a stand-in of Slack on loopback, one-time links
(single use across restarts, expiry, tampering, the CLI command), and sessions (forged, expired, revoked admin)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.web.admin import auth
from storage import db
from storage.db import session_scope
from storage.models import ScheduledAction
from tests.adminkit import SlackOidcStandIn, admin_settings, csrf_of, query_of, reserve_port, serve_app, serving, session_cookie
from tests.test_cli import run


async def _slack_sign_in(client: httpx.AsyncClient, next_path: str = "/admin") -> httpx.Response:
    """Walk the browser's part of the flow: app -> Slack's authorize -> back to the app's callback."""
    start = await client.get(f"/admin/auth/slack?next={next_path}")
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as browser_to_slack:
        slack = await browser_to_slack.get(start.headers["location"])
    assert slack.status_code == 302, slack.text
    callback = urlsplit(slack.headers["location"])
    return await client.get(f"{callback.path}?{callback.query}")


@pytest.fixture
def standin(now: datetime) -> SlackOidcStandIn:
    return SlackOidcStandIn(clock=lambda: now.timestamp())


async def test_an_admin_signs_in_with_slack_and_lands_where_they_were_going(tmp_path: Path, database_url: str, now: datetime, standin: SlackOidcStandIn) -> None:
    async with serve_app(standin.app()) as slack_base:
        sock, base = reserve_port()
        settings = admin_settings(
            tmp_path, database_url, public_base_url=base, slack_admin_ids=[standin.user_id], slack_team_id=standin.team_id,
            **standin.settings_for(slack_base),
        )  # fmt: skip
        async with serving(settings, clock=lambda: now, sock=sock), httpx.AsyncClient(base_url=base) as client:
            login = await client.get("/admin/login")
            assert "Sign in with Slack" in login.text
            start = await client.get("/admin/auth/slack?next=/admin/pool")
            authorize = query_of(start.headers["location"])
            assert start.headers["location"].startswith(f"{slack_base}/openid/connect/authorize?")
            assert authorize["redirect_uri"] == f"{base}/admin/auth/slack/callback"
            assert authorize["scope"] == "openid profile email" and authorize["team"] == standin.team_id
            done = await _slack_sign_in(client, "/admin/pool")
            assert done.status_code == 303 and done.headers["location"] == "/admin/pool"
            page = await client.get("/admin/pool")
            replay = await client.get(f"/admin/auth/slack/callback?code=used-code&state={authorize['state']}")
    assert page.status_code == 200 and "Ada Admin" in page.text  # the name came from openid.connect.userInfo
    assert standin.keys_fetched == 1 and standin.userinfo_calls == 1
    assert standin.token_requests[0]["redirect_uri"] == f"{base}/admin/auth/slack/callback"
    assert replay.status_code == 400  # the state cookie is gone once used


async def test_a_slack_user_who_is_not_an_admin_is_signed_in_but_refused(tmp_path: Path, sqlite_url: str, now: datetime, standin: SlackOidcStandIn) -> None:
    async with serve_app(standin.app()) as slack_base:
        sock, base = reserve_port()
        settings = admin_settings(tmp_path, sqlite_url, public_base_url=base, slack_admin_ids=["U0SOMEONE"], **standin.settings_for(slack_base))
        async with serving(settings, clock=lambda: now, sock=sock), httpx.AsyncClient(base_url=base) as client:
            await _slack_sign_in(client)
            page = await client.get("/admin")
            people = await client.get("/admin/people")
            signed_out = await client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
            after = await client.get("/admin")
    assert page.status_code == 403 and "not an admin" in page.text and standin.user_id in page.text
    assert 'aria-label="Admin pages"' not in page.text and "Back to the program" not in page.text  # no way further in
    assert people.status_code == 403
    assert signed_out.status_code == 303 and after.status_code == 303  # signing out works for anyone signed in


@pytest.mark.parametrize(
    ("knob", "message"),
    [
        ("wrong_nonce", "made for another sign-in"),
        ("wrong_audience", "did not check out"),
        ("expired", "out of date"),
        ("foreign_key", "did not check out"),
        ("deny", "cancelled"),
        ("userinfo_user", "names someone else"),
    ],
)
async def test_slack_answers_that_do_not_check_out_are_refused(
    tmp_path: Path, sqlite_url: str, now: datetime, standin: SlackOidcStandIn, knob: str, message: str
) -> None:
    setattr(standin, knob, "U0INTRUDER" if knob == "userinfo_user" else True)
    async with serve_app(standin.app()) as slack_base:
        sock, base = reserve_port()
        settings = admin_settings(tmp_path, sqlite_url, public_base_url=base, slack_admin_ids=[standin.user_id], **standin.settings_for(slack_base))
        async with serving(settings, clock=lambda: now, sock=sock), httpx.AsyncClient(base_url=base) as client:
            answer = await _slack_sign_in(client)
            page = await client.get("/admin")
    assert answer.status_code == 400 and message in answer.text
    assert auth.SESSION_COOKIE not in answer.cookies
    assert page.status_code == 303 and page.headers["location"].startswith("/admin/login")


async def test_the_wrong_workspace_and_a_forged_state_are_refused(tmp_path: Path, sqlite_url: str, now: datetime, standin: SlackOidcStandIn) -> None:
    async with serve_app(standin.app()) as slack_base:
        sock, base = reserve_port()
        settings = admin_settings(
            tmp_path, sqlite_url, public_base_url=base, slack_admin_ids=[standin.user_id], slack_team_id="T0OTHERTEAM", **standin.settings_for(slack_base)
        )
        async with serving(settings, clock=lambda: now, sock=sock), httpx.AsyncClient(base_url=base) as client:
            other_team = await _slack_sign_in(client)
            start = await client.get("/admin/auth/slack")
            async with httpx.AsyncClient() as browser:
                slack = await browser.get(start.headers["location"])
            callback = query_of(slack.headers["location"])
            forged = await client.get(f"/admin/auth/slack/callback?code={callback['code']}&state=attacker-state")
    assert other_team.status_code == 400 and "different Slack workspace" in other_team.text
    assert forged.status_code == 400 and "does not belong to the sign-in you started" in forged.text


async def test_without_slack_credentials_the_login_page_points_to_admin_link(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        login = await client.get("/admin/login")
        start = await client.get("/admin/auth/slack")
    assert "mentorbot admin-link" in login.text and "Sign in with Slack" not in login.text
    assert start.status_code == 400 and "SLACK_CLIENT_ID" in start.text


async def test_a_sign_in_link_works_once_even_after_a_restart(tmp_path: Path, database_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    link = auth.make_sign_in_link(settings, now=now)
    path = urlsplit(link.url).path
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        confirm = await client.get(path)  # a GET (a link previewer, say) does not use the link up
        again = await client.get(path)
        used = await client.post("/admin/link", data={"token": link.token})
        home = await client.get("/admin")
    assert confirm.status_code == again.status_code == 200 and "Sign in" in confirm.text
    assert used.status_code == 303 and home.status_code == 200 and "Program" in home.text
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get(path)
        reuse = await client.post("/admin/link", data={"token": link.token})
        home = await client.get("/admin")
    assert page.status_code == 400 and "used already" in page.text
    assert reuse.status_code == 400 and "used already" in reuse.text and home.status_code == 303
    engine = db.create_db_engine(database_url)
    with session_scope(engine) as session:
        rows = session.exec(select(ScheduledAction).where(ScheduledAction.kind == auth.LINK_ACTION_KIND)).all()
        pending = session.exec(select(sa.func.count()).select_from(ScheduledAction).where(ScheduledAction.status == "pending")).one()
    engine.dispose()
    assert len(rows) == 1 and rows[0].status == "done" and pending == 0  # the sweep never picks it up


async def test_expired_tampered_and_foreign_links_are_refused(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    old = auth.make_sign_in_link(settings, now=now - timedelta(minutes=16))
    fresh = auth.make_sign_in_link(settings, now=now)
    foreign = auth.make_sign_in_link(admin_settings(tmp_path, sqlite_url, admin_secret="another-secret-" + "y" * 20), now=now)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        expired = await client.post("/admin/link", data={"token": old.token})
        tampered = await client.post("/admin/link", data={"token": fresh.token[:-2] + ("AA" if not fresh.token.endswith("AA") else "BB")})
        other = await client.post("/admin/link", data={"token": foreign.token})
        home = await client.get("/admin")
    assert expired.status_code == 400 and "expired" in expired.text
    assert tampered.status_code == other.status_code == 400 and "not valid" in tampered.text
    assert home.status_code == 303


def test_the_admin_link_command_prints_a_link_the_server_accepts(tmp_path: Path, sqlite_url: str, now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("ADMIN_", "SLACK_", "PUBLIC_BASE_URL"))]:
        monkeypatch.delenv(name)
    result = run(
        tmp_path, "--now", now.strftime("%Y-%m-%dT%H:%M:%S"), "admin-link", "--minutes", "5",
        database_url=sqlite_url, extra_env={"PUBLIC_BASE_URL": "http://127.0.0.1:8123", "PROGRAM_NAME": "District Mentoring"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    url = next(line for line in result.stdout.splitlines() if line.startswith("http"))
    assert url.startswith("http://127.0.0.1:8123/admin/link/") and "expires at" in result.stdout
    secret = (tmp_path / "data" / "admin-secret").read_text().strip()
    assert len(secret) >= 40 and oct((tmp_path / "data" / "admin-secret").stat().st_mode)[-3:] == "600"
    token = url.rsplit("/", 1)[1]
    assert auth.read_link(secret, token, now=now + timedelta(minutes=4))
    with pytest.raises(auth.AuthError, match="expired"):
        auth.read_link(secret, token, now=now + timedelta(minutes=6))


async def test_forged_and_expired_sessions_count_as_signed_out(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    foreign, _ = session_cookie(admin_settings(tmp_path, sqlite_url, admin_secret="not-the-server-secret-123456"), subject="link:x", name="Mallory", via="link", now=now)
    stale, _ = session_cookie(settings, subject="link:y", name="Old", via="link", now=now - timedelta(hours=2))
    good, _ = session_cookie(settings, subject="link:z", name="Good", via="link", now=now)
    async with serving(settings, clock=lambda: now) as base:
        results = {}
        for label, value in (("foreign", foreign), ("stale", stale), ("garbage", "abc.def"), ("good", good)):
            async with httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: value}) as client:
                results[label] = await client.get("/admin")
    assert results["good"].status_code == 200
    for label in ("foreign", "stale", "garbage"):
        assert results[label].status_code == 303 and results[label].headers["location"].startswith("/admin/login"), label


async def test_admin_rights_are_checked_on_every_request(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    cookie, _ = session_cookie(admin_settings(tmp_path, sqlite_url), subject="U0ADMIN001", name="Ada", via="slack", now=now)
    for admins, expected in ((["U0ADMIN001"], 200), ([], 403)):
        settings = admin_settings(tmp_path, sqlite_url, slack_admin_ids=admins)
        async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, cookies={auth.SESSION_COOKIE: cookie}) as client:
            assert (await client.get("/admin")).status_code == expected


def test_the_admin_secret_is_made_once_and_shared(tmp_path: Path, sqlite_url: str) -> None:
    settings = admin_settings(tmp_path, sqlite_url, admin_secret=None)
    first = auth.admin_secret(settings)
    assert first == auth.admin_secret(settings) and len(first) >= 40
    assert auth.admin_secret(admin_settings(tmp_path, sqlite_url, admin_secret="explicit-secret")) == "explicit-secret"


def test_only_admin_paths_are_followed_after_sign_in() -> None:
    assert auth.safe_next("/admin/pool?term=2") == "/admin/pool?term=2"
    for bad in ("https://evil.example/", "//evil.example/admin", "/elsewhere", "/admin\\..\\x", None, ""):
        assert auth.safe_next(bad) == "/admin"
