"""The numbers behind the admin pages, on small hand-made inputs; the SVG charts, exports and the mail reader."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest

from bot.matching import Participant
from bot.rounds import reports
from bot import exports
from bot.web.admin import charts, mail
from storage.models import ScheduledAction

SVG = "{http://www.w3.org/2000/svg}"


def person(key: str, role: str, *, bands=(), subjects=(), strengths=(), needs=(), capacity: int = 1) -> Participant:
    return Participant(key=key, name=key.split("@")[0].title(), role=role, grade_bands=frozenset(bands), subjects=frozenset(subjects),
                       strengths=frozenset(strengths), needs=tuple(needs), capacity=capacity)  # fmt: skip


# --- pool health -------------------------------------------------------------------------------


def test_pool_health_counts_mentors_who_could_serve_each_area() -> None:
    people = [
        person("m1@x", "mentor", bands=["6-8"], subjects=["math"], strengths=["assessment", "SEL"], capacity=2),
        person("m2@x", "mentor", bands=["6-8", "9-12"], subjects=["Math"], strengths=["Assessment"], capacity=1),
        person("m3@x", "mentor", strengths=["assessment"], capacity=1),  # lists no band or subject: serves any
        person("m4@x", "mentor", bands=["6-8"], subjects=["math"], strengths=["assessment"], capacity=0),  # full
        person("m5@x", "mentor", bands=["K-2"], subjects=["ELA"], strengths=["SEL"], capacity=3),
        person("e1@x", "mentee", bands=["6-8"], subjects=["math"], needs=["assessment"]),
        person("e2@x", "mentee", bands=["6-8"], subjects=["math"], needs=["assessment", "SEL"]),
        person("e3@x", "mentee", bands=["K-2"], subjects=["ELA"], needs=["SEL"]),
        person("e4@x", "mentee", bands=["K-2"], subjects=["ELA"], needs=["SEL"]),
        person("e5@x", "mentee"),  # lists nothing: the "any" area
        person("e6@x", "mentee", bands=["9-12"], subjects=["PE"], needs=["SEL"]),  # nobody can serve
    ]
    areas = {(a.grade_band, a.subject, a.topic): a for a in reports.pool_health(people)}
    assessment = areas[("6-8", "math", "assessment")]
    assert (assessment.mentees, assessment.mentors, assessment.capacity) == (2, 3, 4)  # m1, m2 (any case) and m3
    assert assessment.mentors_per_mentee == 1.5 and not assessment.scarce
    sel_68 = areas[("6-8", "math", "SEL")]
    # One mentor for a mentee is a thin ratio, but no shortage: advice to recruit goes only where places fall short.
    assert (sel_68.mentees, sel_68.mentors, sel_68.capacity) == (1, 1, 2) and not sel_68.scarce
    k2 = areas[("K-2", "ELA", "SEL")]
    assert (k2.mentees, k2.mentors, k2.capacity) == (2, 1, 3) and not k2.scarce  # 3 places for 2 mentees
    anything = areas[("any", "any", "any")]
    assert (anything.mentees, anything.mentors) == (1, 4)  # every mentor with capacity left
    ordered = reports.pool_health(people)
    assert [a.scarce for a in ordered] == sorted((a.scarce for a in ordered), reverse=True)  # scarce areas first
    assert [a.label for a in ordered if a.scarce] == ["9-12 · PE · SEL"]  # no mentor at all: the only real shortage
    assert ordered[1].label == "K-2 · ELA · SEL"  # then the thinnest (0.5 mentors per mentee)


def test_pool_health_uses_the_round_topic_instead_of_needs() -> None:
    people = [
        person("m1@x", "mentor", bands=["3-5"], strengths=["co-teaching"]),
        person("e1@x", "mentee", bands=["3-5"], subjects=["math"], needs=["assessment", "SEL"]),
        person("b1@x", "both", bands=["3-5"], subjects=["math"], strengths=["co-teaching"], needs=["SEL"]),
    ]
    areas = reports.pool_health(people, topic="Co-Teaching")
    assert [(a.grade_band, a.subject, a.topic, a.mentees, a.mentors) for a in areas] == [("3-5", "math", "Co-Teaching", 2, 2)]


def test_no_mentees_means_no_areas() -> None:
    assert reports.pool_health([person("m1@x", "mentor", strengths=["SEL"])]) == []


# --- equity (the matcher's result_report, fed from storage) --------------------------------------


@pytest.fixture
def engine(database_url: str):
    from storage import db

    engine = db.create_db_engine(database_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_equity_counts_the_round_as_it_stands_after_hand_edits(engine, now: datetime) -> None:
    from collections import Counter

    from bot.rounds import review
    from storage import repo
    from storage.db import session_scope
    from storage.models import Person, Round
    from tests.adminkit import seed_program

    round_id = seed_program(engine, now)
    with session_scope(engine) as session:
        first = repo.round_pairings(session, round_id=round_id)[0]
        review.remove_pair(session, round_id=round_id, pairing_id=first.id, admin="Test", now=now)
    with session_scope(engine) as session:
        round_ = session.get(Round, round_id)
        equity = reports.load_equity_report(session, round_=round_, session_minutes=30, today=now.date())
        pairings = repo.round_pairings(session, round_id=round_id)
        people = {p.id: p for p in session.exec(__import__("sqlmodel").select(Person))}
        unmatched = [u["email"] for u in round_.match_summary["unmatched"]]
    result = equity.report
    assert (result.mentees, result.matched) == (40, 36) and result.match_rate == pytest.approx(36 / 40)  # 37 matched, one unpaired by hand
    assert first.mentee_id not in {p.mentee_id for p in pairings} and people[first.mentee_id].email in unmatched
    mentee_sites = Counter(people[p.mentee_id].site for p in pairings)
    for group in result.by_site:
        assert group.matched == mentee_sites.get(group.name, 0), group
    assert sum(g.mentees for g in result.by_site) == sum(g.mentees for g in result.by_program) == 40
    fits = [sum(v for k, v in p.breakdown.items() if k != "load") for p in pairings]
    assert result.mean_fit == pytest.approx(sum(fits) / len(fits))
    loads = Counter(Counter(p.mentor_id for p in pairings).values())
    assert [(c.mentees, c.mentors) for c in result.mentor_load][1:] == sorted(loads.items())
    assert sum(c.mentors for c in result.mentor_load) == 27 and equity.mentors_used == len({p.mentor_id for p in pairings})


# --- engagement --------------------------------------------------------------------------------


def test_check_in_counts_keep_the_flow_order_and_count_silence() -> None:
    counts = reports.check_in_counts(["met", None, "need_help", "met", "bogus"])
    assert list(counts) == ["met", "rescheduled", "need_help", "not_happening", None]
    assert counts == {"met": 2, "rescheduled": 0, "need_help": 1, "not_happening": 0, None: 1}


def test_survey_summary_counts_likert_answers_and_keeps_comments() -> None:
    items, comments = reports.survey_summary(
        [("voice", 5), ("voice", 4), ("voice", "2"), ("useful", 3), ("useful", 9), ("again", None), ("comment", " Great "), ("comment", ""), ("other", 1)]
    )
    by_key = {item.question: item for item in items}
    assert [item.question for item in items] == ["voice", "useful", "again"]
    assert by_key["voice"].counts == (0, 1, 0, 1, 1) and by_key["voice"].mean == pytest.approx(11 / 3)
    assert by_key["voice"].agree_share == pytest.approx(2 / 3)
    assert by_key["useful"].answers == 1 and by_key["again"].mean is None
    assert comments == ["Great"]


def test_actions_summary_names_what_is_due_next() -> None:
    t0 = datetime(2026, 11, 23, 17, tzinfo=timezone.utc)
    actions = [
        ScheduledAction(id=1, idempotency_key="a", kind="round.notify", due_at=t0, status="done", done_at=t0),
        ScheduledAction(id=2, idempotency_key="b", kind="session.reminder", due_at=t0 + timedelta(days=2), status="pending"),
        ScheduledAction(id=3, idempotency_key="c", kind="checkin.ask", due_at=t0 + timedelta(days=1), status="pending"),
        ScheduledAction(id=4, idempotency_key="d", kind="survey.ask", due_at=t0, status="failed"),
        ScheduledAction(id=5, idempotency_key="e", kind="touchpoint.share", due_at=t0, status="skipped"),
    ]
    summary = reports.summarize_actions(actions)
    assert (summary.done, summary.pending, summary.skipped, summary.failed) == (1, 2, 1, 1)
    assert summary.next_due.id == 3 and summary.last_done.id == 1
    steps = reports.timeline_steps(actions + [ScheduledAction(id=6, idempotency_key="f", kind="checkin.ask", due_at=t0 + timedelta(days=3), status="done", done_at=t0 + timedelta(days=3))])
    assert [s.kind for s in steps] == ["round.notify", "survey.ask", "touchpoint.share", "checkin.ask", "session.reminder"]
    check = steps[3]
    assert (check.done, check.due, check.first, check.last) == (1, 1, t0 + timedelta(days=1), t0 + timedelta(days=3))
    assert steps[1].failed == 1 and steps[2].skipped == 1
    assert reports.action_label("checkin.ask") == "Ask both: did you meet?" and reports.action_label("new.kind_of_thing") == "New kind of thing"


def test_every_scheduled_action_and_message_has_plain_words() -> None:
    """No admin page shows a machine key: every kind the scheduler runs and every purpose the outbox carries has words."""
    from bot.notices import PURPOSES
    from bot.rounds.schedule import HANDLERS

    assert all(reports.action_label(kind) != kind and "." not in reports.action_label(kind) for kind in HANDLERS)
    assert reports.action_label("round.announce") == "Announce the round and open sign-ups"
    for purpose in PURPOSES:
        concrete = purpose.replace("*", "check_in")
        assert "." not in reports.message_label(concrete) and "_" not in reports.message_label(concrete), concrete
    assert reports.message_label("prompt.check_in") == "Question: check in"
    assert reports.message_label("round.announce") == "Round announcement"


# --- charts ------------------------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert {title_id, desc_id} <= ids
    return root


def test_bar_chart_is_labelled_and_scaled() -> None:
    svg = charts.bar_chart("Match rate by site", [charts.Bar("North <High>", 50, note="2 of 4"), charts.Bar("South", 100, flagged=True)], unit="%", max_value=100)
    root = _parse(str(svg))
    assert root.find(f"{SVG}title").text == "Match rate by site"
    desc = root.find(f"{SVG}desc").text
    assert "North <High>: 50% (2 of 4)" in desc and "South: 100%" in desc
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[1] == pytest.approx(2 * widths[0])
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert fills == [charts.BLUE, charts.VERMILLION]
    tips = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
    assert tips[0].startswith("North <High>: 50%")
    assert "&lt;High&gt;" in str(svg)  # escaped, never raw markup


def test_stacked_bars_split_each_row_into_its_series() -> None:
    svg = charts.stacked_bars("Check-ins", [("Mentors", [3, 1, 0]), ("Mentees", [0, 0, 0]), ("All", [1, 1, 2])], series=["met", "rescheduled", "need help"])
    root = _parse(str(svg))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("height") == str(charts.BAR)]
    assert len(bars) == 2 + 3  # zero segments and empty rows are not drawn; legend swatches are 12 high
    mentors = [float(r.get("width")) for r in bars[:2]]
    assert mentors[0] == pytest.approx(3 * mentors[1])
    assert "Mentees" not in root.find(f"{SVG}desc").text
    assert "Mentors: met 3, rescheduled 1, need help 0" in root.find(f"{SVG}desc").text


def test_column_chart_and_paired_bars_and_empty_charts() -> None:
    root = _parse(str(charts.column_chart("Load", [("0", 2), ("1", 4)], x_label="mentees per mentor", y_label="mentors")))
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert heights[1] == pytest.approx(2 * heights[0])
    root = _parse(str(charts.paired_bars("Areas", [("6-8 · math · SEL", 1, 2, True)], series=("Mentors", "Mentees"))))
    assert "scarce" in root.find(f"{SVG}desc").text and "⚠ 6-8" in "".join(root.itertext())
    empty = _parse(str(charts.bar_chart("Nothing", [], empty="No mentees yet.")))
    assert empty.find(f"{SVG}desc").text == "No mentees yet."


def _contrast_problems(svg: str) -> list[str]:
    """Every text of a chart against what it sits on (the bar under it, else the white card), and every bar's edge."""
    root = _parse(svg)
    rects = [r for r in root.iter(f"{SVG}rect") if float(r.get("width")) > 0]
    problems = []
    for rect in rects:
        edge = rect.get("stroke")
        if charts.contrast(rect.get("fill"), "#ffffff") < 3 and (edge is None or charts.contrast(edge, "#ffffff") < 3):
            problems.append(f"bar {rect.get('fill')} is under 3:1 on white and has no dark edge")
    for text in root.iter(f"{SVG}text"):
        x, y = float(text.get("x")), float(text.get("y"))
        under = [r for r in rects if float(r.get("x")) <= x <= float(r.get("x")) + float(r.get("width")) and float(r.get("y")) <= y - 3 <= float(r.get("y")) + float(r.get("height"))]
        background = under[-1].get("fill") if under else "#ffffff"
        if charts.contrast(text.get("fill"), background) < 4.5:
            problems.append(f"{text.text!r} in {text.get('fill')} on {background}: {charts.contrast(text.get('fill'), background):.2f}:1")
    return problems


