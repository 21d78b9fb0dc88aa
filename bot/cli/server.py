"""`mentorbot demo`, `serve` and `admin-link`: run a demo term, serve the app, sign in to the admin pages."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import console, context_of, friendly_errors

app = typer.Typer()


@app.command()
@friendly_errors
def demo(
    ctx: typer.Context,
    roster: Annotated[
        Path | None, typer.Option(help="Roster to use instead of the one the demo ships.", exists=True, dir_okay=False)
    ] = None,
) -> None:
    """Run a whole term on a fresh demo database: import, opt in, approve, match a round, publish.

    Example: [bold]mentorbot demo[/bold]
    """
    # Imported here, not at the top: the demo loads the whole bot (start-up time of every other command).
    from bot.demo import run_demo

    context = context_of(ctx)
    run_demo(context.settings, console=console, now=context.now, roster=roster)


@app.command()
@friendly_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default HTTP_PORT).")] = None,
) -> None:
    """Start the web app (health, Slack, email and admin pages) with the scheduler.

    Slack is reached over HTTP at /slack/events, or over Socket Mode when SLACK_APP_TOKEN is set.

    Example: [bold]mentorbot serve --port 8000[/bold]
    """
    # Imported here, not at the top: the web app, uvicorn and the served-address helpers load only to serve
    # (start-up time of every other command).
    import uvicorn

    from uvicorn.config import LOGGING_CONFIG

    from bot.logs import uvicorn_log_config
    from bot.settings import forget_served_address, record_served_address, serving_settings
    from bot.web.app import create_app

    settings = context_of(ctx).settings
    # LOG_FORMAT=json: uvicorn's own lines (access, startup) become JSON lines too, with the request id.
    log_config = uvicorn_log_config(settings.log_level, settings.log_format) or LOGGING_CONFIG
    host, port = host or settings.http_host, settings.http_port if port is None else port
    # The address served is the one links name (when PUBLIC_BASE_URL is unset), here and in worker processes, and
    # the one `mentorbot admin-link` prints while this server runs.
    settings = serving_settings(settings, host=host, port=port)
    os.environ["HTTP_HOST"], os.environ["HTTP_PORT"] = host, str(port)
    record_served_address(settings)
    # uvicorn stops on SIGTERM and then raises it again, which would end this process before the clean-up below:
    # as SystemExit instead, the note of the served address and the handler process are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    console.print(f"Serving at {settings.public_base_url}", highlight=False)
    if settings.slack_enabled and settings.slack_app_token:
        # Imported here: Socket Mode's client loads only when Slack is reached that way.
        import asyncio

        from bot.slack.socket import serve_with_socket_mode

        console.print("Slack: Socket Mode (SLACK_APP_TOKEN is set)")
        try:
            asyncio.run(serve_with_socket_mode(create_app(settings), settings, host=host, port=port))
        finally:
            forget_served_address(settings)
        return
    handler = None
    if settings.slack_enabled:
        console.print(f"Slack: HTTP, at {settings.public_base_url.rstrip('/')}/slack/events")
        if "slack_handlers" not in settings.model_fields_set:
            # Served over HTTP, the web workers only keep and acknowledge Slack requests; a handler process of lower
            # CPU priority does their work, so acks never wait behind it (SLACK_HANDLERS=inline keeps it in-process).
            settings = settings.model_copy(update={"slack_handlers": "process"})
        os.environ["SLACK_HANDLERS"] = settings.slack_handlers  # for worker processes that read the environment
        if settings.slack_handlers == "process":
            # Imported here: the handler process loads only when Slack's work runs out of process.
            from bot.slack.handler import HandlerProcess

            handler = HandlerProcess(settings)
    try:
        if handler is not None:
            handler.start()
        if settings.http_workers > 1:
            # Each worker process builds its own app from the environment and runs its own scheduler, which works only
            # while that worker holds the leader lock: the schedule still runs once. The schema is brought up to date
            # here, once, so the workers starting together never race to create it.
            context_of(ctx).engine.dispose()  # migrated now; each worker opens its own connections
            console.print(f"{settings.http_workers} worker processes")
            uvicorn.run("bot.web.app:app_from_environment", factory=True, workers=settings.http_workers, host=host, port=port, log_level=settings.log_level.lower(), log_config=log_config)
            return
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower(), log_config=log_config)
    finally:
        if handler is not None:
            handler.stop()
        forget_served_address(settings)


@app.command("admin-link")
@friendly_errors
def admin_link(
    ctx: typer.Context,
    minutes: Annotated[int | None, typer.Option(help="How long the link works (default ADMIN_LINK_MINUTES).", min=1, max=1440)] = None,
) -> None:
    """Print a one-time link that signs you in to the admin pages (for trials, or before Slack sign-in is set up).

    The link works once, for a few minutes, on the server that shares this DATA_DIR (or ADMIN_SECRET): at
    PUBLIC_BASE_URL when it is set, else where the running `mentorbot serve` listens (HTTP_HOST:HTTP_PORT or --port).

    Example: [bold]mentorbot admin-link[/bold]
    """
    # Imported here, not at the top: the admin pages' sign-in loads the web stack (start-up time).
    from bot.settings import running_base_url
    from bot.web.admin.auth import make_sign_in_link

    context = context_of(ctx)
    context.engine  # the link's single use is recorded in the database: make sure its schema is there
    served = context.settings.model_copy(update={"public_base_url": running_base_url(context.settings)})
    link = make_sign_in_link(served, now=context.now, minutes=minutes)
    console.print("Open this link to sign in to the admin pages (it works once):", highlight=False)
    print(link.url)
    console.print(f"It expires at {link.expires_at:%Y-%m-%d %H:%M} UTC. Run `mentorbot serve` if the server is not running.", highlight=False)

