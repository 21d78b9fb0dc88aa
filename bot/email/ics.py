"""RFC 5545 calendar files for a pair's proposed sessions, made with the icalendar library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//mentorbot//mentoring sessions//EN"


def session_invite(
    *,
    proposed: Sequence[Sequence[str]],
    uid_base: str,
    uid_domain: str,
    summary: str,
    description: str,
    organizer: str,
    attendees: Sequence[tuple[str, str]],
    now: datetime,
) -> bytes:
    """A VCALENDAR (METHOD:PUBLISH) with one tentative VEVENT per proposed session (ISO UTC start/end pairs).

    PUBLISH rather than REQUEST: the times are proposals the pair may move, and nobody should be sent
    RSVPs they can't act on. UIDs are stable (`uid_base` + session number), so a re-sent invite updates
    the same calendar entries instead of adding copies.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    total = len(proposed)
    for number, (start, end) in enumerate(proposed, start=1):
        event = Event()
        event.add("uid", f"{uid_base}-session-{number}@{uid_domain}")
        event.add("dtstamp", now.astimezone(timezone.utc))
        event.add("dtstart", datetime.fromisoformat(start).astimezone(timezone.utc))
        event.add("dtend", datetime.fromisoformat(end).astimezone(timezone.utc))
        event.add("summary", f"{summary} (session {number} of {total})" if total > 1 else summary)
        event.add("description", description)
        event.add("status", "TENTATIVE")
        event.add("transp", "OPAQUE")
        event.add("sequence", 0)
        organizer_address = vCalAddress(f"mailto:{organizer}")
        organizer_address.params["cn"] = vText("mentorbot")
        event.add("organizer", organizer_address)
        for name, email in attendees:
            attendee = vCalAddress(f"mailto:{email}")
            attendee.params["cn"] = vText(name)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            event.add("attendee", attendee, encode=0)
        calendar.add_component(event)
    return calendar.to_ical()
