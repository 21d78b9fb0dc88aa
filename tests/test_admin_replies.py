"""The admin page "Replies to read" over real HTTP on SQLite and PostgreSQL, and once in headless Chromium: held
replies listed newest first with their words escaped and their pairing linked, only the program shown, a count in
the nav, and marked handled (or open again) only through a form that carries the session's CSRF token."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlmodel import select

from bot.email import forward
from bot.programs.spec import ProgramSpec
from bot.programs.store import apply_specs
from storage import db
from storage.db import session_scope
from storage.models import HeldReply, Person
from tests.adminkit import PROGRAM, admin_settings, serving, session_cookie, sign_in_with_link
from tests.test_admin_browser import browser, shot  # noqa: F401 - the Chromium fixture
from tests.test_email_forward import Seeded, seed

SCRIPTED = "<script>alert('hi')</script> Is the <b>Zoom</b> link the same as last time?"


def hold(engine, settings, now: datetime, *, person_id: int, text: str, key: str, context: str = "") -> int:
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        result = forward.hold_for_people(
            session, person=person, text=text, subject="Re: Check-in", reason=forward.REASON_QUESTION, flow="check_in" if context else None,
            context=context, source_key=key, now=now, settings=settings,
        )  # fmt: skip
        return result.held_reply_id


def seed_replies(engine, settings, now: datetime) -> tuple[Seeded, dict[str, int]]:
    """Two replies in the program shown, one in another program, one that belongs to no program."""
    ids = seed(engine, now, admins=[], program=PROGRAM)
    apply_specs(engine, [ProgramSpec(name="SEL Series")], now=now)
    with session_scope(engine) as session:
        outsider = Person(email="lee.wong@westside.k12.example", name="Lee Wong", created_at=now, updated_at=now)
        session.add(outsider)
        session.flush()
        outsider_id = outsider.id
    elsewhere = settings.model_copy(update={"program_name": "SEL Series"})
    nowhere = settings.model_copy(update={"program_name": "No Such Program"})
    replies = {
        "pairing": hold(engine, settings, now, person_id=ids.maya, text="Can we move it to Thursday?", key="r1", context=f"pairing:{ids.pairing_id}"),
        "scripted": hold(engine, settings, now + timedelta(minutes=10), person_id=ids.dev, text=SCRIPTED, key="r2"),
        "sel": hold(engine, elsewhere, now, person_id=outsider_id, text="Question about the SEL series", key="r3"),
        "nowhere": hold(engine, nowhere, now - timedelta(days=1), person_id=outsider_id, text="Who runs this?", key="r4"),
    }
    return ids, replies


async def test_replies_are_listed_newest_first_and_marked_handled_through_the_form(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    ids, replies = seed_replies(engine, settings, now)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        home = await client.get("/admin")
        page = await client.get("/admin/replies")
        forged = await client.post(f"/admin/replies/{replies['pairing']}/handled", data={"csrf_token": "not-the-token", "handled": "yes"})
        marked = await client.post(f"/admin/replies/{replies['pairing']}/handled", data={"csrf_token": csrf, "handled": "yes", "show": "open"})
        after = await client.get(marked.headers["location"])
        done = await client.get("/admin/replies?show=done")
        other_program = await client.post(f"/admin/replies/{replies['sel']}/handled", data={"csrf_token": csrf, "handled": "yes"})
        bad_filter = await client.get("/admin/replies?show=everything")
        reopened = await client.post(f"/admin/replies/{replies['pairing']}/handled", data={"csrf_token": csrf, "handled": "no", "show": "done"})
        again = await client.get("/admin/replies?show=open")

    assert 'href="/admin/replies">Replies to read (3)</a>' in home.text  # two of this program, one of none
    assert page.status_code == 200
    shown = re.findall(r'<section class="card" id="reply-(\d+)"', page.text)
    assert shown == [str(replies["scripted"]), str(replies["pairing"]), str(replies["nowhere"])]  # newest first, not SEL's
    assert "Question about the SEL series" not in page.text
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt; Is the &lt;b&gt;Zoom&lt;/b&gt;" in page.text and "<script>" not in page.text
    assert f'<a href="/admin/rounds/{ids.round_id}">Dev Patel and Maya Chen, round {ids.round_id}</a>' in page.text
    assert "maya.chen@eastside.k12.example" in page.text and "a question for a person" in page.text

    assert forged.status_code == 403 and "That form has expired" in forged.text
    assert marked.status_code == 303 and marked.headers["location"] == "/admin/replies?show=open"
    assert f"Reply {replies['pairing']} is marked handled." in after.text and f'id="reply-{replies["pairing"]}"' not in after.text
    assert "Replies to read (2)</a>" in after.text
    assert f'id="reply-{replies["pairing"]}"' in done.text and "Handled by Admin (sign-in link)" in done.text
    assert other_program.status_code == 404 and "no reply" in other_program.text
    assert bad_filter.status_code == 400 and "show" in bad_filter.text
    assert reopened.status_code == 303 and f'id="reply-{replies["pairing"]}"' in again.text
    with session_scope(engine) as session:
        rows = {h.id: h for h in session.exec(select(HeldReply))}
        assert rows[replies["pairing"]].status == "open" and rows[replies["pairing"]].handled_by is None
        assert rows[replies["sel"]].status == "open"  # the other program's reply was not touched


async def test_only_admins_read_or_handle_replies(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url, slack_admin_ids=["U0ADMIN001"])
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    _ids, replies = seed_replies(engine, settings, now)
    cookie, csrf = session_cookie(settings, subject="U0TEACHER1", name="Curious Teacher", via="slack", now=now)
    async with serving(settings, clock=lambda: now) as base:
        async with httpx.AsyncClient(base_url=base) as anonymous:
            signed_out = await anonymous.get("/admin/replies")
            posted = await anonymous.post(f"/admin/replies/{replies['pairing']}/handled", data={"csrf_token": "x"})
        async with httpx.AsyncClient(base_url=base, cookies={"mentorbot_admin": cookie}) as teacher:
            page = await teacher.get("/admin/replies")
            handled = await teacher.post(f"/admin/replies/{replies['pairing']}/handled", data={"csrf_token": csrf})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/admin/login?next=/admin/replies"
    assert posted.status_code == 401
    assert page.status_code == 403 and "Can we move it" not in page.text and handled.status_code == 403
    with session_scope(engine) as session:
        assert session.get(HeldReply, replies["pairing"]).status == "open"
    engine.dispose()


@pytest.mark.asyncio(loop_scope="module")  # the module's one browser runs on the module's loop
async def test_an_admin_reads_a_reply_and_marks_it_handled_in_the_browser(browser: Browser, tmp_path: Path, sqlite_url: str, now: datetime) -> None:  # noqa: F811
    from bot.web.admin import auth

    settings = admin_settings(tmp_path, sqlite_url)
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    ids = seed(engine, now, admins=[], program=PROGRAM)
    hold(engine, settings, now, person_id=ids.maya, text="We haven't met yet — she hasn't replied.\nCould someone nudge her?", key="b1", context=f"pairing:{ids.pairing_id}")
    async with serving(settings, clock=lambda: now) as base:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, base_url=base)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        link = auth.make_sign_in_link(settings, now=now)
        await page.goto(link.url.replace(settings.public_base_url, base))
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("link", name="Replies to read (1)").click()
        await expect(page.get_by_role("heading", name="Replies to read")).to_be_visible()
        reply = page.locator("section.card", has_text="Maya Chen")
        await expect(reply.locator("pre")).to_have_text("We haven't met yet — she hasn't replied.\nCould someone nudge her?")
        await expect(reply.get_by_role("link", name=f"Dev Patel and Maya Chen, round {ids.round_id}")).to_be_visible()
        await shot(page, "replies-to-read")
        await reply.get_by_role("button", name="Mark handled").click()
        await expect(page.get_by_role("status")).to_contain_text("is marked handled")
        await expect(page.get_by_text("Nothing is waiting")).to_be_visible()
        await expect(page.get_by_role("link", name="Replies to read", exact=True)).to_be_visible()  # no count left
        await page.get_by_role("link", name="Handled").click()
        await expect(page.locator("section.card", has_text="Maya Chen")).to_contain_text("Handled by Admin (sign-in link)")
        await context.close()
    assert errors == []
    engine.dispose()


async def test_many_replies_are_read_page_by_page(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    engine = db.create_db_engine(sqlite_url)
    db.upgrade(engine)
    ids, _replies = seed_replies(engine, settings, now)
    for n in range(60):  # a busy week: 60 more questions from one teacher, a minute apart
        hold(engine, settings, now + timedelta(hours=1, minutes=n), person_id=ids.dev, text=f"Question number {n}", key=f"busy-{n}")
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        first = await client.get("/admin/replies?show=open")
        second = await client.get("/admin/replies?show=open&page=2")
        beyond = await client.get("/admin/replies?show=open&page=9")
    engine.dispose()
    cards = lambda page: re.findall(r'<section class="card" id="reply-(\d+)"', page.text)  # noqa: E731
    assert len(cards(first)) == 50 and "Question number 59" in first.text and "Older replies" in first.text and "Newer replies" not in first.text
    assert len(cards(second)) == 13 and "Question number 9" in second.text and "Newer replies" in second.text and "Older replies" not in second.text
    assert not set(cards(first)) & set(cards(second))  # every reply on exactly one page
    assert beyond.status_code == 200 and cards(beyond) == [] and "Newer replies" in beyond.text
