"""Refused forms come back as typed, with the reason beside the field (aria-invalid, aria-describedby) and nothing
saved; and a round in review has a summary line and a filter that works with a plain GET, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from storage import db, repo
from storage.db import session_scope
from storage.models import Person, Round
from tests.adminkit import admin_settings, seed_program, serving, sign_in_with_link


@pytest.fixture
def engine(database_url: str):
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


def rounds_in(engine) -> int:
    with session_scope(engine) as session:
        return len(list(session.exec(select(Round))))


def field(html: str, name: str) -> str:
    """The opening tag of the form field called `name`."""
    found = re.search(rf'<(?:input|select|textarea)[^>]*name="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


async def test_a_refused_round_comes_back_as_typed_with_the_reason_by_its_field(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    seed_program(engine, now, match=False)
    before = rounds_in(engine)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        bad_date = await client.post("/admin/rounds", data={
            "csrf_token": csrf, "kind": "micro", "topic": "classroom <management>", "sessions": "3", "start_on": "next week", "end_on": "2027-01-29",
        })  # fmt: skip
        no_match_day = await client.post("/admin/rounds", data={
            "csrf_token": csrf, "kind": "event", "topics": "SEL; assessment; family communication", "sessions": "1", "start_on": "2026-12-01",
        })  # fmt: skip
        bad_rotations = await client.post("/admin/rounds", data={"csrf_token": csrf, "kind": "speed", "rotations": "six", "rotation_minutes": "10"})
    assert rounds_in(engine) == before  # nothing was saved

    assert bad_date.status_code == 409 and "not a date like 2027-02-01" in bad_date.text
    start = field(bad_date.text, "start_on")
    assert 'value="next week"' in start and 'aria-invalid="true"' in start and 'aria-describedby="new-round-start_on-error"' in start
    assert re.search(r'<p class="field-error" id="new-round-start_on-error">The start date \S+next week\S+ is not a date', bad_date.text)
    assert 'value="classroom &lt;management&gt;"' in field(bad_date.text, "topic")  # as typed, escaped
    assert 'value="2027-01-29"' in field(bad_date.text, "end_on") and "aria-invalid" not in field(bad_date.text, "end_on")
    assert re.search(r"<option selected>3</option>", bad_date.text)
    assert bad_date.text.count('aria-invalid="true"') == 1

    assert no_match_day.status_code == 409
    assert 'aria-describedby="new-round-match_on-error"' in field(no_match_day.text, "match_on")
    assert "“Match automatically on”" in no_match_day.text and "--match-on" not in no_match_day.text  # the form's words, not the CLI's
    assert 'value="SEL; assessment; family communication"' in field(no_match_day.text, "topics")
    assert '<option value="event" selected>' in no_match_day.text

    assert bad_rotations.status_code == 409 and 'aria-describedby="new-round-rotations-error"' in field(bad_rotations.text, "rotations")
    assert 'value="six"' in field(bad_rotations.text, "rotations")


async def test_a_roster_that_is_not_one_comes_back_with_the_reason_by_the_file_field(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        text = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("notes.txt", b"hello", "text/plain")})
        empty = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("roster.csv", b"", "text/csv")})
    for answer, reason in ((text, "upload a .csv or .xlsx"), (empty, "is empty")):
        assert answer.status_code == 400 and reason in answer.text
        assert 'aria-invalid="true" aria-describedby="file-error"' in field(answer.text, "file")
        assert re.search(rf'<p class="field-error" id="file-error">[^<]*{re.escape(reason)}', answer.text)


async def test_round_review_has_a_summary_and_a_filter_by_name_or_site(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    round_id = seed_program(engine, now)
    with session_scope(engine) as session:
        pairings = [p for p in repo.round_pairings(session, round_id=round_id) if p.status != "cancelled"]
        people = {p.id: p for p in session.exec(select(Person))}
        unmatched = session.get(Round, round_id).match_summary["unmatched"]
        site = people[pairings[0].mentee_id].site
        with_site = [p for p in pairings if site in (people[p.mentor_id].site, people[p.mentee_id].site)]
        mentor_name = people[pairings[-1].mentor_id].name
    mean_fit = sum(p.score for p in pairings) / len(pairings)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        everyone = await client.get(f"/admin/rounds/{round_id}")
        by_site = await client.get(f"/admin/rounds/{round_id}", params={"q": f"  {site.upper()} "})
        by_name = await client.get(f"/admin/rounds/{round_id}", params={"q": mentor_name.split()[-1].lower()})
        nobody = await client.get(f"/admin/rounds/{round_id}", params={"q": "<zzz>"})

    mentors = len({p.mentor_id for p in pairings})
    summary = f"{len(pairings)} pairs · {len(unmatched)} unmatched · {mentors} mentors used · mean fit {mean_fit:.0f}"
    assert summary in everyone.text and summary in by_site.text  # the summary is of the whole round, filtered or not
    assert '<form class="picker" method="get" action="/admin/rounds/' in everyone.text and 'name="q"' in everyone.text

    def rows(html: str) -> int:
        table = re.search(r'<table class="pairs">.*?</table>', html, re.S)
        return table.group(0).count("<tr") - 1 if table else 0

    assert rows(everyone.text) == len(pairings) and 0 < rows(by_site.text) == len(with_site) < len(pairings)
    assert f"Showing {len(with_site)} of {len(pairings)} pairs" in by_site.text and f'value="{site.upper().strip()}"' in by_site.text
    assert 0 < rows(by_name.text) < len(pairings) and mentor_name in by_name.text
    assert rows(nobody.text) == 0 and "No pair has “&lt;zzz&gt;”" in nobody.text and "Show everyone" in nobody.text
