"""End to end in headless Chromium (Debian's package, driven by Playwright; never a browser download) against the app
on loopback: a new admin signs in, uploads a roster with a bad row, opens a term, launches, reviews, edits and
publishes a round, reads every chart, rematches a stalled pair and exports. Screenshots go to tests/screenshots/.
And every admin page (listed from the router) against WCAG 2.1 AA: axe-core's A and AA rules, no sideways scrolling at
320 CSS px, a focus ring of 3:1 or more, row buttons named for their row, and a refused form read with its field.

When the browser cannot start the tests fail: `./dev test` installs chromium and chromium-driver.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import AsyncIterator
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from sqlmodel import select

from bot.rounds import service
from bot.web.admin import auth
from storage import db, repo
from storage.db import session_scope
from storage.models import CheckIn, Pairing, SurveyAnswer
from tests.adminkit import SlackOidcStandIn, admin_settings, reserve_port, serve_app, serving
from tests.conftest import SHARED_ROSTER

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]  # fmt: skip
SHOTS = Path(__file__).parent / "screenshots"


# One browser for the whole module (each test opens its own context): starting Chromium is most of a page check's cost.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium; a browser that will not start fails the test (it is never skipped)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium and chromium-driver", pytrace=False)
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        except Exception as exc:  # noqa: BLE001 - any failure to start is a failed test, with the reason
            pytest.fail(f"headless Chromium did not start: {exc}", pytrace=False)
        try:
            yield browser
        finally:
            await browser.close()


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def charts_are_labelled(page: Page, at_least: int) -> int:
    """Every chart is an SVG with role img, named by a non-empty title and described by a desc that has numbers."""
    svgs = page.locator("svg.chart")
    count = await svgs.count()
    assert count >= at_least
    for i in range(count):
        svg = svgs.nth(i)
        assert await svg.get_attribute("role") == "img"
        title_id, desc_id = (await svg.get_attribute("aria-labelledby")).split()
        title = await page.locator(f"[id='{title_id}']").text_content()
        desc = await page.locator(f"[id='{desc_id}']").text_content()
        assert title.strip() and re.search(r"\d", desc), (title, desc)
        box = await svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 30
    return count


def roster_with_one_bad_row(folder: Path, *, with_warning: bool = False) -> Path:
    """The shared roster and one row left out (role "coach"); `with_warning` adds a row that lands without its capacity "lots"."""
    path = folder / "district-roster.csv"
    text = SHARED_ROSTER.read_text(encoding="utf-8").rstrip("\n")
    text += "\nlou.coach@district.example,Lou Coach,coach,,Garfield High,,9-12,math,assessment,,,,,,"
    if with_warning:
        text += "\nlou.lots@district.example,Lou Lots,mentor,,Garfield High,,9-12,math,assessment,,,,lots,,"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def checkins_and_survey(engine, round_id: int, now: datetime) -> int:
    """What people answer while a round runs: check-ins (one pair stalls) and the end-of-round survey."""
    service.move_round(engine, round_id=round_id, target="running", now=now)
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=round_id)
        answers = ["met", "met", "rescheduled", "met", "need_help", "met", "not_happening", None]
        for i, pairing in enumerate(pairings):
            for j, person_id in enumerate((pairing.mentor_id, pairing.mentee_id)):
                answer = answers[(i + 3 * j) % len(answers)]
                session.add(CheckIn(pairing_id=pairing.id, person_id=person_id, asked_at=now, answer=answer, answered_at=now if answer else None))
            for k, question in enumerate(("voice", "useful", "again")):
                session.add(SurveyAnswer(round_id=round_id, person_id=pairing.mentee_id, question=question, value=[5, 4, 4, 3, 5, 2, 4][(i + k) % 7], answered_at=now))
        session.add(SurveyAnswer(round_id=round_id, person_id=pairings[0].mentee_id, question="comment", value="Short, concrete, useful.", answered_at=now))
        stalled: Pairing = pairings[-1]
        stalled.status = "stalled"
        return stalled.id


def sink_one_message(folder: Path) -> None:
    """A message as the local SMTP sink keeps it."""
    message = EmailMessage()
    message["From"], message["To"] = "mentorbot@localhost", "hugo.diaz.ee5@district.example"
    message["Subject"], message["Date"] = "You're matched with Ana Chen", "Mon, 23 Nov 2026 17:05:00 +0000"
    message.set_content("Hello Hugo,\n\nYou're matched with Ana Chen for 2 sessions.\n")
    message.add_alternative("<p>Hello Hugo,</p><p>You're matched with <strong>Ana Chen</strong> for 2 sessions.</p>", subtype="html")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "20261123T170500.000000Z-0a1b2c3d.eml").write_bytes(b"X-Sink-Envelope-To: hugo.diaz.ee5@district.example\r\n" + message.as_bytes())


async def test_a_new_admin_runs_a_round_from_the_browser(browser: Browser, tmp_path: Path, database_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    backend = engine.dialect.name
    async with serving(settings, clock=lambda: now) as base:
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, base_url=base)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # The rule warning answers 409 on purpose; the browser logs that as a failed load. Anything else is a fault.
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and "status of 409" not in msg.text else None)

        # Signed out, the pages send you to sign in.
        await page.goto("/admin/pool")
        await expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/pool$"))
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await shot(page, f"{backend}-01-sign-in")

        # `mentorbot admin-link` prints a one-time link; the admin opens it and signs in.
        link = auth.make_sign_in_link(settings, now=now)
        await page.goto(link.url.replace(settings.public_base_url, base))
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Program")).to_be_visible()
        await expect(page.get_by_text("Start here")).to_be_visible()

        # Upload a roster with one bad row: every problem is shown, nothing is saved until the admin confirms.
        await page.get_by_role("link", name="Roster", exact=True).click()
        await page.set_input_files("#file", str(roster_with_one_bad_row(tmp_path)))
        await page.get_by_role("button", name="Check the file").click()
        await expect(page.get_by_text("Nothing has been saved yet.")).to_be_visible()
        problem = page.locator("table.errors tbody tr")
        await expect(problem).to_have_count(1)
        await expect(problem.first).to_contain_text("72")
        await expect(problem.first).to_contain_text("role")
        await expect(problem.first).to_contain_text("coach")
        await expect(page.locator("table.warnings")).to_have_count(0)
        await shot(page, f"{backend}-02-roster-preview")
        with session_scope(engine) as session:
            assert repo.count_people(session) == 0
        await page.get_by_role("button", name="Import 70 rows").click()
        await expect(page.locator(".flash")).to_contain_text("Imported 70 of 71 rows from district-roster.csv: 70 new")
        await page.get_by_label("Search").fill("garfield")
        await page.get_by_role("button", name="Search").click()
        await expect(page.get_by_role("heading", name=re.compile(r"People \(\d+\)"))).to_contain_text("(")
        rows = await page.locator("main table tbody tr").count()
        assert 0 < rows < 70
        await shot(page, f"{backend}-03-people-search")

        # Open a term that enrolls everyone from the roster, then approve the mentors for their principals.
        await page.get_by_role("link", name="Program").click()
        await page.get_by_label("Name").fill("Spring 2027")
        await page.get_by_role("button", name="Open the term").click()
        await expect(page.locator(".flash")).to_contain_text("Opened Spring 2027")
        await page.get_by_role("link", name="People").first.click()
        await page.get_by_role("button", name=re.compile(r"Approve all \d+ waiting mentors")).click()
        await expect(page.locator(".flash")).to_contain_text("Approved 27 mentors")

        # Launch a two-session round, open it, match it.
        await page.get_by_role("link", name="Program").click()
        await page.get_by_label("Sessions", exact=True).select_option("2")
        await page.get_by_label("First sessions from").fill("2026-12-07")
        await page.get_by_role("button", name="Create the round").click()
        await expect(page.locator(".flash")).to_contain_text("Created round")
        round_id = int(re.search(r"/admin/rounds/(\d+)$", page.url).group(1))
        await page.get_by_role("button", name="Open for collection").click()
        await page.get_by_role("button", name="Run matching").click()
        await expect(page.locator(".flash")).to_contain_text("Matched 37 of 40 mentees")
        await expect(page.locator("table.pairs tbody tr")).to_have_count(37)
        await expect(page.locator("table.pairs")).to_contain_text("both teach")
        await shot(page, f"{backend}-04-round-review")

        # Pair an unmatched mentee by hand with a mentor who breaks a rule: a warning first, then save anyway.
        await page.get_by_role("link", name="Pair by hand").first.click()
        await expect(page.get_by_role("heading", name=re.compile("Choose a mentor for"))).to_be_visible()
        await page.locator("tr.breaks input[type=radio]").first.check()
        await page.get_by_role("button", name="Pair them").click()
        await expect(page.get_by_role("heading", name=re.compile("This pair breaks"))).to_be_visible()
        await shot(page, f"{backend}-05-rule-warning")
        await page.get_by_role("button", name="Save anyway").click()
        await expect(page.locator(".flash")).to_contain_text("overriding the rules you saw")
        await expect(page.locator("table.pairs tbody tr")).to_have_count(38)

        # Publish with a note for every notice.
        await page.get_by_label("A note for every pairing notice").fill("Thank you for mentoring this spring!")
        await page.get_by_role("button", name="Publish 38 pairs").click()
        await expect(page.locator(".flash")).to_contain_text("Published round")
        await expect(page.locator("ol.timeline li").first).to_be_visible()
        await expect(page.locator("ol.timeline")).to_contain_text("Send pairing notices")
        await shot(page, f"{backend}-06-published-timeline")

        # The round runs: people answer check-ins and the survey; one pair stalls.
        stalled_id = checkins_and_survey(engine, round_id, now)
        sink_one_message(settings.data_dir / "mail")

        # Every chart reads at a glance and is labelled.
        await page.get_by_role("link", name="Pool health").click()
        await expect(page.get_by_role("heading", name="Who would go unmatched", exact=False)).to_be_visible()
        await charts_are_labelled(page, 1)
        await shot(page, f"{backend}-07-pool-health")
        await page.get_by_role("link", name="Equity").click()
        assert await charts_are_labelled(page, 4) == 4
        await expect(page.locator("svg.chart").first).to_contain_text("%")
        await shot(page, f"{backend}-08-equity")
        await page.get_by_role("link", name="Engagement").click()
        assert await charts_are_labelled(page, 3) == 3
        await expect(page.locator("main")).to_contain_text("We met")
        await expect(page.locator("main")).to_contain_text("Short, concrete, useful.")
        await shot(page, f"{backend}-09-engagement")
        await page.get_by_role("button", name=re.compile("^Rematch")).click()
        await expect(page.locator(".flash")).to_contain_text(re.compile("rematched with|no other mentor can take"))
        await expect(page.get_by_role("heading", name=re.compile(r"Stalled pairs .*\(0\)"))).to_be_visible()
        with session_scope(engine) as session:
            assert session.get(Pairing, stalled_id).status == "cancelled"

        # The mail the local sink kept.
        await page.get_by_role("link", name="Mail").click()
        await page.get_by_role("link", name="You're matched with Ana Chen").click()
        await expect(page.locator("pre.mail")).to_contain_text("Hello Hugo")
        await shot(page, f"{backend}-10-mail")

        # Exports: the round's pairings as CSV and XLSX, and participation.
        await page.get_by_role("link", name="Exports").click()
        async with page.expect_download() as info:
            await page.locator(f"a[href='/admin/exports/pairings.csv?round={round_id}']").click()
        download = await info.value
        rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
        with session_scope(engine) as session:
            stored = repo.round_pairings(session, round_id=round_id)
        assert download.suggested_filename == f"round-{round_id}-pairings.csv" and len(rows) == len(stored) >= 11
        assert {r["status"] for r in rows} >= {"active", "cancelled"}
        assert any(r["reasons"].startswith("Paired by hand") for r in rows)
        async with page.expect_download() as info:
            await page.locator(f"a[href='/admin/exports/pairings.xlsx?round={round_id}']").click()
        sheet = openpyxl.load_workbook(io.BytesIO(Path(await (await info.value).path()).read_bytes())).active
        assert sheet.max_row == len(stored) + 1 and sheet["A1"].value == "round"
        async with page.expect_download() as info:
            await page.locator("a[href^='/admin/exports/participation.csv']").first.click()
        participation = list(csv.DictReader(io.StringIO(Path(await (await info.value).path()).read_text(encoding="utf-8-sig"))))
        assert len(participation) == 70
        await shot(page, f"{backend}-11-exports")

        # Sign out: the pages are closed again.
        await page.get_by_role("button", name="Sign out", exact=True).click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await page.goto("/admin")
        await expect(page).to_have_url(re.compile(r"/admin/login"))
        assert errors == []
        await context.close()
    engine.dispose()


async def test_signing_in_with_slack_in_the_browser(browser: Browser, tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    standin = SlackOidcStandIn(clock=lambda: now.timestamp())
    async with serve_app(standin.app()) as slack_base:
        for admins, expected in (([standin.user_id], "Equity"), (["U0SOMEBODY"], "Not an admin here")):
            sock, base = reserve_port()
            settings = admin_settings(tmp_path, sqlite_url, public_base_url=base, slack_admin_ids=admins, **standin.settings_for(slack_base))
            async with serving(settings, clock=lambda: now, sock=sock):
                context = await browser.new_context(base_url=base)
                page = await context.new_page()
                await page.goto("/admin/equity")
                await page.get_by_role("link", name="Sign in with Slack").click()
                await expect(page.get_by_role("heading", name=expected)).to_be_visible()
                if expected == "Equity":
                    await expect(page).to_have_url(f"{base}/admin/equity")
                    await expect(page.locator(".signout")).to_contain_text("Ada Admin")
                else:
                    await expect(page.locator("main")).to_contain_text("SLACK_ADMIN_IDS")
                    await shot(page, "slack-not-an-admin")
                await context.close()


# --- accessibility: WCAG 2.1 AA on every admin page ----------------------------------------------------------------

AXE = Path(__file__).parent / "data" / "axe" / "axe.min.js"  # axe-core, vendored (see its README): no network needed
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
    + v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' [' + n.failureSummary.replace(/\\s+/g, ' ') + ']').join('; '));
}"""
# The focus ring of every focusable element, against the colour it sits on (the first opaque background outside it).
FOCUS_RINGS = """() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const behind = (element) => {
    for (let node = element.parentElement; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || colour[3] > 0) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const found = [];
  const focusable = document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])');
  for (const element of focusable) {
    if (!element.getClientRects().length || element.closest('[hidden]')) continue;
    element.focus();
    if (document.activeElement !== element) continue;
    const style = getComputedStyle(element);
    const ring = rgb(style.outlineColor).slice(0, 3), width = parseFloat(style.outlineWidth);
    const ratio = style.outlineStyle === 'none' ? 0 : contrast(ring, behind(element));
    found.push({element: element.outerHTML.slice(0, 90), ratio: Math.round(ratio * 100) / 100, width});
  }
  return found;
}"""
# A machine key shown as is ("round.announce", "prompt.check_in") instead of words.
RAW_KEY = re.compile(r"\b(?:round|speed|checkin|session|survey|term|touchpoint|pairing|prompt|email|data|approval)\.[a-z_]+\b")
# Routes that are not pages a person reads: the stylesheet, downloads, a message's own HTML (shown sandboxed inside
# the mail page, where axe sees its frame), and the redirect to Slack's sign-in.
NOT_PAGES = {
    "/admin/static/admin.css", "/admin/exports/{kind}.{fmt}", "/admin/mail/{name}/html", "/admin/auth/slack",
}  # fmt: skip


