"""`SlackDriver`: a person in Slack, toward the app: signed requests, following what the app sends back."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.doubles.slack.blockkit import view_problems
from bot.doubles.slack.payloads import app_home_opened, event_callback, find_element, message_im, sign, slash_command, state_values, user_ref
from bot.doubles.slack.web_api import SlackStandIn


@dataclass
class SlackDriver:
    """Plays Slack toward the app: signed requests shaped like Slack's own, following what the app sends back."""

    standin: SlackStandIn
    app_url: str
    signing_secret: str
    path: str = "/slack/events"

    async def post(self, body: str, *, content_type: str, headers: Mapping[str, str] | None = None, signed: bool = True) -> httpx.Response:
        """POST a body to the app as Slack would (signed unless told otherwise)."""
        sent = {"Content-Type": content_type, **(sign(body, secret=self.signing_secret) if signed else {}), **(headers or {})}
        async with httpx.AsyncClient(base_url=self.app_url, timeout=30) as client:
            return await client.post(self.path, content=body.encode("utf-8"), headers=sent)

    async def post_json(self, payload: Mapping[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.post(json.dumps(payload), content_type="application/json", **kwargs)

    async def post_form(self, form: Mapping[str, str], **kwargs: Any) -> httpx.Response:
        return await self.post(urlencode(form), content_type="application/x-www-form-urlencoded", **kwargs)

    async def post_interaction(self, payload: Mapping[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.post_form({"payload": json.dumps(payload)}, **kwargs)

    # -- what a person does ------------------------------------------------------------------------------

    async def event(self, event: Mapping[str, Any], *, event_id: str | None = None, retry_num: int | None = None) -> httpx.Response:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return await self.post_json(event_callback(self.standin, event, event_id=event_id), headers=headers)

    async def say(self, user_id: str, text: str) -> httpx.Response:
        """Type a direct message to the bot."""
        return await self.event(message_im(self.standin, user_id, text))

    async def open_home(self, user_id: str) -> httpx.Response:
        return await self.event(app_home_opened(self.standin, user_id))

    async def command(self, user_id: str, text: str) -> tuple[httpx.Response, str]:
        """Run `/mentoring text`; returns the app's HTTP answer and the response_url it may post to later."""
        response_url = self.standin.new_response_url()
        form = slash_command(self.standin, user_id, text, response_url=response_url, trigger_id=self.standin.new_trigger(user_id))
        return await self.post_form(form), response_url

    async def click(self, user_id: str, text: str, *, where: str = "dm", message: Mapping[str, Any] | None = None, trigger_age: float = 0.0) -> httpx.Response:
        """Click a button by its text: in the latest DM that has it, on the user's Home tab, or in their open modal."""
        action_ts = f"{time.time():.6f}"
        base = {
            "type": "block_actions", "user": user_ref(self.standin, user_id), "api_app_id": "ASTANDIN", "token": "legacy-verification-token",
            "trigger_id": self.standin.new_trigger(user_id, age=trigger_age), "team": {"id": self.standin.team_id, "domain": "standin"},
            "enterprise": None, "is_enterprise_install": False, "state": {"values": {}},
        }  # fmt: skip
        if where == "dm":
            candidates = [message] if message is not None else list(reversed(self.standin.dms(user_id)))
            for candidate in candidates:
                try:
                    block, element = find_element(candidate.get("blocks") or [], text=text)
                except LookupError:
                    continue
                channel = self.standin.dm_channel(user_id)
                payload = {
                    **base, "container": {"type": "message", "message_ts": candidate["ts"], "channel_id": channel, "is_ephemeral": False},
                    "channel": {"id": channel, "name": "directmessage"}, "message": candidate, "response_url": self.standin.new_response_url(),
                }  # fmt: skip
                break
            else:
                raise LookupError(f"no DM to {user_id} has a button {text!r}")
        else:
            view = self.standin.homes.get(user_id) if where == "home" else self.standin.open_view_of(user_id)
            if view is None:
                raise LookupError(f"{user_id} has no {where} view")
            block, element = find_element(view.get("blocks") or [], text=text)
            payload = {**base, "container": {"type": "view", "view_id": view["id"]}, "view": SlackStandIn._public(view)}
        action = {"action_id": element["action_id"], "block_id": block.get("block_id", ""), "text": element["text"], "value": element.get("value", ""), "type": "button", "action_ts": action_ts}
        return await self.post_interaction({**payload, "actions": [action]})

    async def submit(self, user_id: str, answers: Mapping[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        """Fill in the user's open modal (answers by block_id) and press its submit button; follows the app's answer."""
        view = self.standin.views[view_id] if view_id else self.standin.open_view_of(user_id)
        if view is None:
            raise LookupError(f"{user_id} has no modal open")
        submitted = {**SlackStandIn._public(view), "state": {"values": state_values(view, answers)}}
        payload = {
            "type": "view_submission", "team": {"id": self.standin.team_id, "domain": "standin"}, "user": user_ref(self.standin, user_id),
            "api_app_id": "ASTANDIN", "token": "legacy-verification-token", "trigger_id": self.standin.new_trigger(user_id),
            "view": submitted, "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }  # fmt: skip
        response = await self.post_interaction(payload)
        response.raise_for_status()
        answer = response.json() if response.content else {}
        action = answer.get("response_action")
        if action == "update":
            problems = view_problems(answer["view"])
            if problems:
                raise AssertionError(f"the app answered with a view Slack would refuse: {problems}")
            self.standin.store_view(answer["view"], user_id=user_id, view_id=view["id"])
        elif action in (None, "clear"):
            self.standin.views.pop(view["id"], None)
        return answer

    async def close(self, user_id: str, answers: Mapping[str, Any], *, view_id: str | None = None) -> httpx.Response:
        """Close the user's open modal half-filled (Slack sends view_closed when notify_on_close is set)."""
        view = self.standin.views[view_id] if view_id else self.standin.open_view_of(user_id)
        if view is None:
            raise LookupError(f"{user_id} has no modal open")
        self.standin.views.pop(view["id"], None)
        if not view.get("notify_on_close"):
            return httpx.Response(200)
        submitted = {**SlackStandIn._public(view), "state": {"values": state_values(view, answers)}}
        payload = {"type": "view_closed", "team": {"id": self.standin.team_id, "domain": "standin"}, "user": user_ref(self.standin, user_id), "api_app_id": "ASTANDIN", "token": "legacy-verification-token", "view": submitted, "is_cleared": False, "is_enterprise_install": False}
        return await self.post_interaction(payload)
