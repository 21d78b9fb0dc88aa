"""Nothing secret in a log line: `mentorbot serve` at LOG_LEVEL=INFO, posted to as SendGrid and a browser would,
logs its access lines without the SendGrid key (in the URL, a header or a Bearer token), one-time sign-in link
tokens or guide keys; and the redactor keeps the shape of uvicorn's access records while it scrubs them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import httpx

from bot.settings import Settings
from bot.web.admin import auth
from bot.web.redaction import REDACTED, Redactor, install_log_redaction
from tests.emailkit import free_port
from tests.test_cli import MENTORBOT, ROOT

SENDGRID_KEY = "sg/Inbound+Key=7f3a9c2e5b1d"  # URL-special characters: it appears percent-encoded in a URL
SLACK_CLIENT_SECRET = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SENDGRID_POST = {
    "from": "Ben Ortiz <ben@d.example>", "to": "reply+nothing@reply.district.example", "subject": "Re: hi", "text": "3",
    "envelope": '{"to": ["reply+nothing@reply.district.example"], "from": "ben@d.example"}', "headers": "Message-ID: <sg1@mail.d.example>\n",
}  # fmt: skip


def _serve(tmp_path: Path, port: int) -> tuple[subprocess.Popen, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SENDGRID_", "MAILGUN_")) and k not in ("DATABASE_URL", "DATA_DIR", "PUBLIC_BASE_URL", "HTTP_PORT", "HTTP_HOST", "ADMIN_SECRET", "LOG_LEVEL")}
    env.update({
        "DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), "SCHEDULER_ENABLED": "false", "HTTP_WORKERS": "1", "LOG_LEVEL": "INFO",
        "SENDGRID_INBOUND_KEY": SENDGRID_KEY, "SLACK_CLIENT_ID": "123.456", "SLACK_CLIENT_SECRET": SLACK_CLIENT_SECRET,
    })  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([MENTORBOT, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server, log
        except httpx.HTTPError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.1)


def test_a_served_app_at_info_never_logs_the_sendgrid_key_or_other_secrets(tmp_path: Path) -> None:
    port = free_port()
    server, log = _serve(tmp_path, port)
    try:
        base = f"http://127.0.0.1:{port}"
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", public_base_url=base)
        link = auth.make_sign_in_link(settings, now=datetime.now(timezone.utc))
        with httpx.Client(base_url=base, timeout=30) as client:
            in_url = client.post(f"/email/inbound?key={quote(SENDGRID_KEY, safe='')}", data=SENDGRID_POST)
            in_header = client.post("/email/inbound", data=SENDGRID_POST, headers={"X-Mentorbot-Key": SENDGRID_KEY})
            as_bearer = client.post("/email/inbound", data=SENDGRID_POST, headers={"Authorization": f"Bearer {SENDGRID_KEY}"})
            wrong_header = client.post("/email/inbound", data=SENDGRID_POST, headers={"X-Mentorbot-Key": "not-the-key-at-all"})
            wrong_url = client.post("/email/inbound?key=guess-0123456789", data=SENDGRID_POST)
            no_key = client.post("/email/inbound", data=SENDGRID_POST)
            link_page = client.get(link.url.removeprefix(base))
            guide = client.get("/guides/pairing/1?k=guide-key-0123456789abcdef")
            callback = client.get("/admin/auth/slack/callback?code=oauth-code-0123456789&state=oauth-state-0123456789")
            unsubscribe = client.get("/email/unsubscribe/unsubscribe-token-0123456789")
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = log.read_text(errors="replace")
    for answer in (in_url, in_header, as_bearer):
        assert answer.status_code == 200 and answer.json().get("error") is None, answer.text  # the key was accepted each way
    for answer in (wrong_header, wrong_url, no_key):
        assert answer.status_code == 401, answer.text
    assert link_page.status_code == 200 and guide.status_code == 404 and callback.status_code == 400 and unsubscribe.status_code in (200, 404)
    # The access lines are there (INFO reached the log), with the secrets taken out.
    assert f'"POST /email/inbound?key={REDACTED} HTTP/1.1" 200' in logged, logged
    assert f'"GET /admin/link/{REDACTED} HTTP/1.1" 200' in logged, logged
    assert f"/guides/pairing/1?k={REDACTED}" in logged and f"code={REDACTED}&state={REDACTED}" in logged
    assert f"/email/unsubscribe/{REDACTED}" in logged
    for secret in (SENDGRID_KEY, quote(SENDGRID_KEY, safe=""), quote(SENDGRID_KEY), link.token, "guide-key-0123456789abcdef", "guess-0123456789",
                   "oauth-code-0123456789", "oauth-state-0123456789", "unsubscribe-token-0123456789", SLACK_CLIENT_SECRET):  # fmt: skip
        assert secret not in logged, secret


def test_the_redactor_scrubs_messages_arguments_and_tracebacks_and_keeps_uvicorns_shape(tmp_path: Path) -> None:
    redactor = Redactor()
    redactor.add_secrets(["xoxb-configured-bot-token-123", "smtp-password-very-long", "short", None, ""])
    access = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5555", "POST", "/email/inbound?key=abc123secretvalue&x=1", "1.1", 200), None)  # fmt: skip
    redactor.scrub(access)
    assert access.getMessage() == f'127.0.0.1:5555 - "POST /email/inbound?key={REDACTED}&x=1 HTTP/1.1" 200'
    assert len(access.args) == 5 and access.args[4] == 200  # uvicorn's AccessFormatter unpacks five arguments
    try:
        raise RuntimeError("SMTP login failed with smtp-password-very-long for https://x.example/hook?token=t0k3n-abcdef")
    except RuntimeError:
        failed = logging.LogRecord("bot", logging.ERROR, __file__, 1, "send failed: %s", (sys.exc_info()[1],), sys.exc_info())
    redactor.scrub(failed)
    shown = logging.Formatter().format(failed)
    assert "smtp-password-very-long" not in shown and "t0k3n-abcdef" not in shown and shown.count(REDACTED) >= 4
    texts = {
        "Authorization: Bearer abcdefghijklmnop": f"Authorization: Bearer {REDACTED}",
        "token xoxp-1234-5678-abcdefgh seen": f"token {REDACTED} seen",
        "app token xapp-1-A0123-456-abcdef": f"app token {REDACTED}",
        "a short secret is left in ordinary words": "a short secret is left in ordinary words",
        "idempotency_key=email.reply:abc stays": "idempotency_key=email.reply:abc stays",
        "statement=kept signature=deadbeef01": f"statement=kept signature={REDACTED}",
        "configured xoxb-configured-bot-token-123 anywhere": f"configured {REDACTED} anywhere",
    }
    for text, expected in texts.items():
        assert redactor.redact(text) == expected, text


def test_installing_twice_keeps_one_factory_and_every_apps_secrets(tmp_path: Path) -> None:
    first = Settings(_env_file=None, data_dir=tmp_path / "a", sendgrid_inbound_key="first-app-inbound-key")
    second = Settings(_env_file=None, data_dir=tmp_path / "b", mailgun_signing_key="second-app-signing-key")
    install_log_redaction(first)
    factory = logging.getLogRecordFactory()
    install_log_redaction(second)
    assert logging.getLogRecordFactory() is factory
    record = logging.getLogger("tests.redaction").makeRecord("tests.redaction", logging.INFO, __file__, 1, "%s and %s", ("first-app-inbound-key", "second-app-signing-key"), None)
    assert record.getMessage() == f"{REDACTED} and {REDACTED}"
