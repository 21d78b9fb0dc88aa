"""The one family of errors a user can cause: each has a stable code and a plain message meant for the person.

Front ends turn a `UserError` into exit code 1 (CLI), an ephemeral answer (Slack) or an inline error page (admin
pages), and let every other exception be a bug: logged, and answered with a generic "something went wrong".
This module is a leaf: it imports nothing, so every room may raise these.
"""

from __future__ import annotations


class UserError(Exception):
    """A request that cannot be carried out as asked; `code` is stable, the message says why in plain words."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)

    def sentence(self) -> str:
        """The message as a sentence: a capital first letter and a full stop."""
        return as_sentence(str(self))


class NotFound(UserError):
    """Something the user named does not exist."""

    code = "not_found"


class NotAllowed(UserError):
    """The user may not do this (for this program)."""

    code = "not_allowed"


class Conflict(UserError):
    """The request is understood but the record's state does not allow it now (e.g. a round in the wrong step)."""

    code = "conflict"


def as_sentence(text: str) -> str:
    """`text` with a capital first letter and closing punctuation."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
