"""Exactly one scheduler among several `mentorbot serve` processes sharing a database.

APScheduler's job stores must not be shared between processes, so each process runs its own scheduler
but only the elected leader lets the sweep and the outbox run. On PostgreSQL the leader holds a session
advisory lock on a dedicated connection: if the process dies, PostgreSQL drops the connection and the
lock with it, and another process takes over at its next try. On SQLite (one machine) an exclusive
file lock beside the database plays the same part.
"""

from __future__ import annotations

import fcntl
import logging
import os
import zlib
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

# Any fixed 64-bit number works; this one is "mentorbot" spelled in ASCII and trimmed to fit.
LOCK_KEY = 0x6D656E746F72


class Leadership:
    """Try to become (and stay) the scheduler leader; `is_leader` tells the jobs whether to run."""

    def __init__(self, engine: Engine, *, lock_file: Path | None = None, key: int | None = None) -> None:
        self.engine = engine
        # Advisory locks are per database, not per schema: fold the URL in so programs kept in separate
        # schemas of one server each get their own leader.
        self.key = key if key is not None else LOCK_KEY ^ zlib.crc32(engine.url.render_as_string(hide_password=True).encode())
        self.lock_file = lock_file
        self._connection: Connection | None = None
        self._fd: int | None = None

    @property
    def is_leader(self) -> bool:
        """True while this process holds the lock."""
        return self._connection is not None or self._fd is not None

    def try_lead(self) -> bool:
        """Take the lock if it is free, check it is still held if we have it; returns whether we lead now."""
        if self.engine.dialect.name == "postgresql":
            return self._try_postgres()
        return self._try_file()

    def _try_postgres(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("select 1"))
                return True
            except sa.exc.DBAPIError:
                logger.warning("lost the scheduler lock's connection; standing down")
                self._drop_connection()
        connection = self.engine.connect()
        try:
            got = connection.execute(sa.text("select pg_try_advisory_lock(:key)"), {"key": self.key}).scalar()
            connection.commit()
        except sa.exc.DBAPIError:
            connection.close()
            return False
        if got:
            self._connection = connection
            logger.info("this process now runs the scheduler")
            return True
        connection.close()
        return False

    def _drop_connection(self) -> None:
        try:
            if self._connection is not None:
                self._connection.invalidate()
                self._connection.close()
        finally:
            self._connection = None

    def _try_file(self) -> bool:
        if self._fd is not None:
            return True
        path = self.lock_file or Path(str(self.engine.url.database or "mentorbot") + ".scheduler.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def resign(self) -> None:
        """Give the lock up (on shutdown) so another process can lead at once."""
        if self._connection is not None:
            try:
                self._connection.execute(sa.text("select pg_advisory_unlock(:key)"), {"key": self.key})
                self._connection.commit()
            except sa.exc.DBAPIError:
                pass
            self._connection.close()
            self._connection = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
