"""One reply in the corpus, declared as data: who wrote it, with which mail program, and what the bot must do with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.flows.definitions import WHAT_MATTERS

FLOWS = ("opt_in", "profile", "approval", "check_in", "survey")


@dataclass(frozen=True)
class Case:
    """A realistic reply to one of the bot's emails and the outcome it must have.

    `words` is what the person typed (top or bottom posting); `inline` holds answers typed under each quoted
    question, by the question's number in the email. Expectations: `saved` (exact stored values, in the forms the
    dialog state keeps), `asks` (question keys the reply must ask about specifically, nothing saved for them),
    `kept` (phrases that must survive quote stripping), `machine` (an auto-reply or bounce: nothing saved, nothing
    answered) and `forwarded` (a person must read it: it reaches the admins and the sender is told).
    """

    id: str
    client: str
    lang: str
    flow: str
    words: str = ""
    inline: Mapping[int, str] = field(default_factory=dict)
    style: str = "top"  # top | bottom | inline
    form: str | None = None  # plain | html | alternative; None = what the client sends by default
    cte: str | None = None  # 7bit | quoted-printable | base64; None = the client's default for the text
    charset: str | None = None  # utf-8 | iso-8859-1 | windows-1252; None = the client's default
    role: str = "mentee"  # the roster role (what "yes" means, and which profile questions apply)
    prior: Mapping[str, Any] = field(default_factory=dict)  # answers given in this flow before the email was sent
    signature: str | None = None  # None = the client's usual sign-off, "" = none
    saved: Mapping[str, Any] | None = None
    asks: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    machine: str | None = None  # ooo | bounce
    forwarded: bool = False
    subject: str | None = None  # the reply's subject when it is not the client's "Re: …"
    headers: Mapping[str, str] = field(default_factory=dict)
    sender: str | None = None  # a robot's own From address (bounces)
    note: str = ""

    def __post_init__(self) -> None:
        if self.flow not in FLOWS:
            raise ValueError(f"{self.id}: unknown flow {self.flow!r}")
        if self.style == "inline" and not self.inline:
            raise ValueError(f"{self.id}: an inline reply needs answers by question number")
        if not (self.saved or self.asks or self.machine or self.forwarded):
            raise ValueError(f"{self.id}: a case needs an expectation")

    @property
    def keys(self) -> tuple[str, ...]:
        """The questions this reply answers or must be asked about again."""
        return tuple(dict.fromkeys([*(self.saved or {}), *self.asks]))

    @property
    def expectation(self) -> str:
        """The kind of outcome the case checks first: machine, forwarded, saved or asks."""
        if self.machine:
            return "machine"
        if self.forwarded:
            return "forwarded"
        return "saved" if self.saved else "asks"


def weights(*picked: str) -> dict[str, float]:
    """Match weights as the profile stores them: what was picked counts fully, the rest a little."""
    unknown = set(picked) - {choice.value for choice in WHAT_MATTERS}
    if unknown:
        raise ValueError(f"not a match-weight choice: {sorted(unknown)}")
    return {choice.value: (1.0 if choice.value in picked else 0.25) for choice in WHAT_MATTERS}


def case(id: str, client: str, lang: str, flow: str, words: str = "", **extra: Any) -> Case:
    """A case with its expectations as keywords (a shorthand for the case lists)."""
    return Case(id=id, client=client, lang=lang, flow=flow, words=words, **extra)
