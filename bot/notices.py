"""The notices the outbox carries: one typed model per kind, each rendered by every channel.

A notice is channel-neutral data about one thing a person (or an admin) should hear: a pairing, a reminder, the
answer to their email. Producers build the model and store `to_payload()` as the outbox message's JSON body; the
Slack and email channels read it back with `notice_of(message)` when they send. The payload keeps the keys it has
always had, with the kind under "notice", so rows queued before the models existed still read: a key they lack, or
hold as null, takes the field's default, and a key no model knows any more is dropped. What can't be read at all
(an unknown kind, a value of the wrong shape) raises `NoticeError`, which the senders turn into a failed message.

`PURPOSES` says which outbox purposes carry which kind; `model_for_purpose` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class NoticeError(ValueError):
    """A payload that is no notice we know: an unknown kind, or a value of the wrong shape."""


class Thread(BaseModel):
    """Where an email answer goes in the thread of the email it answers."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Refs:
    """What a notice names that leads to its program (None for what it does not name)."""

    program_id: int | None = None
    program_name: str | None = None
    term_id: int | None = None
    round_id: int | None = None
    pairing_id: int | None = None
    context: str | None = None


_REF_FIELDS = frozenset(Refs.__dataclass_fields__)


class Notice(BaseModel):
    """What every notice has: its kind (stored under "notice"), the reader's name, and a subject and plain text that
    any channel can show when it has nothing better for the kind (each kind adds what its own renderings need)."""

    # Building a notice with a field it does not have is a bug and fails; reading old rows drops such keys first.
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, coerce_numbers_to_str=True)

    kind: ClassVar[str]
    person_name: str = ""  # the reader's name, for a greeting when the message has no person on file
    subject: str = ""  # a title (an email answering a person's email: the subject of theirs)
    text: str = ""  # what the notice says in plain text; empty when each channel builds its own words

    @model_validator(mode="before")
    @classmethod
    def _nulls_read_as_missing(cls, data: Any) -> Any:
        # Producers have always written null for "not given" (no topic, no custom message): the default stands in.
        return {key: value for key, value in data.items() if value is not None} if isinstance(data, Mapping) else data

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notice:
        """The notice a stored payload holds (keys this kind does not know are dropped); NoticeError if it can't be read."""
        known = {field.alias or name for name, field in cls.model_fields.items()}
        try:
            return cls.model_validate({key: value for key, value in payload.items() if key in known})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'payload'}: {error['msg']}" for error in exc.errors())
            raise NoticeError(f"a {cls.kind!r} notice that can't be read ({problems})") from None

    def to_payload(self) -> dict[str, Any]:
        """The JSON the outbox stores: the kind under "notice", then every field under its stored name."""
        return {"notice": self.kind, **self.model_dump(mode="json", by_alias=True)}

    def addressed_to(self, name: str) -> Notice:
        """The same notice carrying its reader's name."""
        return self.model_copy(update={"person_name": name})

    def refs(self) -> Refs:
        """The program, term, round, pairing or dialog context this notice names, to find the program it speaks for."""
        named = self.model_dump(include={name for name in type(self).model_fields if name in _REF_FIELDS})
        return Refs(**named)


# --- dialogs -----------------------------------------------------------------------------------------------------


class FlowPrompt(Notice):
    """Ask a person to start or continue a dialog; each channel shows the questions still pending when it sends."""

    kind: ClassVar[str] = "flow_prompt"
    flow: str
    context: str
    reminder: bool = False
    term_name: str | None = None  # opt-in and profile: the term it is about
    mentor_name: str | None = None  # approval: the mentor the principal is asked about
    mentor_email: str | None = None
    capacity: int | None = None
    partner_name: str | None = None  # check-in: the person the pair is with


class FlowReply(Notice):
    """The answer to a person's email reply in a dialog: what was understood, proposed, doubted or passed on."""

    kind: ClassVar[str] = "flow_reply"
    flow: str
    context: str
    # [question label, words] lists: the words are usually text, but a value read from a reply may stand in for them.
    understood: list[list[Any]] = Field(default_factory=list)  # what was saved
    errors: dict[str, str] = Field(default_factory=dict)  # question key -> what was wrong with the answer
    unplaced: list[str] = Field(default_factory=list)  # lines that answered no question
    proposed: list[list[Any]] = Field(default_factory=list)  # waiting for a yes
    proposals: list[list[Any]] = Field(default_factory=list)  # [flow, key, value, words]: what a yes would save
    doubts: list[list[Any]] = Field(default_factory=list)  # [label, the question back]
    passed_on: str | None = None  # the sentence saying who has the words a person must read
    dropped: list[list[Any]] = Field(default_factory=list)  # what the person said no to
    asks: dict[str, Any] = Field(default_factory=dict)  # question key -> "confirm" or the question asked about it
    completed: bool = False
    next_flow: str | None = None  # the dialog the questions go on with (opt-in, then profile)
    next_context: str | None = None
    done_message: str | None = None
    thread: Thread = Field(default_factory=Thread)


