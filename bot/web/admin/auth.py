"""Who may use the admin pages: signed session cookies, CSRF tokens, one-time sign-in links and Slack sign-in.

* A session is a cookie signed with the admin secret (itsdangerous). It carries who signed in, how, when it
  expires, the CSRF token every form must send back, and a random key naming its row in `admin_session`: the
  server's record decides whether the session still lives, so signing out (or out everywhere) ends it for good,
  a copied cookie and its CSRF token included. Admin rights are checked on every request: a Slack
  user is an admin while their ID is in SLACK_ADMIN_IDS; a one-time link (printed by `mentorbot admin-link`
  for whoever runs the server) signs in an admin.
* A one-time link is a signed, expiring token naming a random nonce. Using it writes a row keyed
  `admin-link:<nonce>` into `scheduled_action` (status done, never picked up by the sweep); the unique key makes
  a second use fail, across restarts and across instances sharing the database.
* Slack sign-in is OpenID Connect: redirect to Slack's `openid/connect/authorize`, exchange the code at
  `openid.connect.token`, verify the id_token (RS256 against Slack's published keys; issuer, audience, expiry and
  nonce), then ask `openid.connect.userInfo` for the profile. Every base URL comes from the settings, so tests
  point them at a stand-in on loopback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.errors import UserError
from bot.settings import Settings, secret_in
from storage.db import session_scope
from storage.models import AdminSessionRecord, ScheduledAction

SESSION_COOKIE = "mentorbot_admin"
OIDC_COOKIE = "mentorbot_admin_oidc"
LINK_ACTION_KIND = "admin.link"
LINK_ACCOUNT = "link"  # every one-time-link session belongs to whoever runs the server: one account to sign out
ENDED_RECORDS_KEPT = timedelta(days=7)  # ended or expired session rows are deleted this long after
SLACK_ISSUER = "https://slack.com"
SLACK_USER_CLAIM = "https://slack.com/user_id"
SLACK_TEAM_CLAIM = "https://slack.com/team_id"
OIDC_STATE_SECONDS = 600


class AuthError(UserError):
    """Sign-in did not work; the message is safe to show the person trying."""


# --- the secret --------------------------------------------------------------------------------


def admin_secret(settings: Settings) -> str:
    """ADMIN_SECRET, or a random secret kept in DATA_DIR/admin-secret (made on first use, readable by the owner only).

    `mentorbot admin-link` and `mentorbot serve` share it through that file when they share DATA_DIR; instances
    on different machines need ADMIN_SECRET set to the same value.
    """
    return settings.admin_secret or secret_in(settings.data_dir, "admin-secret", setting="ADMIN_SECRET")


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"mentorbot.admin.{purpose}")


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


# --- sessions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminSession:
    """A signed-in person, as the session cookie says (whether it still lives is the server's record's to say)."""

    subject: str  # Slack user ID, or "link:<nonce>" for a one-time link
    name: str
    via: str  # slack | link
    csrf: str
    expires_at: int
    flash: str | None = None
    key: str = ""  # names the session's row in admin_session (stored there only as its SHA-256)

    @property
    def account(self) -> str:
        """Whose sessions "sign out everywhere" ends: the Slack user, or everyone signed in by one-time links."""
        return self.subject if self.via == "slack" else LINK_ACCOUNT

    def as_payload(self) -> dict[str, Any]:
        return {
            "sub": self.subject, "name": self.name, "via": self.via, "csrf": self.csrf, "exp": self.expires_at,
            "flash": self.flash, "sid": self.key,
        }  # fmt: skip

    def with_flash(self, flash: str | None) -> AdminSession:
        """The same session carrying a one-time message."""
        return replace(self, flash=flash)


def new_session(*, subject: str, name: str, via: str, now: datetime, hours: float) -> AdminSession:
    """A fresh session with its own CSRF token and key (`record_session` makes it live)."""
    return AdminSession(
        subject=subject, name=name, via=via, csrf=secrets.token_urlsafe(32), expires_at=_stamp(now + timedelta(hours=hours)),
        key=secrets.token_urlsafe(32),
    )  # fmt: skip


def dump_session(secret: str, session: AdminSession) -> str:
    """The cookie value for a session."""
    return _serializer(secret, "session").dumps(session.as_payload())


def load_session(secret: str, value: str | None, *, now: datetime) -> AdminSession | None:
    """The session a cookie carries, or None when it is missing, forged, malformed, keyless or expired.

    Only the cookie is read here; `session_is_live` asks the server's record whether it was ended."""
    if not value:
        return None
    try:
        data = _serializer(secret, "session").loads(value)
        session = AdminSession(
            subject=str(data["sub"]), name=str(data["name"]), via=str(data["via"]), csrf=str(data["csrf"]),
            expires_at=int(data["exp"]), flash=data.get("flash"), key=str(data["sid"]),
        )  # fmt: skip
    except (BadSignature, KeyError, TypeError, ValueError):
        return None  # a cookie from before server-side sessions has no "sid": its holder signs in again
    if session.via not in ("slack", "link") or session.expires_at <= _stamp(now) or len(session.key) < 32:
        return None
    return session


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def record_session(engine: Engine, session: AdminSession, *, now: datetime) -> None:
    """Make a new session live on the server; rows ended or expired over a week ago are cleared on the way."""
    with session_scope(engine) as db:
        db.execute(sa.delete(AdminSessionRecord).where(AdminSessionRecord.expires_at < now - ENDED_RECORDS_KEPT))
        db.execute(sa.delete(AdminSessionRecord).where(AdminSessionRecord.ended_at < now - ENDED_RECORDS_KEPT))
        db.add(
            AdminSessionRecord(
                key_hash=_key_hash(session.key), account=session.account, via=session.via, created_at=now,
                expires_at=datetime.fromtimestamp(session.expires_at, timezone.utc),
            )
        )  # fmt: skip


