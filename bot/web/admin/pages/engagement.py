"""Engagement: whether pairs meet (check-ins), what the survey says, which pairs stalled; and rematching a stalled pair."""

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from bot.actions import rounds
from bot.actions.scope import unit_of_work
from bot.rounds import reports
from bot.web.admin import charts
from bot.web.admin.page import Page, PostedPage, page_address, paginate, pick_round
from storage.models import Term

router = APIRouter()
PER_PAGE = 50  # stalled pairs, and survey comments, per page


@router.get("/engagement")
def engagement(page: Page, round: int | None = None, stalled_page: int = 1, comments_page: int = 1) -> Response:
    with unit_of_work(page.engine) as session:
        choices = [r for r in page.matched_rounds(session) if r.status != "review"]
        chosen = pick_round(choices, round)
        term = session.get(Term, chosen.term_id) if chosen is not None else page.term(session, None)
        report = reports.load_engagement_report(session, term=term, round_=chosen) if term is not None else None
    context: dict[str, Any] = {"rounds": choices, "chosen": chosen, "report": report, "term": term}
    if report is not None:
        # Long lists a page at a time (a district term has dozens of stalled pairs and hundreds of comments).
        def link(anchor: str, **pages: int) -> str:
            wanted = {"stalled_page": stalled_page, "comments_page": comments_page} | pages
            return page_address("/admin/engagement", anchor, round=round, **{name: n if n > 1 else None for name, n in wanted.items()})

        context["stalled_pager"] = paginate(report.stalled, number=stalled_page, size=PER_PAGE, link=lambda n: link("stalled", stalled_page=n))
        context["comments_pager"] = paginate(report.comments, number=comments_page, size=PER_PAGE, link=lambda n: link("comments", comments_page=n))
        order = reports.CHECK_IN_ORDER
        context["check_in_chart"] = charts.stacked_bars(
            "Check-in answers: did the pair meet?",
            [("Mentors", [report.mentor_check_ins[a] for a in order]), ("Mentees", [report.mentee_check_ins[a] for a in order])],
            series=[reports.CHECK_IN_LABELS[a] for a in order],
            colors=[charts.GREEN, charts.SKY, charts.ORANGE, charts.VERMILLION, "#C8CDD2"],
            empty="No check-ins have been asked in this round yet.",
        )  # fmt: skip
        context["survey_chart"] = charts.stacked_bars(
            "Survey: how much people agree",
            [(item.text, list(item.counts)) for item in report.survey],
            series=list(reports.LIKERT_LABELS),
            colors=[charts.VERMILLION, charts.ORANGE, "#C8CDD2", charts.SKY, charts.BLUE],
            empty="No survey answers yet.",
            label_chars=50,
        )  # fmt: skip
        context["status_chart"] = charts.bar_chart(
            "Pairs by status", [charts.Bar(status, count, flagged=status == "stalled") for status, count in sorted(report.pair_status.items())],
            empty="This round has no pairs.",
        )  # fmt: skip
    return page.render("engagement.html", active="engagement", **context)


@router.post("/pairings/{pairing_id}/rematch")
def rematch(page: PostedPage, pairing_id: int) -> Response:
    with unit_of_work(page.engine) as session:
        rematched = rounds.rematch(session, actor=page.actor, now=page.now(), settings=page.settings, pairing_id=pairing_id, program=page.program)
    if rematched.new is None:
        note = f"Pairing {pairing_id} is cancelled; no other mentor can take {rematched.mentee_name} now."
    else:
        note = f"{rematched.mentee_name} is rematched with {rematched.new_mentor_name}; both have been told."
    return page.done(f"/admin/engagement?round={rematched.old.round_id}", note)
