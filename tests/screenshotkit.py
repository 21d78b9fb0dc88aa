"""Screenshots for the docs site: a realistic program (the demo roster) seeded into SQLite, the app served on loopback
and photographed in Debian's headless Chromium (the setup tests/test_admin_browser.py uses).

    /work/main/.venv/bin/python -m tests.screenshotkit docs/images

writes docs/images/*.png: the overview, people waiting for approval, a round in review, a published round's timeline,
the Mail page with a pairing email opened, and a preview of the Slack pairing message. Slack's own rendering of Block
Kit needs Slack, so the Slack picture is a plain local rendering of the message's blocks, captioned as a preview.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright
from sqlmodel import select

from bot.email.render import build_mime, render_notice
from bot.importer import import_roster
from bot.notices import notice_of
from bot.rounds import service
from bot.rounds.schedule import publish_round, run_due_actions, schedule_config
from bot.settings import Settings
from bot.slack.messages import render_notice as slack_notice
from bot.web.admin import auth
from bot.web.admin.mail import mail_folder
from storage import db
from storage.db import session_scope
from storage.models import OutboxMessage, Person
from tests.adminkit import PROGRAM, ZONE, admin_settings, serving
from tests.conftest import SHARED_ROSTER

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars",
]  # fmt: skip
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # a Monday afternoon, as in the tests
PAGE = {
    "width": 1100,
    "height": 760,
}  # what every admin shot is: one screen of the page, not the whole scroll
MESSAGE = {
    "width": 760,
    "height": 320,
}  # a message on its own is narrower, like a mail or chat window


@dataclass(frozen=True)
class Shot:
    """One picture the docs embed: its file name and the width it must have."""

    name: str
    width: int


SHOTS = (
    Shot("admin-overview.png", PAGE["width"]),
    Shot("admin-people-approvals.png", PAGE["width"]),
    Shot("admin-round-review.png", PAGE["width"]),
    Shot("admin-round-timeline.png", PAGE["width"]),
    Shot("admin-mail-pairing-email.png", PAGE["width"]),
    Shot("slack-pairing-preview.png", MESSAGE["width"]),
)


def seed_waiting_for_approval(engine: Any) -> None:
    """The demo roster imported and a term open whose mentors wait for their principal's approval."""
    import_roster(
        engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=NOW
    )
    service.open_term(
        engine,
        program_name=PROGRAM,
        timezone=ZONE,
        name="Spring 2027",
        opt_in_by=None,
        now=NOW,
    )
    service.enroll_from_roster(
        engine, program_name=PROGRAM, term_name=None, require_approval=True, now=NOW
    )


def seed_round_in_review(engine: Any) -> int:
    """A two-session round created, opened and matched; returns its id."""
    request = service.RoundRequest(sessions=2, start_on=date(2026, 12, 7))
    round_ = service.create_round(
        engine, program_name=PROGRAM, term_name=None, request=request, now=NOW
    )
    service.move_round(engine, round_id=round_.id, target="collecting", now=NOW)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=NOW)
    return round_.id


def pairing_messages(engine: Any, settings: Settings, folder: Path) -> tuple[str, Any]:
    """The queued pairing emails written into the mail sink as the sender would; returns the first file's name and
    that message's notice rendered for Slack."""
    folder.mkdir(parents=True, exist_ok=True)
    first, slack = "", None
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.purpose == "pairing", OutboxMessage.channel == "email")
            .order_by(OutboxMessage.id)
        )
        for number, message in enumerate(list(rows)[:6]):
            person = session.get(Person, message.person_id)
            rendered = render_notice(
                session, message=message, settings=settings, now=NOW
            )
            mail = build_mime(
                message, rendered, settings=settings, person=person, now=NOW
            )
            name = f"20261123T1705{number:02d}.000000Z-{number:08x}.eml"
            (folder / name).write_bytes(
                f"X-Sink-Envelope-To: {person.email}\r\n".encode() + mail.as_bytes()
            )
            if not first:
                first, slack = (
                    name,
                    slack_notice(notice_of(message), timezone=person.timezone),
                )
    return first, slack


# --- a local preview of a Slack message -----------------------------------------------------------

_BOLD, _ITALIC = re.compile(r"\*([^*\n]+)\*"), re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
_LINK = re.compile(r"&lt;([^|&]+)\|([^&]+)&gt;")


