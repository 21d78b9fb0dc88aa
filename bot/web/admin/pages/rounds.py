"""A round's page: its pairs with reasons, who is unmatched and why, its timeline; and the forms that move it on
(open, start, close), match it, change pairs by hand while it is in review, publish it, or cancel it (in any state but
closed; the confirmation box says how many people will be told). Each form calls one action of `bot.actions.rounds`."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form
from sqlmodel import col, select
from starlette.responses import Response

from bot.actions import rounds
from bot.actions.scope import unit_of_work
from bot.rounds import reports
from bot.rounds.lifecycle import allowed_round_moves
from bot.rounds.review import BreaksRules
from bot.web.admin.page import Page, PostedPage
from storage import repo
from storage.models import Person, Round

MOVE_LABELS = {"collecting": "Open for collection", "running": "Start the sessions", "closed": "Close the round"}

router = APIRouter()


@router.get("/rounds/{round_id}")
def round_page(page: Page, round_id: int) -> Response:
    with unit_of_work(page.engine) as session:
        round_, term = page.round(session, round_id)
        zone = page.zone(page.program_row(session))
        pairings = repo.round_pairings(session, round_id=round_id)
        ids = {p.mentor_id for p in pairings} | {p.mentee_id for p in pairings}
        people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(list(ids))))} if ids else {}
        actions = repo.round_actions(session, round_id=round_id)
        unmatched = list((round_.match_summary or {}).get("unmatched", []))
        emails = [u.get("email") for u in unmatched if u.get("email")]
        unmatched_ids = {p.email: p.id for p in repo.people_by_email(session, emails=emails).values()}
        reach = rounds.cancel_preview(session, actor=page.actor, round_id=round_id, program=page.program) if round_.status in rounds.CANCELLABLE else None
    live = [p for p in pairings if p.status != "cancelled"]
    return page.render(
        "round.html", active="program", round=round_, term=term, pairings=pairings, live=len(live), people=people,
        actions=actions, steps=reports.timeline_steps(actions), summary=reports.summarize_actions(actions), unmatched=unmatched, unmatched_ids=unmatched_ids,
        moves=[m for m in allowed_round_moves(round_.status) if m in MOVE_LABELS], move_labels=MOVE_LABELS,
        cancellable=reach is not None, reach=reach, cancelled=_cancelled_at(round_),
        zone=zone, when=reports.when, edits=list((round_.match_summary or {}).get("edits", [])),
        lead=rounds.lead_of(round_.match_summary),  # the paragraph the match result leads with, as the CLI and Slack show it
    )  # fmt: skip


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
def pair_page(page: Page, round_id: int, mentee: int) -> Response:
    with unit_of_work(page.engine) as session:
        page.round(session, round_id)
        choice = rounds.mentor_options(
            session, actor=page.actor, now=page.now(), settings=page.settings, round_id=round_id, mentee_id=mentee, program=page.program
        )
    return page.render("pair_pick.html", active="program", round=choice.round, mentee=choice.mentee, options=choice.options)


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
    with unit_of_work(page.engine) as session:
        outcome = rounds.publish_round(
            session, actor=page.actor, now=page.now(), settings=page.settings, round_id=round_id, message=message, program=page.program
        )
    return page.done(
        f"/admin/rounds/{round_id}", f"Published round {round_id}: {outcome.pairs} pairs; {outcome.actions} notices, reminders and check-ins scheduled."
    )


@router.post("/rounds/{round_id}/cancel")
def cancel(page: PostedPage, round_id: int, confirm: Annotated[str, Form()] = "", message: Annotated[str, Form()] = "") -> Response:
    if confirm != "yes":
        return page.done(f"/admin/rounds/{round_id}", "Nothing was cancelled: tick the box to confirm that the round is called off.")
    with unit_of_work(page.engine) as session:
        cancelled = rounds.cancel_round(session, actor=page.actor, now=page.now(), round_id=round_id, message=message, program=page.program)
    return page.done(f"/admin/rounds/{round_id}", cancelled.summary())


def _cancelled_at(round_: Round) -> datetime | None:
    stamp = (round_.settings or {}).get("cancelled_at")
    return datetime.fromisoformat(stamp) if stamp else None
