"""The program page: its terms and rounds at a glance, and the forms that open or close a term and create a round."""

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form
from starlette.responses import Response

from bot.actions import rounds, terms
from bot.actions.scope import unit_of_work
from bot.errors import Conflict, NotFound, UserError
from bot.outbox import channel_backlog, problems
from bot.rounds import reports
from bot.web.admin.forms import FormError, refused
from bot.web.admin.page import AdminPage, Page, PostedPage
from storage import repo

router = APIRouter()


# Words in a refused round or term request that name a field of the form, and CLI options said as the form says them.
ROUND_FIELDS = {
    "--match-on": "match_on", "match date": "match_on", "--start-on": "start_on", "start date": "start_on", "sign-ups open": "start_on",
    "--end-on": "end_on", "end date": "end_on", "sessions": "sessions", "--rotations": "rotations", "rotations": "rotations",
    "--minutes": "rotation_minutes", "minutes per rotation": "rotation_minutes", "rotation's time": "starts_at", "event time": "starts_at",
    "already past": "starts_at", "--topics": "topics", "topic": "topics", "kind of round": "kind",
}  # fmt: skip
ROUND_OPTIONS = {
    "--match-on": "“Match automatically on”", "--start-on": "“First sessions from”", "--end-on": "“Ends on”",
    "--rotations": "“Partners per mentee”", "--minutes": "“Minutes per rotation”", "--topics": "“the topics”",
}  # fmt: skip
TERM_FIELDS = {"opt-in date": "opt_in_by", "opt in": "opt_in_by", "name": "name", "term": "name"}


@router.get("")
def overview(page: Page) -> Response:
    return _overview_page(page)


def _overview_page(page: AdminPage, *, form_error: FormError | None = None) -> Response:
    with unit_of_work(page.engine) as session:
        program = page.program_row(session)
        lines = reports.load_overview(session, program_id=program.id) if program else []
        people = repo.count_people(session)
        outbox = reports.outbox_counts(session)
        trouble = problems(session)[:10]
        backlog = channel_backlog(session, slack_configured=page.settings.slack_enabled)
    open_term = next((t for t in lines if t.term.status == "open"), None)
    return page.render(
        "overview.html", status=form_error.status if form_error else 200, active="program", prog=program, terms=lines, open_term=open_term,
        people=people, outbox=outbox, backlog=backlog, problems=trouble, zone=page.zone(program), when=reports.when, today=page.now().date(),
        form_error=form_error,
    )  # fmt: skip


@router.post("/terms")
def open_term(
    page: PostedPage, name: Annotated[str, Form()], join: Annotated[Literal["roster", "invite"], Form()] = "roster",
    opt_in_by: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    try:
        by = _date(opt_in_by, "opt-in date")
        with unit_of_work(page.engine) as session:
            opened = terms.open_term(
                session, actor=page.actor, now=page.now(), settings=page.settings, name=name, opt_in_by=by, enroll_roster=join == "roster",
                program=page.program,
            )  # fmt: skip
    except UserError as error:
        # The form again, as it was typed, with the reason beside the field (nothing was saved: the unit of work rolled back).
        return _overview_page(page, form_error=refused("open-term", error, {"name": name, "opt_in_by": opt_in_by, "join": join}, TERM_FIELDS))
    return page.done("/admin", opened.summary().replace("\n", " "))


@router.post("/terms/{term_id}/close")
def close_term(page: PostedPage, term_id: int) -> Response:
    with unit_of_work(page.engine) as session:
        term = next((t for t in terms.list_terms(session, actor=page.actor, settings=page.settings, program=page.program) if t.id == term_id), None)
        if term is None:
            raise NotFound(f"there is no term {term_id} in {page.program}")
        closed = terms.close_term(session, actor=page.actor, now=page.now(), settings=page.settings, name=term.name, program=page.program)
    return page.done("/admin", f"Closed {closed.name}.")


@router.post("/rounds")
def new_round(
    page: PostedPage, kind: Annotated[Literal["micro", "speed", "event", "interview"], Form()] = "micro", topic: Annotated[str, Form()] = "",
    topics: Annotated[str, Form()] = "", sessions: Annotated[int, Form()] = 1, start_on: Annotated[str, Form()] = "",
    match_on: Annotated[str, Form()] = "", end_on: Annotated[str, Form()] = "", rotations: Annotated[str, Form()] = "",
    rotation_minutes: Annotated[str, Form()] = "", starts_at: Annotated[str, Form()] = "",
    relax: Annotated[list[str], Form()] = [], require: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    term_id: Annotated[int | None, Form()] = None,
) -> Response:  # fmt: skip
    typed = {
        "kind": kind, "topic": topic, "topics": topics, "sessions": sessions, "start_on": start_on, "match_on": match_on, "end_on": end_on,
        "rotations": rotations, "rotation_minutes": rotation_minutes, "starts_at": starts_at, "relax": relax, "require": require,
    }  # fmt: skip
    try:
        wanted = rounds.RoundRequest(
            kind=kind, topic=topic.strip() or None, topics=topics.strip() or None, sessions=sessions, start_on=_date(start_on, "start date"),
            match_on=_date(match_on, "match date"), end_on=_date(end_on, "end date"), rotations=_int(rotations, "rotations"),
            rotation_minutes=_int(rotation_minutes, "minutes per rotation"), starts_at=_time(starts_at, "first rotation's time"),
            relax=tuple(relax), require=tuple(require),
        )  # fmt: skip
        with unit_of_work(page.engine) as session:
            term = page.term(session, term_id) if term_id is not None else None
            round_ = rounds.create_round(
                session, actor=page.actor, now=page.now(), settings=page.settings, request=wanted, term=term.name if term is not None else None,
                program=page.program,
            )  # fmt: skip
    except UserError as error:
        return _overview_page(page, form_error=refused("new-round", error, typed, ROUND_FIELDS, rename=ROUND_OPTIONS))
    return page.done(f"/admin/rounds/{round_.id}", f"Created round {round_.id} ({round_.kind}); open it for collection when people are ready.")


# A value the form could not read is refused as the round or term request it belongs to (409, as a refused request is).


def _date(text: str, what: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Conflict(f"the {what} '{text}' is not a date like 2027-02-01") from None


def _time(text: str, what: str) -> datetime | None:
    """A date and time as a browser's datetime-local field sends it: the program's own time unless it names a zone."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise Conflict(f"the {what} '{text}' is not a date and time like 2027-03-04 15:30") from None


def _int(text: str, what: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Conflict(f"{what} must be a whole number, not '{text}'") from None
