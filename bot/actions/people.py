"""A person's data: their own copy and erasure (by themselves), and erasure or a full copy by a site admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import data_rights
from bot.actions.access import Actor, authorize
from bot.settings import Settings
from storage.models import DataRequest, Person


def my_data(session: Session, *, actor: Actor, now: datetime, channel: str) -> data_rights.ExportResult:
    """Queue the asking person their own data: a summary where they asked, the full file by email."""
    authorize(actor, "self.data", None)
    result = data_rights.export(session, person_id=actor.person_id, requested_by=actor.name, channel=channel, now=now)
    assert result is not None  # no request key: never a repeat
    return result


def erase_me(session: Session, *, actor: Actor, now: datetime, settings: Settings, channel: str) -> data_rights.ErasureResult:
    """Erase the asking person's data (they confirmed it); anonymous counts stay."""
    authorize(actor, "self.erase", None)
    return data_rights.erase(
        session, person_id=actor.person_id, requested_by=actor.name, channel=channel, now=now, admin_slack_ids=tuple(settings.slack_admin_ids)
    )


@dataclass(frozen=True)
class ErasurePlan:
    """What erasing a person would remove, before an admin confirms; `result` once carried out."""

    person: Person | None
    already_erased: bool = False
    result: data_rights.ErasureResult | None = None


def erase_person(
    session: Session, *, actor: Actor, now: datetime, settings: Settings, email: str, confirmed: bool, channel: str
) -> ErasurePlan:
    """Erase the data of the person with this email; without `confirmed`, only say whose data it would be."""
    authorize(actor, "person.erase", None)
    person = data_rights.find_person(session, email=email)
    if data_rights.is_erased(person):
        return ErasurePlan(person, already_erased=True)
    if not confirmed:
        return ErasurePlan(person)
    result = data_rights.erase(
        session, person_id=person.id, requested_by=f"admin:{actor.name}", channel=channel, now=now, admin_slack_ids=tuple(settings.slack_admin_ids)
    )
    return ErasurePlan(person, result=result)


def send_person_data(session: Session, *, actor: Actor, now: datetime, email: str, channel: str) -> data_rights.ExportResult:
    """Send the person with this email everything held about them (a Slack summary, the full file by email); logged."""
    authorize(actor, "person.export", None)
    person = data_rights.find_person(session, email=email)
    result = data_rights.export(session, person_id=person.id, requested_by=f"admin:{actor.name}", channel=channel, now=now)
    assert result is not None  # no request key: never a repeat
    return result


def data_requests(session: Session, *, actor: Actor) -> list[DataRequest]:
    """The log of data requests (exports and erasures), newest first: counts only, never the data."""
    authorize(actor, "person.requests", None)
    return data_rights.list_requests(session)
