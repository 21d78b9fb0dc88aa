"""Who may do what: the actor behind a request, and the one access table every front end goes through.

Roles, from the widest:
- site admin: whoever runs the `mentorbot` command on the server, a Slack user in SLACK_ADMIN_IDS or a workspace
  admin or owner, and anyone signed in to the admin pages with a one-time link;
- program admin: a person a program's definition names as its admin (by Slack ID or email), for that program only;
- participant: a person on file acting on their own data.
Principals decide on mentors by answering their approval dialog (`bot/dialogs.py`), never through these actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import NotAllowed
from bot.programs.store import program_admin
from storage.models import Program

SITE_ADMIN = "site admin"
PROGRAM_ADMIN = "program admin"
PARTICIPANT = "participant"

_ADMINS = frozenset({SITE_ADMIN, PROGRAM_ADMIN})
_SITE = frozenset({SITE_ADMIN})

# The access matrix: each operation of bot/actions/ and the roles that may run it. People are not kept per program,
# so what touches a person's whole record (erasure, a full export) or every program at once is for site admins.
ACCESS: dict[str, frozenset[str]] = {
    "term.open": _ADMINS,
    "term.close": _ADMINS,
    "term.list": _ADMINS,
    "term.status": _ADMINS,
    "term.nudge": _ADMINS,
    "mentor.decide": _ADMINS,
    "mentor.approve_all": _ADMINS,
    "round.create": _ADMINS,
    "round.list": _ADMINS,
    "round.show": _ADMINS,
    "round.open": _ADMINS,
    "round.match": _ADMINS,
    "round.edit_pairs": _ADMINS,
    "round.preview": _ADMINS,
    "round.publish": _ADMINS,
    "round.start": _ADMINS,
    "round.close": _ADMINS,
    "round.cancel": _ADMINS,
    "pairing.rematch": _ADMINS,
    "pool.show": _ADMINS,
    "export.pairings": _ADMINS,
    "export.people": _ADMINS,
    "program.show": _ADMINS,
    "program.set": _ADMINS,
    "program.question": _ADMINS,
    "program.list": _ADMINS,
    "program.apply": _SITE,
    "person.export": _SITE,
    "person.erase": _SITE,
    "person.requests": _SITE,
    "roster.import": _SITE,
    "self.data": frozenset({PARTICIPANT}),
    "self.erase": frozenset({PARTICIPANT}),
}


@dataclass(frozen=True)
class Actor:
    """Who asks: their name for records and logs, and what identifies them to the access table."""

    name: str
    site_admin: bool = False
    slack_user_id: str | None = None
    email: str | None = None
    person_id: int | None = None

    @classmethod
    def operator(cls, name: str = "admin") -> Actor:
        """Whoever runs the `mentorbot` command: they hold the database, so they are a site admin."""
        return cls(name=name, site_admin=True)


def roles_of(actor: Actor, program: Program | None) -> frozenset[str]:
    """The roles `actor` holds for `program` (None: an operation that concerns no single program)."""
    roles = set()
    if actor.site_admin:
        roles.add(SITE_ADMIN)
    if program is not None and (actor.slack_user_id or actor.email):
        if program_admin(program, slack_user_id=actor.slack_user_id, email=actor.email):
            roles.add(PROGRAM_ADMIN)
    if actor.person_id is not None:
        roles.add(PARTICIPANT)
    return frozenset(roles)


def may(actor: Actor, operation: str, program: Program | None) -> bool:
    """Whether `actor` may run `operation` on `program`."""
    return bool(roles_of(actor, program) & ACCESS[operation])


def authorize(actor: Actor, operation: str, program: Program | None) -> None:
    """Refuse with NotAllowed unless `actor` may run `operation` on `program`."""
    if may(actor, operation, program):
        return
    allowed = ACCESS[operation]
    if allowed == _SITE:
        raise NotAllowed("only the site's admins can do that (people are kept for the whole site, not per program)")
    if PARTICIPANT in allowed:
        raise NotAllowed("that is only for people on the program's roster, about their own data")
    where = f" of {program.name}" if program is not None else ""
    raise NotAllowed(f"only the program's admins{where} can do that; ask your program admin to add you")
