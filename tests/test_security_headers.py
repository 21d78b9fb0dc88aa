"""Security headers on every surface, over real HTTP: admin pages (their own policy kept), the printable guide, the
unsubscribe page, /health, the Slack and email webhooks, a 404 and a 500; HSTS only when the request came over
HTTPS (a trusted proxy's X-Forwarded-Proto, not anyone's); the OpenAPI pages off unless API_DOCS turns them on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import select

from bot.email import tokens
from bot.rounds.guides import guide_url
from bot.settings import Settings
from bot.web.admin.page import CSP as ADMIN_PAGE_CSP
from bot.web.app import create_app, loopback_socket
from bot.web.security_headers import DOCS_CSP, GUIDE_CSP, HSTS, NOTHING_CSP, UNSUBSCRIBE_CSP, install_security_headers
from storage import db
from storage.db import session_scope
from storage.models import Pairing, Person
from tests.adminkit import admin_settings, seed_program, serving
from tests.appserver import PromptServer, serve_app


def assert_protected(answer: httpx.Response, csp: str, referrer: str, label: str) -> None:
    headers = answer.headers
    assert headers.get("content-security-policy") == csp, (label, headers.get("content-security-policy"))
    assert headers.get("x-content-type-options") == "nosniff", label
    assert headers.get("referrer-policy") == referrer, label
    assert headers.get("x-frame-options") in ("DENY", "SAMEORIGIN") and "frame-ancestors 'none'" in csp, label
    assert "strict-transport-security" not in headers, label  # plain HTTP from an untrusted hop: no HSTS


async def test_every_surface_sends_its_security_headers(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(
        tmp_path, sqlite_url, slack_bot_token="xoxb-1-stand-in", slack_signing_secret="signing-secret-0123456789",
        sendgrid_inbound_key="sg-key-0123456789", email_token_secret="token-secret-0123456789",
    )  # fmt: skip
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    seed_program(engine, now)
    with session_scope(engine) as session:
        pairing_id = session.exec(select(Pairing.id)).first()
        person_id = session.exec(select(Person.id)).first()
    engine.dispose()
    guide = guide_url("", pairing_id, settings.token_secret)
    unsubscribe = f"/email/unsubscribe/{tokens.make_unsubscribe_token(settings.token_secret, person_id=person_id)}"
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        answers = {
            "health": (await client.get("/health"), NOTHING_CSP, "no-referrer", 200),
            "slack events, unsigned": (await client.post("/slack/events", json={"type": "url_verification"}), NOTHING_CSP, "no-referrer", 401),
            "email webhook, no key": (await client.post("/email/inbound", data={"envelope": "{}"}), NOTHING_CSP, "no-referrer", 401),
            "guide": (await client.get(guide), GUIDE_CSP, "no-referrer", 200),
            "guide, wrong key": (await client.get(f"/guides/pairing/{pairing_id}?k=nope"), GUIDE_CSP, "no-referrer", 404),
            "unsubscribe page": (await client.get(unsubscribe), UNSUBSCRIBE_CSP, "no-referrer", 200),
            "unsubscribe, bad token": (await client.get("/email/unsubscribe/forged"), UNSUBSCRIBE_CSP, "no-referrer", 404),
            "admin sign-in": (await client.get("/admin/login"), ADMIN_PAGE_CSP, "same-origin", 200),
            "admin, signed out": (await client.get("/admin/pool"), ADMIN_PAGE_CSP, "same-origin", 303),
            "admin stylesheet": (await client.get("/admin/static/admin.css"), ADMIN_PAGE_CSP, "same-origin", 200),
            "admin, no such page": (await client.get("/admin/nothing-here"), ADMIN_PAGE_CSP, "same-origin", 404),
            "no such address": (await client.get("/wp-login.php"), NOTHING_CSP, "no-referrer", 404),
        }
    for label, (answer, csp, referrer, status) in answers.items():
        assert answer.status_code == status, (label, answer.status_code, answer.text[:200])
        assert_protected(answer, csp, referrer, label)
    assert "<style>" in answers["guide"][0].text and "<script" not in answers["guide"][0].text  # what GUIDE_CSP allows, and no more
    assert answers["admin sign-in"][0].headers["cache-control"] == "no-store"  # the admin route's own headers stay
    print(f"surfaces checked for headers: {len(answers)}")


@contextlib.asynccontextmanager
async def served_without_uvicorns_proxy_headers(app) -> AsyncIterator[str]:
    """The app under uvicorn believing no proxy itself, so only the app's TRUSTED_PROXIES decides."""
    sock = loopback_socket()
    server = PromptServer(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.stop()
        await task
        sock.close()


async def test_hsts_only_when_a_trusted_proxy_says_https(tmp_path: Path, sqlite_url: str) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    untrusted = create_app(admin_settings(tmp_path, sqlite_url), senders={})
    trusted = create_app(admin_settings(tmp_path, sqlite_url, trusted_proxies=["127.0.0.0/8"]), senders={})
    async with served_without_uvicorns_proxy_headers(untrusted) as base, httpx.AsyncClient(base_url=base) as client:
        claimed = await client.get("/health", headers=forwarded)
    async with served_without_uvicorns_proxy_headers(trusted) as base, httpx.AsyncClient(base_url=base) as client:
        via_proxy = await client.get("/admin/login", headers=forwarded)
        via_proxy_http = await client.get("/health", headers={"X-Forwarded-Proto": "http"})
        direct = await client.get("/health")
    assert "strict-transport-security" not in claimed.headers  # anyone can send the header; it is believed from a listed proxy only
    assert via_proxy.headers["strict-transport-security"] == HSTS and via_proxy.headers["content-security-policy"] == ADMIN_PAGE_CSP
    assert "strict-transport-security" not in via_proxy_http.headers and "strict-transport-security" not in direct.headers
    # Under uvicorn's defaults (FORWARDED_ALLOW_IPS=127.0.0.1), a proxy on the same host is believed by uvicorn itself.
    async with serving(admin_settings(tmp_path, sqlite_url)) as base, httpx.AsyncClient(base_url=base) as client:
        local_proxy = await client.get("/health", headers=forwarded)
    assert local_proxy.headers["strict-transport-security"] == HSTS


async def test_the_openapi_pages_are_off_unless_api_docs_turns_them_on(tmp_path: Path, sqlite_url: str) -> None:
    async with serving(admin_settings(tmp_path, sqlite_url)) as base, httpx.AsyncClient(base_url=base) as client:
        off = {path: await client.get(path) for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect")}
    async with serving(admin_settings(tmp_path, sqlite_url, api_docs=True)) as base, httpx.AsyncClient(base_url=base) as client:
        docs, schema = await client.get("/docs"), await client.get("/openapi.json")
    for path, answer in off.items():
        assert answer.status_code == 404 and "/admin" not in answer.text, path
        assert answer.headers["content-security-policy"] == NOTHING_CSP
    assert docs.status_code == 200 and docs.headers["content-security-policy"] == DOCS_CSP
    assert schema.status_code == 200 and "/admin/rounds" in schema.text and schema.headers["x-content-type-options"] == "nosniff"


async def test_a_crash_still_answers_with_the_headers() -> None:
    app = FastAPI()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    install_security_headers(app)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base) as client:
        crashed = await client.get("/boom")
    assert crashed.status_code == 500
    assert crashed.headers["content-security-policy"] == NOTHING_CSP and crashed.headers["x-frame-options"] == "DENY"


def test_settings_read_trusted_proxies_and_api_docs_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", '["10.0.0.5", "192.168.0.0/16"]')
    monkeypatch.setenv("API_DOCS", "true")
    settings = Settings(_env_file=None)
    assert settings.trusted_proxies == ["10.0.0.5", "192.168.0.0/16"] and settings.api_docs is True
