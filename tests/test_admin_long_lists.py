"""Long lists on the admin pages come a page at a time (50), with plain GET links to the next: the mentors to pick
for a mentee, the pool's forecast-unmatched mentees and combined areas, the term's stalled pairs and the survey's
comments, and the mail the local sink kept. Each list is walked by its Next links to the end: every item once, in order.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import select

from storage import db, repo
from storage.db import session_scope
from storage.models import Enrollment, Pairing, Round, SurveyAnswer
from tests.adminkit import admin_settings, serving, sign_in_with_link
from tests.test_admin_round_page import _nav, _rel, _walk
from tests.test_admin_round_page import district_round as district_round  # a fixture: the round page's district round

RADIO = re.compile(r'<input type="radio" name="mentor_id" value="(\d+)"')


def _sink(folder: Path, count: int, now: datetime) -> list[str]:
    """`count` messages in the local sink, named as the sink names them; their names newest first."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for n in range(count):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "mentorbot@localhost", f"teacher{n}@district.example", f"Pairing notice {n}"
        message["Date"] = (now + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message.set_content("Hello")
        name = f"{now + timedelta(minutes=n):%Y%m%dT%H%M%S}.000000Z-{n:04x}.eml"
        (folder / name).write_bytes(message.as_bytes())
        names.append(name)
    return names[::-1]


async def test_long_lists_come_a_page_at_a_time_and_next_links_reach_every_item(
    tmp_path: Path, sqlite_url: str, now: datetime, district_round: int
) -> None:
    round_id = district_round
    engine = db.create_db_engine(sqlite_url)
    with session_scope(engine) as session:
        round_ = session.get(Round, round_id)
        mentors = session.exec(select(sa.func.count()).select_from(Enrollment).where(Enrollment.role.in_(("mentor", "both")))).one()
        pairings = repo.round_pairings(session, round_id=round_id)
        mentee = pairings[0].mentee_id
        forecast_total = len(round_.match_summary["unmatched"])
        # The round under way with a stalled pair in every three and a comment from every mentee: two long lists.
        round_.status = "running"
        stalled = [p.id for p in pairings[::3]]
        session.execute(sa.update(Pairing).where(Pairing.id.in_(stalled)).values(status="stalled"))
        for n, pairing in enumerate(pairings):
            session.add(SurveyAnswer(round_id=round_id, pairing_id=pairing.id, person_id=pairing.mentee_id, question="comment", value=f"Comment {n:03d}", answered_at=now))
    engine.dispose()
    assert mentors > 100 and len(stalled) > 50 and len(pairings) > 100  # long enough to need pages
    settings = admin_settings(tmp_path, sqlite_url)
    mail = _sink(settings.data_dir / "mail", 120, now)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        await sign_in_with_link(client, settings, now)
        # Mentors to pick from (the round goes back to review for it; the others read it running).
        engine = db.create_db_engine(sqlite_url)
        with session_scope(engine) as session:
            session.get(Round, round_id).status = "review"
        first_pick = await client.get(f"/admin/rounds/{round_id}/pair", params={"mentee": mentee})
        picks = await _walk(client, f"/admin/rounds/{round_id}/pair?mentee={mentee}", "Pages of mentors", RADIO)
        with session_scope(engine) as session:
            session.get(Round, round_id).status = "running"
        engine.dispose()
        stalled_pages = await _walk(client, f"/admin/engagement?round={round_id}", "Pages of stalled pairs", re.compile(r'action="/admin/pairings/(\d+)/rematch"'))
        comment_pages = await _walk(client, f"/admin/engagement?round={round_id}", "Pages of comments", re.compile(r"<li>(Comment \d+)</li>"))
        mail_pages = await _walk(client, "/admin/mail", "Pages of messages", re.compile(r'<a href="/admin/mail/([^"]+\.eml)">'))
        first_pool = await client.get("/admin/pool")
        unmatched_pages = await _walk(client, "/admin/pool", "Pages of mentees who would go unmatched", re.compile(r'<span class="muted small">([^<]+@[^<]+)</span></td>\s*<td><ul class="reasons">'))
        beyond_mail = await client.get("/admin/mail", params={"page": 99})

    # Mentors: 50 a page, every mentor but the mentee once, the current one first and checked.
    chosen = [int(i) for _address, ids in picks for i in ids]
    assert [len(ids) for _address, ids in picks[:-1]] == [50] * (len(picks) - 1) and 0 < len(picks[-1][1]) <= 50
    assert len(chosen) == len(set(chosen)) == mentors and mentee not in chosen
    current = pairings[0].mentor_id
    assert f'value="{current}" id="mentor-{current}" checked' in first_pick.text and chosen[0] == current
    assert picks[1][0] == f"/admin/rounds/{round_id}/pair?mentee={mentee}&page=2#mentors"
    # The term's stalled pairs and the round's comments, a page at a time, each once.
    assert sorted(int(i) for _address, ids in stalled_pages for i in ids) == sorted(stalled) and len(stalled_pages) == -(-len(stalled) // 50)
    comments = [c for _address, found in comment_pages for c in found]
    assert comments == [f"Comment {n:03d}" for n in range(len(pairings))] and len(comment_pages[0][1]) == 50
    assert all(f"round={round_id}" in address for address, _found in comment_pages)
    # The mail the sink kept: newest first, 50, 50 and 20; a page past the end shows the last.
    assert [len(found) for _address, found in mail_pages] == [50, 50, 20]
    assert [name for _address, found in mail_pages for name in found] == mail
    assert mail_pages[1][0] == "/admin/mail?page=2" and "messages 101–120 of 120" in " ".join(re.sub(r"<[^>]+>", " ", beyond_mail.text).split())
    # The pool's forecast: the first page cut to 50, the rest one Next away.
    forecast = [email for _address, found in unmatched_pages for email in found]
    assert len(forecast) == len(set(forecast)) and len(unmatched_pages[0][1]) == min(50, len(forecast))
    assert _rel(_nav(first_pool.text, "Pages of mentees who would go unmatched"), "next") == ("/admin/pool?unmatched_page=2#unmatched" if len(forecast) > 50 else None)
    assert forecast_total > 0 and len(forecast) > 0