def seed_a_busy_term(engine, settings, now: datetime) -> dict[str, int]:
    """A term in every state a page shows: a running round with check-ins, survey and a stalled pair, a round in
    review, a topic event with three topics taking sign-ups, a draft round, held replies and a data request."""
    from bot import data_rights
    from bot.email import forward
    from bot.rounds.kinds import RoundRequest
    from storage.models import Person
    from tests.adminkit import seed_engagement, seed_program

    running = seed_program(engine, now, topic="classroom management")
    seed_engagement(engine, running, now)
    review = service.create_round(engine, program_name=settings.program_name, term_name=None, request=RoundRequest(sessions=1), now=now)
    service.move_round(engine, round_id=review.id, target="collecting", now=now)
    service.run_matching(engine, round_id=review.id, session_minutes=30, now=now)
    topics = RoundRequest(kind="event", topics="SEL; assessment; family communication", sessions=1, start_on=date(2026, 12, 1), match_on=date(2026, 12, 4))
    event = service.create_round(engine, program_name=settings.program_name, term_name=None, request=topics, now=now)
    service.move_round(engine, round_id=event.id, target="collecting", now=now)
    draft = service.create_round(engine, program_name=settings.program_name, term_name=None, request=RoundRequest(sessions=3, match_on=date(2026, 12, 1)), now=now)
    with session_scope(engine) as session:
        people = list(session.exec(select(Person).order_by(Person.id)).all())
        for n, person in enumerate(people[:3]):
            forward.hold_for_people(
                session, person=person, text=f"Can we meet on Thursday instead? <b>{n}</b>", subject="Re: Check-in", reason=forward.REASON_QUESTION,
                flow=None, context="", source_key=f"a11y-{n}", now=now, settings=settings,
            )  # fmt: skip
        data_rights.export(session, person_id=people[4].id, requested_by="admin:Ada", channel="admin", now=now)
        unmatched = next(p for p in repo.round_pairings(session, round_id=review.id))
        mentee = unmatched.mentee_id
    return {"running": running, "review": review.id, "event": event.id, "draft": draft.id, "mentee": mentee}


