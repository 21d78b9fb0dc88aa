"""Pairing and other emails as people read them: the guide inside the HTML (checked in headless Chromium), links at
today's address, 78-column text with a "-- " signature, one program name throughout, and the auto-reply headers.
"""

from __future__ import annotations

import html as html_lib
import os
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import async_playwright
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.dialogs import context_key
from bot.email.render import SIGNATURE, build_mime, rebase_link, render_notice, wrap_text
from bot.outbox import enqueue
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person, Term
from tests.test_email_ics import PROGRAM, PUBLISHED_AT, emails, invite_of, mail_settings, published_round

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]  # fmt: skip
TODAY = "https://mentoring.riverside.example"


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def html_of(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


# --- plain text, pure --------------------------------------------------------------------------


def test_long_lines_wrap_at_78_without_breaking_urls_and_keep_list_and_quote_indents() -> None:
    url = "https://mentoring.riverside.example/guides/pairing/418?k=0f3c9a7be21d4c6a8e5f7b9d1c3e5a7f-and-a-long-tail"
    text = "\n".join(
        [
            "Hi Tom,",
            "Before your first session, look over the conversation guide and jot down one classroom routine that keeps slipping.",
            f"The guide is here: {url} and it prints on two pages.",
            "  - Maria's strengths meet your need: classroom management, transitions between activities, and calm starts to the lesson",
            "  12. When would you like to meet? Tuesdays after 3:30 work for most people at Westview and Eastside Middle.",
            "> On Tue, Mar 2, Tom Nguyen wrote: I can do Tuesdays after the buses leave, but not the first week of the month, sorry",
            SIGNATURE,
        ]
    )
    wrapped = wrap_text(text)
    lines = wrapped.split("\n")
    assert all(len(line) <= 78 for line in lines if url not in line)
    assert url in lines and lines[0] == "Hi Tom,"  # the URL whole on its own line; short lines untouched
    bullet = lines.index(next(line for line in lines if line.startswith("  - Maria")))
    assert lines[bullet + 1].startswith("    ") and not lines[bullet + 1].startswith("     ")  # hangs under the text
    numbered = lines.index(next(line for line in lines if line.startswith("  12. When")))
    assert lines[numbered + 1].startswith(" " * 6) and lines[numbered + 1][6] != " "
    quoted = [line for line in lines if line.startswith(">")]
    assert len(quoted) == 2 and all(line.startswith("> ") for line in quoted)
    assert lines[-1] == SIGNATURE == "-- "  # the delimiter keeps its trailing space
    assert [w for w in wrapped.split() if w != ">"] == [w for w in text.split() if w != ">"]  # nothing lost, nothing split


def test_a_link_queued_under_an_old_address_is_moved_onto_todays() -> None:
    assert rebase_link("http://127.0.0.1:8000/guides/pairing/5?k=abc", TODAY + "/") == f"{TODAY}/guides/pairing/5?k=abc"
    assert rebase_link("http://localhost/mentorbot/guides/pairing/5?k=abc", "https://district.example/mentoring") == (
        "https://district.example/mentoring/guides/pairing/5?k=abc"
    )


# --- a real pairing email ----------------------------------------------------------------------


def test_the_pairing_email_speaks_one_program_name_with_links_at_todays_address(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    settings = mail_settings(tmp_path)
    assert settings.program_name != PROGRAM  # the email must take the pair's program, not the CLI's default
    for mail in emails(engine, settings, purpose="pairing"):
        text, body = text_of(mail), html_of(mail)
        whole = mail.as_string()
        assert "127.0.0.1" not in whole and settings.program_name not in whole
        assert mail["From"].addresses[0].display_name == PROGRAM
        assert f"{TODAY}/guides/pairing/" in text and f'href="{TODAY}/guides/pairing/' in body
        assert mail["List-Unsubscribe"].startswith(f"<{TODAY}/email/unsubscribe/")
        assert f"Sent by {PROGRAM} through mentorbot." in text  # the guide
        assert str(invite_of(mail).walk("VEVENT")[0]["summary"]).startswith(PROGRAM)
        assert f"Guide: {TODAY}/guides/pairing/" in str(invite_of(mail).walk("VEVENT")[0]["description"])
        # 78 columns, URLs whole; then the signature delimiter and the footer.
        lines = text.rstrip("\n").split("\n")
        assert all(len(line) <= 78 for line in lines if "://" not in line)
        footer = lines[lines.index(SIGNATURE) + 1 :]
        assert lines.count(SIGNATURE) == 1 and footer[0] == PROGRAM
        assert footer[1] == f"You get this because you take part in {PROGRAM}." and footer[2] == "Stop these emails:" and footer[3].startswith(f"{TODAY}/email/unsubscribe/")
        # The HTML is one document with the guide inside it as markup, not as escaped source.
        assert len(re.findall("<!doctype", body, flags=re.IGNORECASE)) == 1 and body.count("<html") == 1
        assert "&lt;" not in body and '<div class="guide"' in body and "<h2" in body
        assert mail["Auto-Submitted"] == "auto-generated" and mail["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_people_and_admin_text_stays_escaped_inside_the_guide(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path, message='Bring one <b>lesson plan</b> & a "stuck" moment <script>alert(1)</script>')
    for mail in emails(engine, mail_settings(tmp_path), purpose="pairing"):
        body = html_of(mail)
        assert "<script>" not in body and "<b>lesson plan</b>" not in body
        assert "&lt;b&gt;lesson plan&lt;/b&gt;" in body and "&amp; a" in body
        assert 'Bring one <b>lesson plan</b> & a "stuck" moment' in html_lib.unescape(re.sub(r"<[^>]+>", "", body))
        assert 'Bring one <b>lesson plan</b> & a "stuck" moment' in text_of(mail)


def test_an_old_row_with_a_full_guide_url_still_gets_a_working_link(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    with session_scope(engine) as session:
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing", OutboxMessage.channel == "email")).first()
        old_url = queued.body["guide_url"]
        assert old_url.startswith("http://127.0.0.1:8000/guides/pairing/")
        path_and_key = old_url.removeprefix("http://127.0.0.1:8000")
        # A row from before the guide was rendered at send time: its pairing is not on file any more under this id.
        body = {**queued.body, "pairing_id": 99999, "round_id": 99999, "program_name": PROGRAM, "guide_url": f"http://localhost:8000{path_and_key}"}
        message, _ = enqueue(session, idempotency_key="pairing:legacy:email", channel="email", purpose="pairing.legacy", recipient=queued.recipient, person_id=queued.person_id, body=body, now=PUBLISHED_AT)
        person = session.get(Person, queued.person_id)
        rendered = render_notice(session, message=message, settings=mail_settings(tmp_path), now=PUBLISHED_AT)
        mail = build_mime(message, rendered, settings=mail_settings(tmp_path), person=person, now=PUBLISHED_AT)
    assert f"{TODAY}{path_and_key}" in text_of(mail) and f"{TODAY}{path_and_key}".replace("&", "&amp;") in html_of(mail)
    assert "localhost" not in text_of(mail) and "Your conversation guide" in html_of(mail) and "&lt;" not in html_of(mail)


# --- headers for replies -----------------------------------------------------------------------


def test_replies_to_people_are_auto_replied_and_every_email_suppresses_exchange_answers(engine: Engine, tmp_path: Path) -> None:
    round_id = published_round(engine, tmp_path)
    settings = mail_settings(tmp_path)
    with session_scope(engine) as session:
        tom = repo.people_by_email(session, emails=["tom.nguyen@riverside.example"])["tom.nguyen@riverside.example"]
        term = session.exec(select(Term)).one()
        program = repo.get_program(session, name=PROGRAM)
        bodies = {
            "flow_reply": {
                "notice": "flow_reply", "flow": "opt_in", "context": context_key(flow="opt_in", term_id=term.id), "subject": "Re: Mentoring this term",
                "understood": [["Taking part as", "mentee"]], "errors": {}, "unplaced": [], "completed": False,
                "thread": {"in_reply_to": "<CAF=tom.1@mail.gmail.com>", "references": ["<CAF=tom.1@mail.gmail.com>"]},
            },
            "signup.reply": {
                "notice": "signup.reply", "round_id": round_id, "program_id": program.id, "program_name": PROGRAM, "status": "joined",
                "text": "You're in for topic 2.", "subject": "Re: join a topic", "thread": {"in_reply_to": "<tom.2@riverside.example>", "references": []},
            },
            "data_export": {"notice": "data_export", "subject": "Your data in mentorbot", "text": "Here is what we keep about you.", "data": {"name": tom.name}},
            "reminder": {"notice": "reminder", "pairing_id": 1, "text": "Reminder: session 1 with Maria Lopez is tomorrow."},
        }  # fmt: skip
        got = {}
        for kind, body in bodies.items():
            message, _ = enqueue(session, idempotency_key=f"{kind}:tom", channel="email", purpose=kind, recipient=tom.email, person_id=tom.id, body=body, now=PUBLISHED_AT)
            rendered = render_notice(session, message=message, settings=settings, now=PUBLISHED_AT + timedelta(minutes=1))
            got[kind] = build_mime(message, rendered, settings=settings, person=tom, now=PUBLISHED_AT)
    assert {kind: mail["Auto-Submitted"] for kind, mail in got.items()} == {
        "flow_reply": "auto-replied", "signup.reply": "auto-replied", "data_export": "auto-replied", "reminder": "auto-generated",
    }  # fmt: skip
    assert {mail["X-Auto-Response-Suppress"] for mail in got.values()} == {"OOF, AutoReply"}
    assert "You get this because you wrote to" in text_of(got["flow_reply"]) and "\n-- \n" in text_of(got["reminder"])


# --- the pairing email in a real browser -------------------------------------------------------


async def test_the_guide_reads_as_formatted_text_in_chromium(engine: Engine, tmp_path: Path) -> None:
    published_round(engine, tmp_path)
    mail = emails(engine, mail_settings(tmp_path), purpose="pairing")[0]
    body = html_of(mail)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium and chromium-driver", pytrace=False)
    shot = tmp_path / "pairing-email.png"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 760, "height": 900})
            await page.set_content(body)
            shown = await page.inner_text("body")
            headings = await page.locator("div.guide h2").all_inner_texts()
            title = await page.locator("div.guide h1").inner_text()
            guide_visible = await page.locator("div.guide").is_visible()
            link = await page.locator("div.guide a").first.get_attribute("href")
            await page.screenshot(path=str(shot), full_page=True)
        finally:
            await browser.close()
    assert guide_visible and title and len(headings) >= 2
    for heading in headings:
        assert heading.strip() and heading in shown
    assert "<!DOCTYPE" not in shown and "&lt;" not in shown and "<h2" not in shown and "<div" not in shown
    assert "Maria Lopez" in shown and "Your conversation guide" in shown and f"Sent by {PROGRAM} through mentorbot." in shown
    assert link.startswith(f"{TODAY}/guides/pairing/")
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