def test_chart_text_and_bars_meet_wcag_contrast() -> None:
    """Flagged labels read at 4.5:1 or better; counts inside bars of every colour too; every bar shows 3:1 at its edge."""
    assert charts.contrast("#ffffff", "#000000") == pytest.approx(21)
    assert charts.contrast(charts.VERMILLION, "#ffffff") == pytest.approx(3.87, abs=0.01)  # why flagged labels use FLAG_INK
    flagged = charts.bar_chart("Match rate by site", [charts.Bar("Garfield High", 40, flagged=True), charts.Bar("Lincoln", 80)], unit="%")
    every_colour = charts.stacked_bars(
        "Check-ins", [("Mentors", [5] * 9)], series=[f"s{i}" for i in range(9)], colors=[*charts.PALETTE, "#C8CDD2"]
    )
    pairs = charts.paired_bars("Areas", [("6-8 · math", 1, 4, True), ("K-2 · SEL", 3, 3, False)], series=("Mentors", "Mentees"))
    columns = charts.column_chart("Load", [("0", 2), ("1", 4)], x_label="mentees per mentor", y_label="mentors")
    for svg in (flagged, every_colour, pairs, columns):
        assert _contrast_problems(str(svg)) == []
    assert f'fill="{charts.FLAG_INK}">⚠ Garfield High' in str(flagged)
    # The old choice (white or ink by a rough brightness) put white on vermillion and green: under 4.5:1.
    assert charts.contrast("#ffffff", charts.GREEN) < 4.5 and charts._text_on(charts.GREEN) == "#000000"


