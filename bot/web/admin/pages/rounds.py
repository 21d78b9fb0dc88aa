"""A round's page: its pairs with reasons, who is unmatched and why, its timeline; and the forms that move it on
(open, start, close), match it, change pairs by hand while it is in review, publish it, or cancel it (in any state but
closed; the confirmation box says how many people will be told). Each form calls one action of `bot.actions.rounds`."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query
from sqlmodel import Session, col
from starlette.responses import Response

from bot.actions import rounds
from bot.actions.scope import unit_of_work
from bot.errors import UserError
from bot.rounds import reports
from bot.rounds.lifecycle import allowed_round_moves
from bot.rounds.review import BreaksRules
from bot.web.admin import publishing
from bot.web.admin.forms import FormError, refused
from bot.web.admin.page import AdminPage, Page, PostedPage, page_address, paginate
from storage import repo
from storage.models import Pairing, Person, Round

MOVE_LABELS = {"collecting": "Open for collection", "running": "Start the sessions", "closed": "Close the round"}

router = APIRouter()


PAIRS_PER_PAGE = 50  # pairs, and unmatched mentees, per page: a district's 1,090 pairs with reasons were 1 MB of page
ENTRIES_PER_PAGE = 200  # scheduled actions per page when every one is listed
SMALL_TIMELINE = 24  # a round with this few scheduled actions lists them; more are summed up by day and kind


@dataclass(frozen=True)
class RoundView:
    """What the round page is asked to show: the filter, which page of each long list, and the timeline in full or by day."""

    q: str = ""
    pairs_page: int = 1
    unmatched_page: int = 1
    every_entry: bool = False
    entries_page: int = 1

    def link(self, round_id: int, anchor: str = "", **changes: object) -> str:
        """The address of this view with `changes` made, the rest kept (a first page and the day summary left out)."""
        view = replace(self, **changes)
        return page_address(
            f"/admin/rounds/{round_id}", anchor, q=view.q, page=_beyond_first(view.pairs_page), unmatched_page=_beyond_first(view.unmatched_page),
            timeline="all" if view.every_entry else None, entries_page=_beyond_first(view.entries_page) if view.every_entry else None,
        )  # fmt: skip


def _beyond_first(number: int) -> int | None:
    return number if number > 1 else None


@router.get("/rounds/{round_id}")
def round_page(
    page: Page, round_id: int, q: str = "", pairs_page: Annotated[int, Query(alias="page")] = 1, unmatched_page: int = 1,
    timeline: Literal["days", "all"] = "days", entries_page: int = 1,
) -> Response:  # fmt: skip
    view = RoundView(" ".join(q.split())[:100], pairs_page, unmatched_page, timeline == "all", entries_page)
    ended = publishing.collect(round_id)
    if ended is not None:  # a publish that outlasted its form ended since: its outcome, once
        return _publish_ended(page, ended)
    return _round_page(page, round_id, view=view)


def _round_page(page: AdminPage, round_id: int, *, view: RoundView = RoundView(), form_error: FormError | None = None) -> Response:
    # Read as plain rows, and only what the page shows in full: a published district round has 1,200 pairs and
    # 13,000 scheduled actions, of which a page shows 50 pairs and either the summary by day or 200 actions.
    with unit_of_work(page.engine) as session:
        round_, term = page.round(session, round_id)
        zone = page.zone(page.program_row(session))
        pairings = reports.pairing_rows(session, Pairing.round_id == round_id)
        groups = reports.action_groups(session, round_id=round_id)
        unmatched = list((round_.match_summary or {}).get("unmatched", []))
        emails = [u.get("email") for u in unmatched if u.get("email")]
        unmatched_people = {p.email: p for p in repo.people_by_email(session, emails=emails).values()}
        wanted = view.q
        # The filter first (over everyone in the round), then the page: "pairs 51–100 of 312 with 'Garfield'".
        people = _people(session, {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}) if wanted else {}
        shown = [p for p in pairings if _matches(wanted, people[p.mentor_id], people[p.mentee_id])] if wanted else pairings
        pairs_pager = paginate(shown, number=view.pairs_page, size=PAIRS_PER_PAGE, link=lambda n: view.link(round_id, "pairs", pairs_page=n))
        if not wanted:
            people = _people(session, {p.mentor_id for p in pairs_pager.items} | {p.mentee_id for p in pairs_pager.items})
        scheduled = sum(group.n for group in groups)
        summed_up = scheduled > SMALL_TIMELINE
        every_entry = view.every_entry or not summed_up
        entries_pager = paginate(
            range(scheduled if every_entry else 0), number=view.entries_page, size=ENTRIES_PER_PAGE,
            link=lambda n: view.link(round_id, "timeline", every_entry=True, entries_page=n),
        )  # fmt: skip
        # In words, in the program's zone, and for whom (the page's entries only): what the CLI's `round timeline` prints.
        shown_actions = reports.action_page(session, round_id=round_id, offset=entries_pager.start - 1, limit=ENTRIES_PER_PAGE) if every_entry and scheduled else []
        entries_pager = replace(entries_pager, items=reports.timeline_entries(session, round_id=round_id, timezone_name=zone.key, actions=shown_actions))
        by_day = reports.timeline_days_of(groups, timezone_name=zone.key) if not every_entry else []
        summary = reports.action_summaries(session, round_ids=[round_id]).get(round_id, reports.ActionSummary(0, 0, 0, 0, None, None))
        reach = rounds.cancel_preview(session, actor=page.actor, round_id=round_id, program=page.program) if round_.status in rounds.CANCELLABLE else None
    unmatched_ids = {email: person.id for email, person in unmatched_people.items()}
    live = [p for p in pairings if p.status != "cancelled"]
    review = RoundSummary(
        pairs=len(live), unmatched=len(unmatched), mentors_used=len({p.mentor_id for p in live}),
        mean_fit=sum(p.score for p in live) / len(live) if live else None,
    )  # fmt: skip
    shown_unmatched = [u for u in unmatched if _matches(wanted, u, *filter(None, [unmatched_people.get(u.get("email"))]))] if wanted else unmatched
    unmatched_pager = paginate(
        shown_unmatched, number=view.unmatched_page, size=PAIRS_PER_PAGE, link=lambda n: view.link(round_id, "unmatched", unmatched_page=n)
    )
    under_way = publishing.running(round_id)  # a publish started from this page, still running in this process
    response = page.render(
        "round.html", status=form_error.status if form_error else 200, form_error=form_error, active="program", round=round_, term=term,
        pairings=pairs_pager.items, pairs_pager=pairs_pager, all_pairings=len(pairings), live=len(live), people=people,
        review=review, q=wanted, unmatched_shown=unmatched_pager.items, unmatched_pager=unmatched_pager,
        actions=scheduled, steps=reports.timeline_steps_of(groups), summary=summary, unmatched=unmatched, unmatched_ids=unmatched_ids,
        entry_count=scheduled, entries_pager=entries_pager, every_entry=every_entry, summed_up=summed_up,
        moment_words=reports.moment_words, timeline_days=by_day,
        every_entry_link=view.link(round_id, "timeline", every_entry=True, entries_page=1), by_day_link=view.link(round_id, "timeline", every_entry=False),
        moves=[m for m in allowed_round_moves(round_.status) if m in MOVE_LABELS], move_labels=MOVE_LABELS,
        cancellable=reach is not None, reach=reach, cancelled=_cancelled_at(round_),
        zone=zone, when=reports.when, edits=list((round_.match_summary or {}).get("edits", [])),
        lead=rounds.lead_of(round_.match_summary),  # the paragraph the match result leads with, as the CLI and Slack show it
        rotation_plan=reports.rotation_lines(round_.match_summary or {}),  # a speed event's plan, in the CLI's and Slack's words
        publishing=under_way,
    )  # fmt: skip
    if under_way is not None:
        response.headers["Refresh"] = str(publishing.RELOAD_SECONDS)  # until it ends; no script needed
    return response


def _people(session: Session, ids: set[int]) -> dict[int, Any]:
    """The people with these ids, by id, as plain rows with what the page shows and filters on."""
    if not ids:
        return {}
    columns = (Person.id, Person.name, Person.email, Person.site, Person.prep_program)
    return {row.id: row for row in session.execute(sa.select(*columns).where(col(Person.id).in_(list(ids))))}


@router.post("/rounds/{round_id}/move")
def move(page: PostedPage, round_id: int, target: Annotated[Literal["collecting", "running", "closed"], Form()]) -> Response:
    # Opening is the same operation the CLI's and Slack's `round open` run: a topic event or interview round also
    # announces itself to its pool (once per person).
    step = {"collecting": rounds.open_round, "running": rounds.start_round, "closed": rounds.close_round}[target]
    with unit_of_work(page.engine) as session:
        moved = step(session, actor=page.actor, now=page.now(), round_id=round_id, program=page.program)
    note = f"Round {round_id} is now {moved.round.status}." + (f" Announced to {moved.announced} people or channels." if moved.announced else "")
    return page.done(f"/admin/rounds/{round_id}", note)


@router.post("/rounds/{round_id}/match")
def match(page: PostedPage, round_id: int) -> Response:
    with unit_of_work(page.engine) as session:
        matched = rounds.match_round(session, actor=page.actor, now=page.now(), settings=page.settings, round_id=round_id, program=page.program)
    return page.done(
        f"/admin/rounds/{round_id}",
        f"Matched {len(matched.pairs)} of {matched.mentees} mentees with {matched.mentors} mentors. Review the pairs, then publish.",
    )


@router.get("/rounds/{round_id}/pair")
def pair_page(page: Page, round_id: int, mentee: int, number: Annotated[int, Query(alias="page")] = 1) -> Response:
    with unit_of_work(page.engine) as session:
        page.round(session, round_id)
        choice = rounds.mentor_options(
            session, actor=page.actor, now=page.now(), settings=page.settings, round_id=round_id, mentee_id=mentee, program=page.program
        )
    # A district has hundreds of mentors: a page of them at a time, those who meet every rule (and the current one) first.
    pager = paginate(
        choice.options, number=number, size=PAIRS_PER_PAGE,
        link=lambda n: page_address(f"/admin/rounds/{round_id}/pair", "mentors", mentee=mentee, page=_beyond_first(n)),
    )  # fmt: skip
    return page.render("pair_pick.html", active="program", round=choice.round, mentee=choice.mentee, options=pager.items, pager=pager)


@router.post("/rounds/{round_id}/pair")
def pair(
    page: PostedPage, round_id: int, mentee_id: Annotated[int, Form()], mentor_id: Annotated[int, Form()], confirm: Annotated[str, Form()] = ""
) -> Response:
    try:
        with unit_of_work(page.engine) as session:
            check = rounds.set_pair(
                session, actor=page.actor, now=page.now(), settings=page.settings, round_id=round_id, mentee_id=mentee_id, mentor_id=mentor_id,
                override=confirm == "yes", program=page.program,
            )  # fmt: skip
    except BreaksRules as refused:
        # Not an error page: the rules it breaks, and a button to save it anyway.
        with unit_of_work(page.engine) as session:
            round_, _term = page.round(session, round_id)
        return page.render("pair_warning.html", status=409, active="program", round=round_, check=refused.check)
    note = f"{check.mentee.name} is now paired with {check.mentor.name}" + (" (overriding the rules you saw)." if check.broken else ".")
    return page.done(f"/admin/rounds/{round_id}", note)


@router.post("/rounds/{round_id}/pairs/{pairing_id}/remove")
def unpair(page: PostedPage, round_id: int, pairing_id: int) -> Response:
    with unit_of_work(page.engine) as session:
        mentee = rounds.remove_pair(session, actor=page.actor, now=page.now(), round_id=round_id, pairing_id=pairing_id, program=page.program)
    return page.done(f"/admin/rounds/{round_id}", f"{mentee.name} is unpaired and back on the unmatched list.")


@router.post("/rounds/{round_id}/publish")
def publish(page: PostedPage, round_id: int, message: Annotated[str, Form()] = "") -> Response:
    # On a thread of its own, so a district's round never holds the request open; a quick one answers here as before.
    engine, actor, now, settings, program = page.engine, page.actor, page.now(), page.settings, page.program

    def run(progress: Callable[[int, int], None]) -> object:
        with unit_of_work(engine) as session:
            return rounds.publish_round(
                session, actor=actor, now=now, settings=settings, round_id=round_id, message=message, program=program, progress=progress
            )  # fmt: skip

    job = publishing.start(round_id, message, run)
    if job is None:  # the first press is still publishing it: the round page shows how far it is
        return page.done(f"/admin/rounds/{round_id}")
    if not job.ended.wait(publishing.INLINE_SECONDS):
        return page.done(f"/admin/rounds/{round_id}")
    return _publish_ended(page, publishing.collect(round_id) or job)


def _publish_ended(page: AdminPage, job: publishing.PublishJob) -> Response:
    """A publish's outcome, shown once: the round page with its note, or the form again with the reason it was refused."""
    if isinstance(job.error, UserError):
        # The round page again with the note as typed; a round already published shows its state and the reason.
        return _round_page(page, job.round_id, form_error=refused("publish", job.error, {"message": job.message}, {"note": "message"}))
    if job.error is not None:
        raise job.error
    outcome = job.outcome
    return page.done(
        f"/admin/rounds/{job.round_id}", f"Published round {job.round_id}: {outcome.pairs} pairs; {outcome.actions} notices, reminders and check-ins scheduled."
    )


