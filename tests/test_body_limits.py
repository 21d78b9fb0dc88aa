"""Hostile requests at the HTTP edge: bodies too big for their route are refused while they stream in, before any
route reads, parses or authenticates them (bot.web.limits), and malformed Slack requests get 400/401, never a 500.

Each attack goes over real HTTP into the served app. The memory figures are this process's (the app is served in it):
its peak resident size is reset before each attack and read after. The same attacks at 800 MB against a separate
server process are in tests/reliability/test_body_limits_big.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from bot.slack.router import readable_by_bolt, signed_by_slack
from bot.web.limits import BodyLimits, body_limits
from tests.adminkit import admin_settings, serving, sign_in_with_link
from tests.bodykit import MIB, memory_of, reset_peak, stream_post
from tests.slack_helpers import SECRET, signature, slack_harness

ATTACK = 64 * MIB  # enough that holding it would show plainly; sent lazily, so the client holds 1 MiB at a time
HELD_AT_MOST = 24 * MIB  # what the serving process's peak may grow by while refusing one (it was 2x the body before)
FILE_PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="roster.csv"\r\nContent-Type: text/csv\r\n\r\n'
MULTIPART = {"Content-Type": "multipart/form-data; boundary=b"}


def _signed(body: bytes, *, secret: str = SECRET, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    mac = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac}


def _no_tracebacks(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> None:
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in ASGI application" not in err, err[-3000:]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def _refused_lean(base: str, path: str, *, prefix: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, object]:
    """Send ATTACK bytes three ways (declared and waiting for 100 Continue as curl does, declared and sent at once,
    chunked) and check each is refused early with little read and nothing held; returns the figures."""
    figures: dict[str, object] = {}
    for way in ("expect", "declared", "chunked"):
        await asyncio.sleep(0.05)
        reset_peak()
        before, _ = memory_of()
        sent = await stream_post(base, path, size=ATTACK, prefix=prefix, chunked=way == "chunked", expect_continue=way == "expect", headers=headers)
        _, peak = memory_of()
        figures[way] = {"status": sent.status, "ms": round(sent.seconds * 1000, 1), "client_sent_mb": round(sent.bytes_sent / MIB, 1), "peak_growth_mb": round((peak - before) / MIB, 1)}
        if way == "expect":  # the refusal comes before the body is asked for: not a byte of it sent
            assert (sent.status, sent.bytes_sent) == (413, 0), figures
            assert b"too large" in sent.body
        else:  # a client that sends without waiting may see its connection closed under it instead of the 413
            assert sent.status in (413, None), figures
        assert sent.bytes_sent < ATTACK // 2, figures  # refused long before the end
        assert peak - before < HELD_AT_MOST, figures
        assert sent.seconds < 5, figures
    return figures


def test_each_route_has_its_limit() -> None:
    settings = Settings(_env_file=None, inbound_max_mb=3, admin_upload_mb=7, slack_max_body_kb=256, http_max_body_kb=64)
    limits = body_limits(settings)
    assert limits.limit_for("/slack/events") == 256 * 1024
    assert limits.limit_for("/email/inbound") == 6 * MIB  # the webhook answers 3-6 MB posts itself, in words providers don't retry
    assert limits.limit_for("/admin/roster") == 7 * MIB + 64 * 1024
    assert limits.limit_for("/admin/roster/") == limits.limit_for("/admin/roster")
    assert limits.limit_for("/admin/roster/confirm") == limits.limit_for("/email/unsubscribe/abc") == 64 * 1024
    assert BodyLimits(default=5).limit_for("/") == 5


async def test_a_huge_unsigned_post_to_slack_is_refused_unread_and_nothing_is_held(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    async with slack_harness(tmp_path, sqlite_url) as h:
        figures = await _refused_lean(h.url, "/slack/events", headers={"Content-Type": "application/json"})
        # Under the limit, a streamed (chunked) body passes through whole: a signed event sent that way is acknowledged.
        event = json.dumps({"type": "event_callback", "event_id": "Ev0CHUNKED1", "event": {"type": "app_home_opened", "user": "UBEN00001", "tab": "home"}}).encode()

        async def pieces():
            for start in range(0, len(event), 7):
                yield event[start : start + 7]

        async with httpx.AsyncClient(base_url=h.url) as client:
            chunked = await client.post("/slack/events", content=pieces(), headers={"Content-Type": "application/json", **_signed(event)})
            just_over = await client.post("/slack/events", content=b"{" + b" " * (1024 * 1024) + b"}", headers={"Content-Type": "application/json"})
        assert chunked.status_code == 200
        assert just_over.status_code == 413 and just_over.text.startswith("Request body too large")
    _no_tracebacks(caplog, capfd)
    print(f"POST /slack/events, {ATTACK // MIB} MiB: {figures}")


async def test_the_email_webhook_and_an_unsigned_roster_upload_are_cut_off_as_they_stream(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = admin_settings(tmp_path, sqlite_url, inbound_max_mb=1, admin_upload_mb=1, sendgrid_inbound_key="sg-key", mailgun_signing_key="mg-key")
    async with serving(settings) as base:
        roster = await _refused_lean(base, "/admin/roster", prefix=FILE_PART, headers=MULTIPART)  # no session at all
        email = await _refused_lean(base, "/email/inbound", prefix=FILE_PART, headers=MULTIPART)  # Mailgun's path: signed inside the body
        other = await _refused_lean(base, "/admin/link", headers={"Content-Type": "application/x-www-form-urlencoded"})  # the sign-in form
        async with httpx.AsyncClient(base_url=base) as client:
            # Over ADMIN_UPLOAD_MB but within the form allowance: the signed-in admin gets the roster page's own answer.
            token = await sign_in_with_link(client, settings, now=datetime.now(UTC))
            too_big_file = await client.post("/admin/roster", data={"csrf_token": token}, files={"file": ("roster.csv", b"email,name,role\n" + b"x" * (MIB + 10), "text/csv")})
        assert too_big_file.status_code == 400 and "ADMIN_UPLOAD_MB" in too_big_file.text
    _no_tracebacks(caplog, capfd)
    print(f"POST /admin/roster (no session), {ATTACK // MIB} MiB: {roster}")
    print(f"POST /email/inbound, {ATTACK // MIB} MiB: {email}")
    print(f"POST /admin/link, {ATTACK // MIB} MiB: {other}")


def test_the_signature_check_never_raises_and_takes_only_fresh_v0_signatures() -> None:
    secret, body, now = SECRET.encode(), b'{"type":"event_callback"}', time.time()
    good = _signed(body)
    lower = {k.lower(): v for k, v in good.items()}
    assert signed_by_slack(secret, body, lower, now=now)
    assert not signed_by_slack(secret, body + b" ", lower, now=now)
    assert not signed_by_slack(b"other-secret", body, lower, now=now)
    assert not signed_by_slack(b"", body, lower, now=now)  # no secret set: nothing is signed
    assert not signed_by_slack(secret, body, lower, now=now + 301)  # a replay six minutes on
    for timestamp in ("", "abc", "1e10", "nan", " 1", "-1", "9" * 5000, "１２３"):
        assert not signed_by_slack(secret, body, {**lower, "x-slack-request-timestamp": timestamp}, now=now), timestamp
    for sig in ("", "v0=", "v1=" + "0" * 64, "v0=" + "g" * 64, "v0=" + "a" * 1_000_000, lower["x-slack-signature"].upper()):
        assert not signed_by_slack(secret, body, {**lower, "x-slack-signature": sig}, now=now)
    assert not signed_by_slack(secret, b"\xff\xfe{", {}, now=now)
    assert readable_by_bolt(b'{"type":"url_verification","challenge":"x"}', "application/json")
    for bad, content_type in ((b"not json{", "application/json"), (b"[1,2]", "application/json"), (b'"x"', "application/json"), (b"payload=%7Bx", "application/x-www-form-urlencoded"), (b"\xff\xfe", "application/json")):
        assert not readable_by_bolt(bad, content_type), bad


async def _fresh_post(base: str, headers: dict[str, str]) -> int | None:
    """The status, or None when the server closed the connection instead (it may, on headers it refuses)."""
    async with httpx.AsyncClient(base_url=base) as client:
        try:
            return (await client.post("/slack/events", content=b"{}", headers=headers)).status_code
        except httpx.TransportError:
            return None


async def test_malformed_slack_requests_get_400_or_401_never_a_500(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    json_type, form_type = {"Content-Type": "application/json"}, {"Content-Type": "application/x-www-form-urlencoded"}
    stamp_only = {"X-Slack-Signature": "v0=" + "0" * 64}
    unsigned = {  # each of these raised in Bolt's own check or parsing before: a 500 with a traceback that Slack retries
        "non-JSON sent as JSON": (b"not json{", json_type),
        "payload=%7Bx": (b"payload=%7Bx", form_type),
        "non-numeric timestamp": (b"{}", {**json_type, **stamp_only, "X-Slack-Request-Timestamp": "abc"}),
        "timestamp 1e10": (b"{}", {**json_type, **stamp_only, "X-Slack-Request-Timestamp": "1e10"}),
        "5,000-digit timestamp": (b"{}", {**json_type, **stamp_only, "X-Slack-Request-Timestamp": "9" * 5000}),
        "non-numeric timestamp, form": (b"payload=%7Bx", {**form_type, **stamp_only, "X-Slack-Request-Timestamp": "soon"}),
        "no headers at all": (b"", {}),
        "signature but no timestamp": (b"{}", stamp_only),
        "not UTF-8": (b"\xff\xfe{", json_type),
        "wrong secret": (b"{}", {**json_type, **_signed(b"{}", secret="not-the-secret")}),
    }
    signed = {  # only whoever holds the signing secret can send these; still not a 500
        "non-JSON sent as JSON": b"not json{",
        "a JSON list": b"[1,2]",
        "a JSON string": b'"x"',
        "not UTF-8": b"\xff\xfe{",
    }
    async with slack_harness(tmp_path, sqlite_url) as h, httpx.AsyncClient(base_url=h.url) as client:
        answers = {name: (await client.post("/slack/events", content=body, headers=headers)).status_code for name, (body, headers) in unsigned.items()}
        answers |= {f"signed {name}": (await client.post("/slack/events", content=body, headers={**json_type, **_signed(body)})).status_code for name, body in signed.items()}
        broken_payload = await client.post("/slack/events", content=b"payload=%7Bx", headers={**form_type, **_signed(b"payload=%7Bx")})
        still_works = await client.post("/slack/events", content=b'{"type":"url_verification","challenge":"c1"}', headers={**json_type, **signature('{"type":"url_verification","challenge":"c1"}')})
        huge_header = await _fresh_post(h.url, {**json_type, "X-Slack-Signature": "v0=" + "a" * 1_000_000})
        many_headers = await _fresh_post(h.url, {**json_type, **{f"X-Filler-{i}": "v" for i in range(10_000)}})
    assert answers == {**{name: 401 for name in unsigned}, **{f"signed {name}": 400 for name in signed}}
    assert broken_payload.status_code == 200  # signed, so Slack's: acknowledged and dropped as unreadable, as before
    assert huge_header in (400, None)  # the HTTP server refuses a header over 16 KiB before the app sees it
    assert many_headers in (400, 401, None)  # the server's 16 KiB cap, or unsigned: as the bytes happen to arrive
    assert still_works.status_code == 200 and still_works.json() == {"challenge": "c1"}
    _no_tracebacks(caplog, capfd)