def session_is_live(engine: Engine, session: AdminSession, *, now: datetime) -> bool:
    """True while the server's record of this session exists, belongs to its account, is not ended and not expired."""
    with session_scope(engine) as db:
        record = db.exec(select(AdminSessionRecord).where(AdminSessionRecord.key_hash == _key_hash(session.key))).first()
        return (
            record is not None and record.ended_at is None and record.account == session.account
            and record.via == session.via and utc(record.expires_at) > now
        )  # fmt: skip


def end_session(engine: Engine, session: AdminSession, *, now: datetime) -> int:
    """Sign this one session out; returns how many live sessions that ended (0 or 1)."""
    with session_scope(engine) as db:
        ended = db.execute(
            sa.update(AdminSessionRecord)
            .where(AdminSessionRecord.key_hash == _key_hash(session.key), AdminSessionRecord.ended_at.is_(None))
            .values(ended_at=now, ended_why="signed out")
        )
        return ended.rowcount or 0


def end_every_session(engine: Engine, session: AdminSession, *, now: datetime) -> int:
    """Sign out everywhere: end every live session of this session's account (this one too); returns how many."""
    with session_scope(engine) as db:
        ended = db.execute(
            sa.update(AdminSessionRecord)
            .where(AdminSessionRecord.account == session.account, AdminSessionRecord.ended_at.is_(None), AdminSessionRecord.expires_at > now)
            .values(ended_at=now, ended_why="signed out everywhere")
        )
        return ended.rowcount or 0


def is_admin(session: AdminSession, settings: Settings) -> bool:
    """Admin rights, checked on every request: a one-time link signs in an admin; Slack users must be listed."""
    if session.via == "link":
        return True
    return session.subject in settings.slack_admin_ids


def csrf_matches(session: AdminSession, token: str | None) -> bool:
    """True when a form's token is the session's."""
    return bool(token) and hmac.compare_digest(session.csrf.encode(), str(token).encode())


# --- one-time sign-in links --------------------------------------------------------------------


@dataclass(frozen=True)
class SignInLink:
    url: str
    token: str
    expires_at: datetime


def make_sign_in_link(settings: Settings, *, now: datetime, minutes: int | None = None) -> SignInLink:
    """A signed link that signs in one admin, once, within `minutes` (default ADMIN_LINK_MINUTES)."""
    minutes = settings.admin_link_minutes if minutes is None else minutes
    expires = now + timedelta(minutes=minutes)
    token = _serializer(admin_secret(settings), "link").dumps({"n": secrets.token_urlsafe(18), "exp": _stamp(expires)})
    return SignInLink(url=f"{settings.public_base_url.rstrip('/')}/admin/link/{token}", token=token, expires_at=expires)