@router.post("/rounds/{round_id}/cancel")
def cancel(page: PostedPage, round_id: int, confirm: Annotated[str, Form()] = "", message: Annotated[str, Form()] = "") -> Response:
    if confirm != "yes":
        unticked = FormError(form="cancel", field="confirm", status=400, message="Nothing was cancelled: tick the box to confirm that the round is called off.")
        return _round_page(page, round_id, form_error=unticked)
    try:
        with unit_of_work(page.engine) as session:
            cancelled = rounds.cancel_round(session, actor=page.actor, now=page.now(), round_id=round_id, message=message, program=page.program)
    except UserError as error:
        return _round_page(page, round_id, form_error=refused("cancel", error, {"confirm": confirm, "message": message}, {}))
    return page.done(f"/admin/rounds/{round_id}", cancelled.summary())


@dataclass(frozen=True)
class RoundSummary:
    """The line above a round's pairs: how many, how many mentees left over, how many mentors used, and the mean fit."""

    pairs: int
    unmatched: int
    mentors_used: int
    mean_fit: float | None


def _matches(wanted: str, *who: Any) -> bool:
    """Whether any of these people (stored, or an unmatched mentee's summary) has `wanted` in their name, email or site."""
    needle = wanted.casefold()
    for someone in who:
        fields = (someone.get("name"), someone.get("email"), someone.get("site")) if isinstance(someone, dict) else (someone.name, someone.email, someone.site)
        if any(needle in (text or "").casefold() for text in fields):
            return True
    return False


def _cancelled_at(round_: Round) -> datetime | None:
    stamp = (round_.settings or {}).get("cancelled_at")
    return datetime.fromisoformat(stamp) if stamp else None
