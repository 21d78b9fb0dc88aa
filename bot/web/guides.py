"""The printable conversation guide of a pairing, served at GET /guides/pairing/{pairing_id}.

The app builds the router with a function that turns a pairing id into a `GuideContext` (or None when
there is no such pairing), and optionally one that gives the program's template overrides. Both may touch
the database, so the endpoint is a plain function: FastAPI runs it in its thread pool.
"""

from __future__ import annotations

import hmac
import html
from collections.abc import Callable, Mapping
from dataclasses import replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bot.guides import GuideContext, render_print_page

NOT_FOUND_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guide not found</title>
<style>body{{margin:0;background:#f4f2ee;color:#1f2a33;font:17px/1.55 Georgia,serif}}
main{{max-width:34rem;margin:4rem auto;padding:2rem 2.5rem;background:#fff}}h1{{color:#1b3a4b}}</style>
</head>
<body><main>
<h1>We couldn't find that guide</h1>
<p>There is no conversation guide for pairing {pairing}. The link may be old, or the round may have been
re-matched since it was sent.</p>
<p>Check your most recent pairing message for a fresh link, or ask your program coordinator.</p>
</main></body>
</html>
"""


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def guides_router(
    render_context_for: Callable[[int], GuideContext | None],
    *,
    overrides_for: Callable[[GuideContext], Mapping[str, str] | None] | None = None,
    link_key: Callable[[int], str] | None = None,
) -> APIRouter:
    """A router serving each pairing's printable guide; `?tz=America/Chicago` shows times in another zone.

    With `link_key`, a guide is shown only to a link carrying its key (`?k=`), as sent to the pair; any other
    request gets the same not-found page as a pairing that does not exist, so numbers can't be probed.
    """
    router = APIRouter()

    @router.get("/guides/pairing/{pairing_id}", response_class=HTMLResponse, name="guide_print_page")
    def guide_page(pairing_id: int, tz: str | None = None, k: str = "") -> HTMLResponse:
        if link_key is not None and not hmac.compare_digest(link_key(pairing_id).encode(), k.encode()):
            return HTMLResponse(NOT_FOUND_PAGE.format(pairing=html.escape(str(pairing_id))), status_code=404)
        ctx = render_context_for(pairing_id)
        if ctx is None:
            return HTMLResponse(NOT_FOUND_PAGE.format(pairing=html.escape(str(pairing_id))), status_code=404)
        zone = _valid_zone(tz)
        if zone:
            ctx = replace(ctx, timezone=zone)
        overrides = overrides_for(ctx) if overrides_for else None
        return HTMLResponse(render_print_page(ctx, overrides=overrides), headers={"Cache-Control": "private, no-store"})

    return router
