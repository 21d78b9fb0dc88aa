"""A district's first real term, start to finish, as a new program admin runs it: a 2,000-teacher roster from HR,
a term opened from it, mentors approved by site, by principal and then all at once, a micro round matched, previewed
and published, a speed event planned and published, a topic event announced and then called off, the timeline read
and the pairings exported. Once from the CLI, once through `/mentoring` (signed requests from the Slack stand-in into
the served app) and once through the admin pages (form posts from a signed-in session); each step's output is what
an admin reads, so each is checked.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.doubles.slack import SlackDriver, SlackStandIn
from bot.importer import import_roster
from bot.settings import Settings
from bot.web.app import create_app
from storage import db
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Pairing, Round, ScheduledAction
from tests.adminkit import serve_app, sign_in_with_link
from tests.districtkit import principal_of, write_district_roster
from tests.test_cli import run as run_cli
from tests.test_parity import _eventually, _texts

PEOPLE = 2000
PROGRAM = "Valley Unified Mentoring"
ADMIN = "UADMIN2027"
SECRET = "first-term-signing-secret-0123456789abcdef"
NOW = datetime(2027, 1, 11, 16, 0, tzinfo=timezone.utc)  # a Monday morning in January, program time
MICRO = ("--topic", "classroom management", "--sessions", "2", "--start", "2027-02-01", "--match-on", "2027-01-25")
SPEED = ("--rotations", "4", "--minutes", "10", "--at", "2027-03-04 15:30")
EVENT = ("--topics", "SEL; assessment; family engagement", "--sessions", "1", "--start-on", "2027-03-01", "--match-on", "2027-03-04", "--end-on", "2027-03-09")  # fmt: skip
FIRST_SITE, FIRST_PRINCIPAL = " lincoln   ELEMENTARY ", principal_of("Garfield High")


@pytest.fixture(scope="module")
def district_roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_district_roster(tmp_path_factory.mktemp("district") / "valley-unified-staff.csv", PEOPLE)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _lead_numbers(text: str) -> tuple[int, int]:
    found = re.search(r"Matched (\d+) of (\d+) mentees", _flat(text))
    assert found, text[:2000]
    return int(found.group(1)), int(found.group(2))


def _rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text.lstrip("\ufeff").strip())) if row]


def _waiting(url: str) -> int:
    engine = db.create_db_engine(url)
    try:
        with session_scope(engine) as session:
            return sum(1 for e in session.exec(select(Enrollment)) if e.status == "opted_in" and e.approval == "pending")
    finally:
        engine.dispose()


def _left_behind(url: str) -> dict[str, object]:
    """What the term left in the database, to check a front end did what it said."""
    engine = db.create_db_engine(url)
    try:
        with session_scope(engine) as session:
            rounds = session.exec(select(Round).order_by(Round.id)).all()
            pairings = session.exec(select(Pairing)).all()
            return {
                "rounds": [(r.kind, r.status, "cancelled_at" in (r.settings or {})) for r in rounds],
                "published pairs": sum(1 for p in pairings if p.round_id == rounds[0].id and p.status == "published"),
                "pending actions": {r.id: 0 for r in rounds} | _pending_by_round(session),
                "messages": len(session.exec(select(OutboxMessage)).all()),
            }
    finally:
        engine.dispose()


def _pending_by_round(session) -> dict[int, int]:
    counts: dict[int, int] = {}
    for action in session.exec(select(ScheduledAction).where(ScheduledAction.status == "pending")):
        if action.round_id is not None:
            counts[action.round_id] = counts.get(action.round_id, 0) + 1
    return counts


# --- the CLI, as "Using it" in docs/getting-started.md runs it ---------------------------------------------------


def test_a_district_runs_its_first_term_from_the_cli(tmp_path: Path, district_roster: Path) -> None:
    url = f"sqlite:///{tmp_path / 'valley.db'}"

    def cli(*args: str, code: int = 0) -> str:
        ran = run_cli(tmp_path, "--now", NOW.strftime("%Y-%m-%dT%H:%M:%S"), *args, database_url=url, extra_env={
            "PROGRAM_NAME": PROGRAM, "REQUIRE_PRINCIPAL_APPROVAL": "true", "DEFAULT_TIMEZONE": "America/Los_Angeles",
        })  # fmt: skip
        assert ran.returncode == code, f"mentorbot {' '.join(args)}\n{ran.stdout}{ran.stderr}"
        return ran.stdout + ran.stderr

    imported = cli("import", "roster", str(district_roster))
    assert f"Imported {PEOPLE} of {PEOPLE} rows" in imported

    opened = _flat(cli("term", "open", "Spring 2027", "--opt-in-by", "2027-01-22", "--enroll-roster"))
    mentors = int(re.search(r"enrolled (\d+) mentors", opened).group(1))
    assert f"{mentors} mentors await their principal's approval" in opened and "approval: required (REQUIRE_PRINCIPAL_APPROVAL=true)" in opened
    # A second open term is refused with the way on, and nothing else is opened.
    assert "Spring 2027" in cli("term", "open", "Summer 2027", code=1)

    assert "Created micro round 1 (draft)" in cli("round", "new", "micro", *MICRO)
    cli("round", "open", "1")
    # Before approvals: the lead says why nobody is matched and what approving would gain, as a command to run.
    before = _flat(cli("round", "match", "1"))
    assert _lead_numbers(before)[0] == 0
    assert re.search(rf"{mentors} mentors await their principal's approval; approving them would match (\d+) more \(`mentorbot term approve --all`\)", before)

    by_site = cli("term", "approve", "--site", FIRST_SITE)
    assert re.search(r"Approved \d+ mentors at Lincoln Elementary in Spring 2027; each is told\.", by_site) and len(by_site.splitlines()) <= 13
    assert re.search(rf"Approved \d+ mentors of principal {re.escape(FIRST_PRINCIPAL)}", cli("term", "approve", "--principal", FIRST_PRINCIPAL.upper()))
    everyone = cli("term", "approve", "--all")
    assert "each is told" in everyone and len(everyone.splitlines()) <= 13  # hundreds approved, a dozen lines
    assert _waiting(url) == 0

    matched = cli("round", "match", "1")
    pairs, mentees = _lead_numbers(matched)
    assert mentees > 1000 and pairs / mentees > 0.8, matched[:2000]
    # The paragraph opens and closes the result; 20 pairs and the unmatched by cause, not a thousand rows.
    assert _flat(matched).endswith(_flat(matched.splitlines()[-1])) and "Matched" in "\n".join(matched.splitlines()[-6:])
    assert "--all prints every one" in matched and len(matched.splitlines()) < 250
    assert len(cli("round", "show", "1", "--all").splitlines()) > pairs  # everything, when asked

    preview = _flat(cli("round", "preview", "1"))
    assert "Nothing has been sent" in preview and "Pool" in preview

    published = cli("round", "publish", "1", "--message", "Welcome to mentoring at Valley Unified!")
    assert f"Round 1 is now published: {pairs} pairs" in _flat(published)

    timeline = cli("round", "timeline", "1")
    # In words, by day, in the program's zone: not thousands of raw keys in UTC.
    assert "(America/Los_Angeles)" in timeline and "Mon 11 Jan 2027" in timeline and "pairing notices to every pair" in timeline
    assert "session reminders a day before" in timeline and "session.reminder:" not in timeline and len(timeline.splitlines()) < 150
    assert re.search(r"the matcher runs\s*│\s*1\s*│\s*skipped", timeline)  # matched by hand: the match date's run is not due
    every = cli("round", "timeline", "1", "--all")
    assert re.search(r"Mon 11 Jan \d\d:\d\d PST · pairing notices to every pair · due", every) and len(every.splitlines()) > 5 * pairs

    exported = tmp_path / "round1.csv"
    assert f"Wrote {pairs} pairs" in cli("export", "pairings", "1", "--out", str(exported))
    assert len(_rows(exported.read_text(encoding="utf-8-sig"))) == pairs + 1

    # A speed event is planned, previewed and published like any round.
    assert "Created speed round 2" in cli("round", "new", "speed", *SPEED)
    planned = _flat(cli("round", "match", "2"))
    assert "4 rotations of 10 minutes" in planned and "Rotation schedules go out" in planned
    assert "Round 2 is now published" in cli("round", "publish", "2")

    # A topic event is announced, then called off: whoever had heard of a pair would be told; here nobody had.
    assert "Created event round 3" in cli("round", "new", "event", *EVENT)
    cli("round", "open", "3")
    called_off = _flat(cli("round", "cancel", "3", "--message", "We'll run it in the spring."))
    assert called_off.startswith("Cancelled round 3")

    # A date as a teacher types it gets one plain line and no traceback.
    wrong_date = cli("round", "new", "micro", "--start", "02/01/2027", code=2)
    assert "'02/01/2027' is not a date; write it as YYYY-MM-DD" in _flat(wrong_date)

    status = _flat(cli("term", "status"))
    assert "0 waiting for principals" in status

    left = _left_behind(url)
    assert left["rounds"] == [("micro", "published", False), ("speed", "published", False), ("event", "closed", True)]
    assert left["published pairs"] == pairs and left["pending actions"][3] == 0 and left["pending actions"][1] > pairs


# --- the admin pages -------------------------------------------------------------------------------------------


def _settings(tmp_path: Path, url: str, **extra: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data", "database_url": url, "program_name": PROGRAM, "require_principal_approval": True,
        "scheduler_enabled": False, "admin_secret": "first-term-admin-secret-" + "x" * 20, "public_base_url": "http://mentorbot.test",
        "default_timezone": "America/Los_Angeles",
    }  # fmt: skip
    values.update(extra)
    return Settings(_env_file=None, **values)


def _shown(page: httpx.Response) -> str:
    """The page's text as a reader sees it: tags dropped, entities read, spaces collapsed."""
    import html

    return _flat(html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


async def test_a_district_runs_its_first_term_from_the_admin_pages(tmp_path: Path, district_roster: Path) -> None:
    url = f"sqlite:///{tmp_path / 'valley.db'}"
    db.upgrade(engine := db.create_db_engine(url))
    engine.dispose()
    settings = _settings(tmp_path, url)
    app = create_app(settings, clock=lambda: NOW, senders={})
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base, timeout=120) as client:
        csrf = await sign_in_with_link(client, settings, NOW)

        async def post(path: str, **form: str) -> str:
            """Post a form as the browser does, and read the page it lands on (with the note the action left)."""
            answer = await client.post(path, data={"csrf_token": csrf, **form})
            if answer.status_code == 303:
                answer = await client.get(answer.headers["location"])
            assert answer.status_code == 200 and "Something went wrong" not in answer.text, (path, answer.status_code, answer.text[:3000])
            return _shown(answer)

        # The roster, uploaded, previewed, confirmed.
        preview = await client.post("/admin/roster", data={"csrf_token": csrf}, files={"file": (district_roster.name, district_roster.read_bytes(), "text/csv")})
        assert preview.status_code == 200, preview.text[:2000]
        token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
        assert f"Imported {PEOPLE} of {PEOPLE} rows" in await post("/admin/roster/confirm", token=token, filename=district_roster.name)

        opened = await post("/admin/terms", name="Spring 2027", join="roster", opt_in_by="2027-01-22")
        mentors = int(re.search(r"enrolled (\d+) mentors", opened).group(1))
        assert f"{mentors} mentors await their principal's approval" in opened

        assert "Created round 1" in await post("/admin/rounds", kind="micro", topic="classroom management", sessions="2", start_on="2027-02-01", match_on="2027-01-25")
        await post("/admin/rounds/1/move", target="collecting")
        before = await post("/admin/rounds/1/match")
        assert "Matched 0 of" in before and f"{mentors} mentors await their principal's approval; approving them would match" in before

        people = await client.get("/admin/people")
        term_id = re.search(r'name="term_id" value="(\d+)"', people.text).group(1)
        assert re.search(r"Approved \d+ mentors at Lincoln Elementary in Spring 2027", await post("/admin/people/approve-all", term_id=term_id, site=FIRST_SITE))
        assert re.search(rf"Approved \d+ mentors of principal {re.escape(FIRST_PRINCIPAL)}", await post("/admin/people/approve-all", term_id=term_id, principal=FIRST_PRINCIPAL))
        assert "each is told" in await post("/admin/people/approve-all", term_id=term_id)
        assert _waiting(url) == 0

        review = await post("/admin/rounds/1/match")
        pairs, mentees = _lead_numbers(review)
        assert mentees > 1000 and pairs / mentees > 0.8
        assert f"Publish {pairs} pairs" in review
        # Review can be narrowed to a site, without JavaScript.
        narrowed = _shown(await client.get("/admin/rounds/1", params={"q": "Garfield High"}))
        assert "Garfield High" in narrowed and len(narrowed) < len(review)
        pool = _shown(await client.get("/admin/pool"))
        assert "Forecast" in pool or "forecast" in pool

        published = await post("/admin/rounds/1/publish", message="Welcome to mentoring at Valley Unified!")
        assert f"Published round 1: {pairs} pairs" in published and "pairing notices to every pair" in published and "round.notify" not in published
        # A thousand pairs and eleven thousand scheduled actions: a page of 50 pairs and the timeline by day (it was 3 MB).
        round_page = await client.get("/admin/rounds/1")
        assert len(round_page.content) < 100_000 and f"pairs 1–50 of {pairs:,}" in _shown(round_page)
        every = await client.get("/admin/rounds/1", params={"timeline": "all", "entries_page": "2"})
        assert "scheduled actions 201–400 of" in _shown(every) and "(mentee)" in _shown(every)

        assert "Created round 2" in await post("/admin/rounds", kind="speed", rotations="4", rotation_minutes="10", starts_at="2027-03-04T15:30")
        planned = await post("/admin/rounds/2/match")
        assert "4 rotations of 10 minutes" in planned
        await post("/admin/rounds/2/publish")

        assert "Created round 3" in await post("/admin/rounds", kind="event", topics="SEL; assessment; family engagement", sessions="1", start_on="2027-03-01", match_on="2027-03-04", end_on="2027-03-09")
        await post("/admin/rounds/3/move", target="collecting")
        called_off = await post("/admin/rounds/3/cancel", confirm="yes", message="We'll run it in the spring.")
        assert "Cancelled round 3" in called_off

        exported = await client.get("/admin/exports/pairings.csv", params={"round": "1"})
        assert exported.status_code == 200 and len(_rows(exported.content.decode("utf-8-sig"))) == pairs + 1

    left = _left_behind(url)
    assert left["rounds"] == [("micro", "published", False), ("speed", "published", False), ("event", "closed", True)]
    assert left["published pairs"] == pairs and left["pending actions"][3] == 0