# --- exports -----------------------------------------------------------------------------------


def test_exports_make_formulas_inert_in_csv_and_xlsx() -> None:
    table = exports.Table("Survey", ["name", "comment", "score"], [["Ana", '=HYPERLINK("http://x")', 4], ["Bo", "+1 great", -2.5], ["Cy", None, 3]], "survey")
    text = exports.to_csv(table).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and rows[2][1] == "'+1 great" and rows[2][2] == "-2.5" and rows[3][1] == ""
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(table)))
    sheet = book.active
    assert [c.value for c in sheet[1]] == ["name", "comment", "score"] and sheet["A1"].font.bold
    assert sheet["B2"].value == "'=HYPERLINK(\"http://x\")" and sheet["B2"].data_type == "s"
    assert sheet["C3"].value == -2.5 and sheet.freeze_panes == "A2"


# --- mail --------------------------------------------------------------------------------------


def test_the_mail_reader_copes_with_no_folder_and_reads_messages(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    assert mail.list_mail(folder) == ([], 0)
    folder.mkdir()
    assert mail.list_mail(folder) == ([], 0)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "mentorbot@localhost", "ana@district.example", "You're matched with Bo"
    message["Date"] = "Mon, 23 Nov 2026 17:00:00 +0000"
    message.set_content("Hello Ana,\nyou're matched.")
    message.add_alternative("<p>Hello <b>Ana</b></p>", subtype="html")
    message.add_attachment(b"BEGIN:VCALENDAR", maintype="text", subtype="calendar", filename="sessions.ics")
    (folder / "20261123T170000.000001Z-aaaa.eml").write_bytes(b"X-Sink-Envelope-To: ana@district.example\r\n" + message.as_bytes())
    (folder / "20261123T170000.000002Z-bbbb.eml").write_bytes(b"\xff\xfe not really mail")
    (folder / ".half-written.eml.tmp").write_bytes(b"partial")
    items, total = mail.list_mail(folder)
    assert total == 2 and [i.name for i in items] == ["20261123T170000.000002Z-bbbb.eml", "20261123T170000.000001Z-aaaa.eml"]
    detail = mail.read_mail(folder, "20261123T170000.000001Z-aaaa.eml")
    assert detail.item.subject == "You're matched with Bo" and detail.item.to == "ana@district.example"
    assert detail.text.startswith("Hello Ana") and detail.has_html
    assert detail.attachments == [("sessions.ics", "text/calendar", len(b"BEGIN:VCALENDAR"))]
    assert "<b>Ana</b>" in mail.read_html(folder, "20261123T170000.000001Z-aaaa.eml")
    for bad in ("../mentorbot.db", "x.txt", "", "../../etc/passwd.eml", "missing.eml"):
        assert mail.read_mail(folder, bad) is None
