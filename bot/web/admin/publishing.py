"""Publishing a round from its page without holding the request open: the publish runs on a thread of its own, in its
own unit of work, and reports its progress here for the round page to show (the page reloads itself while it runs).

A publish that ends within `INLINE_SECONDS` (most rounds) answers its form as any other; a longer one sends the admin
to the round page, which shows how far it is and, once it ends, its outcome, once. The database refuses a second
publish of the same round (the round row is locked and must still be in review); here a second press while one runs
in this process is not even started. Progress lives in this process: another web worker shows the round as it is
stored, still in review until the publish commits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.errors import UserError

logger = logging.getLogger(__name__)

INLINE_SECONDS = 5.0  # how long the form's own request waits for the outcome before it shows the progress instead
RELOAD_SECONDS = 1  # how often the round page reloads while a publish runs


@dataclass
class PublishJob:
    """One publish under way (or just ended) for a round: how far it is, then its outcome or its error."""

    round_id: int
    message: str
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0
    outcome: Any = None
    error: BaseException | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        """The publish's `progress(done, total)` callback."""
        self.done, self.total = done, total

    @property
    def percent(self) -> int:
        """How far it is, 0-100."""
        return min(100, 100 * self.done // self.total) if self.total else 0

    @property
    def seconds(self) -> int:
        """Seconds since it started."""
        return int(time.monotonic() - self.started)


_jobs: dict[int, PublishJob] = {}
_lock = threading.Lock()


def start(round_id: int, message: str, publish: Callable[[Callable[[int, int], None]], Any]) -> PublishJob | None:
    """Run `publish(progress)` on a thread for this round; None when a publish of the round is already running here."""
    with _lock:
        running = _jobs.get(round_id)
        if running is not None and not running.ended.is_set():
            return None
        job = _jobs[round_id] = PublishJob(round_id=round_id, message=message)
    threading.Thread(target=_run, args=(job, publish), name=f"publish-round-{round_id}", daemon=True).start()
    return job


def _run(job: PublishJob, publish: Callable[[Callable[[int, int], None]], Any]) -> None:
    try:
        job.outcome = publish(job.progress)
    except BaseException as error:  # handed to whoever collects the outcome; a crash is logged here too
        job.error = error
        if not isinstance(error, UserError):
            logger.exception("publishing round %s failed", job.round_id)
    finally:
        job.ended.set()


def running(round_id: int) -> PublishJob | None:
    """The publish of this round running in this process, if any."""
    job = _jobs.get(round_id)
    return job if job is not None and not job.ended.is_set() else None


def collect(round_id: int) -> PublishJob | None:
    """The publish of this round that has ended and not been shown yet (it is shown once), if any."""
    with _lock:
        job = _jobs.get(round_id)
        if job is None or not job.ended.is_set():
            return None
        del _jobs[round_id]
        return job
