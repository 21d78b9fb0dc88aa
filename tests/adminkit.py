"""Helpers for the admin-page tests: the app on loopback, signed-in clients, seeded programs and a stand-in of
Slack's OpenID Connect endpoints (authorize, token, userInfo, keys) that answers like Slack does."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.engine import Engine

from bot.importer import import_roster
from bot.rounds import service
from bot.settings import Settings
from bot.web.admin import auth
from bot.web.app import create_app, loopback_socket
from storage import db
from tests.appserver import serve_app
from tests.conftest import SHARED_ROSTER

PROGRAM = "District Mentoring"
ZONE = "America/Los_Angeles"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def admin_settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {"scheduler_enabled": False, "admin_secret": "test-admin-secret-" + "x" * 20}
    values.update(extra)
    return Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM, **values)


def reserve_port() -> tuple[socket.socket, str]:
    """A bound loopback socket and its base URL, so settings can name the address before the app starts."""
    sock = loopback_socket()
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def serving(settings: Settings, clock: Callable[[], datetime] | None = None, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """The mentorbot app for `settings` on loopback."""
    app = create_app(settings, clock=clock, senders={}) if clock else create_app(settings, senders={})
    async with serve_app(app, sock) as base:
        yield base


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


async def sign_in_with_link(client: httpx.AsyncClient, settings: Settings, now: datetime) -> str:
    """Sign the client in with a one-time link; returns the session's CSRF token."""
    link = auth.make_sign_in_link(settings, now=now)
    page = await client.get(urlsplit(link.url).path)
    assert page.status_code == 200, page.text
    signed = await client.post("/admin/link", data={"token": link.token})
    assert signed.status_code == 303 and signed.headers["location"] == "/admin"
    home = await client.get("/admin")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def session_cookie(settings: Settings, *, subject: str, name: str, via: str, now: datetime, record: bool = True) -> tuple[str, str]:
    """A session cookie value made with the app's secret, and its CSRF token; recorded live in the settings' database
    (migrated first) as a sign-in would, unless `record` is False (a cookie the server never issued)."""
    session = auth.new_session(subject=subject, name=name, via=via, now=now, hours=1)
    if record:
        engine = db.create_db_engine(settings.resolved_database_url)
        try:
            db.upgrade(engine)
            auth.record_session(engine, session, now=now)
        finally:
            engine.dispose()
    return auth.dump_session(auth.admin_secret(settings), session), session.csrf


def seed_program(
    engine: Engine, now: datetime, *, match: bool = True, sessions: int = 2, topic: str | None = None, program: str = PROGRAM
) -> int:
    """The shared roster imported, a term open with everyone enrolled, and a round (matched, in review); returns its id."""
    import_roster(engine, SHARED_ROSTER, program_name=program, default_timezone=ZONE, now=now)
    service.open_term(engine, program_name=program, timezone=ZONE, name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name=program, term_name=None, require_approval=False, now=now)
    round_ = service.create_round(
        engine, program_name=program, term_name=None, request=service.RoundRequest(sessions=sessions, topic=topic, start_on=date(2026, 12, 7)), now=now
    )
    if match:
        service.move_round(engine, round_id=round_.id, target="collecting", now=now)
        service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    return round_.id


# --- a stand-in of Slack's OpenID Connect endpoints ---------------------------------------------