class PassedOn(Notice):
    """The answer to an email reply that went to a person: who has it."""

    kind: ClassVar[str] = "passed_on"
    thread: Thread = Field(default_factory=Thread)


class ApprovalDecided(Notice):
    """A principal's decision on a mentor's offer, for the mentor."""

    kind: ClassVar[str] = "approval_decided"
    approval: str = ""  # approved | declined
    capacity: int | None = None
    by: str | None = None  # the principal's name
    term_id: int | None = None


# --- pairings and their sessions ---------------------------------------------------------------------------------


class Pairing(Notice):
    """A pairing for one side of the pair (also when its sessions change: `changed` says how)."""

    kind: ClassVar[str] = "pairing"
    round_id: int | None = None
    pairing_id: int | None = None
    role: str = "mentee"  # the reader's role in the pair
    partner_name: str = ""
    partner_email: str = ""
    reasons: list[str] = Field(default_factory=list)
    topic: str | None = None
    sessions: int = 1
    proposed: list[list[str]] = Field(default_factory=list)  # [start, end] of each session, ISO 8601
    custom_message: str | None = None
    guide_url: str | None = None
    guide: dict[str, Any] | None = None  # the guide as rendered when queued (bot.rounds.guides.guide_renderings)
    ics_sequence: int = 0
    changed: str | None = None


class PairingCancelled(Notice):
    """A pairing withdrawn (rematched or cancelled); its sessions come off the calendar."""

    kind: ClassVar[str] = "pairing.cancelled"
    round_id: int | None = None
    pairing_id: int | None = None
    role: str = "mentee"
    partner_name: str = ""
    partner_email: str = ""
    topic: str | None = None
    proposed: list[list[str]] = Field(default_factory=list)
    ics_sequence: int = 0


class CancelledPair(BaseModel):
    """One pair of a cancelled round as its reader knew it: whom with, and the sessions to take off their calendar."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    pairing_id: int | None = None
    partner_name: str = ""
    partner_email: str = ""
    topic: str | None = None
    proposed: list[list[str]] = Field(default_factory=list)  # [start, end] of each session, ISO 8601
    ics_sequence: int = 0


class RoundCancelled(Notice):
    """A round called off after its pairs were told: one notice per person, naming their pairs, with the admin's note."""

    kind: ClassVar[str] = "round.cancelled"
    round_id: int | None = None
    round_name: str = ""  # what the round was: "2-session micro-mentoring on SEL"
    pairs: list[CancelledPair] = Field(default_factory=list)
    custom_message: str | None = None


class SessionReminder(Notice):
    """A planned session is near."""

    kind: ClassVar[str] = "reminder"
    pairing_id: int | None = None
    number: int | None = None
    partner_name: str = ""
    starts_at: str | None = None  # ISO 8601


class TouchpointShare(Notice):
    """Between sessions: the mentee shares their plan or work with the mentor."""

    kind: ClassVar[str] = "touchpoint.share"
    pairing_id: int | None = None
    after_session: int | None = None


class TouchpointFeedback(Notice):
    """Between sessions: the mentor gives feedback on what the mentee shared."""

    kind: ClassVar[str] = "touchpoint.feedback"
    pairing_id: int | None = None
    after_session: int | None = None


class Escalation(Notice):
    """For admins: a pair looks stalled."""

    kind: ClassVar[str] = "escalation"
    pairing_id: int | None = None
    why: str = ""


# --- rounds that announce themselves and speed events ------------------------------------------------------------


class RoundAnnouncement(Notice):
    """A topic event's or interview round's invitation: join by button, select or reply."""

    kind: ClassVar[str] = "round.announce"
    round_id: int | None = None
    program_id: int | None = None
    program_name: str | None = None
    round_kind: str = Field("event", alias="kind")  # stored as "kind", as it always was: event | interview
    topics: list[str] = Field(default_factory=list)
    choices: list[str] = Field(default_factory=list)  # interview: positions and sites to pick from
    sessions: int = 1
    match_on: str | None = None  # ISO dates
    end_on: str | None = None


class SignupReply(Notice):
    """The answer to an email reply to a round's announcement."""

    kind: ClassVar[str] = "signup.reply"
    round_id: int | None = None
    program_id: int | None = None
    program_name: str | None = None
    status: str = ""
    thread: Thread = Field(default_factory=Thread)


class SpeedSchedule(Notice):
    """A person's tables at a speed-mentoring event, the day before."""

    kind: ClassVar[str] = "speed.schedule"
    round_id: int | None = None
    rotations: list[tuple[int, str]] = Field(default_factory=list)  # (rotation, whom they meet)


