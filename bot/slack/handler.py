"""The Slack handler process: `mentorbot serve` runs one beside its web workers to do the work kept requests cause.

The web workers only verify, keep and acknowledge (`SlackChannel.accept`); this process takes the kept requests from
the inbox and runs their listeners. It runs at a lower CPU priority, so when the machine is busy the kernel serves
acks first (Slack's three seconds) and the replies follow as CPU frees up; nothing is lost meanwhile, because the
requests wait in the database. Several handler processes (several instances) share the inbox safely: each row is
taken by one. `mentorbot serve` restarts this process if it dies, and it stops when `serve` stops or dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from datetime import datetime, timedelta, timezone

import aiohttp

from bot.logs import configure_logging
from bot.settings import Settings
from bot.slack.app import build_slack_app
from storage import db

logger = logging.getLogger(__name__)

NICENESS = 10  # below the web workers: under load the kernel gives the acks the CPU first
BUSY_POLL_SECONDS = 0.02  # after finding work, look again soon
IDLE_POLL_SECONDS = 0.2  # an idle inbox is looked at five times a second: a reply starts within that
WATCH_SECONDS = 2.0
STOP_GRACE_SECONDS = 15.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


PROCESS_NAME = b"mentorbot-slack"  # as `ps` and /proc/<pid>/comm show it (15 characters at most)


def _die_with_parent() -> None:
    # If `mentorbot serve` is killed outright (kill -9), the kernel stops this process too instead of orphaning it.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        libc.prctl(15, ctypes.c_char_p(PROCESS_NAME))  # PR_SET_NAME: tell it apart from the web workers


def handler_main(settings: Settings) -> None:
    """Entry point of the handler process: handle kept Slack requests until SIGTERM."""
    _die_with_parent()
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    configure_logging(settings.log_level, settings.log_format)
    from bot.web.redaction import install_log_redaction  # imported here: only the handler process needs it

    install_log_redaction(settings)  # the web process scrubs its log lines; this process's need it as much
    asyncio.run(handle_forever(settings))


async def handle_forever(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Take and handle kept requests as they arrive until `stop` is set (or SIGTERM/SIGINT); finish the running ones."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not in the main thread (tests)
            loop.add_signal_handler(signum, stop.set)
    engine = db.create_db_engine(settings.resolved_database_url)
    channel = build_slack_app(settings, engine=engine, clock=_utc_now)
    # One HTTP session for every Web API call this process makes: without it each call opens (and closes) a
    # connection of its own, a large part of a reply's CPU.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=channel.client.timeout))
    channel.client.session = session
    try:
        while not stop.is_set():
            try:
                started = await channel.handle_waiting(unclaimed_for=timedelta(0))
            except Exception:  # the database went away for a moment: try again on the next look
                logger.exception("could not read the Slack inbox")
                started = 0
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), BUSY_POLL_SECONDS if started else IDLE_POLL_SECONDS)
    finally:
        await channel.close(grace_seconds=STOP_GRACE_SECONDS - 5)
        await session.close()
        engine.dispose()


class HandlerProcess:
    """The handler process as `mentorbot serve` keeps it: started, restarted when it dies, stopped at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited connections or threads
        self._process: multiprocessing.process.BaseProcess | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        """The running handler's process ID."""
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        """Start the handler and a watcher thread that restarts it if it exits."""
        self._launch()
        self._watcher = threading.Thread(target=self._watch, name="slack-handler-watch", daemon=True)
        self._watcher.start()

    def _launch(self) -> None:
        self._process = self._context.Process(target=handler_main, args=(self.settings,), name="mentorbot-slack-handler")
        self._process.start()

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            if self._process is not None and not self._process.is_alive() and not self._stopping.is_set():
                logger.warning("the Slack handler process exited with %s; starting another", self._process.exitcode)
                self.restarts += 1
                self._launch()

    def stop(self) -> None:
        """Ask the handler to finish what it is doing and stop; kill it if it does not within the grace period."""
        self._stopping.set()
        process = self._process
        if process is None or not process.is_alive():
            return
        process.terminate()
        process.join(STOP_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
