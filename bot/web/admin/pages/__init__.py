"""The admin pages, one router per page group; `bot.web.admin.router.admin_router` serves them all under /admin."""
