"""Slack load against a real `mentorbot serve` on PostgreSQL: every request is answered 200 and acknowledged in time.

The quick run sends 50 requests a second for 5 seconds; `bench/reliability/slack_load.py` is the full
measurement (200 a second for 60 seconds) whose p50 and p99 go in docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.reliability._slack_traffic import StandInProcess, mixed_requests, prepare_database, run_load, start_server, teachers

SLACK_ACK_LIMIT_MS = 3000  # Slack shows the person an error when an ack takes longer
DM_ANSWERS = ("*I'm mentorbot", "Where you stand")  # what "help"/"hi" and "status" are answered with


def dm_answers(report: dict) -> int:
    """How many of the stand-in's DMs answer a typed message."""
    return sum(count for text, count in report["texts"].items() if text.startswith(DM_ANSWERS))


def test_mixed_slack_traffic_is_all_acknowledged_and_answered_once(postgres_url: str, tmp_path: Path, scale, record_figure) -> None:
    rate, seconds = scale.pick(50, 100), scale.pick(5, 20)
    people = teachers()
    prepared = prepare_database(postgres_url, tmp_path, people)
    with StandInProcess(people) as standin:
        server = start_server(postgres_url, standin, tmp_path, "serve")
        try:
            requests = mixed_requests(rate * seconds, people, prepared["opt_in_context"], standin.url)
            result = asyncio.run(run_load([server.url], requests, rate=rate))
            dms = sum(1 for r in requests if r.kind == "dm")
            commands = sum(1 for r in requests if r.kind == "command")
            # The work after each ack goes on; wait for it to reach the stand-in, then for stragglers.
            standin.wait_until(lambda r: dm_answers(r) >= dms and r["responses"] >= commands, timeout=60)
            report = standin.wait_until(lambda r: False, timeout=1.0)
        finally:
            server.stop()
    summary = result.summary()
    assert not result.errors, result.errors[:5]
    assert result.percentile(100) < SLACK_ACK_LIMIT_MS, summary
    assert report["responses"] == commands  # every command answered by its response_url, once
    assert dm_answers(report) == dms, (dms, report["texts"])  # every DM answered exactly once
    assert not [call for call in report["calls"] if not call.endswith(":ok")], report["calls"]  # no Web API call refused
    record_figure(
        "Slack load (test)", tried=f"{rate}/s for {seconds} s of signed DMs, clicks, submissions, commands on PostgreSQL",
        count=len(requests), held=f"{len(result.errors)} errors; p99 {summary['p99_ms']} ms", **summary,
    )  # fmt: skip
