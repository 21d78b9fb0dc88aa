"""The other half of Slack: requests into the app, signed and shaped like Slack's own payloads."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Mapping
from typing import Any

from bot.doubles.slack.web_api import SlackStandIn


def sign(body: str, *, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a request with."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def user_ref(standin: SlackStandIn, user_id: str) -> dict[str, Any]:
    user = standin.users.get(user_id, {"name": user_id.lower()})
    return {"id": user_id, "username": user["name"], "name": user["name"], "team_id": standin.team_id}


def event_callback(standin: SlackStandIn, event: Mapping[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An Events API envelope around one event."""
    return {
        "token": "legacy-verification-token", "team_id": standin.team_id, "api_app_id": "ASTANDIN", "event": dict(event),
        "type": "event_callback", "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": standin.team_id, "user_id": standin.bot_user_id, "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }  # fmt: skip


def message_im(standin: SlackStandIn, user_id: str, text: str) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {"type": "message", "channel": standin.dm_channel(user_id), "user": user_id, "text": text, "ts": ts, "event_ts": ts, "channel_type": "im", "client_msg_id": str(uuid.uuid4())}


def app_home_opened(standin: SlackStandIn, user_id: str) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user_id, "channel": standin.dm_channel(user_id), "tab": "home", "event_ts": f"{time.time():.6f}"}
    if user_id in standin.homes:
        event["view"] = standin.homes[user_id]
    return event


def slash_command(standin: SlackStandIn, user_id: str, text: str, *, response_url: str, trigger_id: str, command: str = "/mentoring") -> dict[str, str]:
    return {
        "token": "legacy-verification-token", "team_id": standin.team_id, "team_domain": "standin", "channel_id": standin.dm_channel(user_id),
        "channel_name": "directmessage", "user_id": user_id, "user_name": user_ref(standin, user_id)["username"], "command": command,
        "text": text, "api_app_id": "ASTANDIN", "is_enterprise_install": "false", "response_url": response_url, "trigger_id": trigger_id,
    }  # fmt: skip


def find_element(blocks: list[Mapping[str, Any]], *, text: str | None = None, action_id: str | None = None) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(block, element) of the first button whose text contains `text` (or the element with `action_id`)."""
    for block in blocks:
        elements = list(block.get("elements") or []) + ([block["accessory"]] if "accessory" in block else [])
        for element in elements:
            if action_id is not None and element.get("action_id") == action_id:
                return block, element
            if text is not None and element.get("type") == "button" and text.lower() in element["text"]["text"].lower():
                return block, element
    raise LookupError(f"no button {text or action_id!r} in those blocks")


def _option_for(element: Mapping[str, Any], wanted: Any) -> dict[str, Any]:
    options = element.get("options") or [o for g in element.get("option_groups") or () for o in g["options"]]
    for option in options:
        if wanted in (option["value"], option["text"]["text"]):
            return dict(option)
    raise LookupError(f"{wanted!r} is not an option of {element.get('action_id')}")


def state_values(view: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """A view's `state.values` as Slack sends them, for the answers given by block_id (option values or texts)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, given = element["type"], answers.get(block["block_id"])
        if kind in ("static_select", "radio_buttons"):
            state = {"selected_option": None if given is None else _option_for(element, given)}
        elif kind in ("multi_static_select", "checkboxes"):
            picked = given if isinstance(given, (list, tuple)) else ([] if given is None else [given])
            state = {"selected_options": [_option_for(element, item) for item in picked]}
        else:
            state = {"value": None if given is None else str(given)}
        values[block["block_id"]] = {element["action_id"]: {"type": kind, **state}}
    return values