@dataclass
class SlackOidcStandIn:
    """Slack's OpenID Connect as the admin sign-in sees it, with knobs to misbehave."""

    client_id: str = "123.456"
    client_secret: str = "stand-in-secret"
    team_id: str = "T0TEAM0001"
    user_id: str = "U0ADMIN001"
    name: str = "Ada Admin"
    email: str = "ada.admin@district.example"
    clock: Callable[[], float] = time.time
    # misbehaviours
    wrong_nonce: bool = False
    wrong_audience: bool = False
    expired: bool = False
    foreign_key: bool = False
    deny: bool = False
    userinfo_user: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    userinfo_calls: int = 0
    keys_fetched: int = 0

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "stand-in-key-1"

    def settings_for(self, base: str) -> dict[str, str]:
        return {
            "slack_client_id": self.client_id,
            "slack_client_secret": self.client_secret,
            "slack_api_url": f"{base}/api/",
            "slack_oidc_url": f"{base}/openid/connect/",
        }

    def id_token(self, nonce: str) -> str:
        now = int(self.clock())
        claims = {
            "iss": "https://slack.com",
            "sub": self.user_id,
            "aud": "someone-else" if self.wrong_audience else self.client_id,
            "exp": now - 3600 if self.expired else now + 3600,
            "iat": now - 7200 if self.expired else now,
            "auth_time": now,
            "nonce": "not-" + nonce if self.wrong_nonce else nonce,
            "https://slack.com/user_id": self.user_id,
            "https://slack.com/team_id": self.team_id,
            "name": self.name,
            "email": self.email,
        }
        key = self.other_key if self.foreign_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/openid/connect/authorize")
        def authorize(request: Request) -> Any:
            q = request.query_params
            if q.get("client_id") != self.client_id:
                return JSONResponse({"ok": False, "error": "invalid_client_id"}, status_code=400)
            assert "openid" in q.get("scope", "").split(), q
            assert q.get("response_type") == "code"
            assert q.get("state") and q.get("nonce")
            target = q["redirect_uri"]
            if self.deny:
                return RedirectResponse(f"{target}?{urlencode({'error': 'access_denied', 'state': q['state']})}", status_code=302)
            code = secrets.token_urlsafe(12)
            self.codes[code] = {"nonce": q["nonce"], "redirect_uri": target}
            return RedirectResponse(f"{target}?{urlencode({'code': code, 'state': q['state']})}", status_code=302)

        @app.post("/api/openid.connect.token")
        def token(
            client_id: str = Form(""), client_secret: str = Form(""), code: str = Form(""), redirect_uri: str = Form(""),
        ) -> JSONResponse:  # fmt: skip
            self.token_requests.append({"client_id": client_id, "code": code, "redirect_uri": redirect_uri})
            if client_id != self.client_id or client_secret != self.client_secret:
                return JSONResponse({"ok": False, "error": "invalid_client"})
            grant = self.codes.pop(code, None)  # codes work once, like Slack's
            if grant is None:
                return JSONResponse({"ok": False, "error": "invalid_code"})
            if grant["redirect_uri"] != redirect_uri:
                return JSONResponse({"ok": False, "error": "bad_redirect_uri"})
            return JSONResponse(
                {"ok": True, "access_token": "xoxp-" + secrets.token_hex(8), "token_type": "Bearer", "id_token": self.id_token(grant["nonce"])}
            )

        @app.post("/api/openid.connect.userInfo")
        def user_info(authorization: str = Header("")) -> JSONResponse:
            self.userinfo_calls += 1
            if not authorization.startswith("Bearer xoxp-"):
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            user = self.userinfo_user or self.user_id
            return JSONResponse(
                {"ok": True, "sub": user, "https://slack.com/user_id": user, "https://slack.com/team_id": self.team_id, "name": self.name, "email": self.email}
            )

        @app.get("/openid/connect/keys")
        def keys() -> JSONResponse:
            self.keys_fetched += 1
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
            return JSONResponse({"keys": [jwk]})

        return app


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def later(now: datetime, **delta: float) -> Callable[[], datetime]:
    moment = now + timedelta(**delta)
    return lambda: moment


def record_checkins_and_surveys(session: Any, *, round_id: int, pairings: list[Any], now: datetime, comment: str) -> None:
    """A first check-in from both people of every pair (a mix of answers, some unanswered) and each mentee's survey;
    every third mentee also leaves `comment` ("{n}": the pair's place)."""
    from storage.models import CheckIn, SurveyAnswer

    answers = ["met", "met", "rescheduled", "need_help", "met", "not_happening", None, "met"]
    for i, pairing in enumerate(pairings):
        for j, person_id in enumerate((pairing.mentor_id, pairing.mentee_id)):
            answer = answers[(i + j) % len(answers)]
            session.add(CheckIn(pairing_id=pairing.id, person_id=person_id, number=1, asked_at=now, answer=answer, answered_at=now if answer else None))
        for k, question in enumerate(("voice", "useful", "again")):
            session.add(SurveyAnswer(round_id=round_id, pairing_id=pairing.id, person_id=pairing.mentee_id, question=question, value=1 + (i + k * 2) % 5, answered_at=now))
        if i % 3 == 0:
            session.add(SurveyAnswer(round_id=round_id, pairing_id=pairing.id, person_id=pairing.mentee_id, question="comment", value=comment.format(n=i), answered_at=now))


def seed_engagement(engine: Engine, round_id: int, now: datetime) -> dict[str, int]:
    """Publish and start the round, then record check-ins (one pair stalled) and survey answers."""
    from sqlmodel import select

    from bot.rounds.schedule import ScheduleConfig, publish_round
    from storage import repo
    from storage.db import session_scope
    from storage.models import CheckIn

    publish_round(engine, round_id=round_id, now=now, config=ScheduleConfig())
    service.move_round(engine, round_id=round_id, target="running", now=now)
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=round_id)
        record_checkins_and_surveys(session, round_id=round_id, pairings=pairings, now=now, comment='=HYPERLINK("x") helpful chat number {n}')
        stalled = pairings[min(3, len(pairings) - 1)]
        stalled.status = "stalled"
        counts = {"pairs": len(pairings), "stalled": stalled.id}
        assert session.exec(select(CheckIn)).first() is not None
    return counts
