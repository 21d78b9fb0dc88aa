"""A stand-in for Slack, for tests and the demo: its Web API, response URLs and Socket Mode, on loopback.

`SlackStandIn` is a small aiohttp server that answers the Web API methods mentorbot calls with Slack's own
response shapes and errors (`channel_not_found`, `user_not_found`, `invalid_blocks` when a Block Kit limit is
broken, `expired_trigger_id`, 429 with Retry-After on demand) and records every call. `SlackDriver` plays the
other half of Slack: it sends the app signed requests shaped like Slack's payloads (events, button clicks,
modal submissions, slash commands) and follows what the app answered, the way a person in Slack would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from aiohttp import WSMsgType, web

# --- Block Kit limits, as Slack's reference states them ------------------------------------------

MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
LIMITS = {
    "section_text": 3000,
    "field_text": 2000,
    "fields": 10,
    "header_text": 150,
    "context_elements": 10,
    "actions_elements": 25,
    "button_text": 75,
    "button_value": 2000,
    "url": 3000,
    "id": 255,
    "options": 100,
    "option_groups": 100,
    "option_text": 75,
    "option_value": 150,
    "option_description": 75,
    "choice_options": 10,  # checkboxes and radio buttons
    "overflow_options": 5,
    "placeholder": 150,
    "label": 2000,
    "hint": 2000,
    "input_length": 3000,
    "view_title": 24,
    "view_button": 24,
    "private_metadata": 3000,
    "message_text": 40000,
}
_SELECTS = ("static_select", "multi_static_select")


def _text(obj: Any, where: str, limit: int, problems: list[str], *, plain_only: bool = False) -> None:
    if not isinstance(obj, Mapping) or obj.get("type") not in (("plain_text",) if plain_only else ("plain_text", "mrkdwn")):
        problems.append(f"{where}: must be a {'plain_text' if plain_only else 'text'} object")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"{where}: text must not be empty")
    elif len(text) > limit:
        problems.append(f"{where}: must be at most {limit} characters (is {len(text)})")


def _options(options: Any, where: str, problems: list[str], *, most: int) -> list[Mapping[str, Any]]:
    if not isinstance(options, list) or not options:
        problems.append(f"{where}: needs at least one option")
        return []
    if len(options) > most:
        problems.append(f"{where}: at most {most} options (has {len(options)})")
    for n, option in enumerate(options):
        _text(option.get("text"), f"{where}.options[{n}].text", LIMITS["option_text"], problems)
        value = option.get("value")
        if not isinstance(value, str) or not value or len(value) > LIMITS["option_value"]:
            problems.append(f"{where}.options[{n}].value: 1 to {LIMITS['option_value']} characters")
        if "description" in option:
            _text(option["description"], f"{where}.options[{n}].description", LIMITS["option_description"], problems)
    return options


def _element(element: Any, where: str, problems: list[str], action_ids: set[str]) -> None:
    if not isinstance(element, Mapping):
        problems.append(f"{where}: must be an object")
        return
    kind = element.get("type")
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not 0 < len(action_id) <= LIMITS["id"]:
            problems.append(f"{where}.action_id: 1 to {LIMITS['id']} characters")
        elif action_id in action_ids:
            problems.append(f"{where}.action_id: {action_id!r} is used twice in one block")
        action_ids.add(str(action_id))
    if "placeholder" in element:
        _text(element["placeholder"], f"{where}.placeholder", LIMITS["placeholder"], problems, plain_only=True)
    if kind == "button":
        _text(element.get("text"), f"{where}.text", LIMITS["button_text"], problems, plain_only=True)
        if len(str(element.get("value", ""))) > LIMITS["button_value"]:
            problems.append(f"{where}.value: at most {LIMITS['button_value']} characters")
        if len(str(element.get("url", ""))) > LIMITS["url"]:
            problems.append(f"{where}.url: at most {LIMITS['url']} characters")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}.style: primary or danger")
    elif kind in _SELECTS:
        if "option_groups" in element:
            groups = element["option_groups"]
            if not isinstance(groups, list) or not 0 < len(groups) <= LIMITS["option_groups"]:
                problems.append(f"{where}.option_groups: 1 to {LIMITS['option_groups']} groups")
                groups = groups if isinstance(groups, list) else []
            options = [o for n, g in enumerate(groups) for o in _options(g.get("options"), f"{where}.option_groups[{n}]", problems, most=LIMITS["options"])]
        else:
            options = _options(element.get("options"), where, problems, most=LIMITS["options"])
        _initial_options(element, options, where, problems)
        if kind == "multi_static_select" and "max_selected_items" in element and int(element["max_selected_items"]) < 1:
            problems.append(f"{where}.max_selected_items: at least 1")
    elif kind in ("checkboxes", "radio_buttons"):
        options = _options(element.get("options"), where, problems, most=LIMITS["choice_options"])
        _initial_options(element, options, where, problems)
    elif kind == "overflow":
        _options(element.get("options"), where, problems, most=LIMITS["overflow_options"])
    elif kind == "plain_text_input":
        most = int(element.get("max_length", LIMITS["input_length"]))
        if most > LIMITS["input_length"]:
            problems.append(f"{where}.max_length: at most {LIMITS['input_length']}")
        if len(str(element.get("initial_value", ""))) > most:
            problems.append(f"{where}.initial_value: longer than max_length")
    elif kind == "number_input":
        if "is_decimal_allowed" not in element:
            problems.append(f"{where}: number_input needs is_decimal_allowed")
    elif kind in ("email_text_input", "datepicker", "timepicker", "image"):
        pass
    else:
        problems.append(f"{where}: unknown element type {kind!r}")


def _initial_options(element: Mapping[str, Any], options: list[Mapping[str, Any]], where: str, problems: list[str]) -> None:
    known = {(o.get("value"), json.dumps(o.get("text"), sort_keys=True)) for o in options}
    initial = element.get("initial_options") or ([element["initial_option"]] if "initial_option" in element else [])
    for option in initial:
        if (option.get("value"), json.dumps(option.get("text"), sort_keys=True)) not in known:
            problems.append(f"{where}: an initial option must be one of the options exactly")


def block_kit_problems(blocks: Any, *, surface: str) -> list[str]:
    """Every way `blocks` break Slack's Block Kit limits on a surface (message, modal or home); empty when fine."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        problems.append(f"a {surface} has at most {MAX_BLOCKS[surface]} blocks (has {len(blocks)})")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 0 < len(block_id) <= LIMITS["id"]:
                problems.append(f"{where}.block_id: 1 to {LIMITS['id']} characters")
            elif block_id in block_ids:
                problems.append(f"{where}.block_id: {block_id!r} is used twice")
            block_ids.add(str(block_id))
        kind = block.get("type")
        action_ids: set[str] = set()
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: a section needs text or fields")
            if "text" in block:
                _text(block["text"], f"{where}.text", LIMITS["section_text"], problems)
            fields = block.get("fields") or []
            if len(fields) > LIMITS["fields"]:
                problems.append(f"{where}.fields: at most {LIMITS['fields']}")
            for n, item in enumerate(fields):
                _text(item, f"{where}.fields[{n}]", LIMITS["field_text"], problems)
            if "accessory" in block:
                _element(block["accessory"], f"{where}.accessory", problems, action_ids)
        elif kind == "header":
            _text(block.get("text"), f"{where}.text", LIMITS["header_text"], problems, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= LIMITS["context_elements"]:
                problems.append(f"{where}.elements: 1 to {LIMITS['context_elements']}")
            for n, item in enumerate(elements):
                if item.get("type") != "image":
                    _text(item, f"{where}.elements[{n}]", LIMITS["section_text"], problems)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= LIMITS["actions_elements"]:
                problems.append(f"{where}.elements: 1 to {LIMITS['actions_elements']}")
            for n, item in enumerate(elements):
                _element(item, f"{where}.elements[{n}]", problems, action_ids)
        elif kind == "input":
            if surface != "modal":
                problems.append(f"{where}: input blocks belong in modals")
            _text(block.get("label"), f"{where}.label", LIMITS["label"], problems, plain_only=True)
            if "hint" in block:
                _text(block["hint"], f"{where}.hint", LIMITS["hint"], problems, plain_only=True)
            _element(block.get("element"), f"{where}.element", problems, action_ids)
        elif kind in ("divider", "image"):
            pass
        else:
            problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def view_problems(view: Any) -> list[str]:
    """What is wrong with a modal or Home tab view, Block Kit limits included."""
    if not isinstance(view, Mapping):
        return ["view must be an object"]
    surface = view.get("type")
    if surface not in ("modal", "home"):
        return ["view type must be modal or home"]
    problems = block_kit_problems(view.get("blocks"), surface=surface)
    if len(str(view.get("private_metadata", ""))) > LIMITS["private_metadata"]:
        problems.append(f"private_metadata: at most {LIMITS['private_metadata']} characters")
    if len(str(view.get("callback_id", ""))) > LIMITS["id"]:
        problems.append(f"callback_id: at most {LIMITS['id']} characters")
    if surface == "modal":
        _text(view.get("title"), "title", LIMITS["view_title"], problems, plain_only=True)
        for name in ("submit", "close"):
            if name in view:
                _text(view[name], name, LIMITS["view_button"], problems, plain_only=True)
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and "submit" not in view:
            problems.append("a modal with inputs needs a submit button")
    return problems


# --- the Web API ---------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made of the stand-in."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    at: float


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error, self.extra = error, extra


@dataclass
class _Trap:
    remaining: int
    value: Any


@dataclass
class SlackStandIn:
    """Slack's Web API, response URLs and Socket Mode on 127.0.0.1 (port 0), recording every call."""

    bot_token: str = "xoxb-standin-token"
    app_token: str = "xapp-standin-token"
    team_id: str = "T0STANDIN"
    bot_user_id: str = "UBOTSTAND"
    trigger_seconds: float = 3.0  # Slack's trigger_id lifetime
    calls: list[Call] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages, oldest first
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)  # open modals by view id
    homes: dict[str, dict[str, Any]] = field(default_factory=dict)  # published Home tabs by user id
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response URLs, with "token"
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: set[str] = field(default_factory=set)  # public channels the bot is a member of

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)
        self._triggers: dict[str, tuple[str, float, bool]] = {}
        self._rate_limits: dict[str, _Trap] = {}
        self._delays: dict[str, float] = {}
        self._failures: dict[str, _Trap] = {}
        self._response_uses: dict[str, int] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_waiters: dict[str, asyncio.Future] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- running ---------------------------------------------------------------------------------

    async def start(self) -> SlackStandIn:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # Slack takes GET with query arguments too (users.info does)
        app.router.add_post("/response/{token}", self._response)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> SlackStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be to reach this stand-in."""
        return f"{self.url}/api/"

    # -- what tests and the demo set up ------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, email: str | None = None, is_admin: bool = False, tz: str = "America/Los_Angeles") -> None:
        """A member of the workspace."""
        self.users[user_id] = {
            "id": user_id, "team_id": self.team_id, "name": name.split()[0].lower(), "real_name": name, "deleted": False,
            "is_admin": is_admin, "is_owner": False, "is_bot": False, "tz": tz,
            "profile": {"real_name": name, "display_name": name.split()[0], "email": email},
        }  # fmt: skip

    def rate_limit(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and Retry-After."""
        self._rate_limits[method] = _Trap(times, retry_after)

    def delay(self, method: str, seconds: float) -> None:
        """Make `method` (or "response_url") slow."""
        self._delays[method] = seconds

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with this Slack error."""
        self._failures[method] = _Trap(times, error)

    def new_trigger(self, user_id: str, *, age: float = 0.0) -> str:
        """A trigger_id as Slack issues one with an interaction; `age` seconds old already."""
        trigger = f"{next(self._counter)}.{int(time.time())}.{uuid.uuid4().hex[:12]}"
        self._triggers[trigger] = (user_id, time.monotonic() - age, False)
        return trigger

    def new_response_url(self) -> str:
        """A response_url as Slack includes in commands and message interactions."""
        return f"{self.url}/response/{uuid.uuid4().hex}"

    # -- what tests and the demo read --------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        """The recorded calls of one method (only the successful ones with ok=True)."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id

    def add_channel(self, channel_id: str) -> None:
        """A public channel the bot has been invited to (posts to it succeed; others are channel_not_found)."""
        self.channels.add(channel_id)

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """Messages the bot posted in its DM with a user, oldest first (as they stand after updates)."""
        return list(self.messages.get(self.dm_channel(user_id), []))

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        token = url.rstrip("/").rsplit("/", 1)[-1]
        return [r for r in self.responses if r["token"] == token]

    def open_view_of(self, user_id: str) -> dict[str, Any] | None:
        """The modal a user has open, if any (the last one opened)."""
        mine = [v for v in self.views.values() if v.get("_user") == user_id]
        return mine[-1] if mine else None

    # -- HTTP handlers ---------------------------------------------------------------------------------

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                args.update(json.loads(raw))
            else:
                args.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
        for name in ("blocks", "view", "metadata"):
            if isinstance(args.get(name), str) and args[name].strip()[:1] in ("[", "{"):
                args[name] = json.loads(args[name])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        if method in self._delays:
            await asyncio.sleep(self._delays[method])
        trap = self._rate_limits.get(method)
        if trap and trap.remaining > 0:
            trap.remaining -= 1
            self.calls.append(Call(method, args, False, "ratelimited", time.time()))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(trap.value)})
        try:
            self._authorize(method, request)
            failure = self._failures.get(method)
            if failure and failure.remaining > 0:
                failure.remaining -= 1
                raise ApiError(failure.value)
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise ApiError("unknown_method")
            body = {"ok": True, **handler(args)}
        except ApiError as exc:
            self.calls.append(Call(method, args, False, exc.error, time.time()))
            return web.json_response({"ok": False, "error": exc.error, **exc.extra})
        self.calls.append(Call(method, args, True, None, time.time()))
        return web.json_response(body)

    def _authorize(self, method: str, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise ApiError("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if header.removeprefix("Bearer ") != wanted:
            raise ApiError("invalid_auth")

    def _check_blocks(self, blocks: Any, *, surface: str) -> None:
        if blocks in (None, ""):
            return
        problems = block_kit_problems(blocks, surface=surface)
        if problems:
            raise ApiError("invalid_blocks", errors=problems, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})

    def _user(self, user_id: Any) -> dict[str, Any]:
        user = self.users.get(str(user_id))
        if user is None:
            raise ApiError("user_not_found")
        return user

    def _channel(self, channel: Any) -> str:
        channel = str(channel or "")
        if channel.startswith("U") and channel in self.users:
            return self.dm_channel(channel)  # posting to a user ID lands in the app's DM with them
        if channel.startswith("D") and channel[1:] in self.users:
            return channel
        if channel in self.channels:
            return channel
        raise ApiError("channel_not_found")

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._counter):06d}"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://standin.slack.example/", "team": "Stand-in", "user": "mentorbot", "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": "BSTANDIN", "is_enterprise_install": False}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(args.get("user"))}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users") or "").split(",")
        if len(users) != 1 or not users[0]:
            raise ApiError("invalid_arguments")
        user = self._user(users[0])
        if user["deleted"]:
            raise ApiError("user_disabled")
        channel = self.dm_channel(user["id"])
        already = channel in self.messages
        self.messages.setdefault(channel, [])
        return {"channel": {"id": channel}, "no_op": already, "already_open": already}

    def _message_args(self, args: dict[str, Any]) -> tuple[str, Any]:
        text, blocks = args.get("text"), args.get("blocks")
        if not text and not blocks:
            raise ApiError("no_text")
        if text and len(str(text)) > LIMITS["message_text"]:
            raise ApiError("msg_too_long")
        self._check_blocks(blocks, surface="message")
        return str(text or ""), blocks

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        text, blocks = self._message_args(args)
        message = {"type": "message", "ts": self._ts(), "user": self.bot_user_id, "bot_id": "BSTANDIN", "text": text, "blocks": blocks or []}
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        text, blocks = self._message_args(args)
        for message in self.messages.get(channel, []):
            if message["ts"] == args.get("ts"):
                message.update(text=text, blocks=blocks or [], edited=True)
                return {"channel": channel, "ts": message["ts"], "text": text, "message": message}
        raise ApiError("message_not_found")

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._user(args.get("user"))
        text, blocks = self._message_args(args)
        ts = self._ts()
        self.ephemeral.append({"channel": args.get("channel"), "user": args.get("user"), "text": text, "blocks": blocks, "ts": ts})
        return {"message_ts": ts}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        limit = int(args.get("limit") or 100)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = list(reversed(self.messages.get(channel, [])))
        shown = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in newest_first[:limit]]
        return {"messages": shown, "has_more": len(newest_first) > limit}

    def _take_trigger(self, trigger_id: Any) -> str:
        found = self._triggers.get(str(trigger_id))
        if found is None:
            raise ApiError("invalid_trigger_id")
        user_id, issued, used = found
        if used:
            raise ApiError("trigger_exchanged")
        if time.monotonic() - issued > self.trigger_seconds:
            raise ApiError("expired_trigger_id")
        self._triggers[str(trigger_id)] = (user_id, issued, True)
        return user_id

    def _check_view(self, view: Any) -> None:
        problems = view_problems(view)
        if problems:
            raise ApiError("invalid_blocks" if any("block" in p for p in problems) else "invalid_arguments",
                           errors=problems, response_metadata={"messages": [f"[ERROR] {p}" for p in problems]})  # fmt: skip

    def store_view(self, view: Mapping[str, Any], *, user_id: str, view_id: str | None = None) -> dict[str, Any]:
        """Record a view as open for a user and return it as Slack would (id, hash, empty state)."""
        stored = {**view, "id": view_id or f"V{next(self._counter):08d}", "hash": uuid.uuid4().hex[:16], "state": {"values": {}}, "_user": user_id, "team_id": self.team_id}
        stored.setdefault("private_metadata", "")
        stored.setdefault("callback_id", "")
        self.views[stored["id"]] = stored
        return stored

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        self._check_view(view)
        user_id = self._take_trigger(args.get("trigger_id"))
        return {"view": self._public(self.store_view(view, user_id=user_id))}

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._m_views_open(args)

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        self._check_view(view)
        current = self.views.get(str(args.get("view_id")))
        if current is None:
            raise ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        return {"view": self._public(self.store_view(view, user_id=current["_user"], view_id=current["id"]))}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._user(args.get("user_id"))
        view = args.get("view")
        self._check_view(view)
        if view.get("type") != "home":
            raise ApiError("invalid_arguments")
        stored = {**view, "id": self.homes.get(user["id"], {}).get("id") or f"VH{next(self._counter):07d}", "hash": uuid.uuid4().hex[:16]}
        self.homes[user["id"]] = stored
        return {"view": stored}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://") + "/socket-mode"}

    @staticmethod
    def _public(view: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in view.items() if not k.startswith("_")}

    async def _response(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if "response_url" in self._delays:
            await asyncio.sleep(self._delays["response_url"])
        uses = self._response_uses.get(token, 0)
        if uses >= 5:  # Slack allows a response_url five uses within 30 minutes
            return web.Response(status=404, text="used_url")
        body = json.loads(await request.read() or b"{}")
        if block_kit_problems(body.get("blocks") or [], surface="message"):
            return web.Response(status=400, text="invalid_blocks")
        self._response_uses[token] = uses + 1
        self.responses.append({**body, "token": token})
        return web.Response(text="ok")

    # -- Socket Mode -------------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets), "connection_info": {"app_id": "ASTANDIN"}})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                envelope_id = ack.get("envelope_id")
                self.socket_acks[envelope_id] = ack
                waiter = self._socket_waiters.pop(envelope_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            self._sockets.remove(ws)
        return ws

    async def socket_connected(self, timeout: float = 10.0) -> bool:
        """Wait until an app has connected over Socket Mode."""
        deadline = time.monotonic() + timeout
        while not self._sockets and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return bool(self._sockets)

    async def socket_send(self, kind: str, payload: Mapping[str, Any], *, timeout: float = 5.0) -> dict[str, Any]:
        """Deliver an envelope (events_api, interactive, slash_commands) over Socket Mode and wait for its ack."""
        if not self._sockets:
            raise RuntimeError("no app is connected over Socket Mode")
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future = asyncio.get_running_loop().create_future()
        self._socket_waiters[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {"envelope_id": envelope_id, "type": kind, "payload": dict(payload), "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        )
        return await asyncio.wait_for(waiter, timeout)


# --- the other half of Slack: requests into the app ------------------------------------------------


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