# --- /mentoring in Slack ------------------------------------------------------------------------------------------


async def test_a_district_runs_its_first_term_from_slack(tmp_path: Path, district_roster: Path) -> None:
    url = f"sqlite:///{tmp_path / 'valley.db'}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    # Slack has no file upload for rosters: the roster comes in as the CLI and the pages bring it.
    import_roster(engine, district_roster, program_name=PROGRAM, default_timezone="America/Los_Angeles", now=NOW)
    engine.dispose()
    async with SlackStandIn() as standin:
        standin.add_user(ADMIN, "Ada Admin", email="ada@valley.example")
        settings = _settings(
            tmp_path, url, slack_bot_token=standin.bot_token, slack_signing_secret=SECRET, slack_api_url=standin.api_url, slack_admin_ids=[ADMIN],
        )  # fmt: skip
        app = create_app(settings, clock=lambda: NOW, senders={})
        async with serve_app(app) as base:
            driver = SlackDriver(standin, app_url=base, signing_secret=SECRET)

            async def mentoring(text: str, *, refused: bool = False) -> str:
                response, response_url = await driver.command(ADMIN, text)
                assert response.status_code == 200, response.text
                answers = await _eventually(lambda: standin.responses_to(response_url), timeout=120)
                shown = _flat("\n".join(_texts(answer) for answer in answers))
                assert "Something went wrong" not in shown, shown
                assert (":warning:" in shown) == refused, f"/mentoring {text}: {shown[:2000]}"
                return shown

            opened = await mentoring('term open "Spring 2027" --enroll-roster')
            mentors = int(re.search(r"enrolled (\d+) mentors", opened).group(1))
            assert f"{mentors} mentors await their principal's approval" in opened
            await mentoring('term open "Summer 2027"', refused=True)

            await mentoring('round new micro --topic "classroom management" --sessions 2 --start 2027-02-01 --match-on 2027-01-25')
            await mentoring("round open 1")
            before = await mentoring("round match 1")
            assert "Matched 0 of" in before and "approving them would match" in before and "/mentoring term approve --all" in before

            assert re.search(r"Approved \d+ mentors at Lincoln Elementary", await mentoring(f'term approve --site "{FIRST_SITE}"'))
            assert re.search(r"Approved \d+ mentors of principal", await mentoring(f"term approve --principal {FIRST_PRINCIPAL}"))
            everyone = await mentoring("term approve --all")
            assert "each is told" in everyone and len(everyone) < 3000  # hundreds approved, one answer to read
            assert _waiting(url) == 0

            preview = await mentoring("round preview 1 --rematch")
            pairs, mentees = _lead_numbers(preview)
            assert mentees > 1000 and pairs / mentees > 0.8 and "more (`mentorbot round show 1 --all` lists every one)" in preview
            published = await mentoring('round publish 1 --message "Welcome to mentoring at Valley Unified!"')
            assert str(pairs) in published

            timeline = await mentoring("round timeline 1")
            assert "America/Los_Angeles" in timeline and "pairing notices to every pair" in timeline and "session.reminder:" not in timeline

            await mentoring('round new speed --rotations 4 --minutes 10 --at "2027-03-04 15:30"')
            planned = await mentoring("round match 2")
            assert "4 rotations of 10 minutes" in planned
            await mentoring("round publish 2")

            await mentoring('round new event --topics "SEL; assessment; family engagement" --sessions 1 --start-on 2027-03-01 --match-on 2027-03-04 --end-on 2027-03-09')
            await mentoring("round open 3")
            assert "Cancelled round 3" in await mentoring('round cancel 3 --message "We\'ll run it in the spring."')
            exported = await mentoring("export 1")
            assert "csv" in exported.lower() or "mentor_email" in exported

    left = _left_behind(url)
    assert left["rounds"] == [("micro", "published", False), ("speed", "published", False), ("event", "closed", True)]
    assert left["published pairs"] == pairs and left["pending actions"][3] == 0
