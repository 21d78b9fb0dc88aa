"""Slack's Web API, response URLs and Socket Mode on loopback (`SlackStandIn`), recording every call the bot makes."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.doubles.slack.blockkit import LIMITS, block_kit_problems, view_problems


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
