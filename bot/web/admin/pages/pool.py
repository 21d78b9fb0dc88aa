"""Pool health (mentors with capacity against mentees, area by area, and the forecast) and equity (who got matched,
by site and preparation program): read-only pages over `bot.rounds.reports`, drawn with `bot.web.admin.charts`."""

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.rounds import reports
from bot.web.admin import charts
from bot.web.admin.page import Page, page_address, paginate, pick_round
from storage import repo

router = APIRouter()
PER_PAGE = 50  # forecast-unmatched mentees, and combined areas, per page


@router.get("/pool")
def pool(page: Page, term: int | None = None, round: int | None = None, topic: str = "", unmatched_page: int = 1, areas_page: int = 1) -> Response:
    with unit_of_work(page.engine) as session:
        the_term = page.term(session, term)
        report, candidates = None, []
        if the_term is not None:
            candidates = [r for r in repo.list_rounds(session, term_id=the_term.id) if r.status in ("draft", "collecting", "review")]
            chosen = next((r for r in candidates if r.id == round), None)
            if round is not None and chosen is None:
                raise NotFound(f"round {round} is not a round of {the_term.name} that is still being formed")
            report = reports.load_pool_report(
                session, term=the_term, session_minutes=page.settings.session_minutes, today=page.now().date(), topic=topic.strip() or None, round_=chosen
            )
        choices = page.terms(session)
    rule_chart = combined_chart = unmatched_pager = areas_pager = None
    if report is not None:
        # The two long lists a page at a time (a district's forecast leaves hundreds unmatched, over hundreds of areas).
        def link(anchor: str, **pages: int) -> str:
            wanted = {"unmatched_page": unmatched_page, "areas_page": areas_page} | pages
            chosen = {name: n if n > 1 else None for name, n in wanted.items()}
            return page_address("/admin/pool", anchor, term=term, round=round, topic=topic.strip() or None, **chosen)

        unmatched_pager = paginate(report.health.forecast, number=unmatched_page, size=PER_PAGE, link=lambda n: link("unmatched", unmatched_page=n))
        areas_pager = paginate(report.combined, number=areas_page, size=PER_PAGE, link=lambda n: link("areas", areas_page=n))
        # Flag only where places really fall short of mentees (or no mentor can serve): that is where recruiting helps.
        flag = "short: fewer places than mentees"
        by_rule = sorted(report.health.areas, key=lambda a: (not a.short, a.ratio if a.ratio is not None else 99, a.rule, a.area))
        rule_chart = charts.paired_bars(
            "Mentors with capacity and mentees, one matching rule at a time",
            [(f"{a.rule}: {a.area}", a.mentors, a.mentees, a.short) for a in by_rule if a.mentees],
            series=("Mentors with capacity", "Mentees"), flag_text=flag, empty="Nobody has opted in yet.",
        )  # fmt: skip
        combined_chart = charts.paired_bars(
            "Mentors with capacity and mentees per area (grade band · subject · topic)" + (" — the 25 neediest" if len(report.combined) > 25 else ""),
            [(a.label, a.mentors, a.mentees, a.scarce) for a in report.combined[:25]],
            series=("Mentors with capacity", "Mentees"), flag_text=flag, empty="Nobody has opted in yet.",
        )  # fmt: skip
    return page.render(
        "pool.html", active="pool", term=the_term, report=report, rule_chart=rule_chart, combined_chart=combined_chart, candidates=candidates,
        chosen_round=round, topic=topic, ratio=reports.SCARCE_RATIO, terms=choices, unmatched_pager=unmatched_pager, areas_pager=areas_pager,
    )  # fmt: skip


@router.get("/equity")
def equity(page: Page, round: int | None = None) -> Response:
    with unit_of_work(page.engine) as session:
        rounds = page.matched_rounds(session)
        chosen = pick_round(rounds, round)
        found = (
            reports.load_equity_report(session, round_=chosen, session_minutes=page.settings.session_minutes, today=page.now().date())
            if chosen is not None
            else None
        )
    context: dict[str, Any] = {"rounds": rounds, "chosen": chosen, "equity": found}
    if found is not None:
        result = found.report
        context["site_chart"] = _rate_chart("Match rate by site", result.by_site, result.match_rate)
        context["program_chart"] = _rate_chart("Match rate by preparation program", result.by_program, result.match_rate)
        context["fit_chart"] = charts.bar_chart(
            "Mean fit of matched mentees, by site",
            [
                charts.Bar(g.name, g.mean_fit, note=f"{g.matched} matched")
                for g in sorted(result.by_site, key=lambda g: -(g.mean_fit or 0))
                if g.mean_fit is not None
            ],
            value_format=lambda v: f"{v:.0f}", empty="Nobody was matched in this round.",
        )  # fmt: skip
        context["load_chart"] = charts.column_chart(
            "Mentor load: how many mentees each mentor has in this round",
            [(str(load.mentees), load.mentors) for load in result.mentor_load],
            x_label="mentees per mentor", y_label="mentors", empty="No mentors were in the pool.",
        )  # fmt: skip
    return page.render("equity.html", active="equity", **context)


def _rate_chart(title: str, groups: Any, overall_rate: float) -> Any:
    return charts.bar_chart(
        title,
        [
            charts.Bar(
                g.name, g.match_rate * 100,
                note=f"{g.matched} of {g.mentees}" + (f", mean fit {g.mean_fit:.0f}" if g.mean_fit is not None else ""),
                flagged=g.match_rate < overall_rate - 0.1,
            )  # fmt: skip
            for g in groups
        ],
        unit="%", max_value=100, empty="No mentees in this round.", value_format=lambda v: f"{v:.0f}",
    )  # fmt: skip
