"""Data rights on SQLite and PostgreSQL: an export holds all of a person's data and nobody else's; an erasure leaves
no trace of who they were in any column of any table, keeps the program's counts, is all-or-nothing, and is
a friendly no-op the second time."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import data_rights
from bot.email.sender import EmailSender, SmtpConfig
from bot.importer import import_roster
from bot.outbox import deliver_due, enqueue
from bot.settings import Settings
from storage import db, repo
from storage.db import session_scope
from storage.models import (
    CheckIn, DataRequest, DialogState, OutboxMessage, Pairing, Person, Program, Round, RoundSignup, ScheduledAction, SlackDelivery, SurveyAnswer,
)  # fmt: skip
from tests.adminkit import PROGRAM, ZONE, seed_engagement, seed_program
from tests.conftest import SHARED_ROSTER
from tests.emailkit import RecordingHandler, smtp_server


def seeded(engine: Engine, now: datetime) -> tuple[int, int]:
    """A published, running round with check-ins and surveys; returns (round id, the person under test)."""
    round_id = seed_program(engine, now)
    seed_engagement(engine, round_id, now)
    with session_scope(engine) as session:
        # The first pairing's mentee wrote a free-text comment; pick the first such mentee with a Slack ID.
        # (The demo roster has namesakes; the scan below needs a name only this person has.)
        names = Counter(p.name for p in session.exec(select(Person)))
        pairing = next(p for p in repo.round_pairings(session, round_id=round_id)
                       if (m := session.get(Person, p.mentee_id)).slack_user_id and names[m.name] == 1
                       and session.exec(select(SurveyAnswer).where(SurveyAnswer.person_id == p.mentee_id, SurveyAnswer.question == "comment")).first())
        person = session.get(Person, pairing.mentee_id)
        partner = session.get(Person, pairing.mentor_id)
        session.add(RoundSignup(round_id=round_id, person_id=person.id, topic="SEL", interest=f"learn from {partner.name}", created_at=now, updated_at=now))
        session.add(DialogState(person_id=person.id, flow="survey", context=f"round:{round_id}", answers={"comment": f"{person.name} liked it"}, updated_at=now))
        # Other people's records that name the person: a partner's note and a Slack receipt keyed by their ID.
        session.add(SurveyAnswer(round_id=round_id, pairing_id=pairing.id, person_id=partner.id, question="comment", value=f"Great sessions with {person.name.upper()}", answered_at=now))
        session.add(ScheduledAction(idempotency_key=f"action:{person.slack_user_id}:1700000000.1", kind="slack.receipt", due_at=now, status="done"))
        # Pairing notices: one sent to the person, one sent to the partner naming them, one still waiting.
        for to, other, status in ((person, partner, "sent"), (partner, person, "sent"), (person, partner, "pending")):
            message, _ = enqueue(
                session, idempotency_key=f"pairing:{pairing.id}:{to.id}:{status}", channel="email", purpose="pairing", recipient=to.email,
                person_id=to.id, subject=f"You're matched with {other.name}", body={"notice": "pairing", "partner_name": other.name, "partner_email": other.email}, now=now,
            )  # fmt: skip
            message.status = status
        program = session.exec(select(Program).where(Program.name == PROGRAM)).one()
        program.settings = {**program.settings, "admin_emails": ["office@district.example"]}
        return round_id, person.id


def personal_strings(engine: Engine, person_id: int) -> list[str]:
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        return [s for s in (person.name, person.email, person.slack_user_id) if s]


def mentions(engine: Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    """Every (table, column, value) in the database whose text or JSON holds one of `needles`, any case.

    Reads the live schema (not the models), so a table added later is scanned too."""
    found = []
    lowered = [n.lower() for n in needles]
    inspector = sa.inspect(engine)
    with engine.connect() as connection:
        for table in inspector.get_table_names():
            if table == "alembic_version":
                continue
            columns = [c["name"] for c in inspector.get_columns(table)
                       if any(word in str(c["type"]).upper() for word in ("CHAR", "TEXT", "JSON", "CLOB"))]
            for column in columns:
                for (value,) in connection.execute(sa.text(f'SELECT CAST("{column}" AS TEXT) FROM "{table}"')):
                    if value is None:
                        continue
                    text = value.lower()
                    decoded = json.loads(value).__repr__().lower() if text[:1] and text[:1] in "[{\"" else text
                    if any(n in text or n in decoded for n in lowered):
                        found.append((table, column, value[:120]))
    return sorted(found)  # rows come back in storage order, which a rolled-back update may change


def aggregates(engine: Engine, round_id: int) -> dict[str, object]:
    with session_scope(engine) as session:
        pairings = repo.round_pairings(session, round_id=round_id)
        round_ = session.get(Round, round_id)
        return {
            "pairings per round": len(pairings),
            "pairing statuses": sorted(p.status for p in pairings),
            "match rate": (round_.match_summary.get("matched"), round_.match_summary.get("mentees")),
            "check-ins": sorted((c.pairing_id, c.answer or "") for c in session.exec(select(CheckIn))),
            "numeric survey answers": sorted((s.pairing_id, s.question, s.value) for s in session.exec(select(SurveyAnswer)) if isinstance(s.value, int)),
        }


def test_an_export_holds_all_of_the_persons_data_and_nobody_elses(engine: Engine, now: datetime) -> None:
    _round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        result = data_rights.export(session, person_id=person_id, requested_by="UX", channel="slack", now=now)
        person = session.get(Person, person_id)
        own_profile = set(repo.profiles(session, person_ids=[person_id])[person_id])
        pairings = list(session.exec(select(Pairing).where(sa.or_(Pairing.mentor_id == person_id, Pairing.mentee_id == person_id))))
        partners = list({p.mentor_id if p.mentee_id == person_id else p.mentee_id: session.get(Person, p.mentor_id if p.mentee_id == person_id else p.mentee_id) for p in pairings}.values())
        partner_profiles = repo.profiles(session, person_ids=[p.id for p in partners])
        others = [p for p in session.exec(select(Person)) if p.id != person_id and p.id not in {q.id for q in partners}]
        own_checkins = len(session.exec(select(CheckIn).where(CheckIn.person_id == person_id)).all())
        own_surveys = len(session.exec(select(SurveyAnswer).where(SurveyAnswer.person_id == person_id)).all())
        own_messages = len(session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id, OutboxMessage.purpose != "data.export")).all())
    data = result.data
    assert data["person"]["email"] == person.email and data["person"]["slack_user_id"] == person.slack_user_id
    assert set(data["profile"]) == own_profile and own_profile
    assert len(data["pairings"]) == len(pairings) >= 1
    assert {p["partner_name"] for p in data["pairings"]} == {p.name for p in partners}
    assert len(data["check_ins"]) == own_checkins >= 1 and len(data["survey_answers"]) == own_surveys >= 4
    assert len(data["signups"]) == 1 and len(data["dialogs"]) >= 1 and len(data["sessions"]) >= 1
    assert len(data["messages"]) == own_messages >= 2
    text = json.dumps(data)
    for partner in partners:
        assert partner.email not in text  # a partner appears by name only
        assert json.dumps(partner_profiles[partner.id].get("availability")) not in text
    for other in others:
        assert other.email not in text and (other.slack_user_id or "@@") not in text
    with session_scope(engine) as session:
        logged = session.get(DataRequest, result.request_id)
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.export")).all()
    assert logged.kind == "export" and logged.status == "done" and logged.detail["counts"]["pairings"] == len(pairings)
    assert person.email not in json.dumps(logged.detail)  # the log keeps counts, never the data
    assert sorted(m.channel for m in queued) == ["email", "slack"]


async def test_the_export_email_carries_the_json_once(tmp_path: Path, engine: Engine, database_url: str, now: datetime) -> None:
    _round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        session.execute(sa.update(OutboxMessage).values(status="sent"))  # only the export is due
        result = data_rights.export(session, person_id=person_id, requested_by="someone@district.example", channel="email", now=now)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM, mail_from="mentoring@district.example")
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none"), clock=lambda: now)
    try:
        first = await deliver_due(engine, {"email": sender}, now=now)
        again = await deliver_due(engine, {"email": sender}, now=now)  # a second worker tick sends nothing more
        await handler.wait_for(1)
    finally:
        server.close()
    assert [d.status for d in first] == ["sent"] and again == []
    assert len(handler.received) == 1
    mail = handler.received[0].message
    assert mail["To"].addresses[0].addr_spec == result.emailed_to
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == [data_rights.EXPORT_FILENAME]
    assert attachments[0].get_content_type() == "application/json"
    assert json.loads(attachments[0].get_content()) == result.data
    text = mail.get_body(("plain",)).get_content()
    assert f"attached as {data_rights.EXPORT_FILENAME}" in text and 'reply "delete my data"' in text


def test_erasure_leaves_no_personal_string_and_keeps_the_counts(engine: Engine, now: datetime) -> None:
    round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        data_rights.export(session, person_id=person_id, requested_by=session.get(Person, person_id).slack_user_id, channel="slack", now=now)
    needles = personal_strings(engine, person_id)
    assert len(needles) == 3
    before = mentions(engine, needles)
    assert {table for table, _c, _v in before} >= {"person", "outbox_message", "survey_answer", "dialog_state", "scheduled_action", "data_request"}
    counts_before = aggregates(engine, round_id)
    assert counts_before["pairings per round"] >= 2 and None not in counts_before["match rate"]
    with session_scope(engine) as session:
        result = data_rights.erase(session, person_id=person_id, requested_by="admin:UADMIN", channel="cli", now=now, admin_slack_ids=("UADMIN",))
    left = mentions(engine, needles)
    assert left == [], left
    assert aggregates(engine, round_id) == counts_before
    assert "Erased person" in result.message() and "new person" in result.message()
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        assert (person.email, person.slack_user_id, person.name) == (f"erased-{person_id}@invalid", None, "Erased person")
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id, OutboxMessage.status == "pending")).all()
        assert not session.exec(select(SurveyAnswer).where(SurveyAnswer.person_id == person_id, SurveyAnswer.question == "comment")).all()
        assert not session.exec(select(ScheduledAction).where(ScheduledAction.person_id == person_id, ScheduledAction.status == "pending")).all()
        logged = session.exec(select(DataRequest).where(DataRequest.kind == "erasure")).one()
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.erasure")).all()
    assert logged.person_id == person_id and logged.detail["counts"]["profile answers"] >= 1
    assert sorted((m.channel, m.recipient) for m in told) == [("email", "office@district.example"), ("slack", "UADMIN")]
    # A later roster import of the same email makes a fresh person, not the erased one.
    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=now)
    with session_scope(engine) as session:
        fresh = repo.people_by_email(session, emails=[needles[1]])[needles[1]]
        assert fresh.id != person_id and session.get(Person, person_id).name == "Erased person"


def test_a_crash_half_way_through_erasure_leaves_the_person_whole(engine: Engine, now: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    round_id, person_id = seeded(engine, now)
    needles = personal_strings(engine, person_id)
    with session_scope(engine) as session:
        before = data_rights.collect(session, person_id=person_id)
    found_before = mentions(engine, needles)

    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the database went away mid-erasure")

    # Profile answers, dialogs, sign-ups and unsent messages are already deleted when this step runs.
    monkeypatch.setattr(data_rights, "scrub_everywhere", crash)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        data_rights.erase(session, person_id=person_id, requested_by="admin:x", channel="cli", now=now)
    with session_scope(engine) as session:
        assert data_rights.collect(session, person_id=person_id) == before
        assert not session.exec(select(DataRequest)).all()
    assert mentions(engine, needles) == found_before


def test_a_second_erasure_is_a_friendly_no_op(engine: Engine, now: datetime) -> None:
    _round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        first = data_rights.erase(session, person_id=person_id, requested_by="admin:x", channel="cli", now=now)
    with session_scope(engine) as session:
        second = data_rights.erase(session, person_id=person_id, requested_by="admin:x", channel="cli", now=now)
        requests = session.exec(select(DataRequest)).all()
        with pytest.raises(data_rights.NoSuchPerson):
            data_rights.export(session, person_id=person_id, requested_by="x", channel="slack", now=now)
    assert not first.already_erased and second.already_erased
    assert "erased already" in second.message()
    assert len(requests) == 1


def test_erasure_empties_the_persons_kept_slack_requests_and_deletes_none(engine: Engine, now: datetime) -> None:
    _round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        slack_id = session.get(Person, person_id).slack_user_id
        # The click that asks for the erasure is being handled; an older DM still waits; someone else's is done.
        session.add(SlackDelivery(delivery_key=f"action:{slack_id}:1766.01", kind="action", slack_user_id=slack_id, body="{...delete my data...}", status="taken", received_at=now))
        session.add(SlackDelivery(delivery_key="Ev0WAITING", kind="event", slack_user_id=slack_id, body='{"text": "my room is 214"}', status="new", received_at=now))
        session.add(SlackDelivery(delivery_key="Ev0OTHER", kind="event", slack_user_id="UOTHER0001", body="", status="done", received_at=now))
    with session_scope(engine) as session:
        before = {row.id for row in session.exec(select(SlackDelivery))}
        data_rights.erase(session, person_id=person_id, requested_by=slack_id, channel="slack", now=now)
    with session_scope(engine) as session:
        rows = {row.id: row for row in session.exec(select(SlackDelivery))}
    # Nothing deleted: a deleted newest row would hand its id to the next request (SQLite), which the erasure's own
    # handler would then mark done unhandled.
    assert set(rows) == before
    mine = [row for row in rows.values() if row.delivery_key != "Ev0OTHER"]
    assert all(row.slack_user_id is None and row.body == "" and slack_id not in (row.delivery_key or "") for row in mine)
    assert sorted(row.status for row in mine) == ["done", "taken"]  # the waiting one closed; the one in hand left to finish
    assert not mentions(engine, [slack_id])


def test_names_that_merely_look_alike_are_left_alone(engine: Engine, now: datetime) -> None:
    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=now)
    with session_scope(engine) as session:
        ana = repo.people_by_email(session, emails=["ana.chen.mr6@district.example"])["ana.chen.mr6@district.example"]
        lookalike, _ = repo.upsert_person(session, existing=None, fields={"email": "ana.chenowith@district.example", "name": "Ana Chenowith"}, now=now)
        session.flush()
        enqueue(session, idempotency_key="note:1", channel="email", purpose="note", recipient=lookalike.email, person_id=lookalike.id,
                body={"notice": "x", "text": "Hello Ana Chenowith"}, now=now)  # fmt: skip
        ana_id, lookalike_id = ana.id, lookalike.id
    with session_scope(engine) as session:
        data_rights.erase(session, person_id=ana_id, requested_by="admin:x", channel="cli", now=now)
    with session_scope(engine) as session:
        assert session.get(Person, lookalike_id).name == "Ana Chenowith"
        assert session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == "note:1")).one().body["text"] == "Hello Ana Chenowith"


# --- over Slack: the person's own commands and the admin's ---------------------------------------


async def _command(h, user: str, text: str) -> str:
    response, url = await h.driver.command(user, text)
    assert response.status_code == 200 and response.text == ""  # acknowledged at once
    return json.dumps(await h.responses(url), ensure_ascii=False)


async def test_over_slack_a_person_gets_their_data_and_deletes_it_with_a_confirmed_click(tmp_path: Path, database_url: str) -> None:
    from tests.slack_helpers import ADMIN, slack_harness, wait_for

    async with slack_harness(tmp_path, database_url) as h:
        ben = h.person_id("ben@d.example")
        answer = await _command(h, "UBEN00001", "my-data")
        assert "JSON file to ben@d.example" in answer
        summary = await h.dm_with("UBEN00001", "Everything mentorbot holds about you")
        assert "ben@d.example" in json.dumps(summary) and "ana@d.example" not in json.dumps(summary)
        with session_scope(h.engine) as session:
            emails = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.export", OutboxMessage.channel == "email")).all()
        assert len(emails) == 1 and emails[0].recipient == "ben@d.example" and emails[0].body["data"]["person"]["id"] == ben

        asked = json.loads(await _command(h, "UBEN00001", "delete-my-data"))[0]
        assert "Delete your mentoring data?" in json.dumps(asked)
        with session_scope(h.engine) as session:
            assert session.get(Person, ben).name == "Ben Ortiz"  # asking alone changes nothing
        await h.driver.click("UBEN00001", "Cancel", message={**asked, "ts": "1.000000"})
        await wait_for(lambda: any("Nothing was deleted" in json.dumps(r) for r in h.standin.responses), what="the cancel answer")
        assert not _erased(h.engine, ben)
        # Someone else clicking a copy of Ben's button erases the clicker's own record only, never Ben's.
        await h.driver.click("UCY000001", "Delete my data", message={**asked, "ts": "1.000001"})
        cy = h.person_id("cy@d.example")
        await wait_for(lambda: _erased(h.engine, cy), what="Cy's own erasure")
        # Ben clicks once Cy has been answered, as people take turns. (Clicking while Cy's handler is still running can
        # lose Ben's click on SQLite: the erasure deletes Cy's row in hand and Ben's request gets its id; reported.)
        await wait_for(lambda: any("Your mentoring data is erased" in json.dumps(r) for r in h.standin.responses), what="Cy's answer")
        with session_scope(h.engine) as session:
            assert session.get(Person, ben).name == "Ben Ortiz"
        await h.driver.click("UBEN00001", "Delete my data", message={**asked, "ts": "1.000002"})
        await wait_for(lambda: _erased(h.engine, ben), what="Ben's erasure")
        await wait_for(lambda: sum("Your mentoring data is erased" in json.dumps(r) for r in h.standin.responses) == 2, what="Cy's and Ben's answers")
        told = await h.dm_with(ADMIN, "A deletion was carried out")
        assert "Ben" not in json.dumps(told) and "the person themselves" in json.dumps(told)
        assert mentions(h.engine, ["Ben Ortiz", "ben@d.example", "UBEN00001"]) == []
        # Ben is no longer known to mentorbot: asking again is a friendly answer, not an error.
        again = await _command(h, "UBEN00001", "my-data")
        assert "can't find you on the program's roster" in again


def _erased(engine: Engine, person_id: int) -> bool:
    with session_scope(engine) as session:
        return data_rights.is_erased(session.get(Person, person_id))


async def test_over_slack_an_admin_erases_a_person_only_with_yes(tmp_path: Path, database_url: str) -> None:
    from tests.slack_helpers import ADMIN, slack_harness

    async with slack_harness(tmp_path, database_url) as h:
        dee = h.person_id("dee@d.example")
        preview = await _command(h, ADMIN, "erase DEE@d.example")
        assert "Dee Park" in preview and "--yes" in preview
        assert not _erased(h.engine, dee)
        refused = await _command(h, "UBEN00001", "erase dee@d.example --yes")
        assert ":lock: Only the site's admins can do that" in refused and not _erased(h.engine, dee)
        done = await _command(h, ADMIN, "erase dee@d.example --yes")
        assert f"Erased person #{dee}" in done and _erased(h.engine, dee)
        again = await _command(h, ADMIN, "erase dee@d.example --yes")  # a second erasure is a friendly no-op
        assert "Nobody with the email 'dee@d.example'" in again and "nothing left to remove" in again
        assert "Nobody with the email 'nobody@d.example'" in await _command(h, ADMIN, "erase nobody@d.example --yes")
        with session_scope(h.engine) as session:
            logged = session.exec(select(DataRequest)).one()
        assert (logged.kind, logged.requested_by, logged.channel) == ("erasure", f"admin:{ADMIN}", "slack")


# --- from the command line ----------------------------------------------------------------------


def test_the_command_line_exports_erases_after_confirming_and_lists_the_log(tmp_path: Path, database_url: str) -> None:
    from tests.test_cli import run

    assert run(tmp_path, "import", "roster", str(SHARED_ROSTER), database_url=database_url).returncode == 0
    email = "ana.chen.mr6@district.example"
    exported = run(tmp_path, "person", "export", email.upper(), "--out", str(tmp_path / "ana.json"), database_url=database_url)
    assert exported.returncode == 0, exported.stderr
    assert f"emailed to {email}" in exported.stdout
    assert json.loads((tmp_path / "ana.json").read_text(encoding="utf-8"))["person"]["name"] == "Ana Chen"
    declined = run(tmp_path, "person", "erase", email, database_url=database_url, input="n\n")  # answers the confirmation prompt
    assert declined.returncode == 1 and "Nothing was erased" in declined.stdout
    erased = run(tmp_path, "person", "erase", email, database_url=database_url, input="y\n")
    assert erased.returncode == 0 and "Erased person #" in erased.stdout, erased.stdout + erased.stderr
    again = run(tmp_path, "person", "erase", email, "--yes", database_url=database_url)
    assert again.returncode == 1 and "nothing left to remove" in again.stderr
    log = run(tmp_path, "person", "requests", database_url=database_url)
    assert log.returncode == 0 and "erasure" in log.stdout and "export" in log.stdout and "Ana Chen" not in log.stdout
    unknown = run(tmp_path, "person", "export", "nobody@district.example", database_url=database_url)
    assert unknown.returncode == 1 and "nobody with the email" in unknown.stderr


# --- the admin page -----------------------------------------------------------------------------


async def test_the_admin_page_lists_requests_and_erases_only_when_confirmed(tmp_path: Path, database_url: str, now: datetime) -> None:
    import httpx

    from tests.adminkit import admin_settings, csrf_of, serving, sign_in_with_link

    settings = admin_settings(tmp_path, database_url)
    engine_ = db.create_db_engine(database_url)
    db.upgrade(engine_)
    import_roster(engine_, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=now)
    email = "hugo.morales.mr4@district.example"
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        page = await client.get("/admin/data-requests")
        assert page.status_code == 200 and "No data requests yet" in page.text and 'aria-current="page">Data requests' in page.text
        csrf = csrf_of(page.text)
        sent = await client.post("/admin/data-requests/export", data={"csrf_token": csrf, "email": email})
        assert sent.status_code == 303
        unconfirmed = await client.post("/admin/data-requests/erase", data={"csrf_token": csrf, "email": email})
        # Unticked: the form again with the address as typed and the reason beside the box.
        assert unconfirmed.status_code == 400 and "Nothing was erased" in unconfirmed.text and f'value="{email}"' in unconfirmed.text
        assert 'aria-describedby="erase-confirm-error"' in unconfirmed.text
        with session_scope(engine_) as session:
            assert not data_rights.is_erased(data_rights.find_person(session, email=email))
        unknown = await client.post("/admin/data-requests/erase", data={"csrf_token": csrf, "email": "nobody@district.example", "confirm": "yes"})
        assert unknown.status_code == 404 and "Nobody with the email" in unknown.text and "Traceback" not in unknown.text
        erased = await client.post("/admin/data-requests/erase", data={"csrf_token": csrf, "email": email, "confirm": "yes"})
        assert erased.status_code == 303
        log = (await client.get("/admin/data-requests")).text
    assert "Erased person #" in log and "erasure" in log and "export" in log and "Hugo Morales" not in log
    assert mentions(engine_, ["Hugo Morales", email, "U88CA81811"]) == []
    engine_.dispose()


# --- by email reply -----------------------------------------------------------------------------


def test_a_reply_saying_my_data_or_delete_my_data_works_only_from_the_person(tmp_path: Path, engine: Engine, now: datetime) -> None:
    from bot.email import tokens
    from bot.email.inbound import InboundMail
    from bot.email.router import handle_mail

    settings = Settings(_env_file=None, email_token_secret="t" * 32, reply_domain="reply.example", program_name=PROGRAM)
    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=now)
    email = "tara.xu.ee8@district.example"  # no Slack ID: email is this person's only channel
    with session_scope(engine) as session:
        person_id = data_rights.find_person(session, email=email).id

    def reply(sender: str, text: str, n: int) -> InboundMail:
        token = tokens.make_reply_token(settings.email_token_secret, person_id=person_id, flow=None, context="", now=now)
        return InboundMail(sender=sender, recipients=[tokens.reply_address(token, "reply.example")], subject="Re: Mentoring", text=text, message_id=f"<d{n}@x.example>")

    forwarded = handle_mail(engine, settings, reply("someone.else@district.example", "my data", 1), now=now)
    assert forwarded.status == "ignored"
    asked = handle_mail(engine, settings, reply(email, "My data, please\n\n> On Monday mentorbot wrote:\n> ...", 2), now=now)
    retried = handle_mail(engine, settings, reply(email, "My data, please\n\n> On Monday mentorbot wrote:\n> ...", 2), now=now)
    assert (asked.status, retried.status) == ("applied", "duplicate")
    with session_scope(engine) as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.export")).all()
        assert [(m.channel, m.recipient) for m in sent] == [("email", email)]
        assert sent[0].body["data"]["person"]["email"] == email
    not_a_request = handle_mail(engine, settings, reply(email, "Thanks, my data looks right.", 3), now=now)
    assert not_a_request.reason != "data erasure" and not _erased(engine, person_id)
    asked_to_erase = handle_mail(engine, settings, reply(email, "Delete my data.", 4), now=now)
    assert (asked_to_erase.reason, _erased(engine, person_id)) == ("erasure code sent", False)  # a second reply confirms
    with session_scope(engine) as session:
        code = re.search(r"ERASE (\d{6})", session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "data.erasure_code")).one().body["text"])[1]
    erased = handle_mail(engine, settings, reply(email, f"ERASE {code}", 5), now=now)
    assert erased.status == "applied" and _erased(engine, person_id)
    assert mentions(engine, ["Tara Xu", email]) == []
    with session_scope(engine) as session:
        kinds = sorted((r.kind, r.channel, r.requested_by) for r in session.exec(select(DataRequest)))
    assert kinds == [("erasure", "email", "the person"), ("export", "email", "(erased)")]


async def test_an_erased_person_is_never_contacted_again(tmp_path: Path, engine: Engine, database_url: str, now: datetime) -> None:
    from datetime import timedelta

    from bot.rounds.schedule import ScheduleConfig, run_due_actions

    round_id, person_id = seeded(engine, now)
    with session_scope(engine) as session:
        session.execute(sa.update(OutboxMessage).values(status="sent"))  # what was sent before is history
        email = session.get(Person, person_id).email
        data_rights.erase(session, person_id=person_id, requested_by="admin:x", channel="cli", now=now)
    # Every reminder, check-in and survey of the round comes due, and a new term invites everyone.
    later = now + timedelta(days=120)
    for _ in range(5):
        if not run_due_actions(engine, now=later, config=ScheduleConfig()):
            break
    from bot.notify import invite_to_term
    from bot.rounds import service as round_service

    round_service.close_term(engine, program_name=PROGRAM, name=None, now=later)
    term = round_service.open_term(engine, program_name=PROGRAM, timezone=ZONE, name="Fall 2027", opt_in_by=None, now=later)
    invite_to_term(engine, term_id=term.id, now=later)
    handler = RecordingHandler()
    server, port = await smtp_server(handler)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", database_url=database_url, program_name=PROGRAM)
    sender = EmailSender(settings, engine=engine, smtp=SmtpConfig(host="127.0.0.1", port=port, security="none"), clock=lambda: later)
    try:
        while await deliver_due(engine, {"email": sender}, now=later, limit=200):
            pass
    finally:
        server.close()
    assert handler.received, "the partner and everyone else still hear from the program"
    reached = {address.lower() for r in handler.received for address in r.rcpt_tos}
    assert email not in reached and not any(a.startswith(f"erased-{person_id}@") for a in reached)
    with session_scope(engine) as session:
        to_them = session.exec(select(OutboxMessage).where(OutboxMessage.person_id == person_id, OutboxMessage.channel == "slack", OutboxMessage.status == "pending")).all()
    assert to_them == []


def test_two_erasures_at_once_make_one_on_postgresql(postgres_url: str, now: datetime) -> None:
    import threading

    engine = db.create_db_engine(postgres_url)
    db.upgrade(engine)
    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone=ZONE, now=now)
    with session_scope(engine) as session:
        person_id = data_rights.find_person(session, email="quinn.reyes.ee14@district.example").id
    start, results, errors = threading.Barrier(2), [], []

    def erase() -> None:
        try:
            start.wait()
            with session_scope(engine) as session:
                results.append(data_rights.erase(session, person_id=person_id, requested_by="admin:x", channel="cli", now=now))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(r.already_erased for r in results) == [False, True]
    with session_scope(engine) as session:
        assert len(session.exec(select(DataRequest)).all()) == 1
    engine.dispose()
