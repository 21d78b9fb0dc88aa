"""Exports: every spreadsheet the district may want, as CSV or XLSX, from `bot.actions.exports` (one column set per
export, shared with the CLI and `/mentoring export`, cells written formula-safe by `bot.exports`)."""

from typing import Literal

from fastapi import APIRouter
from starlette.responses import Response

from bot import exports
from bot.actions import exports as export_actions
from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.web.admin.page import Page
from storage import repo

router = APIRouter()


@router.get("/exports")
def exports_page(page: Page) -> Response:
    with unit_of_work(page.engine) as session:
        terms = page.terms(session)
        rounds = {t.id: list(reversed(repo.list_rounds(session, term_id=t.id))) for t in terms}
    return page.render("exports.html", active="exports", terms=terms, rounds=rounds)


@router.get("/exports/{kind}.{fmt}")
def export(
    page: Page, kind: Literal["pairings", "participation", "survey", "people"], fmt: Literal["csv", "xlsx"], round: int | None = None,
    term: int | None = None,
) -> Response:  # fmt: skip
    actor, program = page.actor, page.program
    with unit_of_work(page.engine) as session:
        if kind == "pairings":
            if round is None:
                raise NotFound("say which round to export (?round=ID)")
            table = export_actions.export_pairings(session, actor=actor, round_id=round, program=program)
        elif kind == "participation":
            table = export_actions.export_participation(session, actor=actor, settings=page.settings, term_id=term, program=program)
        elif kind == "survey":
            table = export_actions.export_survey(session, actor=actor, settings=page.settings, round_id=round, term_id=term, program=program)
        else:
            table = export_actions.export_people(session, actor=actor, settings=page.settings, program=program)
    data, media_type, filename = exports.render(table, fmt)
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
