"""The admin pages under /admin: server-rendered Jinja2, SVG charts, no JavaScript and nothing from a CDN.

Each page group is a small router in `bot/web/admin/pages/`; what they share (the site, the guards, the error pages)
is `bot/web/admin/page.py`. Every route but sign-in and the stylesheet depends on an admin's session; every form
posts a CSRF token that is checked against it. Each form calls one action of `bot/actions/` with the admin as its
actor, on the program the admin chose. Routes that touch the database are plain functions, run in FastAPI's thread
pool.
"""

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from bot.settings import Settings
from bot.web.admin.page import AdminSite
from bot.web.admin.pages import data_requests, engagement, exports, mail, overview, people, pool, replies, roster, rounds, signin

PAGES = (signin, overview, rounds, pool, engagement, people, roster, mail, exports, data_requests, replies)


def admin_router(settings: Settings, engine: Engine, *, clock: Callable[[], datetime]) -> APIRouter:
    """The /admin pages for one program at a time (the admin's choice, else the only program, else PROGRAM_NAME), on
    `engine`, with `clock` as the time."""
    site = AdminSite(settings, engine, clock=clock)
    router = APIRouter(prefix="/admin", route_class=site.route_class)
    for pages in PAGES:
        # Added route by route rather than included: FastAPI keeps an included router's own route objects, and each
        # route must be this site's (its route class hands the page the site before anything else runs).
        for route in pages.router.routes:
            assert isinstance(route, APIRoute)
            router.add_api_route(
                route.path, route.endpoint, methods=sorted(route.methods), name=route.name, dependencies=route.dependencies,
                response_class=route.response_class, include_in_schema=route.include_in_schema,
            )  # fmt: skip
    return router
