"""The admin pages' work over real HTTP on SQLite and PostgreSQL: roster upload with a preview that saves nothing
until confirmed, a round launched, reviewed, edited by hand and published through the forms, rematch, exports,
the mail page, and friendly errors."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlmodel import select

from bot.rounds import schedule, service
from bot.web.admin.mail import mail_folder
from storage import db, repo
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Pairing, Person, Round, ScheduledAction
from tests.adminkit import PROGRAM, admin_settings, seed_engagement, seed_program, serving, sign_in_with_link
from tests.conftest import DATA, SHARED_ROSTER


def people_count(engine) -> int:
    with session_scope(engine) as session:
        return repo.count_people(session)


def roster_with_one_bad_row() -> bytes:
    text = SHARED_ROSTER.read_text(encoding="utf-8")
    return (text.rstrip("\n") + "\nlou.lots@district.example,Lou Lots,mentor,,Garfield High,,9-12,math,assessment,,,,lots,,\n").encode()


@pytest.fixture
def engine(database_url: str):
    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


async def test_a_roster_with_bad_rows_is_previewed_and_saved_only_when_confirmed(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        bad = (DATA / "bad_roster.csv").read_bytes()
        preview = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("bad_roster.csv", bad, "text/csv")})
        assert preview.status_code == 200
        assert people_count(engine) == 0  # nothing saved by looking
        assert "Nothing has been saved yet" in preview.text
        problems, _, warned = preview.text.partition('<table class="warnings">')
        lines = [int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td><td>\w*</td><td><code>', problems)]
        assert lines == [3, 4, 5, 6, 16, 21, 21, 21, 21]  # every problem, by line
        warned_lines = [int(n) for n in re.findall(r'<tr><td class="num">(\d+)</td><td>\w*</td><td><code>', warned)]
        assert warned_lines == [8, 9, 10, 12, 13, 14, 15, 17, 18, 20]  # every value skipped, by line
        assert "Import 13 rows" in preview.text and "Tuesday-ish" in warned and "The default capacity of 1 was used." in warned
        token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
        cancelled = await client.post("/admin/roster/cancel", data={"csrf_token": csrf, "token": token})
        stale = await client.post("/admin/roster/confirm", data={"csrf_token": csrf, "token": token, "filename": "bad_roster.csv"})
        assert cancelled.status_code == 303 and stale.status_code == 400 and "no longer here" in stale.text
        assert people_count(engine) == 0

        preview = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("bad_roster.csv", bad, "text/csv")})
        token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
        imported = await client.post("/admin/roster/confirm", data={"csrf_token": csrf, "token": token, "filename": "bad_roster.csv"})
        assert imported.status_code == 303 and imported.headers["location"] == "/admin/people"
        people = await client.get("/admin/people")
        twice = await client.post("/admin/roster/confirm", data={"csrf_token": csrf, "token": token, "filename": "bad_roster.csv"})
    assert people_count(engine) == 13
    assert "Imported 13 of 19 rows from bad_roster.csv: 13 new" in people.text and "Ada Good" in people.text
    assert "6 rows with problems were left out. 9 values skipped and 1 corrected with a warning." in people.text
    assert twice.status_code == 400  # the staged file is used once
    assert not list((settings.data_dir / "admin-uploads").glob("*.csv"))


async def test_xlsx_rosters_and_wrong_files(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    settings = admin_settings(tmp_path, database_url, admin_upload_mb=1)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(SHARED_ROSTER.read_text(encoding="utf-8"))):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        xlsx = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("teachers.xlsx", data.getvalue(), "application/octet-stream")})
        text = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("notes.txt", b"hello", "text/plain")})
        empty = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("empty.csv", b"", "text/csv")})
        big = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("big.csv", b"x" * (1024 * 1024 + 10), "text/csv")})
        headless = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": ("odd.csv", b"foo,bar\n1,2\n", "text/csv")})
    assert xlsx.status_code == 200 and "Import 70 rows" in xlsx.text and "70 new" in xlsx.text
    assert text.status_code == 400 and "upload a .csv or .xlsx" in text.text
    assert empty.status_code == 400 and "is empty" in empty.text
    assert big.status_code == 400 and "larger than 1 MB" in big.text
    assert headless.status_code == 400 and "email" in headless.text  # the reader's own explanation, as a page
    assert people_count(engine) == 0


async def test_a_round_is_launched_reviewed_edited_and_published_through_the_forms(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    from bot.importer import import_roster

    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        opened = await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Spring 2027", "join": "roster"})
        home = await client.get("/admin")
        assert opened.status_code == 303 and "Opened Spring 2027: enrolled" in home.text and "await their principal" in home.text
        approved = await client.post("/admin/people/approve-all", data={"csrf_token": csrf})
        assert approved.status_code == 303 and "Approved 27 mentors" in (await client.get("/admin/people")).text
        created = await client.post("/admin/rounds", data={"csrf_token": csrf, "kind": "micro", "sessions": "2", "start_on": "2026-12-07"})
        round_id = int(created.headers["location"].rsplit("/", 1)[1])
        bad_move = await client.post(f"/admin/rounds/{round_id}/move", data={"csrf_token": csrf, "target": "running"})
        assert bad_move.status_code == 409 and "cannot become running" in bad_move.text
        await client.post(f"/admin/rounds/{round_id}/move", data={"csrf_token": csrf, "target": "collecting"})
        matched = await client.post(f"/admin/rounds/{round_id}/match", data={"csrf_token": csrf})
        page = await client.get(f"/admin/rounds/{round_id}")
        assert matched.status_code == 303 and "Matched 37 of 40 mentees" in page.text
        assert "Publish 37 pairs" in page.text and "Unmatched mentees (3)" in page.text and "both teach" in page.text

        with session_scope(engine) as session:
            round_ = session.get(Round, round_id)
            unmatched_email = round_.match_summary["unmatched"][0]["email"]
            mentee = repo.people_by_email(session, emails=[unmatched_email])[unmatched_email]
            first = repo.round_pairings(session, round_id=round_id)[0]
        pick = await client.get(f"/admin/rounds/{round_id}/pair?mentee={mentee.id}")
        assert pick.status_code == 200 and f"Choose a mentor for {mentee.name}" in pick.text
        breaking = int(re.findall(r'<tr class="breaks">\s*<td><input type="radio" name="mentor_id" value="(\d+)"', pick.text)[0])
        warned = await client.post(f"/admin/rounds/{round_id}/pair", data={"csrf_token": csrf, "mentee_id": mentee.id, "mentor_id": breaking})
        assert warned.status_code == 409 and "This pair breaks" in warned.text and "Save anyway" in warned.text
        with session_scope(engine) as session:
            assert not [p for p in repo.round_pairings(session, round_id=round_id) if p.mentee_id == mentee.id]  # nothing saved
        forced = await client.post(f"/admin/rounds/{round_id}/pair", data={"csrf_token": csrf, "mentee_id": mentee.id, "mentor_id": breaking, "confirm": "yes"})
        assert forced.status_code == 303
        removed = await client.post(f"/admin/rounds/{round_id}/pairs/{first.id}/remove", data={"csrf_token": csrf})
        page = await client.get(f"/admin/rounds/{round_id}")
        assert removed.status_code == 303 and "back on the unmatched list" in page.text
        assert "overriding" in page.text and "Changes made by hand" in page.text
        published = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf, "message": "Thank you!"})
        page = await client.get(f"/admin/rounds/{round_id}")
        again = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf})
    assert published.status_code == 303 and "Published round" in page.text and "Send pairing notices" in page.text
    assert again.status_code == 409 and "already published" in again.text
    with session_scope(engine) as session:
        round_ = session.get(Round, round_id)
        pairs = repo.round_pairings(session, round_id=round_id)
        actions = repo.round_actions(session, round_id=round_id)
        forced_pair = next(p for p in pairs if p.mentee_id == mentee.id)
    assert round_.status == "published" and round_.settings["message"] == "Thank you!" and actions
    assert forced_pair.mentor_id == breaking and forced_pair.reasons[0].startswith("Paired by hand by Admin (sign-in link), overriding:")
    assert first.mentee_id not in {p.mentee_id for p in pairs}
    assert {u["email"] for u in round_.match_summary["unmatched"]} >= {session_email(engine, first.mentee_id)}
    assert round_.match_summary["matched"] == len(pairs) == 37
    assert [e["action"] for e in round_.match_summary["edits"]] == ["paired", "unpaired"]


def session_email(engine, person_id: int) -> str:
    with session_scope(engine) as session:
        return session.get(Person, person_id).email


async def test_a_hand_pair_that_meets_every_rule_gets_its_reasons(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    round_id = seed_program(engine, now)
    settings = admin_settings(tmp_path, database_url)
    with session_scope(engine) as session:
        pairs = repo.round_pairings(session, round_id=round_id)
        target = pairs[0]
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        pick = await client.get(f"/admin/rounds/{round_id}/pair?mentee={target.mentee_id}")
        current = re.search(r'value="(\d+)" id="mentor-\d+" checked', pick.text)
        assert current and int(current.group(1)) == target.mentor_id
        same = await client.post(f"/admin/rounds/{round_id}/pair", data={"csrf_token": csrf, "mentee_id": target.mentee_id, "mentor_id": target.mentor_id})
        not_a_mentor = await client.post(f"/admin/rounds/{round_id}/pair", data={"csrf_token": csrf, "mentee_id": target.mentee_id, "mentor_id": target.mentee_id})
    assert same.status_code == 303
    assert not_a_mentor.status_code == 409 and "not taking part as a mentor" in not_a_mentor.text
    with session_scope(engine) as session:
        after = [p for p in repo.round_pairings(session, round_id=round_id) if p.mentee_id == target.mentee_id]
    assert [(p.mentor_id, p.reasons) for p in after] == [(target.mentor_id, target.reasons)]  # choosing the same mentor changes nothing


async def test_a_stalled_pair_is_rematched_from_the_engagement_page(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    round_id = seed_program(engine, now)
    seeded = seed_engagement(engine, round_id, now)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        page = await client.get("/admin/engagement")
        assert "Stalled pairs in Spring 2027 (1)" in page.text and f"/admin/pairings/{seeded['stalled']}/rematch" in page.text
        assert page.text.count('role="img"') == 3 and "We met" in page.text
        done = await client.post(f"/admin/pairings/{seeded['stalled']}/rematch", data={"csrf_token": csrf})
        after = await client.get(done.headers["location"])
        twice = await client.post(f"/admin/pairings/{seeded['stalled']}/rematch", data={"csrf_token": csrf})
    assert done.status_code == 303 and ("rematched with" in after.text or "no other mentor can take" in after.text)
    assert "Stalled pairs in Spring 2027 (0)" in after.text
    assert twice.status_code == 409 and "only a running pair can be rematched" in twice.text
    with session_scope(engine) as session:
        assert session.get(Pairing, seeded["stalled"]).status == "cancelled"


async def test_exports_hold_what_the_pages_show(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    round_id = seed_program(engine, now)
    seed_engagement(engine, round_id, now)
    _round, pairs = service.round_pairs(engine, round_id=round_id)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        listing = await client.get("/admin/exports")
        pairings_csv = await client.get(f"/admin/exports/pairings.csv?round={round_id}")
        pairings_xlsx = await client.get(f"/admin/exports/pairings.xlsx?round={round_id}")
        participation = await client.get("/admin/exports/participation.csv")
        survey = await client.get(f"/admin/exports/survey.xlsx?round={round_id}")
        people = await client.get("/admin/exports/people.csv")
        missing = await client.get("/admin/exports/pairings.csv")
        unknown = await client.get("/admin/exports/secrets.csv?round=1")
    assert f"/admin/exports/pairings.xlsx?round={round_id}" in listing.text
    assert pairings_csv.headers["content-disposition"] == f'attachment; filename="round-{round_id}-pairings.csv"'
    rows = list(csv.DictReader(io.StringIO(pairings_csv.content.decode("utf-8-sig"))))
    assert [(r["mentor_email"], r["mentee_email"]) for r in rows] == [(p.mentor_email, p.mentee_email) for p in pairs]
    assert all(r["reasons"] and r["proposed_sessions (America/Los_Angeles)"] for r in rows)
    sheet = openpyxl.load_workbook(io.BytesIO(pairings_xlsx.content)).active
    assert sheet.max_row == len(pairs) + 1 and sheet["B1"].value == "mentor_name"
    table = list(csv.DictReader(io.StringIO(participation.content.decode("utf-8-sig"))))
    assert len(table) == 70 and sum(int(r["pairs_as_mentee"]) for r in table) == len(pairs)
    assert sum(int(r["check_ins_asked"]) for r in table) == 2 * len(pairs)
    answers = list(openpyxl.load_workbook(io.BytesIO(survey.content)).active.iter_rows(min_row=2, values_only=True))
    assert len(answers) == 3 * len(pairs) + len(pairs[::3]) and all(row[3] == "mentee" for row in answers)
    comment = next(row for row in answers if row[4] == "comment")
    assert comment[6].startswith("'=HYPERLINK")  # a teacher's text never becomes a formula
    assert len(list(csv.reader(io.StringIO(people.content.decode("utf-8-sig"))))) == 71
    assert missing.status_code == 404 and "Say which round" in missing.text
    assert unknown.status_code == 400


async def test_the_mail_page_reads_the_local_sink(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        nothing = await client.get("/admin/mail")
        folder = mail_folder(settings.data_dir)
        folder.mkdir(parents=True)
        (folder / "20261123T170000.000001Z-aaaa1111.eml").write_bytes(
            b"X-Sink-Envelope-To: ana@district.example\r\nFrom: mentorbot@localhost\r\nTo: ana@district.example\r\n"
            b"Subject: You're matched <with> Bo\r\nDate: Mon, 23 Nov 2026 17:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nHello Ana\r\n"
            b"--XX\r\nContent-Type: text/html\r\n\r\n<p>Hello <script>alert(1)</script>Ana</p>\r\n--XX--\r\n"
        )
        listing = await client.get("/admin/mail")
        one = await client.get("/admin/mail/20261123T170000.000001Z-aaaa1111.eml")
        html = await client.get("/admin/mail/20261123T170000.000001Z-aaaa1111.eml/html")
        missing = await client.get("/admin/mail/nope.eml")
        sneaky = await client.get("/admin/mail/..%2Fmentorbot.db")
    assert nothing.status_code == 200 and "No mail yet" in nothing.text
    assert "You&#39;re matched &lt;with&gt; Bo" in listing.text and "ana@district.example" in listing.text
    assert "Hello Ana" in one.text and 'sandbox src="/admin/mail/' in one.text
    assert html.headers["content-security-policy"].startswith("sandbox")
    assert missing.status_code == 404 and sneaky.status_code == 404


async def test_the_mail_page_says_where_mail_goes_with_an_smtp_server(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url, smtp_host="127.0.0.1")
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        page = await client.get("/admin/mail")
    assert "SMTP_HOST" in page.text and "not kept here" in page.text


async def test_opening_a_term_by_invitation_asks_everyone(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    from bot.importer import import_roster

    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    with session_scope(engine) as session:  # Uma's Slack account was deactivated and her school address bounces
        uma = repo.people_by_email(session, emails=["uma.brooks.ee21@district.example"])["uma.brooks.ee21@district.example"]
        uma.slack_failing_at, uma.slack_failure = now, "Slack account deactivated (user_disabled)"
        uma.email_failing_at, uma.email_failure = now, "550 5.1.1 mailbox unavailable"
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Fall 2027", "join": "invite", "opt_in_by": "2026-12-15"})
        home = await client.get("/admin")
        mail = await client.get("/admin/mail")
    # No Slack token: the per-channel line says where the 48 Slack invitations will go; Uma is reported, not queued on Slack.
    waiting = "Slack: not set up, 48 waiting to go by email instead"
    assert waiting in home.text and "Email: 22 waiting" in home.text
    assert "1 unreachable: Uma Brooks (email bounces, Slack account deactivated (user_disabled))" in home.text
    assert f"{waiting} · Email: 22 waiting · 1 person unreachable (email bounces, Slack account deactivated (user_disabled))" in mail.text
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        duplicate = await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Fall 2027", "join": "invite"})
        bad_date = await client.post("/admin/rounds", data={"csrf_token": csrf, "start_on": "next week"})
    assert "Asked 70 people to opt in" in home.text and "70 invited, not answered yet" in home.text  # the summary `term open` prints too
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    assert bad_date.status_code == 409 and "not a date like 2027-02-01" in bad_date.text
    with session_scope(engine) as session:
        assert len(session.exec(select(Enrollment)).all()) == 70
        assert session.exec(select(OutboxMessage)).first() is not None
        assert len(session.exec(select(ScheduledAction).where(ScheduledAction.kind == "term.remind")).all()) == 2


async def test_pages_for_things_that_do_not_exist_are_friendly(tmp_path: Path, sqlite_url: str, now: datetime) -> None:
    settings = admin_settings(tmp_path, sqlite_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        empty = {path: await client.get(path) for path in ("/admin", "/admin/pool", "/admin/equity", "/admin/engagement", "/admin/people", "/admin/exports")}
        missing = await client.get("/admin/rounds/999")
        bad_id = await client.get("/admin/rounds/abc")
    assert all(page.status_code == 200 for page in empty.values())
    assert "Start here" in empty["/admin"].text and "Upload the roster" in empty["/admin"].text
    assert missing.status_code == 404 and "There is no round 999" in missing.text and "Back to the program" in missing.text
    assert bad_id.status_code == 400 and "round_id" in bad_id.text


async def test_pool_health_page_shows_areas_and_the_forecast(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    seed_program(engine, now, match=False)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        await sign_in_with_link(client, settings, now)
        page = await client.get("/admin/pool")
        topic = await client.get("/admin/pool?topic=assessment")
        with session_scope(engine) as session:
            round_id = session.exec(select(Round)).first().id
        for_round = await client.get(f"/admin/pool?round={round_id}")
    assert page.status_code == 200 and 'role="img"' in page.text and "Who would go unmatched" in page.text
    forecast = int(re.search(r'<h2>Forecast</h2><p class="big">(\d+)', page.text).group(1))
    assert forecast == 37  # the same 37 pairs the matcher finds for this roster
    assert "on “assessment”" in topic.text and " · assessment</text>" in topic.text
    assert for_round.status_code == 200


async def test_an_admin_switches_the_pages_between_programs(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    from bot.importer import import_roster

    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    service.open_term(engine, program_name="SEL Series", timezone="America/Los_Angeles", name="SEL Winter", opt_in_by=None, now=now)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Fall 2027", "join": "roster"})
        first = await client.get("/admin")
        unknown = await client.post("/admin/program", data={"csrf_token": csrf, "name": "Nope"})
        forged = await client.post("/admin/program", data={"csrf_token": "wrong", "name": "SEL Series"})
        switched = await client.post("/admin/program", data={"csrf_token": csrf, "name": "SEL Series"}, follow_redirects=True)
        # Acts on SEL now: which has a term open already, so a second is refused by name (one open term per program).
        second = await client.post("/admin/terms", data={"csrf_token": csrf, "name": "SEL Spring", "join": "roster"})
        client.cookies.set("mentorbot_admin_program", "Gone Program", path="/admin")  # a stale choice falls back
        fallback = await client.get("/admin")
    assert "Fall 2027" in first.text and "SEL Winter" not in first.text and 'value="SEL Series"' in first.text
    assert unknown.status_code == 404 and forged.status_code == 403
    assert "Showing SEL Series." in switched.text and "SEL Winter" in switched.text and "Fall 2027" not in switched.text
    with session_scope(engine) as session:
        sel = repo.get_program(session, name="SEL Series")
        assert {t.name for t in repo.list_terms(session, program_id=sel.id)} == {"SEL Winter"}
    assert second.status_code == 409 and "SEL Series already has an open term (&#39;SEL Winter&#39;): close it first" in second.text
    assert "Fall 2027" in fallback.text


async def test_a_database_whose_only_program_is_not_program_name_shows_its_rounds(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    # The demo's database: its one program is not PROGRAM_NAME (left at its default), so the pages show that program.
    round_id = seed_program(engine, now, program="Demo District Mentoring")
    settings = admin_settings(tmp_path, database_url)
    assert settings.program_name != "Demo District Mentoring"
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        home = await client.get("/admin")
        page = await client.get(f"/admin/rounds/{round_id}")
        rematched = await client.post(f"/admin/rounds/{round_id}/match", data={"csrf_token": csrf})
        exported = await client.get(f"/admin/exports/pairings.csv?round={round_id}")
    assert "Demo District Mentoring" in home.text and "Spring 2027" in home.text
    assert page.status_code == 200 and f"Round {round_id}" in page.text and "Publish 37 pairs" in page.text
    assert rematched.status_code == 303 and rematched.headers["location"] == f"/admin/rounds/{round_id}"
    assert exported.status_code == 200 and len(list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))) == 38  # a header and 37 pairs


async def test_a_round_in_review_is_cancelled_from_its_page_and_nobody_is_told(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    round_id = seed_program(engine, now)
    settings = admin_settings(tmp_path, database_url)
    with session_scope(engine) as session:
        messages = len(session.exec(select(OutboxMessage)).all())
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        before = await client.get(f"/admin/rounds/{round_id}")
        unconfirmed = await client.post(f"/admin/rounds/{round_id}/cancel", data={"csrf_token": csrf})
        kept = await client.get(f"/admin/rounds/{round_id}")
        cancelled = await client.post(f"/admin/rounds/{round_id}/cancel", data={"csrf_token": csrf, "confirm": "yes"})
        after = await client.get(f"/admin/rounds/{round_id}")
        twice = await client.post(f"/admin/rounds/{round_id}/cancel", data={"csrf_token": csrf, "confirm": "yes"})
    assert f'action="/admin/rounds/{round_id}/cancel"' in before.text and 'name="confirm" value="yes" required' in before.text
    # The page leads with the paragraph the CLI and Slack print (matched and seats, and what binds).
    assert re.search(r'<p class="lead">Matched 37 of \d+ mentees, using 37 of \d+ seats', before.text), before.text[:3000]
    # Unticked: the page again, the reason beside the box (and read with it), nothing cancelled.
    assert unconfirmed.status_code == 400 and "Nothing was cancelled" in unconfirmed.text and "Publish 37 pairs" in kept.text
    assert 'name="confirm" value="yes" required aria-invalid="true" aria-describedby="cancel-confirm-error"' in unconfirmed.text
    assert 'id="cancel-confirm-error">Nothing was cancelled' in unconfirmed.text
    # The cancel box sits in the page, once, never inside its <title>.
    assert re.search(r"<title>Round \d+ · [^<]*</title>", kept.text) and kept.text.count("Cancel this round") == 1
    assert "Nobody has been told of a pair yet, so" in before.text and "people will be told" not in before.text
    assert cancelled.status_code == 303 and "Cancelled round" in after.text and "37 pairs called off, nobody had been told of a pair" in after.text
    assert "by Admin (sign-in link)" in after.text and f'action="/admin/rounds/{round_id}/cancel"' not in after.text
    assert twice.status_code == 409 and "was cancelled already" in twice.text
    with session_scope(engine) as session:
        round_ = session.get(Round, round_id)
        assert round_.status == "closed" and round_.settings["cancelled_by"] == "Admin (sign-in link)"
        assert {p.status for p in repo.round_pairings(session, round_id=round_id)} == {"cancelled"}
        assert len(session.exec(select(OutboxMessage)).all()) == messages  # nothing was sent about it


async def test_a_published_round_is_cancelled_from_its_page_and_the_box_says_who_will_be_told(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    round_id = seed_program(engine, now)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        published = await client.post(f"/admin/rounds/{round_id}/publish", data={"csrf_token": csrf})
        assert published.status_code == 303
        # The sweep queues the pairing notices and the delivery worker sends them (recorded here as it would).
        with session_scope(engine) as session:
            notify = session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.kind == "round.notify")).one()
            due = notify.due_at
        schedule.run_due_actions(engine, now=due, config=schedule.schedule_config(settings))
        with session_scope(engine) as session:
            pairing_notices = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "pairing")).all()
            for message in pairing_notices:
                message.status, message.sent_at = "sent", due
            told = len({m.person_id for m in pairing_notices})
            before_ids = {m.id for m in session.exec(select(OutboxMessage))}
        assert told == 62  # 37 pairs: a mentor with two or three mentees is one person told
        page = await client.get(f"/admin/rounds/{round_id}")
        cancelled = await client.post(
            f"/admin/rounds/{round_id}/cancel", data={"csrf_token": csrf, "confirm": "yes", "message": "Room 4 flooded; we'll start again in May."}
        )  # fmt: skip
        after = await client.get(f"/admin/rounds/{round_id}")
    shown = " ".join(page.text.split())
    assert "62 people have been told of a pair and will be told it is off" in shown and "Call off round" in shown and "and tell 62 people" in shown
    assert 'name="message"' in shown
    assert cancelled.status_code == 303
    flash = " ".join(after.text.split())
    assert f"Cancelled round {round_id}: 37 pairs called off, 62 people will be told," in flash and "scheduled messages dropped" in flash
    assert "the 62 people who had been told of a pair were told it is off" in flash
    with session_scope(engine) as session:
        new = [m for m in session.exec(select(OutboxMessage)) if m.id not in before_ids]
        assert {m.purpose for m in new} == {"round.cancelled"} and len({m.person_id for m in new}) == 62
        assert len(new) == len({(m.person_id, m.channel) for m in new})  # once per person and channel
        # A mentor with several mentees hears once, of every pair, each with its sessions to take off the calendar.
        busy = {m.person_id for m in new if len(m.body["pairs"]) >= 2}
        assert busy and all(len(pair["proposed"]) >= 1 for m in new if m.person_id in busy for pair in m.body["pairs"])
        assert all("Room 4 flooded" in m.body["text"] for m in new)
        assert not session.exec(select(ScheduledAction).where(ScheduledAction.round_id == round_id, ScheduledAction.status == "pending")).all()


async def test_every_kind_of_round_is_created_from_the_program_page(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    seed_program(engine, now, match=False)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        home = await client.get("/admin")
        forms = {
            "event": {"kind": "event", "topics": "SEL; assessment", "sessions": "1", "start_on": "2026-11-30", "match_on": "2026-12-04", "end_on": "2026-12-11"},
            "interview": {"kind": "interview", "match_on": "2026-12-04"},
            "speed": {"kind": "speed", "rotations": "3", "rotation_minutes": "10", "starts_at": "2026-12-10T15:30"},
        }
        created = {kind: await client.post("/admin/rounds", data={"csrf_token": csrf, **form}) for kind, form in forms.items()}
        no_match_day = await client.post("/admin/rounds", data={"csrf_token": csrf, "kind": "interview"})
        bad_time = await client.post("/admin/rounds", data={"csrf_token": csrf, "kind": "speed", "rotations": "3", "rotation_minutes": "10", "starts_at": "soon"})
    assert all(f'<option value="{kind}"' in home.text for kind in ("micro", "speed", "event", "interview"))
    assert all(answer.status_code == 303 for answer in created.values()), {k: a.status_code for k, a in created.items()}
    ids = {kind: int(answer.headers["location"].rsplit("/", 1)[1]) for kind, answer in created.items()}
    with session_scope(engine) as session:
        made = {kind: session.get(Round, round_id) for kind, round_id in ids.items()}
    assert {kind: r.kind for kind, r in made.items()} == {"event": "event", "interview": "interview", "speed": "speed"}
    assert made["event"].match_on.isoformat() == "2026-12-04" and made["speed"].start_on.isoformat() == "2026-12-10"
    # The time typed is the program's own (Los Angeles), not the server's.
    assert datetime.fromisoformat(made["speed"].settings["starts_at"]).utcoffset().total_seconds() == -8 * 3600
    assert no_match_day.status_code == 409 and "match" in no_match_day.text
    assert bad_time.status_code == 409 and "not a date and time" in bad_time.text


async def test_waiting_mentors_are_approved_by_site_or_principal_from_the_people_page(tmp_path: Path, database_url: str, engine, now: datetime) -> None:
    from bot.importer import import_roster

    import_roster(engine, SHARED_ROSTER, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=now)
    settings = admin_settings(tmp_path, database_url)
    async with serving(settings, clock=lambda: now) as base, httpx.AsyncClient(base_url=base) as client:
        csrf = await sign_in_with_link(client, settings, now)
        await client.post("/admin/terms", data={"csrf_token": csrf, "name": "Spring 2027", "join": "roster"})
        page = await client.get("/admin/people")
        assert "Approve all 27 waiting mentors" in page.text
        assert '<option value="Lincoln Elementary">Lincoln Elementary (3 waiting)</option>' in page.text
        assert "principal.harbor@district.example (5 waiting)" in page.text
        term_id = re.search(r'name="term_id" value="(\d+)"', page.text).group(1)

        # A site posted as people type it (case, spaces) is the roster's site.
        by_site = await client.post("/admin/people/approve-all", data={"csrf_token": csrf, "term_id": term_id, "site": "  lincoln  elementary "})
        assert by_site.status_code == 303
        shown = (await client.get("/admin/people")).text
        assert "Approved 3 mentors at Lincoln Elementary in Spring 2027 on their principals&#39; behalf; each is told." in shown
        assert "Approve all 24 waiting mentors" in shown and "Lincoln Elementary (3 waiting)" not in shown
        # A principal nobody waits for: refused with those who have mentors waiting, and nothing approved.
        nobody = await client.post("/admin/people/approve-all", data={"csrf_token": csrf, "principal": "principal.lincoln@district.example"})
        assert nobody.status_code == 404 and "principal.harbor@district.example (5)" in nobody.text
        forged = await client.post("/admin/people/approve-all", data={"csrf_token": "not-the-token"})
        assert forged.status_code == 403
        by_principal = await client.post("/admin/people/approve-all", data={"csrf_token": csrf, "principal": "Principal.Harbor@district.example"})
        assert by_principal.status_code == 303
        assert "Approved 5 mentors of principal principal.harbor@district.example" in (await client.get("/admin/people")).text
        rest = await client.post("/admin/people/approve-all", data={"csrf_token": csrf, "term_id": term_id})
        assert rest.status_code == 303 and "Approved 19 mentors in Spring 2027" in (await client.get("/admin/people")).text
    with session_scope(engine) as session:
        waiting = session.exec(select(Enrollment).where(Enrollment.approval == "pending")).all()
        told = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "approval.decided")).all()
    assert waiting == [] and len(told) == 27 and len({m.person_id for m in told}) == 27  # each mentor told once


def test_the_pool_report_follows_every_change_to_the_rows_it_is_built_from(engine, now: datetime) -> None:
    # The term's pool is rebuilt only when its rows differ from the last read: a change to an enrollment or to an
    # answer must show at once, and going back must show the first figures again.
    from bot.rounds import reports
    from storage.models import ProfileAnswer, Term

    seed_program(engine, now, match=False)

    def report() -> reports.PoolReport:
        with session_scope(engine) as session:
            term = session.exec(select(Term)).first()
            return reports.load_pool_report(session, term=term, session_minutes=30, today=now.date())

    first = report()
    with session_scope(engine) as session:
        mentee = session.exec(select(Enrollment).where(Enrollment.role == "mentee", Enrollment.status == "opted_in")).first()
        mentee.status = "opted_out"
        mentee_id = mentee.person_id
    fewer = report()
    assert fewer.health.mentees == first.health.mentees - 1
    with session_scope(engine) as session:
        session.exec(select(Enrollment).where(Enrollment.person_id == mentee_id)).first().status = "opted_in"
        answer = session.exec(select(ProfileAnswer).where(ProfileAnswer.person_id == mentee_id, ProfileAnswer.question == "subjects")).first()
        answer.value = ["Underwater basket weaving"]
    changed = report()
    assert changed.health.mentees == first.health.mentees
    assert any(area.subject == "Underwater basket weaving" for area in changed.combined)
    assert not any(area.subject == "Underwater basket weaving" for area in first.combined)