def mrkdwn_html(text: str) -> str:
    """Slack's mrkdwn (bold, italics, links, line breaks) as HTML; everything else shown as typed."""
    out = html.escape(html.unescape(text), quote=False)
    out = _LINK.sub(r'<a href="\1">\2</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _ITALIC.sub(r"<em>\1</em>", out)
    return out.replace("\n", "<br>")


def block_html(block: dict[str, Any]) -> str:
    """One Block Kit block (header, section, context, divider, actions) as simple HTML."""
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{html.escape(block['text']['text'])}</h3>"
    if kind == "section":
        return f"<p>{mrkdwn_html(block['text']['text'])}</p>"
    if kind == "context":
        return (
            "<p class='context'>"
            + " ".join(
                mrkdwn_html(e.get("text", "")) for e in block.get("elements", [])
            )
            + "</p>"
        )
    if kind == "divider":
        return "<hr>"
    if kind == "actions":
        return (
            "<p>"
            + " ".join(
                f"<span class='button'>{html.escape(e['text']['text'])}</span>"
                for e in block["elements"]
            )
            + "</p>"
        )
    return ""


def slack_preview_html(rendered: Any, *, bot_name: str = "mentorbot") -> str:
    """A page that shows a Slack message's blocks in a chat-like frame, captioned as a local preview."""
    blocks = "\n".join(block_html(block) for block in rendered.blocks)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>
body {{ font: 15px/1.46 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d1c1d; margin: 0; background: #f8f8f8; }}
.caption {{ background: #fff4ce; border-bottom: 1px solid #e0c97a; padding: 8px 20px; font-size: 13px; }}
.message {{ display: flex; gap: 12px; background: #fff; margin: 16px; padding: 16px 20px; border-radius: 8px; border: 1px solid #ddd; }}
.avatar {{ width: 36px; height: 36px; border-radius: 6px; background: #2e6b5e; color: #fff; font-weight: 700; text-align: center; line-height: 36px; flex: none; }}
.who {{ font-weight: 700; }} .app {{ font-size: 11px; background: #eee; color: #555; padding: 1px 4px; border-radius: 3px; margin-left: 4px; }}
h3 {{ font-size: 18px; margin: 6px 0; }} p {{ margin: 6px 0; }} a {{ color: #1264a3; }} .context {{ color: #616061; font-size: 13px; }}
.button {{ display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px; font-weight: 700; font-size: 14px; }}
</style></head><body>
<div class="caption">Preview: the message's text and blocks drawn locally; Slack's own look differs in detail.</div>
<div class="message"><div class="avatar">M</div><div><div class="who">{html.escape(bot_name)}<span class="app">APP</span></div>
{blocks}
</div></div></body></html>"""


# --- the pictures ---------------------------------------------------------------------------------


async def _open(page: Page, address: str) -> None:
    """Go to an admin page; a page that answers with an error is never photographed."""
    response = await page.goto(address)
    if response is None or not response.ok:
        raise RuntimeError(
            f"{address} answered {response.status if response else 'nothing'}"
        )


async def _shoot(page: Page, path: Path) -> None:
    await page.screenshot(path=str(path), full_page=False)


async def generate(out: Path, work: Path | None = None) -> list[Path]:
    """Seed a program in a fresh SQLite database under `work`, serve it and write every shot in SHOTS into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mentorbot-shots-") as scratch:
        work = work or Path(scratch)
        url = f"sqlite:///{work / 'shots.db'}"
        settings = admin_settings(
            work, url, mail_from="mentoring@district.example", reply_domain="reply.district.example",
            email_token_secret="s" * 32, public_base_url="https://mentoring.district.example",
        )  # fmt: skip
        engine = db.create_db_engine(url)
        db.upgrade(engine)
        seed_waiting_for_approval(engine)
        async with (
            serving(settings, clock=lambda: NOW) as base,
            async_playwright() as playwright,
        ):
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=ARGS, headless=True
            )
            try:
                context = await browser.new_context(
                    viewport=PAGE, base_url=base, color_scheme="light"
                )
                page = await context.new_page()
                link = auth.make_sign_in_link(settings, now=NOW)
                await page.goto(link.url.replace(settings.public_base_url, base))
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(re.compile(r"/admin$"))

                await _open(page, "/admin/people")
                await _shoot(page, out / "admin-people-approvals.png")
                await page.get_by_role(
                    "button", name=re.compile(r"Approve all \d+ waiting mentors")
                ).click()
                await page.wait_for_selector(".flash")

                round_id = seed_round_in_review(engine)
                await _open(page, "/admin")
                await _shoot(page, out / "admin-overview.png")
                await _open(page, f"/admin/rounds/{round_id}")
                await _shoot(page, out / "admin-round-review.png")

                config = schedule_config(settings)
                publish_round(
                    engine,
                    round_id=round_id,
                    now=NOW,
                    config=config,
                    message="Welcome to spring mentoring!",
                )
                run_due_actions(engine, now=NOW, config=config)
                reloaded = await page.reload()  # the same address as the review shot: a fresh load, not a jump to an anchor
                assert reloaded is not None and reloaded.ok
                await page.evaluate(
                    "document.getElementById('timeline').scrollIntoView()"
                )
                await _shoot(page, out / "admin-round-timeline.png")

                name, slack = pairing_messages(
                    engine, settings, mail_folder(settings.data_dir)
                )
                await _open(page, f"/admin/mail/{name}")
                await page.locator("iframe.mail").evaluate(
                    "el => el.closest('section, .card, div').scrollIntoView()"
                )
                await page.wait_for_timeout(
                    200
                )  # the frame's own document loads after the page
                await _shoot(page, out / "admin-mail-pairing-email.png")

                chat = await browser.new_page(viewport=MESSAGE)
                await chat.set_content(slack_preview_html(slack))
                await chat.screenshot(
                    path=str(out / "slack-pairing-preview.png"), full_page=True
                )
                await context.close()
            finally:
                await browser.close()
        engine.dispose()
    return [out / shot.name for shot in SHOTS]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")
    written = asyncio.run(generate(target))
    for path in written:
        print(
            f"{path}  {png_size(path)[0]}x{png_size(path)[1]}  {path.stat().st_size:,} bytes"
        )
    print(f"total {sum(p.stat().st_size for p in written):,} bytes")
