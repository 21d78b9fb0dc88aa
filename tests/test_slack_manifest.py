"""The manifest and the app agree: every event, command and request URL the app serves is declared, with the scopes it needs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from bot.slack.router import EVENTS_PATH
from tests.slack_helpers import slack_harness, wait_for

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[1] / "app_manifest.yaml").read_text(encoding="utf-8"))


def test_the_manifest_declares_what_the_app_listens_for() -> None:
    settings = MANIFEST["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "message.im"}
    assert settings["interactivity"]["is_enabled"] is True
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"], *(c["url"] for c in MANIFEST["features"]["slash_commands"])]
    assert all(url.endswith(EVENTS_PATH) for url in urls)
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # chat.postMessage/update, slash commands, DM history (the resend check), conversations.open, users.info and its email
    assert {"chat:write", "commands", "im:history", "im:write", "users:read", "users:read.email"} <= scopes
    # a program's announce_channel is posted to without inviting the bot there first
    assert "chat:write.public" in scopes


def test_the_manifest_lets_admins_sign_in_with_slack() -> None:
    from bot.settings import Settings
    from bot.web.admin.auth import redirect_uri

    oauth = MANIFEST["oauth_config"]
    # the scopes `auth.start_sign_in` asks for, and the callback `redirect_uri` names, on the manifest's address
    assert set(oauth["scopes"]["user"]) == {"openid", "email", "profile"}
    base = MANIFEST["settings"]["event_subscriptions"]["request_url"].removesuffix(EVENTS_PATH)
    assert oauth["redirect_urls"] == [redirect_uri(Settings(_env_file=None, public_base_url=base))]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] and MANIFEST["features"]["app_home"]["messages_tab_enabled"]


async def test_a_teacher_without_a_slack_id_on_the_roster_is_linked_by_email(tmp_path: Path, sqlite_url: str) -> None:
    roster = ("dee@d.example,Dee Park,mentee,,Lincoln,6-8,math,,SEL,Tue 15:30-16:30,,,America/Los_Angeles",)
    async with slack_harness(tmp_path, sqlite_url, roster=roster) as h:
        h.standin.add_user("UDEE00001", "Dee Park", email="dee@d.example")
        await h.driver.open_home("UDEE00001")
        home = await wait_for(lambda: h.standin.homes.get("UDEE00001"), what="Dee's Home tab")
        assert "can't find you" not in json.dumps(home)
        from storage import repo
        from storage.db import session_scope

        with session_scope(h.engine) as session:
            assert repo.people_by_email(session, emails=["dee@d.example"])["dee@d.example"].slack_user_id == "UDEE00001"
