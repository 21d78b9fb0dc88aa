"""A form the server refused, shown again: what was typed, and the error beside the field it is about.

A form endpoint that catches a `bot.errors.UserError` builds a `FormError` (`refused`) and renders the page the form
lives on with it. The templates' `field` macros (macros.html) put the value back, mark the field `aria-invalid`
and point `aria-describedby` at the message, so a screen reader reads the error with the field; an error that names
no field is shown at the top of the form.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from bot.errors import UserError
from bot.web.admin.page import USER_ERROR_PAGES


@dataclass(frozen=True)
class FormError:
    """Which form was refused, why, the field it is about (when one is named) and everything that was sent."""

    form: str
    message: str
    status: int
    field: str | None = None
    values: Mapping[str, str] = dataclass_field(default_factory=dict)

    def about(self, form: str, name: str) -> bool:
        """Whether this error is about the field `name` of the form `form`."""
        return self.form == form and self.field == name

    def value(self, form: str, name: str, default: str = "") -> str:
        """What was typed into the field, if this is the form that was refused; else `default`."""
        return str(self.values.get(name, default)) if self.form == form else default


def refused(
    form: str, error: UserError, values: Mapping[str, object], fields: Mapping[str, str], *, rename: Mapping[str, str] | None = None
) -> FormError:
    """The FormError for `error`: the field it is about is the first whose words (`fields`: words a message may use ->
    the field's name) the message uses; `rename` rewrites words meant for another front end (a CLI option such as
    `--match-on`) into the form's own."""
    message = error.sentence()
    about = next((name for words, name in fields.items() if words.casefold() in message.casefold()), None)
    for words, said in (rename or {}).items():
        message = message.replace(words, said)
    status = next(status for family, status, _title in USER_ERROR_PAGES if isinstance(error, family))
    shown = {name: "" if value is None else str(value) for name, value in values.items()}
    return FormError(form=form, message=message, status=status, field=about, values=shown)
