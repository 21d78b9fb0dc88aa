"""Slack acks while hostile inbound mail is handled, against the same acks with no mail in flight.

Starts the app (SQLite, the Slack stand-in, Mailgun inbound on), then sends signed Slack DMs about fifty a second
and times each ack: first with nothing else going on (the bare baseline), then while each of a 20 MB reply, a
message of 10,000 MIME parts and a multipart nested 2,000 deep is posted to `/email/inbound` from another thread.
Prints median and max ack per phase and the ratio of each to the baseline in the same run.

    .venv/bin/python bench/inbound_acks.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.reliability._slack_traffic import dm_request  # noqa: E402
from tests.slack_helpers import signature, slack_harness  # noqa: E402
from tests.test_email_limits import BEN, MAILGUN_KEY, REPLY_DOMAIN, SECRET, _mailgun_mime, _opt_in_address, many_parts, nested, with_attachment  # noqa: E402


async def _run(seconds: float) -> list[tuple[str, int, float, float]]:
    settings = {"mailgun_signing_key": MAILGUN_KEY, "email_token_secret": SECRET, "reply_domain": REPLY_DOMAIN}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        async with slack_harness(Path(folder), url, **settings) as h, httpx.AsyncClient(base_url=h.url, timeout=60) as client:
            to = _opt_in_address(h.engine, datetime.now(timezone.utc))

            async def ack() -> float:
                request = dm_request(BEN, "help")
                started = time.perf_counter()
                response = await client.post("/slack/events", content=request.body, headers={"Content-Type": request.content_type, **signature(request.body.decode())})
                response.raise_for_status()
                return time.perf_counter() - started

            await ack()  # Bolt's lazy set-up
            rows = []
            baseline: list[float] = []
            until = time.perf_counter() + seconds
            while time.perf_counter() < until:
                baseline.append(await ack())
                await asyncio.sleep(0.02)
            rows.append(("no mail in flight (baseline)", len(baseline), statistics.median(baseline), max(baseline)))
            hostile = (("a 20 MB reply", with_attachment(to, 20)), ("10,000 MIME parts", many_parts(to, 10_000)), ("multiparts nested 2,000 deep", nested(to, 2000)))
            for name, raw in hostile:
                body, content_type = _mailgun_mime(to, raw)
                post = asyncio.ensure_future(asyncio.to_thread(httpx.post, f"{h.url}/email/inbound", content=body, headers={"Content-Type": content_type}, timeout=60))
                latencies = [await ack()]
                while not post.done():
                    latencies.append(await ack())
                    await asyncio.sleep(0.02)
                answer = await post
                if answer.status_code not in (200, 406):  # 406: refused, as Mailgun is told for a message over a limit
                    answer.raise_for_status()
                rows.append((f"while {name} is handled", len(latencies), statistics.median(latencies), max(latencies)))
            return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the baseline phase")
    rows = asyncio.run(_run(parser.parse_args().seconds))
    base_median, base_max = rows[0][2], rows[0][3]
    print("| phase | acks | median ms | max ms | median / baseline | max / baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, count, median, top in rows:
        print(f"| {name} | {count} | {median * 1000:.1f} | {top * 1000:.1f} | {median / base_median:.2f}x | {top / base_max:.2f}x |")


if __name__ == "__main__":
    main()
