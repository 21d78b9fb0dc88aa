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


async def test_a_mentee_picks_a_position_from_the_slack_select_and_is_told_once(database_url: str, tmp_path: Path) -> None:
    import json
    import time
    from datetime import timedelta, timezone

    from bot.doubles.slack import user_ref
    from storage.models import ProfileAnswer
    from tests.slack_helpers import PROGRAM as SLACK_PROGRAM
    from tests.slack_helpers import slack_harness

    async with slack_harness(tmp_path, database_url) as h:
        today = datetime.now(timezone.utc)
        service.open_term(h.engine, program_name=SLACK_PROGRAM, timezone="America/Los_Angeles", name="Spring", opt_in_by=None, now=today)
        service.enroll_from_roster(h.engine, program_name=SLACK_PROGRAM, term_name=None, require_approval=False, now=today)
        with session_scope(h.engine) as session:
            session.add(ProfileAnswer(person_id=h.person_id("ana@d.example"), question="custom:position", value="assistant principal", updated_at=today))
        request = service.RoundRequest(kind="interview", match_on=today.date() + timedelta(days=3))
        round_id = service.create_round(h.engine, program_name=SLACK_PROGRAM, term_name=None, request=request, now=today).id
        events.open_round(h.engine, round_id=round_id, now=today)
        announcement = await h.dm_with("UBEN00001", "Informational interviews")
        block = next(b for b in announcement["blocks"] if b["type"] == "actions")
        element = block["elements"][0]
        option = next(o for o in element["options"] if o["value"] == "assistant principal")
        channel = h.standin.dm_channel("UBEN00001")

        def pick() -> dict:
            return {
                "type": "block_actions", "user": user_ref(h.standin, "UBEN00001"), "api_app_id": "ASTANDIN", "token": "legacy-verification-token",
                "trigger_id": h.standin.new_trigger("UBEN00001"), "team": {"id": h.standin.team_id, "domain": "standin"},
                "container": {"type": "message", "message_ts": announcement["ts"], "channel_id": channel, "is_ephemeral": False},
                "channel": {"id": channel, "name": "directmessage"}, "message": announcement, "response_url": h.standin.new_response_url(),
                "actions": [{"action_id": element["action_id"], "block_id": block["block_id"], "type": "static_select", "selected_option": option, "action_ts": f"{time.time():.6f}"}],
            }  # fmt: skip

        delivery = pick()
        assert (await h.driver.post_interaction(delivery)).status_code == 200
        assert (await h.driver.post_interaction(delivery)).status_code == 200  # Slack's retry of the same delivery
        await h.dm_with("UBEN00001", "You're in for an informational interview about assistant principal")
        assert sum("You're in for" in json.dumps(m) for m in h.standin.dms("UBEN00001")) == 1
        assert signups(h.engine, round_id) == [("ben@d.example", "", "mentee", "joined")]
        service.run_matching(h.engine, round_id=round_id, session_minutes=30, now=today)
        _round, pairs = service.round_pairs(h.engine, round_id=round_id)
        assert [(p.mentor_email, p.mentee_email, p.topic) for p in pairs] == [("ana@d.example", "ben@d.example", "assistant principal")]
