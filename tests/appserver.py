"""The app (or any ASGI app) under uvicorn on a loopback port, for tests: one helper to start it, and a server that
stops as soon as it is asked.

uvicorn's own loop looks for a stop request only every 0.1 s, which every test that serves the app paid on its way
out; here the request wakes the loop at once. The server is otherwise uvicorn's: same startup, lifespan and shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from bot.web.app import loopback_socket


class PromptServer(uvicorn.Server):
    """uvicorn's server, whose main loop wakes as soon as `stop()` is called instead of on its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop_requested = asyncio.Event()

    def stop(self) -> None:
        """Ask the server to shut down (its lifespan shutdown and connection draining run as usual)."""
        self.should_exit = True
        self._stop_requested.set()

    async def main_loop(self) -> None:
        # uvicorn's main_loop, with its 0.1 s sleep made a wait that a stop request cuts short.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), 0.1)
            should_exit = await self.on_tick(counter)


@contextlib.asynccontextmanager
async def serve_app(app: Any, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port (or on `sock`) and yield its base URL."""
    if sock is None:
        sock = loopback_socket()
    port = sock.getsockname()[1]
    server = PromptServer(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # it failed to start: raise why
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await task
        sock.close()
