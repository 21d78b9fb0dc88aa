"""People: everyone on file, searchable, with their part in the open term; and the admin's decisions on mentors
(one at a time, or every waiting mentor at once) on their principals' behalf."""

import math
from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Literal
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Form, Query
from sqlmodel import Session, col, select
from starlette.responses import Response

from bot.actions import terms
from bot.actions.scope import unit_of_work
from bot.errors import NotFound
from bot.web.admin.page import Page, PostedPage
from storage.models import Enrollment, Person

PAGE_SIZE = 50

router = APIRouter()


@router.get("/people")
def people(page: Page, q: str = "", number: Annotated[int, Query(ge=1, alias="page")] = 1) -> Response:
    with unit_of_work(page.engine) as session:
        term = page.term(session, None)
        statement = select(Person)
        if q.strip():
            like = f"%{q.strip().lower()}%"
            statement = statement.where(
                sa.or_(*(sa.func.lower(sa.func.coalesce(column, "")).like(like) for column in (Person.name, Person.email, Person.site, Person.prep_program)))
            )
        total = session.exec(select(sa.func.count()).select_from(statement.subquery())).one()
        found = list(session.exec(statement.order_by(Person.name, Person.email).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE)))
        enrolled: dict[int, Enrollment] = {}
        waiting: list[tuple[str | None, str | None]] = []
        if term is not None:
            ids = [p.id for p in found]
            if ids:
                enrolled = {e.person_id: e for e in session.exec(select(Enrollment).where(Enrollment.term_id == term.id, col(Enrollment.person_id).in_(ids)))}
            waiting = list(session.exec(
                select(Person.site, Person.principal_email).join(Enrollment, col(Enrollment.person_id) == Person.id).where(
                    Enrollment.term_id == term.id, Enrollment.status == "opted_in", Enrollment.approval == "pending"
                )
            ))  # fmt: skip
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return page.render(
        "people.html", active="people", people=found, total=total, q=q, page=number, pages=pages, term=term, enrolled=enrolled,
        pending=len(waiting), waiting_sites=_counted(site for site, _ in waiting), waiting_principals=_counted(email for _, email in waiting),
    )  # fmt: skip


def _counted(values: Iterable[str | None]) -> list[tuple[str, int]]:
    """Distinct names with how many waiting mentors each has, by name; spacing and case as the approval compares them."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for value in values:
        name = " ".join((value or "").split())
        if name:
            counts[name.casefold()] += 1
            shown.setdefault(name.casefold(), name)
    return [(shown[key], counts[key]) for key in sorted(counts)]


@router.post("/people/{person_id}/approval")
def approval(
    page: PostedPage, person_id: int, decision: Annotated[Literal["approve", "decline"], Form()], q: Annotated[str, Form()] = "",
    term_id: Annotated[int | None, Form()] = None,
) -> Response:  # fmt: skip
    with unit_of_work(page.engine) as session:
        person = session.get(Person, person_id)
        if person is None:
            raise NotFound(f"there is nobody with number {person_id} on file")
        decided = terms.decide_on_mentor(
            session, actor=page.actor, now=page.now(), settings=page.settings, mentor_email=person.email, approve=decision == "approve",
            term=_term_name(page, session, term_id), program=page.program,
        )  # fmt: skip
    return page.done("/admin/people" + (f"?q={quote(q)}" if q else ""), f"{decided.name}: {decided.approval} as a mentor, capacity {decided.capacity}.")


@router.post("/people/approve-all")
def approve_all(
    page: PostedPage, site: Annotated[str, Form()] = "", principal: Annotated[str, Form()] = "", term_id: Annotated[int | None, Form()] = None
) -> Response:
    """Approve the waiting mentors on their principals' behalf: all of them, or a site's, or a principal's."""
    with unit_of_work(page.engine) as session:
        approved = terms.approve_all(
            session, actor=page.actor, now=page.now(), settings=page.settings, site=site.strip() or None, principal=principal.strip() or None,
            term=_term_name(page, session, term_id), program=page.program,
        )  # fmt: skip
    return page.done("/admin/people", approved.summary().replace("; each is told", " on their principals' behalf; each is told"))


@router.post("/people/nudge")
def nudge(page: PostedPage, term_id: Annotated[int | None, Form()] = None) -> Response:
    """Ask again everyone in the open term (the one the page showed) who hasn't answered: the opt-in, their profile, a principal's decision."""
    with unit_of_work(page.engine) as session:
        reminded = terms.nudge(session, actor=page.actor, now=page.now(), settings=page.settings, term=_term_name(page, session, term_id), program=page.program)
    return page.done("/admin/people", reminded.summary())


def _term_name(page: PostedPage, session: Session, term_id: int | None) -> str | None:
    """The name of the term the form was shown for (its hidden term_id), so two open terms never leave it guessing."""
    return page.term(session, term_id).name if term_id is not None else None
