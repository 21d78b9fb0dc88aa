"""Huge bodies against a real server process: the figures for the 'hostile input' table.

The app runs as `mentorbot serve` runs it (uvicorn, its own process), and each attack is streamed to it lazily (the
client holds one 1 MiB chunk). The server's resident memory and its peak (VmHWM, reset before each attack) are read
from /proc. Before the limits, an unsigned 800 MB POST to /slack/events took the server from 212 MB to a 1,814 MB
peak and answered 500 with a traceback; a roster upload with no session was read whole (800 MB spooled) before its
401. Quick runs send 16 MiB past 4 MB limits; `./dev reliability` sends 800 MiB at the default limits.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.bodykit import MIB, memory_of, reset_peak, stream_post

ROOT = Path(__file__).resolve().parents[2]
FILE_PART = b'--b\r\nContent-Disposition: form-data; name="file"; filename="roster.csv"\r\nContent-Type: text/csv\r\n\r\n'
ROUTES = {  # path: (content type, what the body starts with)
    "/slack/events": ("application/json", b"{"),
    "/email/inbound": ("multipart/form-data; boundary=b", FILE_PART),
    "/admin/roster": ("multipart/form-data; boundary=b", FILE_PART),
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_huge_bodies_are_refused_with_the_server_process_memory_flat(tmp_path: Path, scale, record_figure: Callable[..., None]) -> None:
    # Full: the default settings (webhook cut off at 2 x 25 MB, roster at 20 MiB + 64 KiB) and 800 MiB bodies.
    # Quick: limits of 4 MB, so 16 MiB bodies pass every one of them.
    size = scale.pick(16, 800) * MIB
    inbound_mb, upload_mb = (25, 20) if scale.full else (4, 4)
    limits_mib = {"/slack/events": 1, "/email/inbound": 2 * inbound_mb, "/admin/roster": upload_mb}
    port = _free_port()
    env = {
        **os.environ, "DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path}/server.db", "SCHEDULER_ENABLED": "false",
        "SLACK_BOT_TOKEN": "xoxb-limits", "SLACK_SIGNING_SECRET": "s" * 32, "SLACK_API_URL": "http://127.0.0.1:9/",
        "MAILGUN_SIGNING_KEY": "mg-key", "SENDGRID_INBOUND_KEY": "sg-key", "ADMIN_SECRET": "a" * 40,
        "INBOUND_MAX_MB": str(inbound_mb), "ADMIN_UPLOAD_MB": str(upload_mb),
    }  # fmt: skip
    code = (
        "import uvicorn; from bot.settings import Settings; from bot.web.app import create_app; "
        f"uvicorn.run(create_app(Settings(_env_file=None)), host='127.0.0.1', port={port}, log_level='warning')"
    )
    log = tmp_path / "server.log"
    with log.open("wb") as err:
        server = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=ROOT, env=env, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for _ in range(400):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(log.read_text())
        for path, (content_type, prefix) in ROUTES.items():
            limit_mib = limits_mib[path]
            for way in ("expect", "declared", "chunked"):
                await asyncio.sleep(0.05)
                before, _ = memory_of(server.pid)
                reset_peak(server.pid)
                sent = await stream_post(base, path, size=size, prefix=prefix, chunked=way == "chunked", expect_continue=way == "expect", headers={"Content-Type": content_type}, timeout=120)
                await asyncio.sleep(0.1)  # the server lets go of what it read
                after, peak = memory_of(server.pid)
                figures = {
                    "status": sent.status, "refused_in_ms": round(sent.seconds * 1000, 1), "client_got_out_mb": round(sent.bytes_sent / MIB, 1),
                    "rss_before_mb": round(before / MIB), "peak_mb": round(peak / MIB), "rss_after_mb": round(after / MIB),
                }  # fmt: skip
                record_figure(f"body limit {path}", tried=f"{size // MIB} MiB body, {way}", count=1, held=f"413 at {limit_mib} MiB", **figures)
                assert sent.status in ((413,) if way == "expect" else (413, None)), figures  # None: closed under a client still sending
                if way == "expect":
                    assert sent.bytes_sent == 0, figures
                # What the server read is bounded by the route's limit and the socket buffers, not by the body's size.
                assert sent.bytes_sent <= (limit_mib + 8) * MIB, figures
                # Only the email webhook keeps what it reads (up to INBOUND_MAX_MB) while it decides.
                assert peak - before < ((inbound_mb + 8) if path == "/email/inbound" else 8) * MIB, figures
                assert after - before < 8 * MIB, figures
                assert sent.seconds < 10, figures
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), 15)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
