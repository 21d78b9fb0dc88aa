"""Hand edits of a round in review: give a mentee another mentor, pair an unmatched mentee, or undo a pair.

Every edit is checked against the matcher's hard rules (`bot.matching.ineligibility_reasons`) with the same view
of people the matcher had: capacity left after the term's earlier rounds and this round's other pairs, and the
term's earlier pairs as history. A pair that breaks a rule is saved only when the admin confirms after seeing
why; its reasons then say it was made by hand and which rules it overrides. Each edit is logged in the round's
match summary. The admin pages reach these through `bot.actions.rounds` (mentor_options, set_pair, remove_pair).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.errors import Conflict
from bot.matching import Participant, RoundSettings, match_round
from bot.matching.eligibility import HistoryIndex, Profile, profile_reasons
from bot.rounds.participants import MENTOR_READY_APPROVALS, history_from, round_settings_for, to_participant
from bot.rounds.reports import ENROLLMENT_COLUMNS, answers_of, as_rows, earlier_pairs, enrolled_raw
from bot.rounds.service import RoundError
from storage import repo
from storage.models import Enrollment, Pairing, Person, Round


class BreaksRules(Conflict):
    """The pair breaks hard rules, so nothing was saved; carries the check, so a front end can show why and offer to save it anyway."""

    def __init__(self, check: PairCheck) -> None:
        super().__init__("; ".join(check.broken))
        self.check = check


@dataclass(frozen=True)
class PersonRef:
    """Who, as plain values that outlive the database session (a refused edit rolls its session back)."""

    id: int
    name: str
    email: str

    @classmethod
    def of(cls, person: Person) -> PersonRef:
        return cls(person.id, person.name, person.email)


@dataclass(frozen=True)
class PairCheck:
    mentor: PersonRef
    mentee: PersonRef
    broken: list[str]


def check_in_review(round_: Round) -> None:
    """Refuse hand edits unless the round is in review (its pairs are proposals nobody has been told of)."""
    if round_.status != "review":
        raise RoundError(f"round {round_.id} is {round_.status}; pairs can be changed by hand only while it is in review")


def _round_in_review(session: Session, round_id: int) -> Round:
    round_ = repo.get_round(session, round_id=round_id, for_update=True)
    check_in_review(round_)
    return round_


def _enrolled(raw: tuple[tuple, ...], mentee_id: int) -> dict[int, tuple[Enrollment, Person]]:
    # Plain rows, and only of the term's opted-in mentors and this mentee (what the checks and the pick page read): a
    # district term is 2,000 enrollments and people, and the other mentees play no part in one mentee's choice.
    status, role, person_id = 0, 1, len(ENROLLMENT_COLUMNS)
    return {
        row[person_id]: as_rows(row) for row in raw if row[status] == "opted_in" and (row[role] in ("mentor", "both") or row[person_id] == mentee_id)
    }


def _settings(session: Session, round_: Round, session_minutes: int, week_of) -> RoundSettings:
    return round_settings_for(session, round_, topic=round_.topic, sessions=round_.sessions, session_minutes=session_minutes, reference_date=week_of)


class Desk:
    """Everything needed to check pairs for one mentee of a round, loaded once."""

    def __init__(self, session: Session, *, round_: Round, mentee_id: int, session_minutes: int, today: date) -> None:
        self.session, self.round = session, round_
        raw = enrolled_raw(session, term_id=round_.term_id)
        self.enrolled = _enrolled(raw, mentee_id)
        if mentee_id not in self.enrolled or self.enrolled[mentee_id][0].role not in ("mentee", "both"):
            raise RoundError("that person is not taking part as a mentee this term")
        self.mentee_id = mentee_id
        self.week_of = round_.start_on or round_.match_on or today
        earlier = [  # read only: the pairs, without their scores and reasons
            SimpleNamespace(mentor_id=mentor, mentee_id=mentee) for mentor, mentee in earlier_pairs(session, term_id=round_.term_id, before_round_id=round_.id)
        ]
        in_round = [p for p in repo.round_pairings(session, round_id=round_.id) if p.status != "cancelled"]
        self.current = [p for p in in_round if p.mentee_id == mentee_id]
        others = [p for p in in_round if p.mentee_id != mentee_id]
        self.round_load = repo.mentor_load(others)
        self.load = repo.mentor_load([*earlier, *others])
        self.answers = answers_of(session, person_ids=list(self.enrolled))
        email_of = {row[len(ENROLLMENT_COLUMNS)]: row[len(ENROLLMENT_COLUMNS) + 1] for row in raw}  # everyone's, for the history
        for pairing in earlier:
            for pid in (pairing.mentor_id, pairing.mentee_id):
                if pid not in email_of:
                    email_of[pid] = session.get(Person, pid).email
        self.history = history_from(earlier, email_of)
        self.settings = _settings(session, round_, session_minutes, self.week_of)
        enrollment, person = self.enrolled[mentee_id]
        self.mentee = person
        self.mentee_p = to_participant(enrollment, person, self.answers[mentee_id], capacity_left=0, week_of=self.week_of)
        # Built once, not once per mentor checked: the pick page checks every mentor of a district (hundreds).
        self._mentee_profile, self._history_index = Profile(self.mentee_p), HistoryIndex(self.history)

    def mentors(self) -> list[tuple[Person, Enrollment]]:
        """The term's mentors, by name."""
        found = [(person, enrollment) for enrollment, person in self.enrolled.values() if enrollment.role in ("mentor", "both")]
        return sorted(found, key=lambda item: (item[0].name.casefold(), item[0].email))

    def mentor_participant(self, mentor_id: int) -> Participant:
        enrollment, person = self.enrolled[mentor_id]
        participant = to_participant(enrollment, person, self.answers[mentor_id], capacity_left=0, week_of=self.week_of)
        return replace(participant, capacity=max(enrollment.capacity - self.load.get(mentor_id, 0), 0))

    def check(self, mentor_id: int) -> PairCheck:
        """The hard rules pairing this mentor with the mentee would break (empty when none)."""
        if mentor_id not in self.enrolled or self.enrolled[mentor_id][0].role not in ("mentor", "both"):
            raise RoundError("that person is not taking part as a mentor this term")
        enrollment, mentor = self.enrolled[mentor_id]
        broken = []
        if enrollment.approval not in MENTOR_READY_APPROVALS:
            broken.append(f"{mentor.name}'s principal has not approved them as a mentor this term ({enrollment.approval})")
        broken += profile_reasons(Profile(self.mentor_participant(mentor_id)), self._mentee_profile, self.settings, self._history_index)
        return PairCheck(PersonRef.of(mentor), PersonRef.of(self.mentee), broken)


