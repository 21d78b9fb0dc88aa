"""Misbehaving far sides for the reliability suite: an SMTP server that faults at random and a Slack stand-in in a 429 storm.

Both keep what they really accepted, so tests count deliveries at the far side rather than trusting the bot's own records.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.doubles.slack import Call, SlackStandIn
from tests.emailkit import DataFaults, RecordingHandler

# Faults a real SMTP server shows; each leaves the outcome of the transaction unambiguous to the client.
SMTP_FAULTS = ("421@RCPT", "drop@RCPT", "451@DATA", "drop-after-data")


class RandomFaultHandler(DataFaults, RecordingHandler):
    """An aiosmtpd handler that answers 421/451 or cuts the connection in `rate` of transactions.

    The fault is chosen once the recipient is known, and one recipient gets at most `most_in_a_row` faults in a row
    (a flaky server, not a dead mailbox), so every message can be delivered within the outbox's tries.
    """

    def __init__(self, *, rate: float, seed: int, most_in_a_row: int = 4) -> None:
        super().__init__()
        self.rate = rate
        self.most_in_a_row = most_in_a_row
        self.random = random.Random(seed)
        self.in_a_row: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.transactions = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        self.transactions += 1
        fault = "ok"
        if self.in_a_row[address] < self.most_in_a_row and self.random.random() < self.rate:
            fault = self.random.choice(SMTP_FAULTS)
        self.in_a_row[address] = self.in_a_row[address] + 1 if fault != "ok" else 0
        session.fault = fault
        if fault != "ok":
            self.faults[fault] += 1
        if fault == "421@RCPT":
            return "421 4.3.2 Service shutting down, try later"
        if fault == "drop@RCPT":
            server.transport.abort()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@dataclass
class Violation:
    """A call that arrived while an earlier 429 for its method had not yet expired."""

    method: str
    arrived: float
    blocked_until: float


@dataclass
class StormStandIn(SlackStandIn):
    """The Slack stand-in in a rate-limit storm: `share` of calls get 429 with a Retry-After of 1 or 2 seconds.

    It remembers, per method, until when each 429 asked the caller to wait, and records every call that arrives
    before then (beyond `in_flight` seconds, for a call already on its way when the 429 was answered).
    """

    share: float = 0.3
    seed: int = 0
    # A call sent before the 429 reached the sender (it sends up to four at once) can be read here a little later; on a
    # loaded machine 30 ms later was seen. A sender that ignored Retry-After would still call through the rest of
    # the 1-2 s it was asked to wait, and be caught.
    in_flight: float = 0.25
    limited: int = 0
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._storm = random.Random(self.seed)
        self._blocked: dict[str, tuple[float, float]] = {}  # method -> (answered at, blocked until)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        arrived = time.monotonic()
        answered, until = self._blocked.get(method, (0.0, 0.0))
        if answered + self.in_flight < arrived < until:
            self.violations.append(Violation(method, arrived, until))
        if self._storm.random() < self.share:
            retry_after = self._storm.choice((1, 2))
            self._blocked[method] = (arrived, arrived + retry_after)
            self.limited += 1
            args: dict[str, Any] = await self._args(request)
            self.calls.append(Call(method, args, False, "ratelimited", time.time()))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)})
        return await super()._api(request)
