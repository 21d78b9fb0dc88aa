"""RFC 5545 calendar files for a pair's sessions, made with the icalendar library, as RFC 5546 (iTIP) messages.

Invites go out as METHOD:REQUEST with the program's organizer as ORGANIZER and both people of the pair as
ATTENDEEs. REQUEST rather than PUBLISH: a REQUEST is what calendar clients (Gmail, Outlook, Apple Calendar) offer
to accept into the reader's own calendar, and only an event that arrived as a REQUEST can later be withdrawn with
METHOD:CANCEL or moved by a REQUEST with a higher SEQUENCE; a PUBLISH is a read-only announcement with neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//mentorbot//mentoring sessions//EN"
METHODS = ("REQUEST", "CANCEL")


@dataclass(frozen=True)
class Party:
    """A person in an invite: display name and address."""

    name: str
    email: str

    def address(self) -> vCalAddress:
        address = vCalAddress(f"mailto:{self.email}")
        if self.name:
            address.params["cn"] = vText(self.name)
        return address


def session_uid(uid_base: str, number: int, uid_domain: str) -> str:
    """The stable UID of one session of a pairing: every later update or cancel of that session names it."""
    return f"{uid_base}-session-{number}@{uid_domain}"


def session_invite(
    *,
    method: str = "REQUEST",
    proposed: Sequence[Sequence[str]],
    uid_base: str,
    uid_domain: str,
    summary: str,
    description: str,
    organizer: Party,
    attendees: Sequence[Party],
    sequence: int,
    now: datetime,
) -> bytes:
    """A VCALENDAR with one VEVENT per session (ISO start/end pairs): METHOD:REQUEST invites, METHOD:CANCEL withdraws.

    UIDs are stable (`uid_base` + session number), so a re-sent invite with a higher `sequence` updates the same
    calendar entries instead of adding copies, and a CANCEL (same UIDs, higher `sequence`) removes them.
    """
    if method not in METHODS:
        raise ValueError(f"unsupported iTIP method {method!r}; use one of {', '.join(METHODS)}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    total = len(proposed)
    for number, (start, end) in enumerate(proposed, start=1):
        event = Event()
        event.add("uid", session_uid(uid_base, number, uid_domain))
        event.add("dtstamp", now.astimezone(timezone.utc))
        event.add("dtstart", datetime.fromisoformat(start).astimezone(timezone.utc))
        event.add("dtend", datetime.fromisoformat(end).astimezone(timezone.utc))
        event.add("summary", f"{summary} (session {number} of {total})" if total > 1 else summary)
        event.add("description", description)
        # Proposed times the pair may still move between them; a cancel marks every session as gone.
        event.add("status", "CANCELLED" if method == "CANCEL" else "TENTATIVE")
        event.add("transp", "OPAQUE")
        event.add("sequence", sequence)
        event.add("organizer", organizer.address())
        for party in attendees:
            attendee = party.address()
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            attendee.params["partstat"] = vText("NEEDS-ACTION")
            # Each person may accept into their own calendar; no reply is asked of them, so the organizer's
            # inbox is not filled with one acceptance per person and session.
            attendee.params["rsvp"] = vText("FALSE")
            event.add("attendee", attendee, encode=0)
        calendar.add_component(event)
    return calendar.to_ical()
