"""Socket Mode: the same app over the stand-in's websocket, and `mentorbot serve` choosing it when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.doubles.slack import app_home_opened, event_callback, slash_command, state_values, user_ref
from bot.slack.blocks import block_id_for
from bot.slack.socket import socket_mode
from tests.slack_helpers import ADMIN, SECRET, slack_harness, wait_for

MENTORBOT = str(Path(sys.executable).parent / "mentorbot")


async def test_commands_events_and_modal_errors_work_over_socket_mode(tmp_path: Path, sqlite_url: str) -> None:
    async with slack_harness(tmp_path, sqlite_url, slack_app_token="xapp-standin-token") as h:
        async with socket_mode(h.app.state.slack, h.settings):
            assert await h.standin.socket_connected()
            url = h.standin.new_response_url()
            ack = await h.standin.socket_send("slash_commands", slash_command(h.standin, ADMIN, 'term open "Spring 2027"', response_url=url, trigger_id=h.standin.new_trigger(ADMIN)))
            assert "payload" not in ack or not ack["payload"]  # acknowledged at once, empty
            assert "Opened *Spring 2027*" in json.dumps(await h.responses(url))

            await h.standin.socket_send("events_api", event_callback(h.standin, app_home_opened(h.standin, "UBEN00001")))
            await wait_for(lambda: "Spring 2027" in json.dumps(h.standin.homes.get("UBEN00001")), what="the Home tab")

            url = h.standin.new_response_url()
            await h.standin.socket_send("slash_commands", slash_command(h.standin, "UBEN00001", "opt-in", response_url=url, trigger_id=h.standin.new_trigger("UBEN00001")))
            view = await wait_for(lambda: h.standin.open_view_of("UBEN00001"), what="the opt-in modal")
            submission = {
                "type": "view_submission", "user": user_ref(h.standin, "UBEN00001"), "team": {"id": h.standin.team_id}, "api_app_id": "ASTANDIN",
                "view": {**{k: v for k, v in view.items() if not k.startswith("_")}, "state": {"values": state_values(view, {block_id_for("role"): None})}},
            }  # fmt: skip
            ack = await h.standin.socket_send("interactive", submission)
            assert ack["payload"]["response_action"] == "errors" and block_id_for("role") in ack["payload"]["errors"]


async def test_mentorbot_serve_uses_socket_mode_when_the_app_token_is_set(tmp_path: Path) -> None:
    async with slack_harness(tmp_path, f"sqlite:///{tmp_path / 'serve.db'}") as h:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "DATA_DIR", "PROGRAM_NAME"))}
        env.update(
            DATA_DIR=str(tmp_path / "serve-data"), DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", PROGRAM_NAME="Slack Program",
            SLACK_BOT_TOKEN=h.standin.bot_token, SLACK_SIGNING_SECRET=SECRET, SLACK_APP_TOKEN=h.standin.app_token,
            SLACK_API_URL=h.standin.api_url, SLACK_ADMIN_IDS=json.dumps([ADMIN]), HTTP_PORT="0", LOG_LEVEL="WARNING",
        )  # fmt: skip
        sockets_before = len(h.standin._sockets)
        process = subprocess.Popen([MENTORBOT, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            await wait_for(lambda: len(h.standin._sockets) > sockets_before or process.poll() is not None, timeout=60, what="mentorbot serve to connect")
            assert process.poll() is None
            url = h.standin.new_response_url()
            await h.standin.socket_send("slash_commands", slash_command(h.standin, ADMIN, "status", response_url=url, trigger_id=h.standin.new_trigger(ADMIN)))
            assert "No term is open" in json.dumps(await h.responses(url))
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.to_thread(process.communicate, timeout=30)
        assert "Slack: Socket Mode" in output and "Traceback" not in output, output
