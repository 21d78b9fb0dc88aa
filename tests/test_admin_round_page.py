"""The round page of a district-sized round: its pairs and unmatched mentees a page at a time (the filter applied
first, plain GET links with rel=next/prev), its timeline summed up by day and kind in the program's words and zone,
and every scheduled action one link away, a page at a time, each with whom it is for."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from bot.importer import import_roster
from bot.rounds import service
from bot.rounds.reports import day_words
from storage import db, repo
from storage.db import session_scope
from storage.models import Person, Round
from tests.adminkit import PROGRAM, admin_settings, serving, sign_in_with_link
from tests.districtkit import write_district_roster

ZONE = "America/Los_Angeles"
PEOPLE = 360  # about 170 pairs and 58 unmatched mentees: four pages of pairs, two of the unmatched


@pytest.fixture
def district_round(tmp_path: Path, sqlite_url: str, now: datetime) -> int:
    """A district's roster imported, everyone enrolled, a two-session micro round matched and in review."""
    engine = db.create_db_engine(sqlite_url)
    roster = write_district_roster(tmp_path / "district.csv", PEOPLE)
    import_roster(engine, roster, program_name=PROGRAM, default_timezone=ZONE, now=now)
    service.open_term(engine, program_name=PROGRAM, timezone=ZONE, name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    request = service.RoundRequest(sessions=2, topic="classroom management", start_on=date(2026, 12, 7))
    round_ = service.create_round(engine, program_name=PROGRAM, term_name=None, request=request, now=now)
    service.move_round(engine, round_id=round_.id, target="collecting", now=now)
    service.run_matching(engine, round_id=round_.id, session_minutes=30, now=now)
    engine.dispose()
    return round_.id


def _nav(page: str, label: str) -> str:
    found = re.search(rf'<nav class="pages" aria-label="{label}">(.*?)</nav>', page, re.DOTALL)
    return found.group(1) if found else ""


def _rel(nav: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', nav)
    return html.unescape(found.group(1)) if found else None


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


async def _walk(client: httpx.AsyncClient, first: str, label: str, rows: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """Follow a list's "Next" links from `first` to the end: each page's address and the rows `rows` finds on it."""
    pages: list[tuple[str, list[str]]] = []
    address: str | None = first
    while address is not None:
        answer = await client.get(address)
        assert answer.status_code == 200, (address, answer.text[:2000])
        nav = _nav(answer.text, label)
        if pages:  # every page after the first leads back
            assert _rel(nav, "prev").split("#")[0] == pages[-1][0].split("#")[0], (address, nav)
        found = rows.findall(answer.text)
        pages.append((address, [tuple(map(html.unescape, row)) if isinstance(row, tuple) else html.unescape(row) for row in found]))
        address = _rel(nav, "next")
        assert len(pages) < 50, "the Next links go round in circles"
    return pages


def _haystack(person: Person) -> str:
    return " ".join(filter(None, (person.name, person.email, person.site))).casefold()


async def test_a_district_round_pages_through_its_pairs_and_unmatched_mentees(tmp_path: Path, sqlite_url: str, now: datetime, district_round: int) -> None:
    round_id = district_round
    engine = db.create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=round_id)
        people = {p.id: p for p in session.exec(select(Person))}
        unmatched = [u["email"] for u in session.get(Round, round_id).match_summary["unmatched"]]
    engine.dispose()
    assert len(pairings) > 150 and len(unmatched) > 50  # long enough to need pages
    settings = admin_settings(tmp_path, sqlite_url)
    unpair = re.compile(rf'action="/admin/rounds/{round_id}/pairs/(\d+)/remove"')
    unmatched_row = re.compile(r'<td>[^<]*<br><span class="muted small">([^<]+@[^<]+)</span></td>')
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        await sign_in_with_link(client, settings, now)
        first = await client.get(f"/admin/rounds/{round_id}")
        pair_pages = await _walk(client, f"/admin/rounds/{round_id}", "Pages of pairs", unpair)
        unmatched_pages = await _walk(client, f"/admin/rounds/{round_id}", "Pages of unmatched mentees", unmatched_row)
        wanted = "elementary"
        filtered = await _walk(client, f"/admin/rounds/{round_id}?q={wanted.upper()}", "Pages of pairs", unpair)
        filtered_first = await client.get(f"/admin/rounds/{round_id}", params={"q": wanted})
        beyond = await client.get(f"/admin/rounds/{round_id}", params={"page": "99"})
        garbled = await client.get(f"/admin/rounds/{round_id}", params={"page": "two"})

    # The first page: the summary of all of them, 50 pairs with their reasons, and the way on.
    shown = _text(first.text)
    assert f"{len(pairings)} pairs · {len(unmatched)} unmatched" in shown and "mean fit" in shown
    assert f"pairs 1–50 of {len(pairings)}" in _text(_nav(first.text, "Pages of pairs"))
    assert f'<a rel="next" href="/admin/rounds/{round_id}?page=2#pairs">Next 50<span class="visually-hidden"> pairs</span> →</a>' in first.text
    assert _rel(_nav(first.text, "Pages of pairs"), "prev") is None and 'id="pairs"' in first.text
    assert first.text.count('<ul class="reasons">') == 50 + 50  # 50 pairs and 50 unmatched mentees, each with why
    # Every pair is reachable, once, in the order the round lists them; every page but the last is full.
    pages = [ids for _address, ids in pair_pages]
    assert [len(ids) for ids in pages] == [50, 50, 50, len(pairings) - 150]
    assert [int(i) for ids in pages for i in ids] == [p.id for p in pairings]
    assert [e for _address, emails in unmatched_pages for e in emails] == unmatched
    assert unmatched_pages[1][0] == f"/admin/rounds/{round_id}?unmatched_page=2#unmatched"
    # The filter comes first and stays in every link: all its pairs, across pages, and only those.
    expected = [p.id for p in pairings if wanted in _haystack(people[p.mentor_id]) or wanted in _haystack(people[p.mentee_id])]
    assert len(expected) > 50 and len(filtered) == -(-len(expected) // 50)
    assert [int(i) for _address, ids in filtered for i in ids] == expected
    assert all("q=ELEMENTARY" in address for address, _ids in filtered[1:])
    assert f"Showing {len(expected)} of {len(pairings)} pairs" in _text(filtered_first.text)
    assert f"pairs 1–50 of {len(expected)}" in _text(filtered_first.text)
    # A page past the end shows the last; a page number that is not one is a friendly 400, not a traceback.
    assert beyond.status_code == 200 and f"pairs 151–{len(pairings)} of {len(pairings)}" in _text(beyond.text)
    assert _rel(_nav(beyond.text, "Pages of pairs"), "next") is None
    assert garbled.status_code == 400 and "Please check page" in _text(garbled.text)


async def test_a_published_district_round_sums_up_its_timeline_and_lists_every_action_a_page_at_a_time(
    tmp_path: Path, sqlite_url: str, now: datetime, district_round: int
) -> None:
    round_id = district_round
    settings = admin_settings(tmp_path, sqlite_url)
    entry_row = re.compile(r"<tr><td class=\"small\">([^<]+)</td><td>([^<]+)</td><td>([^<]*)</td>")
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = await sign_in_with_link(client, settings, now)
        published = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf})
        assert published.status_code == 303
        page = await client.get(f"/admin/rounds/{round_id}")
        every_link = html.unescape(re.search(r'<a href="([^"]+)">Every scheduled action \(', page.text).group(1))
        every = await _walk(client, every_link, "Pages of scheduled actions", entry_row)
        first_of_all = await client.get(every_link)
        engine = db.create_db_engine(sqlite_url)
        with session_scope(engine) as session:
            actions = repo.round_actions(session, round_id=round_id)
            pairings = {p.id: p for p in repo.round_pairings(session, round_id=round_id)}
            names = {p.id: p.name for p in session.exec(select(Person))}
        engine.dispose()
        # The event a round with few actions is: they are simply listed, with nothing to page.
        event = await client.post(
            "/admin/rounds", data={"csrf_token": csrf, "kind": "event", "topics": "SEL; assessment", "sessions": "1",
                                   "start_on": "2026-12-01", "match_on": "2026-12-04", "end_on": "2026-12-11"},
        )  # fmt: skip
        assert event.status_code == 303, re.findall(r'class="problem"[^>]*>([^<]+)', event.text)
        small = await client.get(event.headers["location"])

    shown = _text(page.text)
    zone = ZoneInfo(ZONE)
    reminders = [a for a in actions if a.kind == "session.reminder"]
    first_reminder = min(a.due_at for a in reminders).replace(tzinfo=UTC).astimezone(zone)
    # By day and kind, in words, in the program's zone; no machine keys, and a few dozen rows for thousands of actions.
    assert len(actions) > 1500 and "Day by day" in shown and f"(times in {ZONE})" in shown
    assert f"{day_words(first_reminder)} session reminders a day before" in shown
    assert f"{day_words(now.astimezone(zone))} pairing notices to every pair 1 due" in shown
    assert "check-in: did you meet?" in shown and "prompts to share work" in shown
    assert not re.search(r"\b(session\.reminder|round\.notify|checkin\.ask|touchpoint\.\w+)\b", shown)
    day_rows = re.search(r'<table class="days">(.*?)</table>', page.text, re.DOTALL).group(1).count("<tr>") - 1
    assert 5 < day_rows < 60
    assert every_link == f"/admin/rounds/{round_id}?timeline=all#timeline"
    assert f"Every scheduled action ({len(actions):,}), with whom each is for" in shown
    # Nothing is listed one by one on the summary: the page stays small (66 KB here; 489 KB when it listed every pair and action).
    assert 'class="entries"' not in page.text and len(page.content) < 90_000, len(page.content)
    # Every action, once, 200 a page, each saying whom it is for.
    assert [len(rows) for _address, rows in every][:-1] == [200] * (len(every) - 1) and len(every) == -(-len(actions) // 200)
    listed = [row for _address, rows in every for row in rows]
    assert len(listed) == len(actions)
    reminder_rows = [row for row in listed if row[1].startswith("reminder ")]
    assert len(reminder_rows) == len(reminders)
    people_named = {names[p.mentor_id] for p in pairings.values()} | {names[p.mentee_id] for p in pairings.values()}
    assert all(re.fullmatch(r"(.+) \((mentor|mentee)\)", who) and who.rsplit(" (", 1)[0] in people_named for _w, _what, who in reminder_rows)
    assert any(what == "pairing notices to every pair" and who == "" for _w, what, who in listed)
    assert every[1][0] == f"/admin/rounds/{round_id}?timeline=all&entries_page=2#timeline"
    assert "Back to the summary by day" in _text(first_of_all.text) and "Day by day" not in _text(first_of_all.text)
    assert f"scheduled actions 1–200 of {len(actions):,}" in _text(first_of_all.text)
    # A round with a couple of actions lists them as they are, with nothing to page or sum up.
    small_text = _text(small.text)
    assert "Every scheduled action (2)" in small_text and "the matcher runs" in small_text and "Day by day" not in small_text
    assert 'aria-label="Pages of scheduled actions"' not in small.text and "Back to the summary by day" not in small_text