class SpeedRotation(Notice):
    """A rotation of a speed event is starting: whom to meet, with the speed card."""

    kind: ClassVar[str] = "speed.rotation"
    round_id: int | None = None
    rotation: int | None = None
    partner_name: str = ""
    guide: dict[str, Any] | None = None


# --- data rights and the mail channel's health -------------------------------------------------------------------


class DataExport(Notice):
    """A person's own data (the JSON attached by email), or a word about erasing it: it only answers their request."""

    kind: ClassVar[str] = "data_export"
    data: dict[str, Any] | None = None
    thread: Thread = Field(default_factory=Thread)


class DataErasure(Notice):
    """For admins: a person's data was erased (counts only, never a name)."""

    kind: ClassVar[str] = "data_erasure"


class EmailFailingYou(Notice):
    """For the person, on Slack: mail to their address bounces."""

    kind: ClassVar[str] = "email_failing_you"


class EmailFailing(Notice):
    """For admins: mail to a person's address bounces."""

    kind: ClassVar[str] = "email_failing"
    failing_person_id: int | None = None
    failing_email: str = ""
    failure: str = ""


class HeldReply(Notice):
    """For admins: a teacher's words the bot could not answer, with who wrote them and what they concern."""

    kind: ClassVar[str] = "held_reply"
    held_reply_id: int | None = None
    reason: str = ""
    from_name: str = ""
    from_email: str = ""
    from_slack_id: str | None = None
    about: str = ""
    round_id: int | None = None
    pairing_id: int | None = None
    program_id: int | None = None
    program_name: str | None = None
    page_url: str = ""


# --- the registry ------------------------------------------------------------------------------------------------

KINDS: dict[str, type[Notice]] = {
    model.kind: model
    for model in (
        FlowPrompt, FlowReply, PassedOn, ApprovalDecided, Pairing, PairingCancelled, RoundCancelled, SessionReminder, TouchpointShare,
        TouchpointFeedback, Escalation, RoundAnnouncement, SignupReply, SpeedSchedule, SpeedRotation, DataExport,
        DataErasure, EmailFailingYou, EmailFailing, HeldReply,
    )
}  # fmt: skip

# Outbox purpose -> the kind its messages carry. "prompt.*" stands for "prompt.<flow>" and "email.reply.*" for
# "email.reply.<flow>", one purpose per dialog; an exact name ("email.reply.notice") wins over its family.
PURPOSES: dict[str, type[Notice]] = {
    "prompt.*": FlowPrompt,
    "email.reply.*": FlowReply,
    "email.reply.notice": PassedOn,
    "email.reply.signup": SignupReply,
    "approval.decided": ApprovalDecided,
    "pairing": Pairing,
    "pairing.update": Pairing,
    "pairing.cancelled": PairingCancelled,
    "round.cancelled": RoundCancelled,
    "session.reminder": SessionReminder,
    "touchpoint.share": TouchpointShare,
    "touchpoint.feedback": TouchpointFeedback,
    "escalation": Escalation,
    "round.announce": RoundAnnouncement,
    "speed.schedule": SpeedSchedule,
    "speed.rotation": SpeedRotation,
    "data.export": DataExport,
    "data.erasure_code": DataExport,
    "data.erasure": DataErasure,
    "email.failing.person": EmailFailingYou,
    "email.failing": EmailFailing,
    "held_reply": HeldReply,
}


def purpose_pattern(purpose: str) -> str | None:
    """The `PURPOSES` entry a purpose falls under (itself, or its family such as "prompt.*"); None if none."""
    if purpose in PURPOSES:
        return purpose
    family = purpose.rpartition(".")[0] + ".*"
    return family if "." in purpose and family in PURPOSES else None


def model_for_purpose(purpose: str) -> type[Notice]:
    """The kind of notice messages of this purpose carry; NoticeError for a purpose no producer uses."""
    pattern = purpose_pattern(purpose)
    if pattern is None:
        raise NoticeError(f"no notice is registered for the purpose {purpose!r}")
    return PURPOSES[pattern]


def notice_from_payload(payload: Mapping[str, Any]) -> Notice:
    """The notice a stored payload holds, by its "notice" kind; NoticeError if the kind is unknown or the payload malformed."""
    if not isinstance(payload, Mapping):
        raise NoticeError(f"a notice payload must be a JSON object, not {type(payload).__name__}")
    kind = payload.get("notice")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise NoticeError(f"unknown notice kind {kind!r}")
    return model.from_payload(payload)


class StoredMessage(Protocol):
    """What `notice_of` reads of an outbox message (storage.models.OutboxMessage)."""

    id: int | None
    purpose: str
    body: Any


def notice_of(message: StoredMessage) -> Notice:
    """The notice an outbox message carries; NoticeError (naming the message) if it can't be read."""
    try:
        return notice_from_payload(message.body)
    except NoticeError as exc:
        raise NoticeError(f"outbox message {message.id} ({message.purpose}): {exc}") from None
