"""Admin pages under /admin: program, pool health, equity, engagement, roster, round review, mail and exports."""

from bot.web.admin.router import admin_router

__all__ = ["admin_router"]
