"""Informational interviews: mentees name a position or site, and meet someone in it at another site, or hear why not."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.rounds import events, schedule, service
from bot.slack.messages import render_notice
from storage import repo
from storage.db import session_scope
from storage.models import Round, RoundSignup
from tests.test_events import PROGRAM, outbox, person_id, setup_program, signups

CONFIG = schedule.ScheduleConfig(session_minutes=30, public_base_url="http://mentorbot.test")
HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity,position"
ROSTER = (
    # Hosts: anyone with a position, whatever their mentoring role; capacity bounds how many they host.
    "ava@d.example,Ava Stone,mentor,Lincoln,6-8,math,SEL,,Tue 15:00-17:00,America/Los_Angeles,1,assistant principal",
    "bo@d.example,Bo Grant,mentee,Garfield,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,1,instructional coach",
    "cal@d.example,Cal Ruiz,mentor,Garfield,6-8,math,SEL,,Tue 15:00-17:00,America/Los_Angeles,1,assistant principal",
    # Seekers.
    "dia@d.example,Dia Moon,mentee,Garfield,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,,",
    "eli@d.example,Eli Fox,mentee,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,,",
    "fay@d.example,Fay Lim,mentee,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,,",
    "gus@d.example,Gus Hale,mentee,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,,",
)
MATCH = date(2026, 12, 3)


def new_interviews(engine: Engine, now: datetime) -> int:
    request = service.RoundRequest(kind="interview", start_on=date(2026, 11, 30), match_on=MATCH, end_on=date(2026, 12, 11))
    return service.create_round(engine, program_name=PROGRAM, term_name=None, request=request, now=now).id


def test_interviews_pair_people_across_sites_with_the_position_they_asked_for(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now, rows=ROSTER, header=HEADER)
    round_id = new_interviews(engine, now)
    assert events.open_round(engine, round_id=round_id, now=now) == 7
    notice = outbox(engine, "round.announce")[0].body
    # The select offers the positions and sites present in the pool.
    assert notice["choices"] == ["assistant principal", "instructional coach", "Garfield", "Lincoln"]
    picker = next(b for b in render_notice(notice).blocks if b["type"] == "actions")["elements"][0]
    assert picker["type"] == "static_select" and [o["value"] for o in picker["options"]] == notice["choices"]

    replies = {
        "dia@d.example": "Assistant Principal",  # at Garfield: only Ava (Lincoln) is across sites
        "eli@d.example": "join: instructional coach",  # at Lincoln: Bo is at Garfield
        "fay@d.example": "Garfield",  # a site: someone who works there
        "gus@d.example": "superintendent",  # nobody holds it
    }
    for email, text in replies.items():
        outcome = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, email), text=text, source="email", now=now)
        assert outcome.status == "joined", outcome.text
    assert events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, "dia@d.example"), text="assistant principal", source="slack", now=now).status == "already"
    missing = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, "gus@d.example"), text="join", source="email", now=now)
    assert missing.status == "needs_interest" and "Which position or site" in missing.text
    with session_scope(engine) as session:
        stored = {s.person_id: s.interest for s in session.exec(select(RoundSignup))}
    assert stored[person_id(engine, "dia@d.example")] == "assistant principal"  # spelled as the pool spells it

    outcome = service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    round_, pairs = service.round_pairs(engine, round_id=round_id)
    got = {(p.mentee_email, p.mentor_email, p.topic) for p in pairs}
    assert ("dia@d.example", "ava@d.example", "assistant principal") in got
    assert ("eli@d.example", "bo@d.example", "instructional coach") in got
    assert ("fay@d.example", "cal@d.example", "Garfield") in got  # Bo hosts Eli already; Cal works at Garfield
    assert all(p.mentee_email != "gus@d.example" for p in pairs)
    unmatched = {u["email"]: u["reasons"] for u in round_.match_summary["unmatched"]}
    assert list(unmatched) == ["gus@d.example"] and unmatched["gus@d.example"]
    assert "superintendent" in " ".join(unmatched["gus@d.example"])
    assert len(outcome.result.pairs) == 3
    assert events.topic_lines(round_.match_summary) == ["informational interviews: 3 of 4 matched (3 mentor(s) or host(s))"]

    # Published: the pairing says what the interview is about.
    schedule.publish_round(engine, round_id=round_id, now=now, config=CONFIG)
    with session_scope(engine) as session:
        round_obj = session.get(Round, round_id)
        pairing = next(p for p in repo.round_pairings(session, round_id=round_id) if p.breakdown.get("interest") == "Garfield")
        schedule.notify_pairing(session, pairing=pairing, round_=round_obj, now=now, config=CONFIG)
    fay = next(m for m in outbox(engine, "pairing") if m.recipient == "fay@d.example")
    assert fay.body["topic"] == "Garfield" and "Garfield" in fay.body["text"]
    assert [s for s in signups(engine, round_id) if s[0] == "gus@d.example"] == [("gus@d.example", "", "mentee", "joined")]


def test_people_at_the_same_site_are_never_paired_for_an_interview(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now, rows=ROSTER, header=HEADER)
    round_id = new_interviews(engine, now)
    events.open_round(engine, round_id=round_id, now=now)
    # Eli (Lincoln) asks for an assistant principal: Ava is one but also at Lincoln, so only Cal (Garfield) fits.
    events.join(engine, round_id=round_id, person_id=person_id(engine, "eli@d.example"), interest="assistant principal", source="slack", now=now)
    events.join(engine, round_id=round_id, person_id=person_id(engine, "gus@d.example"), interest="assistant principal", source="slack", now=now)
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    round_, pairs = service.round_pairs(engine, round_id=round_id)
    assert [(p.mentee_email, p.mentor_email) for p in pairs] in ([("eli@d.example", "cal@d.example")], [("gus@d.example", "cal@d.example")])
    (left,) = round_.match_summary["unmatched"]
    assert left["reasons"]
