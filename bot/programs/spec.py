"""What one mentoring program is: its people, rules, questions, admins and calendar, as a validated definition.

The definition is stored in `Program.settings` as `ProgramSpec.settings_dict()` (the old keys such as `topics`,
`custom_questions`, `require_approval` keep their names, so every reader of the settings keeps working), and
read back with `ProgramSpec.from_settings`, which also understands settings written before definitions existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.email.availability import DEFAULT_LANGUAGES, BellTimes

# The names the matcher understands (bot.matching: RoundSettings.require and RELAXABLE_RULES).
RequiredRule = Literal["same_subject", "cross_site", "interest"]
RelaxableRule = Literal["grade_band", "subject", "availability", "strengths"]
QuestionKind = Literal["text", "choice", "multi_choice", "scale"]

SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_ID_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CLOCK_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# Keys of Program.settings that the definition derives rather than holds (kept for older readers).
DERIVED_KEYS = ("admin_emails",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _clean_list(values: list[str]) -> list[str]:
    """Blank entries dropped, repeats removed (first spelling kept, compared case-insensitively)."""
    seen: set[str] = set()
    out = []
    for value in values:
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    return out


def _one_email(value: str) -> str:
    value = value.strip().lower()
    if not EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _one_admin(value: str) -> str:
    value = value.strip()
    if SLACK_ID_RE.match(value):
        return value
    if EMAIL_RE.match(value):
        return value.lower()
    raise ValueError(f"{value!r} is neither a Slack user ID (like U012ABCDEF) nor an email address")


# Checked one by one, so an error points at the very line of the list that is wrong.
Email = Annotated[str, AfterValidator(_one_email)]
AdminId = Annotated[str, AfterValidator(_one_admin)]


class PoolSpec(_Strict):
    """Who the program is for, as roster filters; an empty filter means everyone on the roster."""

    sites: list[str] = Field(default_factory=list)
    roles: list[Literal["mentor", "mentee", "both"]] = Field(default_factory=list)
    grade_bands: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    positions: list[str] = Field(default_factory=list)
    people: list[Email] = Field(default_factory=list, description="emails always in the pool")
    exclude: list[Email] = Field(default_factory=list, description="emails never in the pool")

    _clean = field_validator("sites", "grade_bands", "subjects", "positions")(classmethod(lambda cls, v: _clean_list(v)))
    _people = field_validator("people", "exclude")(classmethod(lambda cls, v: _clean_list(v)))

    @property
    def has_filters(self) -> bool:
        """True when any roster filter (not the explicit people list) narrows the pool."""
        return bool(self.sites or self.roles or self.grade_bands or self.subjects or self.positions)


class RulesSpec(_Strict):
    """Defaults for the matching rules of the program's rounds (a round's own settings still win)."""

    require: list[RequiredRule] = Field(default_factory=list)
    relax: list[RelaxableRule] = Field(default_factory=list)
    allow_both_role: bool = True  # false: people whose roster role is "both" take part as mentors only

    _unique = field_validator("require", "relax")(classmethod(lambda cls, v: sorted(set(v))))


class EquitySpec(_Strict):
    """How the program spreads mentors fairly across sites."""

    high_need_sites: list[str] = Field(default_factory=list)
    site_cap: int | None = Field(default=None, ge=1, le=1000, description="at most this many mentees of one site placed per round")
    fairness_floor: int | None = Field(default=None, ge=0, le=1000, description="fit points every site's mean must reach")

    _clean = field_validator("high_need_sites")(classmethod(lambda cls, v: _clean_list(v)))


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class BellTimesSpec(_Strict):
    """The school day, as "HH:MM" pairs; what is left out keeps the usual default (an unset planning period is asked)."""

    before_school: tuple[str, str] | None = None
    after_school: tuple[str, str] | None = None
    lunch: tuple[str, str] | None = None
    planning_period: tuple[str, str] | None = None
    day_start: str | None = None
    day_end: str | None = None

    @model_validator(mode="after")
    def _clocks(self) -> BellTimesSpec:
        for name in ("before_school", "after_school", "lunch", "planning_period"):
            value = getattr(self, name)
            if value is None:
                continue
            if not all(CLOCK_RE.match(part) for part in value):
                raise ValueError(f'{name} is two times like ["15:30", "16:30"]')
            if _minutes(value[1]) <= _minutes(value[0]):
                raise ValueError(f"{name} ends before it starts")
        for name in ("day_start", "day_end"):
            value = getattr(self, name)
            if value is not None and not CLOCK_RE.match(value):
                raise ValueError(f'{name} is a time like "07:00"')
        start, end = self.bell().day_start, self.bell().day_end
        if end <= start:
            raise ValueError("the school day ends before it starts")
        return self

    def bell(self) -> BellTimes:
        """The bell times the email reader uses."""
        defaults = BellTimes()
        span = lambda value, default: default if value is None else (_minutes(value[0]), _minutes(value[1]))  # noqa: E731
        return BellTimes(
            before_school=span(self.before_school, defaults.before_school),
            after_school=span(self.after_school, defaults.after_school),
            lunch=span(self.lunch, defaults.lunch),
            planning_period=span(self.planning_period, defaults.planning_period),
            day_start=defaults.day_start if self.day_start is None else _minutes(self.day_start),
            day_end=defaults.day_end if self.day_end is None else _minutes(self.day_end),
        )


class CustomQuestion(_Strict):
    """A profile question of the program's own; its answers are kept per program."""

    key: str
    prompt: str = Field(min_length=1, max_length=300)
    kind: QuestionKind = "text"
    options: list[str] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None
    required: bool = False

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        value = value.lower()
        if not KEY_RE.match(value):
            raise ValueError("a question key is one word of lower-case letters, digits and _ (at most 40), e.g. coaching_style")
        return value

    @model_validator(mode="after")
    def _shape(self) -> CustomQuestion:
        self.options = _clean_list([option.strip() for option in self.options])
        if self.kind in ("choice", "multi_choice"):
            if len(self.options) < 2:
                raise ValueError(f"a {self.kind} question needs at least two options")
            if len(self.options) > 100:
                raise ValueError("a question can offer at most 100 options")
        elif self.options:
            raise ValueError(f"a {self.kind} question has no options (only choice and multi_choice do)")
        if self.kind == "scale":
            low = 1 if self.min is None else self.min
            high = 5 if self.max is None else self.max
            if not low < high or high - low > 10:
                raise ValueError("a scale runs from min to max, with min below max and at most 11 steps (e.g. 1 to 5)")
            self.min, self.max = low, high
        elif self.min is not None or self.max is not None:
            raise ValueError("only a scale question has min and max")
        return self


