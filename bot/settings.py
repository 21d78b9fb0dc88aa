"""One settings object for the whole app, read from the environment and `.env`, then passed in."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".mentorbot")


class Settings(BaseSettings):
    """Every knob mentorbot reads; docs/settings.md is generated from it (python -m bot.settings_doc)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Folder for the SQLite file and the demo database.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is a SQLite file in DATA_DIR. "
        "Use postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    program_name: str = Field("District Mentoring", description="Name of the mentoring program the CLI works on.")
    default_timezone: str = Field("America/Los_Angeles", description="IANA zone for roster rows without one.")
    session_minutes: int = Field(30, ge=5, le=240, description="Length of one mentoring session (minimal-match rule 4).")
    require_principal_approval: bool = Field(True, description="Mentors join the pool only after their principal approves.")
    http_host: str = Field("127.0.0.1", description="Address `mentorbot serve` listens on.")
    http_port: int = Field(8000, ge=0, le=65535, description="Port `mentorbot serve` listens on.")
    http_workers: int = Field(1, ge=1, le=32, description="Worker processes `mentorbot serve` runs (one scheduler leads); use more on a machine with more cores.")
    scheduler_enabled: bool = Field(True, description="Run the scheduler inside `mentorbot serve`.")
    sweep_seconds: int = Field(30, ge=1, description="How often the scheduler sweeps for due actions.")
    leader_seconds: int = Field(15, ge=1, description="How often a standby process tries to take over the scheduler.")
    outbox_seconds: float = Field(2.0, gt=0, description="How often the outbox worker sends what is due.")
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Address people reach the app at (links to guides, unsubscribe, admin sign-in); "
        "unset = http://HTTP_HOST:HTTP_PORT, the address `mentorbot serve` listens on.",
    )

    # --- Slack -----------------------------------------------------------------------------------
    slack_bot_token: str | None = Field(None, description="xoxb- token; unset = Slack disabled.")
    slack_signing_secret: str | None = Field(None, description="Verifies requests from Slack.")
    slack_app_token: str | None = Field(None, description="xapp- token; set = Socket Mode instead of HTTP.")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (tests point it at a stand-in).")
    slack_handlers: Literal["inline", "process"] = Field(
        "inline",
        description="Where Slack requests kept in the inbox are handled after their ack: in the web process, or in a "
        "separate lower-priority process so acks never wait behind that work (`mentorbot serve` over HTTP uses process).",
    )
    slack_max_body_kb: int = Field(
        1024, ge=16, le=64 * 1024, description="Largest request body POST /slack/events reads, in KiB; Slack's own are a few KiB. A bigger one is refused (413) unread."
    )
    slack_admin_ids: list[str] = Field(
        default_factory=list, description='Slack user IDs allowed to run /mentoring admin commands, e.g. ["U012ABCDEF"].'
    )

    # --- Email -----------------------------------------------------------------------------------
    smtp_host: str | None = Field(None, description="Outgoing mail server; unset = local mail sink in DATA_DIR/mail.")
    smtp_port: int = Field(587, description="Outgoing mail server port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field("starttls", description="How to secure the SMTP connection.")
    smtp_username: str | None = Field(None, description="SMTP login.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    mail_from: str = Field("mentorbot@localhost", description="From address of outgoing mail.")
    reply_domain: str = Field("localhost", description="Domain of the reply addresses that carry each person's signed token.")
    email_token_secret: str | None = Field(
        None,
        description="Signs reply-address, unsubscribe and guide-link tokens; unset = a random secret kept in DATA_DIR/email-token-secret.",
    )
    email_reply_token_days: int = Field(60, ge=1, le=3650, description="Days a reply address keeps working after its email is sent.")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the mail server at each step.")
    smtp_max_connections: int = Field(4, ge=1, le=64, description="SMTP connections kept open and used at once.")
    email_resend_unconfirmed_minutes: int = Field(
        10, ge=0, le=1440,
        description="Minutes after an unconfirmed SMTP hand-over (the worker killed, or the server silent, after the final '.') before the email is sent once more with the same Message-ID; 0 = never, an admin decides.",
    )  # fmt: skip
    imap_host: str | None = Field(None, description="Mailbox that receives replies, polled over IMAP; unset = no polling.")
    imap_port: int = Field(993, ge=1, le=65535, description="IMAP port.")
    imap_security: Literal["ssl", "none"] = Field("ssl", description="IMAP over TLS (ssl) or plain (none, loopback only).")
    imap_username: str | None = Field(None, description="IMAP login.")
    imap_password: str | None = Field(None, description="IMAP password.")
    imap_folder: str = Field("INBOX", description="IMAP folder to read replies from.")
    imap_poll_seconds: float = Field(30.0, gt=0, description="How often to poll the IMAP mailbox.")
    imap_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the IMAP server at each step.")
    mailgun_signing_key: str | None = Field(None, description="Mailgun HTTP webhook signing key; enables POST /email/inbound for Mailgun routes.")
    sendgrid_inbound_key: str | None = Field(
        None, description="Secret in the SendGrid Inbound Parse URL (/email/inbound?key=…) or an X-Mentorbot-Key / Authorization: Bearer header; enables SendGrid posts."
    )
    inbound_max_mb: float = Field(
        25.0, gt=0, le=200, description="Largest inbound email (webhook post or IMAP message) read, in MB; a bigger one is refused unread."
    )
    inbound_max_parts: int = Field(500, ge=10, le=100_000, description="Most MIME parts an inbound email may have; more is refused before parsing.")
    inbound_max_depth: int = Field(20, ge=3, le=200, description="Deepest nesting of multiparts an inbound email may have; deeper is refused before parsing.")
    inbound_authserv_id: str | None = Field(
        None,
        description="Name our receiving mail server writes in the Authentication-Results header it adds (e.g. mx.district.example); "
        "set = results from any other server are ignored. Unset = the topmost such header is taken as ours.",
    )
    http_max_body_kb: int = Field(
        1024, ge=16, le=1024 * 1024,
        description="Largest request body any other address reads, in KiB (the email webhook and roster upload have their own limits); a bigger one is refused (413) unread.",
    )
    log_level: str = Field("INFO", description="Logging level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="text: one readable line per record; json: one JSON object per line (time, level, logger, message, request_id or job_id)."
    )
    metrics_token: str | None = Field(
        None, description="Bearer token /metrics asks for (Authorization: Bearer …); unset = /metrics answers anyone who can reach it (counts only, no names)."
    )
    api_docs: bool = Field(False, description="Serve /docs, /redoc and /openapi.json (they list every route); off unless set.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description='Proxies (addresses or networks, "*" for any) whose X-Forwarded-Proto: https is believed, so responses carry HSTS; '
        'e.g. ["10.0.0.5"]. uvicorn already believes FORWARDED_ALLOW_IPS (default 127.0.0.1).',
    )

    # --- Admin pages -----------------------------------------------------------------------------
    slack_client_id: str | None = Field(None, description="Slack app client ID for admin sign-in with Slack (OpenID Connect).")
    slack_client_secret: str | None = Field(None, description="Slack app client secret for admin sign-in with Slack.")
    slack_oidc_url: str = Field(
        "https://slack.com/openid/connect/", description="Base URL of Slack's OpenID Connect authorize page and keys (tests point it at a stand-in)."
    )
    slack_team_id: str | None = Field(None, description="Slack workspace ID (T…) admins must sign in with; unset = any workspace.")
    admin_secret: str | None = Field(
        None, description="Signs admin sessions and one-time sign-in links; unset = a random secret kept in DATA_DIR/admin-secret. Set the same value on every instance."
    )
    admin_session_hours: float = Field(12.0, gt=0, le=24 * 30, description="How long an admin stays signed in.")
    admin_link_minutes: int = Field(15, ge=1, le=24 * 60, description="How long a `mentorbot admin-link` link works (once).")
    admin_upload_mb: int = Field(20, ge=1, le=500, description="Largest roster file the admin pages accept, in MB.")

    @model_validator(mode="after")
    def _base_url_follows_the_port(self) -> Settings:
        # Unset, the public address is the one the server listens on: one source of truth for the served address,
        # so links never name port 8000 while the server runs on HTTP_PORT=8080. (Kept out of model_fields_set, so
        # `mentorbot serve --port` can tell it was not set by hand.)
        if "public_base_url" not in self.model_fields_set:
            self.__dict__["public_base_url"] = served_base_url(self.http_host, self.http_port)
        return self

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as America/Los_Angeles") from exc
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL in force: DATABASE_URL, or the SQLite file inside DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mentorbot.db').as_posix()}"

    @property
    def token_secret(self) -> str:
        """EMAIL_TOKEN_SECRET, or the random secret kept in DATA_DIR (instances on different machines must set it alike)."""
        return self.email_token_secret or secret_in(self.data_dir, "email-token-secret", setting="EMAIL_TOKEN_SECRET")

    @property
    def slack_enabled(self) -> bool:
        """Slack runs only when a bot token and a signing secret are both set."""
        return bool(self.slack_bot_token and self.slack_signing_secret)


SERVED_AT = "served-at.json"  # in DATA_DIR: where a running `mentorbot serve` listens, for `mentorbot admin-link`


def served_base_url(host: str, port: int) -> str:
    """The URL of a server listening on `host:port` as a browser on this machine reaches it."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}"


def serving_settings(settings: Settings, *, host: str, port: int) -> Settings:
    """The settings of a server listening on `host:port` (`mentorbot serve --host/--port`): an unset public
    address follows the port actually served."""
    update: dict[str, object] = {"http_host": host, "http_port": port}
    if "public_base_url" not in settings.model_fields_set:
        update["public_base_url"] = served_base_url(host, port)
    served = settings.model_copy(update=update)
    served.__pydantic_fields_set__ = set(settings.model_fields_set)  # model_copy marks the update as set by hand
    return served


def record_served_address(settings: Settings) -> Path:
    """Note in DATA_DIR the address this server is reached at, and its process, for other commands (admin-link)."""
    path = Path(settings.data_dir) / SERVED_AT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": settings.public_base_url, "pid": os.getpid()}), encoding="utf-8")
    return path


def forget_served_address(settings: Settings) -> None:
    """Remove this server's note (only its own: another server may have started on the same DATA_DIR since)."""
    path = Path(settings.data_dir) / SERVED_AT
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_base_url(settings: Settings) -> str:
    """The address of the server that shares this DATA_DIR: PUBLIC_BASE_URL when set; else the address a running
    `mentorbot serve` noted (it may have been started with --port); else http://HTTP_HOST:HTTP_PORT."""
    if "public_base_url" in settings.model_fields_set:
        return settings.public_base_url
    try:
        noted = json.loads((Path(settings.data_dir) / SERVED_AT).read_text(encoding="utf-8"))
        os.kill(int(noted["pid"]), 0)  # still running? (signal 0 only checks)
        return str(noted["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return settings.public_base_url


def secret_in(data_dir: Path, name: str, *, setting: str) -> str:
    """A random secret kept in DATA_DIR/<name>, made on first use and readable by the owner only.

    Processes that share DATA_DIR (`mentorbot serve` and the CLI) share the secret through the file; a secret that
    only lives in memory would make every reply address and link invalid after a restart.
    """
    path = Path(data_dir) / name
    try:
        return _read_secret(path, setting)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return _read_secret(path, setting)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _read_secret(path, setting)


def _read_secret(path: Path, setting: str) -> str:
    for _ in range(50):  # a writer that just created the file may not have written it yet
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty; delete it or set {setting}")