def read_link(secret: str, token: str, *, now: datetime) -> str:
    """The nonce of a valid, unexpired link token; AuthError otherwise (use is checked by `consume_link`)."""
    try:
        data = _serializer(secret, "link").loads(token)
        nonce, expires = str(data["n"]), int(data["exp"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise AuthError("This sign-in link is not valid. Print a new one with `mentorbot admin-link`.") from None
    if expires <= _stamp(now):
        raise AuthError("This sign-in link has expired. Print a new one with `mentorbot admin-link`.")
    return nonce


def consume_link(engine: Engine, *, nonce: str, now: datetime) -> None:
    """Record the link's use; AuthError when it was used before (the unique key decides, even between instances)."""
    try:
        with session_scope(engine) as session:
            session.add(
                ScheduledAction(
                    idempotency_key=f"admin-link:{nonce}", kind=LINK_ACTION_KIND, due_at=now, status="done",
                    result="admin signed in with a one-time link", done_at=now,
                )
            )  # fmt: skip
    except sa.exc.IntegrityError:
        raise AuthError("This sign-in link has been used already. Print a new one with `mentorbot admin-link`.") from None


# --- Slack OpenID Connect ----------------------------------------------------------------------


@dataclass(frozen=True)
class OidcStart:
    redirect_to: str
    cookie: str


@dataclass(frozen=True)
class SlackIdentity:
    user_id: str
    team_id: str | None
    name: str
    email: str | None


def redirect_uri(settings: Settings) -> str:
    """Where Slack sends people back; register it in the Slack app's OAuth settings."""
    return f"{settings.public_base_url.rstrip('/')}/admin/auth/slack/callback"


def start_slack_sign_in(settings: Settings, *, now: datetime, next_path: str = "/admin") -> OidcStart:
    """The authorize URL to send the browser to, and the signed cookie holding its state and nonce."""
    if not settings.slack_client_id or not settings.slack_client_secret:
        raise AuthError("Slack sign-in is not set up: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    params = {
        "response_type": "code",
        "scope": "openid profile email",
        "client_id": settings.slack_client_id,
        "state": state,
        "nonce": nonce,
        "redirect_uri": redirect_uri(settings),
    }
    if settings.slack_team_id:
        params["team"] = settings.slack_team_id
    cookie = _serializer(admin_secret(settings), "oidc").dumps(
        {"state": state, "nonce": nonce, "next": safe_next(next_path), "exp": _stamp(now) + OIDC_STATE_SECONDS}
    )
    return OidcStart(redirect_to=f"{settings.slack_oidc_url.rstrip('/')}/authorize?{urlencode(params)}", cookie=cookie)


def safe_next(path: str | None) -> str:
    """Only paths inside the admin pages are followed after sign-in (no open redirect)."""
    if not path or not path.startswith("/admin") or path.startswith("//") or "\\" in path or "\n" in path or "\r" in path:
        return "/admin"
    return path


class JwksCache:
    """Slack's signing keys, fetched on first use and again when a token names a key we have not seen."""

    def __init__(self, ttl_seconds: float = 3600) -> None:
        self.ttl = ttl_seconds
        self._keys: jwt.PyJWKSet | None = None
        self._fetched = 0.0
        self._lock = threading.Lock()

    def key_for(self, client: httpx.Client, url: str, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            fresh = self._keys is not None and time.monotonic() - self._fetched < self.ttl
            found = self._find(kid) if fresh else None
            if found is None:
                self._fetch(client, url)
                found = self._find(kid)
            if found is None:
                raise AuthError("Slack's answer was signed with a key Slack does not publish; sign-in refused.")
            return found

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if self._keys is None:
            return None
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key
        return None

    def _fetch(self, client: httpx.Client, url: str) -> None:
        try:
            response = client.get(url)
            response.raise_for_status()
            self._keys = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            raise AuthError(f"Could not read Slack's signing keys ({type(exc).__name__}); try again in a minute.") from None
        self._fetched = time.monotonic()


def finish_slack_sign_in(
    settings: Settings,
    *,
    code: str,
    state: str,
    cookie: str | None,
    now: datetime,
    jwks: JwksCache,
    client: httpx.Client,
) -> tuple[SlackIdentity, str]:
    """Check the state, exchange the code, verify the id_token and read the profile; returns who and where to go."""
    secret = admin_secret(settings)
    try:
        saved = _serializer(secret, "oidc").loads(cookie or "")
    except BadSignature:
        raise AuthError("Your sign-in took a wrong turn (the browser lost its sign-in cookie). Please start again.") from None
    if int(saved.get("exp", 0)) <= _stamp(now):
        raise AuthError("Your sign-in took too long. Please start again.")
    if not hmac.compare_digest(str(saved.get("state", "")), state or ""):
        raise AuthError("This sign-in answer does not belong to the sign-in you started. Please start again.")
    api = settings.slack_api_url.rstrip("/") + "/"
    try:
        answer = client.post(
            api + "openid.connect.token",
            data={
                "client_id": settings.slack_client_id,
                "client_secret": settings.slack_client_secret,
                "code": code,
                "redirect_uri": redirect_uri(settings),
                "grant_type": "authorization_code",
            },
        )
        body = answer.json()
    except (httpx.HTTPError, json.JSONDecodeError, ValueError):
        raise AuthError("Slack did not answer the sign-in; try again in a minute.") from None
    if not body.get("ok") or not body.get("id_token"):
        raise AuthError(f"Slack refused the sign-in ({body.get('error', 'no id_token')}). Please start again.")
    claims = verify_id_token(settings, body["id_token"], nonce=str(saved.get("nonce", "")), now=now, jwks=jwks, client=client)
    user_id = str(claims.get(SLACK_USER_CLAIM) or claims.get("sub") or "")
    team_id = claims.get(SLACK_TEAM_CLAIM)
    if not user_id:
        raise AuthError("Slack's answer did not say who you are; sign-in refused.")
    if settings.slack_team_id and team_id != settings.slack_team_id:
        raise AuthError("You signed in to a different Slack workspace than this program's. Pick the program's workspace.")
    name, email = str(claims.get("name") or ""), claims.get("email")
    if body.get("access_token"):
        profile = _user_info(client, api, body["access_token"])
        if profile is not None:
            if str(profile.get(SLACK_USER_CLAIM) or profile.get("sub") or user_id) != user_id:
                raise AuthError("Slack's profile answer names someone else; sign-in refused.")
            name = str(profile.get("name") or name)
            email = profile.get("email") or email
    return SlackIdentity(user_id=user_id, team_id=team_id, name=name or user_id, email=email), safe_next(saved.get("next"))


def verify_id_token(settings: Settings, token: str, *, nonce: str, now: datetime, jwks: JwksCache, client: httpx.Client) -> dict[str, Any]:
    """The id_token's claims once its signature, issuer, audience, times and nonce check out; AuthError otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("Slack's answer was not a readable sign-in token; sign-in refused.") from None
    if header.get("alg") != "RS256":
        raise AuthError("Slack's sign-in token is not signed the way Slack signs them; sign-in refused.")
    key = jwks.key_for(client, settings.slack_oidc_url.rstrip("/") + "/keys", header.get("kid"))
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=["RS256"],
            audience=settings.slack_client_id,
            issuer=SLACK_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"Slack's sign-in token did not check out ({exc}); sign-in refused.") from None
    # Times are checked against the app's clock (tests pass their own), with a minute of leeway.
    stamp = _stamp(now)
    if int(claims["exp"]) < stamp - 60 or int(claims["iat"]) > stamp + 60:
        raise AuthError("Slack's sign-in token is out of date; please start again.")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise AuthError("Slack's sign-in token was made for another sign-in; please start again.")
    return claims


def _user_info(client: httpx.Client, api: str, access_token: str) -> dict[str, Any] | None:
    try:
        body = client.post(api + "openid.connect.userInfo", headers={"Authorization": f"Bearer {access_token}"}).json()
    except (httpx.HTTPError, ValueError):
        return None  # the verified id_token already says who this is; the profile only adds a name
    return body if body.get("ok") else None


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