class ProgramSpec(_Strict):
    """One mentoring program as a file declares it."""

    name: str = Field(min_length=1, max_length=200)
    timezone: str = "America/Los_Angeles"
    admins: list[AdminId] = Field(default_factory=list, description="Slack user IDs (U…) and/or emails")
    pool: PoolSpec = Field(default_factory=PoolSpec)
    rules: RulesSpec = Field(default_factory=RulesSpec)
    topics: list[str] = Field(default_factory=list, description="empty: the built-in topic list")
    subjects: list[str] = Field(default_factory=list, description="empty: the built-in subject list")
    custom_questions: list[CustomQuestion] = Field(default_factory=list)
    # Unset (None): the site's REQUIRE_PRINCIPAL_APPROVAL decides; set, it overrides that setting (see `approval_rule`).
    require_approval: bool | None = Field(default=None, description="unset: REQUIRE_PRINCIPAL_APPROVAL decides")
    max_capacity: int = Field(default=3, ge=1, le=10)
    event_cap: int = Field(default=3, ge=1, le=50, description="topic events one person may join per term")
    announce_channel: str | None = None
    equity: EquitySpec = Field(default_factory=EquitySpec)
    blackouts: list[tuple[date, date]] = Field(default_factory=list)
    quiet_hours: tuple[str, str] | None = None
    allow_weekends: bool = False
    session_spacing_days: int = Field(default=7, ge=1, le=60)
    auto_publish: bool = False
    guide_overrides: dict[str, str] = Field(default_factory=dict)
    bell_times: BellTimesSpec = Field(default_factory=BellTimesSpec)
    organizer_email: Email | None = Field(default=None, description="who calendar invites come from; unset: the first admin email, else MAIL_FROM")
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES), description="languages replies may be written in (CLDR codes)")

    @field_validator("languages")
    @classmethod
    def _languages(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                Locale.parse(value.replace("-", "_"))
            except (ValueError, UnknownLocaleError):
                raise ValueError(f"{value!r} is not a language code such as en, es or fr") from None
        cleaned = _clean_list([value.replace("-", "_") for value in values])
        if not cleaned:
            raise ValueError("name at least one language, e.g. en")
        return cleaned

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as America/Los_Angeles") from None
        return value

    _admins = field_validator("admins")(classmethod(lambda cls, v: _clean_list(v)))

    @field_validator("announce_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not CHANNEL_ID_RE.match(value):
            raise ValueError(f"{value!r} is not a Slack channel ID (like C012ABCDEF; find it under the channel's details)")
        return value

    _clean = field_validator("topics", "subjects")(classmethod(lambda cls, v: _clean_list(v)))

    @field_validator("blackouts")
    @classmethod
    def _blackouts(cls, values: list[tuple[date, date]]) -> list[tuple[date, date]]:
        for start, end in values:
            if end < start:
                raise ValueError(f"the blackout {start} to {end} ends before it starts")
        return sorted(values)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: tuple[str, str] | None) -> tuple[str, str] | None:
        if value is not None and not all(CLOCK_RE.match(part) for part in value):
            raise ValueError('quiet hours are two times like ["19:00", "07:00"]')
        return value

    @model_validator(mode="after")
    def _unique_questions(self) -> ProgramSpec:
        keys = [question.key for question in self.custom_questions]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"question keys must be unique; repeated: {', '.join(repeated)}")
        return self

    # -- storage --------------------------------------------------------------------------------------------

    @property
    def admin_emails(self) -> list[str]:
        """The admins named by email (they hear about stalled pairs by email)."""
        return [admin for admin in self.admins if "@" in admin]

    @property
    def admin_slack_ids(self) -> list[str]:
        """The admins named by Slack user ID."""
        return [admin for admin in self.admins if "@" not in admin]

    def settings_dict(self) -> dict[str, Any]:
        """What `Program.settings` holds for this definition (name and timezone live in their own columns)."""
        data = self.model_dump(mode="json", exclude={"name", "timezone"})
        if data.get("require_approval") is None:
            data.pop("require_approval", None)  # left to the setting: stored as absent, as every reader takes absent to mean
        data["admin_emails"] = self.admin_emails
        return data

    def file_dict(self) -> dict[str, Any]:
        """The definition as a file writes it: name and timezone first, then only what differs from the defaults."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"name", "timezone"})
        return {"name": self.name, "timezone": self.timezone, **data}

    @classmethod
    def from_settings(cls, *, name: str, timezone: str, settings: dict[str, Any] | None) -> ProgramSpec:
        """The definition stored on a program, reading settings written before definitions existed too.

        Keys this model does not know (set by other features) are left out, not refused.
        """
        raw = dict(settings or {})
        known = {key: value for key, value in raw.items() if key in cls.model_fields and key not in ("name", "timezone")}
        admins = list(known.get("admins") or [])
        for email in raw.get("admin_emails") or ():
            # `/mentoring program set admin_emails` never checked its entries; only real addresses become admins.
            if EMAIL_RE.match(str(email).strip()) and str(email).lower() not in [str(a).lower() for a in admins]:
                admins.append(str(email).strip())
        known["admins"] = admins
        known["custom_questions"] = [
            {k: v for k, v in question.items() if k in CustomQuestion.model_fields} for question in known.get("custom_questions") or ()
        ]
        return cls.model_validate({"name": name, "timezone": timezone, **known})


@dataclass(frozen=True)
class Effective:
    """A switch as it applies to one program: its value, and whether the program's definition or the site's setting decided."""

    key: str  # as a program file names it: "require_approval"
    setting: str  # as the environment names it: "REQUIRE_PRINCIPAL_APPROVAL"
    label: str  # what it is called in a sentence: "approval"
    value: bool
    program_name: str
    from_program: bool
    setting_value: bool

    def line(self) -> str:
        """One line for the admin: "approval: required (program 'Spring cohort' sets require_approval: true; ...)"."""
        shown = "required" if self.value else "not required"
        setting = f"{self.setting}={'true' if self.setting_value else 'false'}"
        if not self.from_program:
            return f"{self.label}: {shown} ({setting})"
        overridden = f"; {setting} is overridden" if self.setting_value != self.value else ""
        return f"{self.label}: {shown} (program '{self.program_name}' sets {self.key}: {'true' if self.value else 'false'}{overridden})"


def approval_rule(program_name: str, program_settings: dict[str, Any] | None, *, setting: bool) -> Effective:
    """Whether a program's mentors need their principal's approval: its own `require_approval` when it sets one, else `setting`."""
    own = (program_settings or {}).get("require_approval")
    return Effective(
        key="require_approval", setting="REQUIRE_PRINCIPAL_APPROVAL", label="approval", value=setting if own is None else bool(own),
        program_name=program_name, from_program=own is not None, setting_value=setting,
    )  # fmt: skip


class ProgramFile(BaseModel):
    """A file holds one program or a list of programs."""

    programs: list[ProgramSpec]

    @model_validator(mode="after")
    def _unique_names(self) -> ProgramFile:
        names = [program.name.lower() for program in self.programs]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"each program appears once in a file; repeated: {', '.join(repeated)}")
        return self