@dataclass(frozen=True)
class MentorOption:
    person: Person
    capacity: int
    in_round: int
    in_term: int
    broken: list[str]
    current: bool


def mentor_options(session: Session, *, round_: Round, mentee_id: int, session_minutes: int, today: date) -> tuple[Person, list[MentorOption]]:
    """Every mentor of the term for this mentee: those who meet every rule first, each with what it would break."""
    desk = Desk(session, round_=round_, mentee_id=mentee_id, session_minutes=session_minutes, today=today)
    current = {p.mentor_id for p in desk.current}
    options = [
        MentorOption(
            person, enrollment.capacity, desk.round_load.get(person.id, 0), desk.load.get(person.id, 0), desk.check(person.id).broken, person.id in current
        )
        for person, enrollment in desk.mentors()
        if person.id != mentee_id
    ]
    options.sort(key=lambda o: (not o.current, bool(o.broken), len(o.broken), o.person.name.casefold()))
    return desk.mentee, options


def set_pair(
    session: Session, *, round_id: int, mentor_id: int, mentee_id: int, admin: str, session_minutes: int, now: datetime, override: bool
) -> PairCheck:
    """Pair the mentee with the mentor in a round in review, replacing the mentee's current pair.

    Raises BreaksRules (and saves nothing) when the pair breaks a hard rule and `override` is not set.
    """
    round_ = _round_in_review(session, round_id)
    desk = Desk(session, round_=round_, mentee_id=mentee_id, session_minutes=session_minutes, today=now.date())
    check = desk.check(mentor_id)
    if check.broken and not override:
        raise BreaksRules(check)
    current = desk.current
    if [p.mentor_id for p in current] == [mentor_id]:
        return check  # already so
    if not check.broken:
        result = match_round(
            [replace(desk.mentor_participant(mentor_id), role="mentor", capacity=1), replace(desk.mentee_p, role="mentee")],
            desk.settings,
            desk.history,
        )
        pair = result.pairs[0]
        score, breakdown = pair.score, {part.factor: part.points for part in pair.breakdown}
        reasons = [f"Chosen by hand by {admin}", *pair.reasons]
    else:
        score, breakdown = 0.0, {}
        reasons = [f"Paired by hand by {admin}, overriding: " + "; ".join(check.broken)]
    if current:
        session.execute(sa.delete(Pairing).where(col(Pairing.id).in_([p.id for p in current])))
    session.add(
        Pairing(round_id=round_id, mentor_id=mentor_id, mentee_id=mentee_id, score=score, breakdown=breakdown, reasons=reasons, status="proposed", created_at=now)
    )
    session.flush()
    _log(round_, matched=_matched(session, round_id), now=now, admin=admin, action="paired", mentee=check.mentee, mentor=check.mentor, overrides=check.broken)
    return check


def remove_pair(session: Session, *, round_id: int, pairing_id: int, admin: str, now: datetime) -> Person:
    """Undo a proposed pair: the mentee goes back to the unmatched list, with the reason."""
    round_ = _round_in_review(session, round_id)
    pairing = session.get(Pairing, pairing_id)
    if pairing is None or pairing.round_id != round_id:
        raise repo.NotFound(f"there is no pair {pairing_id} in round {round_id}")
    mentee, mentor = session.get(Person, pairing.mentee_id), session.get(Person, pairing.mentor_id)
    session.delete(pairing)
    session.flush()
    _log(round_, matched=_matched(session, round_id), now=now, admin=admin, action="unpaired", mentee=mentee, mentor=mentor, overrides=[])
    return mentee


def _matched(session: Session, round_id: int) -> int:
    return len({p.mentee_id for p in repo.round_pairings(session, round_id=round_id) if p.status != "cancelled"})


def _log(round_: Round, *, matched: int, now: datetime, admin: str, action: str, mentee: Person | PersonRef, mentor: Person | PersonRef, overrides: list[str]) -> None:
    summary = dict(round_.match_summary or {})
    unmatched = [u for u in summary.get("unmatched", []) if u.get("email") != mentee.email]
    if action == "unpaired":
        unmatched.append({"email": mentee.email, "name": mentee.name, "reasons": [f"unpaired from {mentor.name} by hand by {admin}"]})
    summary["unmatched"] = unmatched
    summary["matched"] = matched
    edits = list(summary.get("edits", []))
    edits.append({"at": now.isoformat(), "by": admin, "action": action, "mentee": mentee.email, "mentor": mentor.email, "overrides": overrides})
    summary["edits"] = edits
    round_.match_summary = summary
