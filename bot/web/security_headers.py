"""Security headers on every response the app sends, whatever answered it (a page, a JSON route, a 404, a 500).

A pure ASGI middleware: it adds to each response's start message what the response did not set itself, so the admin
pages keep their own Content-Security-Policy (`bot.web.admin.page.CSP`) and frame options. Each surface gets a
policy suited to it: the printable guide and the unsubscribe page use inline styles and no script at all; JSON routes
(health, Slack, the email webhook) allow nothing; the OpenAPI pages, when API_DOCS turns them on, load FastAPI's
viewer from its CDN. Pages whose URL carries a key (guides, unsubscribe) send no Referer anywhere.

HSTS goes with a response only when its request came over HTTPS: the scheme uvicorn saw (directly, or from a proxy
uvicorn believes, FORWARDED_ALLOW_IPS), or an `X-Forwarded-Proto: https` from a proxy named in TRUSTED_PROXIES.
It wraps the whole app (`install_security_headers`), outside Starlette's error middleware, so a 500 carries them too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from fastapi import FastAPI

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

PATHS_REMEMBERED = 512  # distinct paths whose surface is remembered (the fixed routes; token paths fill it no further)
HSTS = "max-age=31536000"  # a year; no includeSubDomains: a district's other hosts are not ours to decide
NOTHING_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ADMIN_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)  # the admin pages set their own; this covers an /admin address no page answered
GUIDE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
UNSUBSCRIBE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' "
    "https://cdn.jsdelivr.net https://fonts.googleapis.com; font-src https://fonts.gstatic.com; img-src 'self' data: "
    "https://fastapi.tiangolo.com https://cdn.redoc.ly; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'"
)
# (path prefix, Content-Security-Policy, Referrer-Policy), the first prefix that matches decides.
SURFACES: tuple[tuple[str, str, str], ...] = (
    ("/admin", ADMIN_CSP, "same-origin"),
    ("/guides/", GUIDE_CSP, "no-referrer"),
    ("/email/unsubscribe/", UNSUBSCRIBE_CSP, "no-referrer"),
    ("/docs", DOCS_CSP, "no-referrer"),
    ("/redoc", DOCS_CSP, "no-referrer"),
)


def policy_for(path: str, *, docs: bool = False) -> tuple[str, str]:
    """The Content-Security-Policy and Referrer-Policy a response to `path` gets when it sets none itself (the
    OpenAPI pages' looser one only while `docs` serves them)."""
    for prefix, csp, referrer in SURFACES:
        if csp == DOCS_CSP and not docs:
            continue
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return csp, referrer
    return NOTHING_CSP, "no-referrer"


class TrustedProxies:
    """The proxies whose X-Forwarded-Proto is believed: addresses or networks, or "*" for any."""

    def __init__(self, entries: Iterable[str]) -> None:
        entries = [entry.strip() for entry in entries if entry.strip()]
        self.any = "*" in entries
        self.networks = [ipaddress.ip_network(entry, strict=False) for entry in entries if entry != "*"]

    def trusts(self, host: str | None) -> bool:
        if self.any:
            return True
        if not host or not self.networks:  # none listed (the usual case): no address to parse per request
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False  # a unix socket path or a name: not an address listed
        return any(address in network for network in self.networks)


class SecurityHeaders:
    """ASGI middleware: every HTTP response gets CSP, nosniff, Referrer-Policy and frame protection, and HSTS over HTTPS."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str] = (), docs: bool = False) -> None:
        self.app, self.docs = app, docs
        self.proxies = TrustedProxies(trusted_proxies)
        # The headers each surface wants, built once: a request only looks its path's surface up (by a path cache,
        # bounded because token-bearing paths are each new) instead of matching prefixes and encoding every time.
        self._wanted: dict[tuple[str, str, bool], tuple[tuple[bytes, bytes], ...]] = {}
        self._by_path: dict[str, tuple[str, str]] = {}

    def _headers_for(self, path: str, https: bool) -> tuple[tuple[bytes, bytes], ...]:
        policy = self._by_path.get(path)
        if policy is None:
            policy = policy_for(path, docs=self.docs)
            if len(self._by_path) < PATHS_REMEMBERED:
                self._by_path[path] = policy
        key = (*policy, https)
        wanted = self._wanted.get(key)
        if wanted is None:
            csp, referrer = policy
            wanted = (
                (b"content-security-policy", csp.encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", referrer.encode()),
                (b"x-frame-options", b"DENY"),
            ) + (((b"strict-transport-security", HSTS.encode()),) if https else ())
            self._wanted[key] = wanted
        return wanted

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self._headers_for(scope.get("path", ""), self.came_over_https(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def came_over_https(self, scope: Scope) -> bool:
        """True when the browser's connection was HTTPS: the scheme, or a trusted proxy's X-Forwarded-Proto."""
        if scope.get("scheme") == "https":
            return True
        client = scope.get("client")
        if not self.proxies.trusts(client[0] if client else None):
            return False
        for name, value in scope.get("headers", []):
            if name.lower() == b"x-forwarded-proto":
                return value.decode("latin-1").split(",")[0].strip().lower() == "https"
        return False


def install_security_headers(app: FastAPI, *, trusted_proxies: Iterable[str] = (), docs: bool = False) -> None:
    """Wrap the whole of `app` (outside Starlette's error middleware, so its 500s are covered) in `SecurityHeaders`."""
    build = app.build_middleware_stack
    proxies = list(trusted_proxies)
    app.build_middleware_stack = lambda: SecurityHeaders(build(), trusted_proxies=proxies, docs=docs)  # type: ignore[method-assign]
