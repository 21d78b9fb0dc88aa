"""Topic events: one announcement fills three topics, each matched from its sign-ups; the cap holds; retries don't double."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import notify
from bot.importer import import_roster
from bot.rounds import events, schedule, service
from bot.rounds.guides import guide_context
from storage import repo
from storage.db import session_scope
from storage.models import OutboxMessage, Person, Program, Round, RoundSignup, ScheduledAction
from tests.adminkit import admin_settings, serving, sign_in_with_link

PROGRAM = "Event Program"
CONFIG = schedule.ScheduleConfig(session_minutes=30, public_base_url="http://mentorbot.test")
HEADER = "email,name,role,site,grade_bands,subjects,strengths,needs,availability,timezone,capacity"
TOPICS = "SEL in the classroom; assessment; family communication"
ROSTER = (
    "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,SEL in the classroom;assessment,,Tue 15:00-17:00,America/Los_Angeles,2",
    "omar@d.example,Omar Khan,mentor,Garfield,6-8,math,family communication,,Tue 15:00-17:00,America/Los_Angeles,1",
    "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,",
    "cai@d.example,Cai Li,mentee,Lincoln,6-8,math,,assessment,Tue 15:00-17:00,America/Los_Angeles,",
    "dee@d.example,Dee Ray,mentee,Lincoln,6-8,math,,family,Tue 15:00-17:00,America/Los_Angeles,",
    "eve@d.example,Eve Moss,mentee,Garfield,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,",
)
# Monday 2026-11-23 is the fixed clock: sign-ups open Mon Nov 30, matching Thu Dec 3, the event Tue Dec 8.
OPENS, MATCH, EVENT_DAY = date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 8)


def setup_program(engine: Engine, folder: Path, now: datetime, *, rows: tuple[str, ...] = ROSTER, header: str = HEADER, **program_settings) -> None:
    """A program with a roster, an open term everyone is enrolled in, and the given program settings."""
    path = folder / "roster.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    import_roster(engine, path, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name=PROGRAM, timezone="America/Los_Angeles", name="Spring 2027", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name=PROGRAM, term_name=None, require_approval=False, now=now)
    with session_scope(engine) as session:
        program = repo.get_program(session, name=PROGRAM)
        program.settings = {**(program.settings or {}), **program_settings}


def new_event(engine: Engine, now: datetime, *, topics: str = TOPICS, sessions: int = 1) -> int:
    request = service.RoundRequest(kind="event", topics=topics, sessions=sessions, start_on=OPENS, match_on=MATCH, end_on=EVENT_DAY)
    return service.create_round(engine, program_name=PROGRAM, term_name=None, request=request, now=now).id


def person_id(engine: Engine, email: str) -> int:
    with session_scope(engine) as session:
        return repo.people_by_email(session, emails=[email])[email].id


def outbox(engine: Engine, purpose: str) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose).order_by(OutboxMessage.id)))


def signups(engine: Engine, round_id: int) -> list[tuple[str, str, str, str]]:
    with session_scope(engine) as session:
        rows = session.exec(select(RoundSignup).where(RoundSignup.round_id == round_id).order_by(RoundSignup.id)).all()
        emails = {p.id: p.email for p in repo.list_people(session)}
        return [(emails[r.person_id], r.topic, r.role, r.status) for r in rows]


def at(day: date, hour: int = 9) -> datetime:
    """`hour` o'clock on `day` in the program's zone, as UTC (Los Angeles is UTC-8 in winter)."""
    return datetime(day.year, day.month, day.day, hour + 8, 0, tzinfo=timezone.utc)


def test_a_three_topic_event_fills_from_one_announcement_and_matches_each_topic(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now, topic_guides={"family communication": "Bring one message you sent home this month."})
    round_id = new_event(engine, now)
    with session_scope(engine) as session:
        actions = {a.kind: a for a in repo.round_actions(session, round_id=round_id)}
    assert set(actions) == {"round.announce", "round.match"}
    assert actions["round.announce"].due_at == datetime(2026, 11, 30, 16, 0, tzinfo=now.tzinfo)  # 08:00 in Los Angeles

    # Nothing is announced before sign-ups open; at the opening, each of the six people hears once.
    assert schedule.run_due_actions(engine, now=now, config=CONFIG) == []
    ran = schedule.run_due_actions(engine, now=at(OPENS), config=CONFIG)
    assert [(status, result) for _id, status, result in ran] == [("done", "announced to 6 people or channels")]
    first = outbox(engine, "round.announce")
    assert sorted(m.recipient for m in first) == sorted(e.split(",")[0] for e in ROSTER)
    assert first[0].body["topics"] == ["SEL in the classroom", "assessment", "family communication"]
    assert "1. SEL in the classroom" in first[0].body["text"]
    # Opening again (an admin's `round open`, a restart re-running the action) announces nobody twice.
    assert events.open_round(engine, round_id=round_id, now=at(OPENS, 10)) == 0
    with session_scope(engine) as session:
        repo.get_action(session, action_id=ran[0][0]).status = "pending"
    schedule.run_due_actions(engine, now=at(OPENS, 11), config=CONFIG)
    assert len(outbox(engine, "round.announce")) == 6

    # People join with one reply each: a number, a name, "join <part of a name>".
    joins = {
        "ben@d.example": "1", "eve@d.example": "SEL", "cai@d.example": "join assessment", "dee@d.example": "3",
        "ana@d.example": "SEL in the classroom", "omar@d.example": "join family communication",
    }  # fmt: skip
    for email, text in joins.items():
        outcome = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, email), text=text, source="email", now=at(OPENS, 12))
        assert outcome.status == "joined", (email, outcome.text)
    ben = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, "ben@d.example"), text="1", source="email", now=at(OPENS, 13))
    assert ben.status == "already" and ben.text == "You're already in for 'SEL in the classroom' on Tue Dec 8; you'll get your match on Dec 3."
    ana_second = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, "ana@d.example"), text="2", source="slack", now=at(OPENS, 13))
    assert ana_second.text == "You're in for 'assessment' as a mentor on Tue Dec 8; you'll get your match on Dec 3."
    assert sorted(signups(engine, round_id)) == sorted([
        ("ben@d.example", "SEL in the classroom", "mentee", "joined"), ("eve@d.example", "SEL in the classroom", "mentee", "joined"),
        ("cai@d.example", "assessment", "mentee", "joined"), ("dee@d.example", "family communication", "mentee", "joined"),
        ("ana@d.example", "SEL in the classroom", "mentor", "joined"), ("omar@d.example", "family communication", "mentor", "joined"),
        ("ana@d.example", "assessment", "mentor", "joined"),
    ])  # fmt: skip

    # Match day: each topic is matched from its own sign-ups. Ana (capacity 2) is shared by SEL and assessment.
    ran = schedule.run_due_actions(engine, now=at(MATCH, 7), config=CONFIG)
    assert [status for _id, status, _r in ran] == ["done"]
    round_, pairs = service.round_pairs(engine, round_id=round_id)
    assert round_.status == "review"
    by_topic = {(p.topic, p.mentee_email): p.mentor_email for p in pairs}
    assert by_topic[("assessment", "cai@d.example")] == "ana@d.example"
    assert by_topic[("family communication", "dee@d.example")] == "omar@d.example"
    sel = [mentee for (topic, mentee) in by_topic if topic == "SEL in the classroom"]
    assert len(sel) == 1 and len(pairs) == 3  # Ana's second place went to assessment; one SEL mentee waits, with a reason
    topics = {t["topic"]: t for t in round_.match_summary["topics"]}
    assert [topics[name]["matched"] for name in ("SEL in the classroom", "assessment", "family communication")] == [1, 1, 1]
    assert topics["SEL in the classroom"]["unmatched"] and topics["SEL in the classroom"]["unmatched"][0]["reasons"]
    assert events.topic_lines(round_.match_summary)[2] == "family communication: 1 of 1 matched (1 mentor(s) or host(s))"

    # Published: each pairing notice carries its topic and that topic's guide.
    schedule.publish_round(engine, round_id=round_id, now=at(MATCH, 8), config=CONFIG)
    schedule.run_due_actions(engine, now=at(MATCH, 9), config=CONFIG)
    notices = [m for m in outbox(engine, "pairing") if m.channel == "email"]
    assert len(notices) == 6
    dee = next(m for m in notices if m.recipient == "dee@d.example")
    assert dee.body["topic"] == "family communication"
    assert "family communication" in dee.body["guide"]["email_text"]
    assert "Bring one message you sent home this month." in dee.body["guide"]["email_text"]
    cai = next(m for m in notices if m.recipient == "cai@d.example")
    assert cai.body["topic"] == "assessment" and "Bring one message" not in cai.body["guide"]["email_text"]

    # The printable guide of the same pairing speaks of the same topic, with the program's words for it.
    with session_scope(engine) as session:
        dee_pairing = next(p for p in repo.round_pairings(session, round_id=round_id) if p.mentee_id == person_id(engine, "dee@d.example"))
        round_row = session.get(Round, round_id)
        printable = guide_context(session, pairing=dee_pairing, round_=round_row, reader=None, base_url=CONFIG.public_base_url, session_minutes=30)
    assert printable.topic == "family communication" and dee_pairing.topic == "family communication"  # stored with the pair
    assert printable.custom_message == "Bring one message you sent home this month."


def test_the_event_cap_holds_and_names_current_events(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now, event_cap=2)
    first = new_event(engine, now)
    second = new_event(engine, now, topics="coaching cycles")
    for round_id in (first, second):
        events.open_round(engine, round_id=round_id, now=now)
    ben = person_id(engine, "ben@d.example")
    assert events.join(engine, round_id=first, person_id=ben, topic="1", source="slack", now=now).status == "joined"
    assert events.join(engine, round_id=first, person_id=ben, topic="2", source="slack", now=now).status == "joined"
    over = events.join(engine, round_id=second, person_id=ben, topic="coaching cycles", source="slack", now=now)
    assert over.status == "full"
    assert "most Event Program allows (2): 'SEL in the classroom'; 'assessment'" in over.text
    # Leaving one makes room again; a repeated leave changes nothing.
    assert events.apply_reply(engine, round_id=first, person_id=ben, text="leave 2", source="email", now=now).status == "left"
    assert events.apply_reply(engine, round_id=first, person_id=ben, text="leave 2", source="email", now=now).status == "not_joined"
    assert events.join(engine, round_id=second, person_id=ben, topic=None, source="slack", now=now).status == "joined"
    assert [(t, s) for e, t, _r, s in signups(engine, first) if e == "ben@d.example"] == [("SEL in the classroom", "joined"), ("assessment", "withdrawn")]


def test_unclear_replies_and_closed_rounds_get_a_friendly_answer(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now)
    round_id = new_event(engine, now)
    ben = person_id(engine, "ben@d.example")
    early = events.apply_reply(engine, round_id=round_id, person_id=ben, text="1", source="email", now=now)
    assert early.status == "closed" and "hasn't opened yet" in early.text
    events.open_round(engine, round_id=round_id, now=now)
    unclear = events.apply_reply(engine, round_id=round_id, person_id=ben, text="maybe robotics?", source="email", now=now)
    assert unclear.status == "unknown_topic"
    assert unclear.text == "I couldn't tell which topic you meant. The topics are: 1. SEL in the classroom; 2. assessment; 3. family communication."
    assert events.apply_reply(engine, round_id=round_id, person_id=ben, text="7", source="email", now=now).status == "unknown_topic"
    assert signups(engine, round_id) == []
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    late = events.apply_reply(engine, round_id=round_id, person_id=ben, text="2", source="email", now=now)
    assert late.status == "closed" and "closed its sign-ups" in late.text
    # A reply or click naming a round that was deleted gets a plain answer, and nothing is written.
    for gone in (events.apply_reply(engine, round_id=999, person_id=ben, text="1", source="email", now=now),
                 events.join(engine, round_id=999, person_id=ben, topic="1", source="slack", now=now),
                 events.leave(engine, round_id=999, person_id=ben, topic="1", now=now)):  # fmt: skip
        assert gone.status == "closed" and gone.text.startswith("Sorry, that round no longer exists")
    assert signups(engine, round_id) == []


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"topics": " ; ;"}, "a topic event needs at least one topic"),
        ({"topics": ";".join(f"t{n}" for n in range(11))}, "at most 10 topics"),
        ({"topics": "SEL", "match_on": None}, "needs --match-on"),
        ({"topics": "SEL", "start_on": date(2026, 12, 5)}, "sign-ups open (--start-on) on or before the match date"),
        ({"topics": "SEL", "sessions": 4}, "a topic event has 1, 2 or 3 sessions"),
    ],
)
def test_a_topic_event_that_could_not_run_is_refused_with_the_reason(engine: Engine, tmp_path: Path, now: datetime, request_fields: dict, message: str) -> None:
    setup_program(engine, tmp_path, now)
    fields = {"kind": "event", "start_on": OPENS, "match_on": MATCH, "end_on": EVENT_DAY, **request_fields}
    with pytest.raises(service.RoundError, match=message.replace("(", r"\(").replace(")", r"\)")):
        service.create_round(engine, program_name=PROGRAM, term_name=None, request=service.RoundRequest(**fields), now=now)
    with session_scope(engine) as session:
        assert session.exec(select(ScheduledAction)).all() == []


def test_fallback_mentors_fill_a_topic_nobody_offered_to_mentor_when_the_program_allows_it(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now, event_fallback_mentors=True)
    round_id = new_event(engine, now, topics="family communication")
    events.open_round(engine, round_id=round_id, now=now)
    events.join(engine, round_id=round_id, person_id=person_id(engine, "dee@d.example"), source="email", now=now)
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    _round, pairs = service.round_pairs(engine, round_id=round_id)
    assert [(p.mentor_email, p.mentee_email, p.topic) for p in pairs] == [("omar@d.example", "dee@d.example", "family communication")]
    with session_scope(engine) as session:
        session.get(Program, 1).settings = {}
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now + timedelta(minutes=1))
    assert service.round_pairs(engine, round_id=round_id)[1] == []


# --- the whole way: signed Slack clicks into the app, the Slack stand-in, a real aiosmtpd, a reply by webhook -----------


async def test_slack_clicks_and_an_email_reply_fill_an_event_from_one_announcement(database_url: str, tmp_path: Path) -> None:
    import httpx

    from tests.emailkit import RecordingHandler, smtp_server
    from tests.slack_helpers import PROGRAM as SLACK_PROGRAM
    from tests.slack_helpers import slack_harness

    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    try:
        async with slack_harness(
            tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", sendgrid_inbound_key="inbound-key",
            reply_domain="reply.d.example", mail_from="mentoring@d.example",
        ) as h:  # fmt: skip
            today = datetime.now(timezone.utc)
            service.open_term(h.engine, program_name=SLACK_PROGRAM, timezone="America/Los_Angeles", name="Spring", opt_in_by=None, now=today)
            service.enroll_from_roster(h.engine, program_name=SLACK_PROGRAM, term_name=None, require_approval=False, now=today)
            request = service.RoundRequest(kind="event", topics="SEL; assessment; family communication", sessions=1, match_on=today.date() + timedelta(days=3), end_on=today.date() + timedelta(days=8))
            round_id = service.create_round(h.engine, program_name=SLACK_PROGRAM, term_name=None, request=request, now=today).id
            # The admin opens it from Slack; ONE announcement reaches each person (Slack DM, or email without Slack).
            await h.driver.command("UADMIN001", f"round open {round_id}")
            announcement = await h.dm_with("UBEN00001", "Join: SEL")
            await h.dm_with("UANA00001", "Join: assessment")
            await handler.wait_for(1)
            mail = handler.received[0].message
            assert mail["To"].addresses[0].addr_spec == "dee@d.example"
            body = mail.get_body(preferencelist=("plain",)).get_content()
            assert "1. SEL" in body and "3. family communication" in body

            # Ben clicks SEL; Slack retries that very delivery; he clicks again later: one sign-up, told each time.
            response = await h.driver.click("UBEN00001", "Join: SEL", message=announcement)
            assert response.status_code == 200
            await h.dm_with("UBEN00001", "You're in for 'SEL' on")
            await h.driver.click("UBEN00001", "Join: SEL", message=announcement)
            await h.dm_with("UBEN00001", "You're already in for 'SEL'")
            ana = await h.dm_with("UANA00001", "Join: SEL")
            await h.driver.click("UANA00001", "Join: SEL", message=ana)
            await h.dm_with("UANA00001", "as a mentor")
            await h.driver.say("UCY000001", "join 2")
            await h.dm_with("UCY000001", "You're in for 'assessment'", timeout=40)

            # Dee answers the email with "1": joined in the same transaction as the answer, which threads under the program.
            reply_to = mail["Reply-To"].addresses[0].addr_spec
            form = {
                "from": "Dee Park <dee@d.example>", "to": reply_to, "subject": "Re: " + str(mail["Subject"]),
                "text": "1\n\nOn Monday the program wrote:\n> " + body.splitlines()[0],
                "headers": f"Message-ID: <dee-1@d.example>\nIn-Reply-To: {mail['Message-ID']}\n", "envelope": json.dumps({"to": [reply_to]}),
            }  # fmt: skip
            async with httpx.AsyncClient(base_url=h.url) as client:
                first = await client.post("/email/inbound?key=inbound-key", data=form)
                again = await client.post("/email/inbound?key=inbound-key", data=form)
            assert first.json() == {"status": "applied", "reason": "round sign-up"}
            assert again.json()["status"] == "duplicate"
            await handler.wait_for(2)
            answer = handler.received[1].message
            assert "You're in for 'SEL' on" in answer.get_body(preferencelist=("plain",)).get_content()
            assert answer["In-Reply-To"] == "<dee-1@d.example>"
            assert mail["References"].split()[0] == answer["References"].split()[0]  # the program's thread root

            assert sorted(signups(h.engine, round_id)) == sorted([
                ("ben@d.example", "SEL", "mentee", "joined"), ("ana@d.example", "SEL", "mentor", "joined"),
                ("cy@d.example", "assessment", "mentee", "joined"), ("dee@d.example", "SEL", "mentee", "joined"),
            ])  # fmt: skip
            # Preview from Slack: per-topic results.
            _response, url = await h.driver.command("UADMIN001", f"round preview {round_id}")
            preview = json.dumps(await h.responses(url), ensure_ascii=False)
            assert "SEL: 2 of 2 matched" in preview and "assessment: 0 of 1 matched" in preview and "Topic event on SEL; assessment; family communication. Status" in preview
            assert "*Ana Chen* → *Dee Park* (SEL)" in preview
            assert len(outbox(h.engine, "round.announce")) == 4  # Ana, Ben, Cy on Slack; Dee by email
    finally:
        server.close()


async def test_app_home_has_one_section_per_program_with_sign_ups_and_pairings(database_url: str, tmp_path: Path) -> None:
    from tests.slack_helpers import PROGRAM as SLACK_PROGRAM
    from tests.slack_helpers import slack_harness, wait_for

    async with slack_harness(tmp_path, database_url) as h:
        today = datetime.now(timezone.utc)
        for name in (SLACK_PROGRAM, "Second Program"):
            service.open_term(h.engine, program_name=name, timezone="America/Los_Angeles", name="Spring", opt_in_by=None, now=today)
            service.enroll_from_roster(h.engine, program_name=name, term_name=None, require_approval=False, now=today)
        soon, later = today.date() + timedelta(days=3), today.date() + timedelta(days=8)
        first = service.create_round(h.engine, program_name=SLACK_PROGRAM, term_name=None, now=today,
                                     request=service.RoundRequest(kind="event", topics="SEL", match_on=soon, end_on=later)).id  # fmt: skip
        second = service.create_round(h.engine, program_name="Second Program", term_name=None, now=today,
                                      request=service.RoundRequest(kind="event", topics="assessment; family communication", match_on=soon, end_on=later)).id  # fmt: skip
        for round_id in (first, second):
            events.open_round(h.engine, round_id=round_id, now=today)
        ben, ana = h.person_id("ben@d.example"), h.person_id("ana@d.example")
        events.join(h.engine, round_id=first, person_id=ben, source="slack", now=today)
        events.join(h.engine, round_id=first, person_id=ana, source="slack", now=today)
        service.run_matching(h.engine, round_id=first, session_minutes=30, now=today)
        schedule.publish_round(h.engine, round_id=first, now=today, config=CONFIG)

        await h.driver.open_home("UBEN00001")
        home = await wait_for(lambda: h.standin.homes.get("UBEN00001"), what="Ben's Home tab")
        texts = [json.dumps(block, ensure_ascii=False) for block in home["blocks"]]
        headers = [i for i, t in enumerate(texts) if '"type": "header"' in t]
        names = [json.loads(texts[i])["text"]["text"] for i in headers]
        assert SLACK_PROGRAM in names and "Second Program" in names
        mine, other = names.index(SLACK_PROGRAM), names.index("Second Program")
        first_part = " ".join(texts[headers[mine]: headers[mine + 1] if mine + 1 < len(headers) else None])
        second_part = " ".join(texts[headers[other]: headers[other + 1] if other + 1 < len(headers) else None]).split("Upcoming sessions")[0]
        assert "Ana Chen" in first_part and "you're their mentee on SEL" in first_part
        assert "Ana Chen" not in second_part and "Join: assessment" in second_part and "Join: family communication" in second_part

        # A click on the Home tab joins that program's topic, and the section shows the sign-up.
        await h.driver.click("UBEN00001", "Join: family communication", where="home")
        await h.dm_with("UBEN00001", "You're in for 'family communication'")
        await wait_for(lambda: "family communication, match on" in json.dumps(h.standin.homes.get("UBEN00001")), what="the sign-up on the Home tab")
        assert [(t, s) for e, t, _r, s in signups(h.engine, second) if e == "ben@d.example"] == [("family communication", "joined")]


def test_each_program_is_its_own_email_thread(engine: Engine, tmp_path: Path, now: datetime) -> None:
    from bot.email.render import build_mime, render_notice
    from bot.settings import Settings

    setup_program(engine, tmp_path, now)
    service.open_term(engine, program_name="Second Program", timezone="America/Los_Angeles", name="Spring", opt_in_by=None, now=now)
    service.enroll_from_roster(engine, program_name="Second Program", term_name=None, require_approval=False, now=now)
    round_ids = [new_event(engine, now)]
    request = service.RoundRequest(kind="event", topics="coaching", start_on=OPENS, match_on=MATCH, end_on=EVENT_DAY)
    round_ids.append(service.create_round(engine, program_name="Second Program", term_name=None, request=request, now=now).id)
    round_ids.append(new_event(engine, now, topics="classroom routines"))
    for round_id in round_ids:
        events.open_round(engine, round_id=round_id, now=now)
    settings = Settings(_env_file=None, mail_from="mentoring@d.example", reply_domain="reply.d.example")
    roots = []
    with session_scope(engine) as session:
        for message in outbox(engine, "round.announce"):
            if message.recipient != "ben@d.example":
                continue
            rendered = render_notice(session, message=message, settings=settings, now=now)
            mime = build_mime(message, rendered, settings=settings, person=session.get(Person, message.person_id), now=now)
            roots.append((message.body["program_name"], mime["References"].split()[0], mime["From"].addresses[0].display_name))
        # Every email speaks for its own program, found through the dialog's term when the notice doesn't name it.
        second_term = repo.get_term(session, program_id=repo.get_program(session, name="Second Program").id, name="Spring")
        ben = repo.people_by_email(session, emails=["ben@d.example"])["ben@d.example"]
        prompt = notify.prompt_flow(session, person=ben, flow="opt_in", context=f"term:{second_term.id}", now=now)[0]
        prompt_mime = build_mime(prompt, render_notice(session, message=prompt, settings=settings, now=now), settings=settings, person=ben, now=now)
    assert [r[0] for r in roots] == [r[2] for r in roots] == [PROGRAM, "Second Program", PROGRAM]
    assert roots[0][1] == roots[2][1] != roots[1][1]  # one thread per program, keyed per person and program
    assert prompt_mime["From"].addresses[0].display_name == "Second Program"
    assert prompt_mime["Reply-To"].addresses[0].display_name == "Second Program"


async def test_a_program_with_an_announce_channel_posts_once_there_and_people_join_from_the_post(database_url: str, tmp_path: Path) -> None:
    from tests.slack_helpers import PROGRAM as SLACK_PROGRAM
    from tests.slack_helpers import slack_harness, wait_for

    async with slack_harness(tmp_path, database_url) as h:
        h.standin.add_channel("C0ANNOUNCE")
        today = datetime.now(timezone.utc)
        service.open_term(h.engine, program_name=SLACK_PROGRAM, timezone="America/Los_Angeles", name="Spring", opt_in_by=None, now=today)
        service.enroll_from_roster(h.engine, program_name=SLACK_PROGRAM, term_name=None, require_approval=False, now=today)
        with session_scope(h.engine) as session:
            program = repo.get_program(session, name=SLACK_PROGRAM)
            program.settings = {**(program.settings or {}), "announce_channel": "C0ANNOUNCE"}
        request = service.RoundRequest(kind="event", topics="SEL; assessment", match_on=today.date() + timedelta(days=3))
        round_id = service.create_round(h.engine, program_name=SLACK_PROGRAM, term_name=None, request=request, now=today).id
        assert events.open_round(h.engine, round_id=round_id, now=today) == 2  # the channel post, and Dee's email
        assert events.open_round(h.engine, round_id=round_id, now=today) == 0
        post = await wait_for(lambda: next(iter(h.standin.messages.get("C0ANNOUNCE") or []), None), what="the channel post")
        assert {m.channel for m in outbox(h.engine, "round.announce")} == {"slack", "email"}
        clicked = await h.driver.click("UCY000001", "Join: assessment", message=post)
        assert clicked.status_code == 200, clicked.text
        await h.dm_with("UCY000001", "You're in for 'assessment'", timeout=40)
        assert not any("Join: SEL" in json.dumps(m) for m in h.standin.dms("UBEN00001"))  # no DM on top of the post
        assert len(h.standin.messages["C0ANNOUNCE"]) == 1


def test_an_event_topic_is_matched_with_the_programs_rules(engine: Engine, tmp_path: Path, now: datetime) -> None:
    # Ana (Lincoln) offers SEL to Cai (Lincoln) and Ben (Garfield); the program requires cross-site pairs.
    rows = (
        "ana@d.example,Ana Chen,mentor,Lincoln,6-8,math,SEL,,Tue 15:00-17:00,America/Los_Angeles,2",
        "cai@d.example,Cai Li,mentee,Lincoln,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,",
        "ben@d.example,Ben Ortiz,mentee,Garfield,6-8,math,,SEL,Tue 15:00-17:00,America/Los_Angeles,",
    )
    setup_program(engine, tmp_path, now, rows=rows, rules={"require": ["cross_site"]})
    round_id = new_event(engine, now, topics="SEL")
    events.open_round(engine, round_id=round_id, now=now)
    for email in ("ana@d.example", "cai@d.example", "ben@d.example"):
        assert events.join(engine, round_id=round_id, person_id=person_id(engine, email), source="slack", now=now).status == "joined"
    service.run_matching(engine, round_id=round_id, session_minutes=30, now=now)
    round_, pairs = service.round_pairs(engine, round_id=round_id)
    assert [(p.mentor_email, p.mentee_email) for p in pairs] == [("ana@d.example", "ben@d.example")]  # Cai shares Ana's site
    (cai,) = round_.match_summary["unmatched"]
    assert cai["email"] == "cai@d.example" and cai["reasons"]


def test_the_cli_creates_opens_and_shows_an_event_topic_by_topic(tmp_path: Path, database_url: str) -> None:
    from storage import db
    from tests.test_cli import run

    (tmp_path / "roster.csv").write_text("\n".join([HEADER, *ROSTER]) + "\n", encoding="utf-8")
    env = {"PROGRAM_NAME": PROGRAM, "REQUIRE_PRINCIPAL_APPROVAL": "false"}
    assert run(tmp_path, "import", "roster", "roster.csv", database_url=database_url, extra_env=env).returncode == 0
    assert run(tmp_path, "term", "open", "Spring 2027", "--enroll-roster", database_url=database_url, extra_env=env).returncode == 0
    today = datetime.now(timezone.utc).date()
    created = run(
        tmp_path, "round", "new", "event", "--topics", TOPICS, "--sessions", "1", "--start-on", str(today),
        "--match-on", str(today + timedelta(days=3)), "--end-on", str(today + timedelta(days=8)), database_url=database_url, extra_env=env,
    )  # fmt: skip
    assert created.returncode == 0 and "Created event round 1" in " ".join(created.stdout.split()), created.stdout + created.stderr
    refused = run(tmp_path, "round", "new", "event", "--topics", ";", "--match-on", str(today), database_url=database_url, extra_env=env)
    assert refused.returncode != 0 and "a topic event needs at least one topic" in refused.stdout + refused.stderr
    opened = run(tmp_path, "round", "open", "1", database_url=database_url, extra_env=env)
    assert "Announced to 6 people or channels." in opened.stdout and "collecting" in opened.stdout
    again = run(tmp_path, "round", "open", "1", database_url=database_url, extra_env=env)
    assert "Announced" not in again.stdout and again.returncode == 0

    engine = db.create_db_engine(database_url or f"sqlite:///{tmp_path / 'data' / 'mentorbot.db'}")
    try:
        when = datetime.now(timezone.utc)
        for email, topic in (("ana@d.example", "2"), ("cai@d.example", "2"), ("omar@d.example", "3"), ("dee@d.example", "3")):
            assert events.join(engine, round_id=1, person_id=person_id(engine, email), topic=topic, source="admin", now=when).status == "joined"
    finally:
        engine.dispose()
    matched = run(tmp_path, "round", "match", "1", database_url=database_url, extra_env=env)
    lines = " ".join(matched.stdout.split())
    assert "SEL in the classroom: 0 of 0 matched" in lines and "assessment: 1 of 1 matched" in lines, matched.stdout + matched.stderr
    assert "Omar Khan -> Dee Ray: family communication" in lines
    shown = run(tmp_path, "round", "show", "1", database_url=database_url, extra_env=env)
    assert "Ana Chen -> Cai Li: assessment" in " ".join(shown.stdout.split())


def test_joins_arriving_at_once_make_one_sign_up_and_never_pass_the_cap(engine: Engine, tmp_path: Path, now: datetime) -> None:
    from concurrent.futures import ThreadPoolExecutor

    setup_program(engine, tmp_path, now, event_cap=2)
    round_id = new_event(engine, now)
    events.open_round(engine, round_id=round_id, now=now)
    ben = person_id(engine, "ben@d.example")
    # The same click delivered eight times at once, then three different topics at once against a cap of two.
    with ThreadPoolExecutor(max_workers=8) as pool:
        same = list(pool.map(lambda _n: events.join(engine, round_id=round_id, person_id=ben, topic="1", source="slack", now=now).status, range(8)))
    assert same.count("joined") == 1 and set(same) <= {"joined", "already"}
    eve = person_id(engine, "eve@d.example")
    with ThreadPoolExecutor(max_workers=3) as pool:
        spread = list(pool.map(lambda topic: events.join(engine, round_id=round_id, person_id=eve, topic=topic, source="slack", now=now).status, ("1", "2", "3")))
    assert sorted(spread) == ["full", "joined", "joined"]
    rows = signups(engine, round_id)
    assert [r for r in rows if r[0] == "ben@d.example"] == [("ben@d.example", "SEL in the classroom", "mentee", "joined")]
    assert len([r for r in rows if r[0] == "eve@d.example"]) == 2


def test_a_superscript_number_names_no_topic_and_raises_nothing(engine: Engine, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now)
    round_id = new_event(engine, now)
    events.open_round(engine, round_id=round_id, now=at(OPENS))
    outcome = events.apply_reply(engine, round_id=round_id, person_id=person_id(engine, "ben@d.example"), text="join ¹", source="email", now=at(OPENS, 12))
    assert outcome.status != "joined" and outcome.text  # a friendly answer, not a crash
    assert signups(engine, round_id) == []


async def test_opening_an_event_from_the_admin_page_announces_it_like_round_open(engine: Engine, database_url: str, tmp_path: Path, now: datetime) -> None:
    setup_program(engine, tmp_path, now)
    round_id = new_event(engine, now)
    settings = admin_settings(tmp_path, database_url).model_copy(update={"program_name": PROGRAM})
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        opened = await client.post(f"/admin/rounds/{round_id}/move", data={"csrf_token": csrf, "target": "collecting"})
        page = await client.get(opened.headers["location"])
        again = await client.post(f"/admin/rounds/{round_id}/move", data={"csrf_token": csrf, "target": "collecting"})
    assert opened.status_code == 303 and "is now collecting. Announced to 6 people or channels." in page.text
    assert len(outbox(engine, "round.announce")) == 6  # everyone in the pool, once
    assert again.status_code in (303, 400, 409) and len(outbox(engine, "round.announce")) == 6  # a second click invites nobody twice