async def check_page(page: Page, url: str, problems: list[str], rings: list[tuple[str, dict]]) -> None:
    """One page: no axe violation (WCAG 2.0/2.1 A and AA), no sideways scrolling at 320 CSS px, its focus rings."""
    await page.set_viewport_size({"width": 1280, "height": 900})
    response = await page.goto(url)
    assert response is not None and response.status < 500, (url, response and response.status)
    for violation in await page.evaluate(RUN_AXE, WCAG_TAGS):
        problems.append(f"{url}: {violation}")
    if raw := RAW_KEY.findall(await page.locator("body").inner_text()):
        problems.append(f"{url}: shows raw keys {raw}")
    await page.keyboard.press("Tab")  # keyboard focus first, so :focus-visible applies to the elements focused below
    rings += [(url, ring) for ring in await page.evaluate(FOCUS_RINGS)]
    await page.set_viewport_size({"width": 320, "height": 640})
    width = await page.evaluate("document.documentElement.scrollWidth")
    if width > 320:
        wide = await page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 321 && !e.parentElement.closest('.scroll'))"
            ".slice(0, 5).map(e => e.outerHTML.slice(0, 60) + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        problems.append(f"{url}: scrolls sideways at 320 px ({width} px wide): {wide}")


async def test_every_admin_page_meets_wcag_21_aa(browser: Browser, tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    from bot.web.admin.router import admin_router

    settings = admin_settings(tmp_path, sqlite_url)
    engine = db.create_db_engine(sqlite_url)
    ids = seed_a_busy_term(engine, settings, now)
    sink_one_message(settings.data_dir / "mail")
    link = auth.make_sign_in_link(settings, now=now)
    mail_name = next((settings.data_dir / "mail").glob("*.eml")).name
    pages: dict[str, list[str]] = {
        "/admin/login": ["/admin/login?next=/admin/pool"],
        "/admin/link/{token}": [link.url.replace(settings.public_base_url, "").split("#")[0]],
        "/admin/auth/slack/callback": ["/admin/auth/slack/callback?state=forged&code=x"],
        "": ["/admin"],
        "/admin/rounds/{round_id}": [f"/admin/rounds/{ids[k]}" for k in ("running", "review", "event", "draft")] + [f"/admin/rounds/{ids['review']}?q=garfield"],
        "/admin/rounds/{round_id}/pair": [f"/admin/rounds/{ids['review']}/pair?mentee={ids['mentee']}"],
        "/admin/pool": ["/admin/pool", f"/admin/pool?round={ids['event']}"],
        "/admin/equity": ["/admin/equity"],
        "/admin/engagement": ["/admin/engagement"],
        "/admin/people": ["/admin/people", "/admin/people?q=garfield", "/admin/people?q=nobody-at-all"],
        "/admin/roster": ["/admin/roster"],
        "/admin/mail": ["/admin/mail"],
        "/admin/mail/{name}": [f"/admin/mail/{mail_name}"],
        "/admin/exports": ["/admin/exports"],
        "/admin/data-requests": ["/admin/data-requests"],
        "/admin/replies": ["/admin/replies", "/admin/replies?show=all"],
    }
    pages["/admin"] = pages.pop("")
    routes = {route.path for route in admin_router(settings, engine, clock=lambda: now).routes if "GET" in route.methods}
    assert routes == set(pages) | NOT_PAGES, "a new admin page must be added to this test"
    problems: list[str] = []
    rings: list[tuple[str, dict]] = []
    async with serving(settings, clock=lambda: now) as base:
        context = await browser.new_context(base_url=base)
        await context.add_init_script(path=str(AXE))
        page = await context.new_page()
        # Signed out: the sign-in pages.
        for url in pages["/admin/login"] + pages["/admin/auth/slack/callback"]:
            await check_page(page, url, problems, rings)
        await check_page(page, pages["/admin/link/{token}"][0], problems, rings)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Program")).to_be_visible()
        for route, urls in pages.items():
            if route not in ("/admin/login", "/admin/link/{token}", "/admin/auth/slack/callback"):
                for url in urls:
                    await check_page(page, url, problems, rings)
        # A topic event shows its topics, wherever its round is named.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto(f"/admin/rounds/{ids['event']}")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("SEL; assessment; family communication")
        await expect(page.locator("ol.timeline")).to_contain_text("Run the matcher")
        await page.goto("/admin")
        event_row = page.locator("main tr").filter(has=page.get_by_role("link", name=f"Round {ids['event']}", exact=True))
        await expect(event_row.locator("td").nth(1)).to_have_text("SEL; assessment; family communication")
        # Buttons and links in a row say which row they act on.
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto(f"/admin/rounds/{ids['review']}")
        rows = await page.locator("table.pairs tbody tr").count()
        await expect(page.get_by_role("button", name=re.compile(r"^Unpair [A-Z]\S* [A-Z]\S* and [A-Z]\S* [A-Z]\S*$"))).to_have_count(rows)
        await expect(page.get_by_role("link", name=re.compile(r"^Change mentor for [A-Z]\S* [A-Z]\S* \(now [A-Z]"))).to_have_count(rows)
        await page.goto("/admin/exports")
        await expect(page.get_by_role("link", name=f"CSV of the pairings of round {ids['review']}", exact=True)).to_have_count(1)
        await expect(page.get_by_role("link", name="XLSX of participation in Spring 2027", exact=True)).to_have_count(1)
        # Pages a form answers with: an error, a roster to check, a pair that breaks a rule.
        await check_page(page, "/admin/rounds/999999", problems, rings)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.goto("/admin/roster")
        await page.set_input_files("#file", str(roster_with_one_bad_row(tmp_path, with_warning=True)))
        await page.get_by_role("button", name="Check the file").click()
        await expect(page.get_by_text("Nothing has been saved yet.")).to_be_visible()
        await expect(page.locator("table.warnings tbody tr")).to_contain_text("The default capacity of 1 was used.")
        for violation in await page.evaluate(RUN_AXE, WCAG_TAGS):
            problems.append(f"roster preview: {violation}")
        # A refused form: the page again, the reason by the field and read with it.
        await page.goto("/admin")
        await page.get_by_label("Kind").select_option("event")
        await page.get_by_label("Topic events: the topics").fill("SEL; assessment; family communication")
        await page.get_by_role("button", name="Create the round").click()
        match_on = page.get_by_label("Match automatically on")
        await expect(match_on).to_have_attribute("aria-invalid", "true")
        await expect(match_on).to_have_accessible_description(re.compile("needs “Match automatically on”"))
        await expect(page.get_by_label("Topic events: the topics")).to_have_value("SEL; assessment; family communication")
        for violation in await page.evaluate(RUN_AXE, WCAG_TAGS):
            problems.append(f"refused new round: {violation}")
        await context.close()
    engine.dispose()
    assert not problems, "\n".join(problems)
    assert len(rings) > 100
    weak = [(url, ring) for url, ring in rings if ring["ratio"] < 3 or ring["width"] < 2]
    assert weak == [], weak[:10]
