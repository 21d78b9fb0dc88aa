"""`/mentoring`: parse the command (shlex + argparse, usage help on any mistake), carry it out, answer in Block Kit.

Parsing is pure. Carrying out a command is one operation of `bot/actions/` in one unit of work (`run`), which the
Slack app does after it has acknowledged the command, then posts the result back by response_url. This module
only translates: it builds the request, calls the action as the Slack user (`slack_actor`), and renders the typed
result. Who may do what is decided by the action (`bot/actions/access.py`); a refusal (`NotAllowed`) becomes the
refusal message, any other `UserError` a friendly line, and everything else is a bug: logged, and answered with a
generic "something went wrong".
"""

from __future__ import annotations

import argparse
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import dialogs
from bot.actions import exports as export_actions
from bot.actions import people, programs, rounds, scope, terms
from bot.actions.access import Actor
from bot.errors import NotAllowed, UserError
from bot.exports import Table, to_text
from bot.matching.reports import SHOWN_PAIRS, names_and_more
from bot.rounds.events import topic_lines
from bot.rounds.reports import rotation_lines, timeline_by_day
from bot.rounds.kinds import Matcher, describe, kind_of
from bot.settings import Settings
from bot.slack import blocks as bk
from bot.slack.blocks import escape
from bot.slack.store import Member, open_term, open_terms_of
from storage.models import Enrollment, Person, Round, Term

logger = logging.getLogger(__name__)

COMMAND = "/mentoring"
ABOUT_SELF = ("me", "my-data", "delete-my-data")  # what these answer depends on the person only, never on admin rights

ADMIN_HELP = f"""*Run the program with `{COMMAND}`:*
• `term open "Spring 2027" --opt-in-by 2027-01-22`: open a term and DM everyone the opt-in question (`--enroll-roster`: enroll them as the roster says)
• `term approve EMAIL [--decline] [--capacity N]` · `term approve --all` (or `--site "Lincoln High"`, `--principal EMAIL`): decide on mentors for their principals
• `round new micro --topic "SEL" --sessions 2 --start 2027-02-01 --match-on 2027-01-25`
• `round new speed --rotations 6 --minutes 10 --at "2027-02-03 15:30"`
• `round new event --topics "SEL; assessment; family communication" --start-on 2027-02-01 --match-on 2027-02-04 --end-on 2027-02-09`
• `round new interview --start-on 2027-02-01 --match-on 2027-02-04`: informational interviews across sites
• any `round new` takes `--relax RULE` / `--require RULE` (repeatable) for its matching, and `--term NAME` when two terms are open
• `round list` · `round open ID`: start collecting (events and interviews announce themselves to the pool)
• `round preview ID [--rematch]`: pairs, reasons and pool health; nothing is sent (`round match ID`: match again; a speed event's rotations are planned)
• `round publish ID --message "..."`: send the pairings and schedule reminders
• `round start ID` · `round close ID`
• `round cancel ID [--message "..."]`: call off a round in any state but closed; anyone told of a pair hears it is off
• `round timeline ID`: what the round has sent and what is due, by day, in the program's time zone
• `rematch PAIRING_ID`: find a stalled pair's mentee a new mentor
• `status` · `pool` · `nudge` · `export [ROUND_ID]`
• `program show` · `program set require_approval off` · `program set topics "SEL; assessment"`
• `program question add KEY "Prompt" [--kind choice --options "A; B"]` · `program question remove KEY`
• `program list` · add `--program NAME` (or `-p NAME`) to any command to act on another program
• `erase EMAIL [--yes]`: erase a person's data (keeps anonymous counts)"""
PERSONAL_HELP = f"""*What you can do:*
• `{COMMAND} me`: where you stand this term
• `{COMMAND} opt-in`: take part this term, or change your answer
• `{COMMAND} profile`: fill in or edit your mentoring profile
• `{COMMAND} my-data`: everything mentorbot holds about you · `{COMMAND} delete-my-data`: have it erased
• The *Home* tab of this app shows your status, profile, pairings and upcoming sessions."""
WENT_WRONG = ":warning: Something went wrong on our side while doing that; the details are in the server log. Please try again."
NO_OPEN_TERM = f'No term is open. Open one with `{COMMAND} term open "Spring 2027" --opt-in-by 2027-01-22`.'
# Whoever may read a program's settings may run its admin commands, so they are shown those in the help.
ADMIN_HELP_OPERATION = "program.show"


class UsageError(Exception):
    """A command that could not be understood; carries the usage to show."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message, self.usage = message, usage


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.format_usage())

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or "", self.format_help())

    def print_help(self, file: Any = None) -> None:
        raise UsageError("", self.format_help())


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it like 2027-01-22") from None


def _datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date and time; write it like \"2027-02-03 15:30\"") from None


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number above 0")
    return int(text)


def _all_or_one(parser: _Parser) -> Callable[[argparse.Namespace], None]:
    """`term approve --all|--site S|--principal EMAIL` approves as they offered: a decline or a capacity is for one mentor."""

    def check(args: argparse.Namespace) -> None:
        many = args.all_waiting or args.site is not None or args.principal is not None
        if many and args.email:
            parser.error("name one mentor by email, or approve many with --all, --site or --principal, not both")
        if not many and not args.email:
            parser.error("name the mentor by email, or approve many with --all, --site \"Lincoln High\" or --principal EMAIL")
        if many and (args.decline or args.capacity is not None):
            parser.error("--all, --site and --principal approve every waiting mentor as they offered; decide on one mentor by email to --decline or set --capacity")
        for option, value in (("--site", args.site), ("--principal", args.principal)):
            if value is not None and not value.strip():
                parser.error(f"{option} needs a value")

    return check


def _parser() -> _Parser:
    root = _Parser(prog=COMMAND, add_help=False)
    top = root.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    top.required = True
    for name in ("help", "me", "profile", "opt-in", "status", "pool", "nudge"):
        plain = top.add_parser(name, prog=f"{COMMAND} {name}")
        if name in ("status", "pool", "nudge"):
            plain.add_argument("--term", help="the term (when two are open)")
    export = top.add_parser("export", prog=f"{COMMAND} export")
    export.add_argument("round_id", nargs="?", type=_positive, help="a round's pairings; without it, the program's people")
    rematch = top.add_parser("rematch", prog=f"{COMMAND} rematch")
    rematch.add_argument("pairing_id", type=_positive)
    for name in ("my-data", "delete-my-data"):
        top.add_parser(name, prog=f"{COMMAND} {name}")
    erase = top.add_parser("erase", prog=f"{COMMAND} erase")
    erase.add_argument("email", help="the person's email address")
    erase.add_argument("--yes", action="store_true", help="erase now; without it, only say what would be erased")

    term = top.add_parser("term", prog=f"{COMMAND} term").add_subparsers(dest="action", parser_class=_Parser, metavar="open|close|approve")
    term.required = True
    term_open = term.add_parser("open", prog=f"{COMMAND} term open")
    term_open.add_argument("name", help='e.g. "Spring 2027"')
    term_open.add_argument("--opt-in-by", type=_date, help="last day to opt in, YYYY-MM-DD")
    term_open.add_argument("--enroll-roster", action="store_true", help="enroll everyone as their roster row says instead of asking them")
    term_open.add_argument("--alongside", action="store_true", help="open it while another term of the program is still open")
    term_close = term.add_parser("close", prog=f"{COMMAND} term close")
    term_close.add_argument("name", nargs="?")
    approve = term.add_parser("approve", prog=f"{COMMAND} term approve")
    approve.add_argument("email", nargs="?", help="the mentor's email address")
    approve.add_argument("--all", "--all-pending", dest="all_waiting", action="store_true", help="approve every mentor still waiting for their principal")
    approve.add_argument("--site", help="approve the waiting mentors of this site")
    approve.add_argument("--principal", help="approve the waiting mentors of this principal (email)")
    approve.add_argument("--decline", action="store_true", help="decline instead of approving")
    approve.add_argument("--capacity", type=int, help="how many mentees they take this term, 0 to 10")
    approve.add_argument("--term", help="the term (when two are open)")
    approve.set_defaults(check=_all_or_one(approve))

    rounds_ = top.add_parser("round", prog=f"{COMMAND} round").add_subparsers(
        dest="action", parser_class=_Parser, metavar="new|list|open|preview|match|publish|start|close|cancel"
    )  # fmt: skip
    rounds_.required = True
    new = rounds_.add_parser("new", prog=f"{COMMAND} round new").add_subparsers(dest="kind", parser_class=_Parser, metavar="micro|speed|event|interview")
    new.required = True
    micro = new.add_parser("micro", prog=f"{COMMAND} round new micro")
    micro.add_argument("--topic", help='e.g. "SEL"')
    micro.add_argument("--sessions", type=int, default=1, choices=(1, 2, 3))
    micro.add_argument("--start", type=_date, help="first day of sessions, YYYY-MM-DD")
    micro.add_argument("--match-on", type=_date, help="day the matcher runs, YYYY-MM-DD")
    micro.add_argument("--end", type=_date, help="last day of the round, YYYY-MM-DD")
    speed = new.add_parser("speed", prog=f"{COMMAND} round new speed")
    speed.add_argument("--rotations", type=_positive, required=True)
    speed.add_argument("--minutes", type=_positive, required=True)
    speed.add_argument("--at", type=_datetime, required=True, help='when the event starts, "YYYY-MM-DD HH:MM" program time')
    speed.add_argument("--topic")
    for kind in ("event", "interview"):
        signup = new.add_parser(kind, prog=f"{COMMAND} round new {kind}")
        if kind == "event":
            signup.add_argument("--topics", required=True, help='e.g. "SEL; assessment; family communication"')
            signup.add_argument("--sessions", type=int, default=1, choices=(1, 2, 3))
        signup.add_argument("--start-on", type=_date, help="day sign-ups open and the round announces itself, YYYY-MM-DD")
        signup.add_argument("--match-on", type=_date, required=True, help="day sign-ups close and pairs are made, YYYY-MM-DD")
        signup.add_argument("--end-on", type=_date, help="the event day (sessions by then), YYYY-MM-DD")
    for kind_parser in new.choices.values():
        kind_parser.add_argument("--relax", action="append", default=[], help="relax a matching rule: grade_band, subject, availability, strengths")
        kind_parser.add_argument("--require", action="append", default=[], help="add a matching rule: same_subject, cross_site, interest")
        kind_parser.add_argument("--term", help="the term (when two are open)")
    listing = rounds_.add_parser("list", prog=f"{COMMAND} round list")
    listing.add_argument("--term", help="the term (default: the open one)")
    for name in ("open", "preview", "match", "publish", "start", "close", "cancel", "timeline"):
        sub = rounds_.add_parser(name, prog=f"{COMMAND} round {name}")
        sub.add_argument("round_id", type=_positive)
        if name == "preview":
            sub.add_argument("--rematch", action="store_true", help="run the matcher again")
        if name == "publish":
            sub.add_argument("--message", help="a note added to every pairing message")
        if name == "cancel":
            sub.add_argument("--message", help="a note for everyone told the round is off")

    program = top.add_parser("program", prog=f"{COMMAND} program").add_subparsers(dest="action", parser_class=_Parser, metavar="show|set|question|list")
    program.required = True
    program.add_parser("show", prog=f"{COMMAND} program show")
    program.add_parser("list", prog=f"{COMMAND} program list")
    setting = program.add_parser("set", prog=f"{COMMAND} program set")
    setting.add_argument("key", choices=sorted(programs.SETTABLE))
    setting.add_argument("value")
    question = program.add_parser("question", prog=f"{COMMAND} program question").add_subparsers(dest="verb", parser_class=_Parser, metavar="add|remove")
    question.required = True
    add = question.add_parser("add", prog=f"{COMMAND} program question add")
    add.add_argument("key")
    add.add_argument("prompt")
    add.add_argument("--kind", choices=("text", "choice", "multi_choice", "scale"), default="text")
    add.add_argument("--options", help='choices separated by ";" (choice and multi_choice)')
    add.add_argument("--min", type=int, help="lowest number of a scale (default 1)")
    add.add_argument("--max", type=int, help="highest number of a scale (default 5)")
    add.add_argument("--required", action="store_true", help="the profile is not complete without an answer")
    remove = question.add_parser("remove", prog=f"{COMMAND} program question remove")
    remove.add_argument("key")
    return root


PARSER = _parser()


@dataclass(frozen=True)
class Command:
    """A parsed `/mentoring` command."""

    name: str
    args: argparse.Namespace
    text: str
    program: str | None = None  # --program NAME / -p NAME: the program an admin command acts on

    @property
    def about_self(self) -> bool:
        """A command about the asking person only (`me`, `my-data`, `delete-my-data`): no admin rights come into it."""
        return self.name in ABOUT_SELF


def _take_program(words: list[str]) -> tuple[list[str], str | None]:
    """Pull `--program NAME`, `--program=NAME` or `-p NAME` out of the words, wherever it was typed."""
    rest, program, index = [], None, 0
    while index < len(words):
        word = words[index]
        if word in ("--program", "-p"):
            if index + 1 >= len(words):
                raise UsageError(f"{word} needs a program name", PARSER.format_usage())
            program, index = words[index + 1], index + 2
            continue
        if word.startswith("--program="):
            program = word.split("=", 1)[1]
        else:
            rest.append(word)
        index += 1
    return rest, (program.strip() or None) if program is not None else None


def parse(text: str) -> Command:
    """Parse the text after `/mentoring`; raise UsageError with the usage to show when it can't be read."""
    # Slack clients often turn straight quotes into curly ones.
    cleaned = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'").replace("\u2014", "--")
    try:
        words = shlex.split(cleaned)
    except ValueError:
        raise UsageError("a quote is not closed", PARSER.format_usage()) from None
    words, program = _take_program(words)
    if not words:
        words = ["help"]
    args = PARSER.parse_args(words)
    check = getattr(args, "check", None)
    if check is not None:
        check(args)
    return Command(args.command, args, text.strip(), program)


def usage_blocks(error: UsageError, *, admin: bool) -> list[dict[str, Any]]:
    """Usage help for a command that could not be read."""
    out = []
    if error.message:
        # argparse repeats what was typed ("invalid choice: '<!here>'"): the person's words, shown as typed.
        out.append(bk.section(f":thinking_face: {escape(error.message[:1].upper() + error.message[1:])}."))
    out.append(bk.section(f"```{escape(bk.trim(error.usage.strip(), 2900), in_code=True)}```"))
    out.append(bk.section(ADMIN_HELP if admin else PERSONAL_HELP))
    return out


def refusal_blocks(refused: NotAllowed) -> list[dict[str, Any]]:
    """What someone hears when the action refused them: why, and what they can do instead."""
    return [bk.section(f":lock: {_said(refused.sentence())}"), bk.section(PERSONAL_HELP)]


def slack_actor(slack_user_id: str, *, site_admin: bool, member: Member | None) -> Actor:
    """The Slack user behind a command, as the access table knows them.

    `site_admin` is the app's own verdict (SLACK_ADMIN_IDS, or a workspace admin or owner); the roster member, when
    known, adds the email a program's definition may name its admins by, and the person for their own data.
    """
    return Actor(
        name=slack_user_id, site_admin=site_admin, slack_user_id=slack_user_id,
        email=member.email if member is not None else None, person_id=member.person_id if member is not None else None,
    )  # fmt: skip


# --- carrying out commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What every handler is given besides the session and the parsed arguments."""

    actor: Actor
    now: datetime
    settings: Settings
    program: str | None  # the program named with --program, if any


def answer(engine: Engine, settings: Settings, command: Command | UsageError, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """The answer to a `/mentoring` command: usage help when it could not be read, else the command run as `actor`.

    Profile and opt-in open a modal and are the app's own. A bug is logged and answered with a generic line.
    """
    try:
        if isinstance(command, UsageError):
            return usage_blocks(command, admin=sees_admin_help(engine, settings, actor=actor, program=None))
        return run(engine, settings, command, actor=actor, now=now)
    except Exception:
        logger.exception("/mentoring %s failed", command.text if isinstance(command, Command) else "(unreadable)")
        return [bk.section(WENT_WRONG)]


def run(engine: Engine, settings: Settings, command: Command, *, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Carry out a command as `actor` in one unit of work and return the blocks that report it.

    A refusal becomes the refusal message and any other user error a friendly line; every other exception is a bug
    and is raised.
    """
    handler = HANDLERS[command.name if command.name in HANDLERS else f"{command.name} {command.args.action}"]
    asked = Asked(actor, now, settings, command.program)
    try:
        with scope.unit_of_work(engine) as session:
            return handler(session, asked, command.args)
    except NotAllowed as exc:
        return refusal_blocks(exc)
    except UserError as exc:
        if exc.code == "no_open_term":
            return [bk.section(NO_OPEN_TERM)]
        return [bk.section(f":warning: {_said(exc.sentence())}")]


def sees_admin_help(engine: Engine, settings: Settings, *, actor: Actor, program: str | None) -> bool:
    """Whether `actor` runs the admin commands of the program they mean, so their help lists them."""
    with scope.unit_of_work(engine) as session:
        return scope.may_act_on(session, actor=actor, operation=ADMIN_HELP_OPERATION, requested=program, default=settings.program_name)


Blocks = list[dict[str, Any]]


def _said(text: Any) -> str:
    """A sentence the program built around people's values (names, topics, sites, typed options): escaped as their words are,
    keeping our own `/mentoring …` command spans as code."""
    return escape(text, keep_commands=True)


def _help(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    admin = scope.may_act_on(session, actor=asked.actor, operation=ADMIN_HELP_OPERATION, requested=asked.program, default=asked.settings.program_name)
    return [bk.section(ADMIN_HELP), bk.section(PERSONAL_HELP)] if admin else [bk.section(PERSONAL_HELP)]


def _me(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    return _standing_blocks(session, asked.settings, person_id=asked.actor.person_id)


def _my_data(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    if asked.actor.person_id is None:
        return [bk.section("I can't find you on the program's roster, so mentorbot holds no data about you.")]
    result = people.my_data(session, actor=asked.actor, now=asked.now, channel="slack")
    where = f"and the full data as a JSON file to {escape(result.emailed_to)}" if result.emailed_to else "(you have no email address on file for the full file)"
    return [bk.section(f":open_file_folder: I'm sending you a summary in this DM {where}. Only you receive it.")]


def _delete_my_data(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    return delete_confirm_blocks(person_id=asked.actor.person_id)


def _term_open(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    opened = terms.open_term(
        session, actor=asked.actor, now=asked.now, settings=asked.settings, name=args.name, opt_in_by=args.opt_in_by,
        enroll_roster=args.enroll_roster, alongside=args.alongside, program=asked.program,
    )  # fmt: skip
    if opened.enrolled is not None:
        return [bk.section(f":white_check_mark: {_said(opened.summary())}")]
    channels = dict(opened.asked_by_channel)
    by = f", opt-in by {opened.term.opt_in_by}" if opened.term.opt_in_by else ""
    return [bk.section(
        f":white_check_mark: Opened *{escape(opened.term.name)}*{by}. Asked {opened.asked} people to opt in: {channels.get('slack', 0)} by Slack DM, "
        f"{channels.get('email', 0)} by email. The DMs go out over the next minutes; reminders follow after 3 and 7 days.\n{_said(opened.approval.line())}"
    )]  # fmt: skip


def _term_close(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    term = terms.close_term(session, actor=asked.actor, now=asked.now, settings=asked.settings, name=args.name, program=asked.program)
    return [bk.section(f"Closed *{escape(term.name)}*.")]


def _term_approve(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    # The mentor hears who decided: the admin by name when they are on the roster.
    admin = session.get(Person, asked.actor.person_id) if asked.actor.person_id is not None else None
    decided_by = admin.name if admin is not None else "Your program admin"
    if args.all_waiting or args.site is not None or args.principal is not None:
        approved = terms.approve_all(
            session, actor=asked.actor, now=asked.now, settings=asked.settings, site=args.site, principal=args.principal,
            decided_by=decided_by, term=args.term, program=asked.program,
        )  # fmt: skip
        if not approved.decisions:
            return [bk.section(_said(approved.summary()))]
        # Hundreds of approvals in one answer would pass Slack's block limit and bury the total: the first few, then a count.
        listed = [_said(d.summary()) for d in approved.decisions[: terms.SHOWN_DECISIONS]]
        if len(approved.decisions) > terms.SHOWN_DECISIONS:
            listed.append(f"and {len(approved.decisions) - terms.SHOWN_DECISIONS} more (`{COMMAND} status` counts them; the People page lists everyone)")
        return bk.bullet_sections(f":white_check_mark: {_said(approved.summary())} They hear it from mentorbot, as from their principal.", listed)
    decision = terms.decide_on_mentor(
        session, actor=asked.actor, now=asked.now, settings=asked.settings, mentor_email=args.email, approve=not args.decline,
        capacity=args.capacity, decided_by=decided_by, term=args.term, program=asked.program,
    )  # fmt: skip
    return [bk.section(f":white_check_mark: {_said(decision.summary())} They hear it from mentorbot.")]


def _round_new(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    # Each kind's sub-command names its own options; the kind itself checks what they say (bot/rounds/kinds.py).
    request = rounds.RoundRequest(
        kind=args.kind, topic=getattr(args, "topic", None), topics=getattr(args, "topics", None), sessions=getattr(args, "sessions", 1),
        start_on=getattr(args, "start_on", None) or getattr(args, "start", None), match_on=getattr(args, "match_on", None),
        end_on=getattr(args, "end_on", None) or getattr(args, "end", None), rotations=getattr(args, "rotations", None),
        rotation_minutes=getattr(args, "minutes", None), starts_at=getattr(args, "at", None), relax=tuple(args.relax), require=tuple(args.require),
    )  # fmt: skip
    round_ = rounds.create_round(
        session, actor=asked.actor, now=asked.now, settings=asked.settings, request=request, term=args.term, program=asked.program
    )  # fmt: skip
    kind = kind_of(round_)
    stored = round_.settings or {}
    ruled = ""
    if args.relax or args.require:
        parts = [f"relaxes {escape(', '.join(stored['relax']))}" if stored.get("relax") else "", f"adds {escape(', '.join(stored['require']))}" if stored.get("require") else ""]
        ruled = f"\nIts matching {'; '.join(p for p in parts if p)} (with the program's own rules)."
    if kind.announces:
        opens = f"on {round_.start_on}" if round_.start_on else "now"
        text = f":white_check_mark: Created round *{round_.id}*: {escape(describe(round_))}. It announces itself {opens}; sign-ups close and pairs are made on {round_.match_on}."
        return [bk.section(text + ruled + f"\nOpen it at once with `{COMMAND} round open {round_.id}`.")]
    if kind.matcher is Matcher.ROTATION:
        _round, _term, program = scope.round_for(session, actor=asked.actor, operation="round.show", round_id=round_.id)
        at = datetime.fromisoformat(round_.settings["starts_at"]).astimezone(ZoneInfo(program.timezone))
        text = (
            f":white_check_mark: Created round *{round_.id}*: speed mentoring on {at:%a %b} {at.day} at {at:%H:%M} ({program.timezone}), "
            f"{round_.rotations} rotations of {round_.rotation_minutes} minutes ({round_.rotations * round_.rotation_minutes} minutes in all)."
        )
    else:
        when = (f", starting {round_.start_on}" if round_.start_on else "") + (f"; the matcher runs on {round_.match_on} at 06:00" if round_.match_on else "")
        text = f":white_check_mark: Created round *{round_.id}*: {escape(describe(round_))}{when}."
    return [bk.section(text + ruled + f"\nPreview the pairs with `{COMMAND} round preview {round_.id}`.")]


def _round_list(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    term, listed = rounds.list_rounds(session, actor=asked.actor, settings=asked.settings, term=args.term, program=asked.program)
    return bk.bullet_sections(f"*Rounds in {escape(term.name)}*", [_round_line(r) for r in listed] or ["none yet"])


def _round_line(round_: Round) -> str:
    return f"*{round_.id}*: {escape(describe(round_))}, {round_.status}" + (f", match on {round_.match_on}" if round_.match_on else "")


def _round_open(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    moved = rounds.open_round(session, actor=asked.actor, now=asked.now, round_id=args.round_id, program=asked.program)
    told = f" Announced to {moved.announced} people or channels." if moved.announced else ""
    return [bk.section(f"Round *{moved.round.id}* is collecting.{told} Preview it with `{COMMAND} round preview {moved.round.id}`.")]


def _round_start(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    moved = rounds.start_round(session, actor=asked.actor, now=asked.now, round_id=args.round_id, program=asked.program)
    return [bk.section(f"Round *{moved.round.id}* is running: its sessions are under way.")]


def _round_close(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    moved = rounds.close_round(session, actor=asked.actor, now=asked.now, round_id=args.round_id, program=asked.program)
    return [bk.section(f"Round *{moved.round.id}* is closed.")]


def _round_cancel(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    cancelled = rounds.cancel_round(session, actor=asked.actor, now=asked.now, round_id=args.round_id, message=args.message, program=asked.program)
    return [bk.section(f":white_check_mark: {_said(cancelled.summary())}")]


def _round_preview(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    preview = rounds.preview_round(
        session, actor=asked.actor, now=asked.now, settings=asked.settings, round_id=args.round_id, rematch=args.rematch, program=asked.program
    )  # fmt: skip
    return _round_result(preview.round, preview.pairs, preview.timing, title=f"Round {preview.round.id} preview", pool=_pool_health(preview.pool))


SHOWN_DAYS = 40  # lines of a timeline summary in one Slack answer before the rest are counted


def _round_timeline(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    """What the round has sent and what is due, by day and kind in the program's time zone (the CLI's summary)."""
    timeline = rounds.round_timeline(session, actor=asked.actor, round_id=args.round_id, program=asked.program)
    if not timeline.entries:
        return [bk.section(f"Round *{timeline.round.id}* has nothing scheduled yet (it is {timeline.round.status}).")]
    days = [_said(f"{day.day} · {day.what} · {day.count} · {day.statuses}") for day in timeline_by_day(timeline.entries)]
    if len(days) > SHOWN_DAYS:
        days = [*days[:SHOWN_DAYS], f"and {len(days) - SHOWN_DAYS} more days (`mentorbot round timeline {timeline.round.id}` lists them all)"]
    return [
        bk.header(f"Round {timeline.round.id} timeline"),
        bk.context(f"{len(timeline.entries)} scheduled actions, by day and kind, in {timeline.timezone}."),
        *bk.bullet_sections("*When · what · how many · status*", days),
    ]


def _round_match(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    matched = rounds.match_round(session, actor=asked.actor, now=asked.now, settings=asked.settings, round_id=args.round_id, program=asked.program)
    return _round_result(matched.round, matched.pairs, matched.timing, title=f"Round {matched.round.id} matched")


def _round_result(round_: Round, pairs: list, timing: Any, *, title: str, pool: Blocks | None = None) -> Blocks:
    """A matched round as `round preview` and `round match` show it: the result, the pool, the pairs and who is left out."""
    summary = round_.match_summary or {}
    described = escape(describe(round_))
    out: Blocks = [bk.header(title), bk.section(f"{described[:1].upper()}{described[1:]}. Status: *{round_.status}*.")]
    lead = rounds.lead_of(summary)
    if lead is not None:
        out.append(bk.section(_said(lead.paragraph(COMMAND))))
    speed = "rotations" in summary
    if speed:
        out.extend(bk.bullet_sections("*The rotation plan*", [_said(line) for line in rotation_lines(summary)]))
    elif summary:
        out.append(bk.section(
            f"Matched *{summary.get('matched', 0)} of {summary.get('mentees', 0)}* mentees with {summary.get('mentors', 0)} available mentors "
            f"(total fit {summary.get('total_score', 0):.0f})."
        ))  # fmt: skip
    if summary.get("topics"):
        out.extend(bk.bullet_sections("*Topic by topic*", [_said(line) for line in topic_lines(summary)]))
    if timing is not None:
        out.extend(bk.bullet_sections("*When*", [_said(line) for line in timing.lines()]))
    out.extend(pool or [])
    if speed:
        meetings = [f"Rotation {p.rotation}: *{escape(p.mentor_name)}* → *{escape(p.mentee_name)}*" for p in pairs if p.status != "cancelled"]
        if len(meetings) > SHOWN_PAIRS:
            meetings = [*meetings[:SHOWN_PAIRS], f"and {len(meetings) - SHOWN_PAIRS} more (`mentorbot round show {round_.id} --all` lists every one)"]
        out.extend(bk.bullet_sections("*Who meets whom*", meetings or ["nobody"]))
    else:
        # A long round would flood the channel: the first pairs, then the unmatched by cause with a few names each.
        lines = [
            f"*{escape(p.mentor_name)}* → *{escape(p.mentee_name)}*{f' ({escape(p.topic)})' if p.topic else ''} (fit {p.score:.0f}): {escape('; '.join(p.reasons))}"
            for p in pairs
        ]
        if len(lines) > SHOWN_PAIRS:
            lines = [*lines[:SHOWN_PAIRS], f"and {len(lines) - SHOWN_PAIRS} more (`mentorbot round show {round_.id} --all` lists every one)"]
        out.extend(bk.bullet_sections("*Pairs and why*", lines or ["no pairs"]))
        unmatched = summary.get("unmatched") or []
        if unmatched and lead is not None and lead.groups:
            name_of = {u["email"]: u["name"] for u in unmatched}
            out.extend(bk.bullet_sections(
                "*Not matched, by cause*", [_said(f"{len(g.keys)} {g.cause}: {names_and_more([name_of.get(k, k) for k in g.keys])}") for g in lead.groups]
            ))  # fmt: skip
        elif unmatched:
            shown = [f"*{escape(u['name'])}*: {escape('; '.join(u['reasons']))}" for u in unmatched[:SHOWN_PAIRS]]
            more = [f"and {len(unmatched) - SHOWN_PAIRS} more"] if len(unmatched) > SHOWN_PAIRS else []
            out.extend(bk.bullet_sections("*Not matched, and why*", shown + more))
    if round_.status == "review":
        out.append(bk.context(f"Nothing has been sent. Publish with `{COMMAND} round publish {round_.id} --message \"...\"`, or re-run with `{COMMAND} round preview {round_.id} --rematch`."))
    if lead is not None:
        out.append(bk.context(_said(lead.paragraph(COMMAND))))  # last as well, where the reader ends up
    return out


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _pool_health(pool: rounds.PoolView) -> Blocks:
    """The pool at a glance, from the matcher's own pool-health report: places, thin areas, the forecast; and who is missing."""
    report = pool.report
    health = report.health
    no_time = pool.without_availability
    lines = [
        f"{_n(health.mentors, 'mentor')} ready with room for {_n(health.seats, 'mentee')}; {_n(health.mentees, 'mentee')}"
        + (" :warning: more mentees than places" if health.mentees > health.seats else ""),
        f"{report.awaiting_approval} mentor(s) waiting for their principal",
        f"a round now would match {report.forecast_matched} of {_n(health.mentees, 'mentee')}",
        _said(health.advice()) or "no area is short of places",
        f"{_n(len(no_time), 'mentee')} without availability" + (f": {escape(', '.join(no_time[:10]))}" if no_time else ""),
        f"{pool.invited} invited without an answer yet; {pool.opted_out} opted out",
    ]
    return bk.bullet_sections("*Pool health*", lines)


def _round_publish(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    outcome = rounds.publish_round(
        session, actor=asked.actor, now=asked.now, settings=asked.settings, round_id=args.round_id, message=args.message, program=asked.program
    )  # fmt: skip
    if outcome.timing is not None:  # a speed event: nothing goes out now
        return [bk.section(f":white_check_mark: Round *{outcome.round_id}* is published: {outcome.pairs} meetings.\n" + "\n".join(_said(line) for line in outcome.timing.lines()))]
    return [bk.section(
        f":white_check_mark: Round *{outcome.round_id}* is published: {outcome.pairs} pair{'' if outcome.pairs == 1 else 's'}. Each person gets their pairing with the reasons, "
        f"proposed times and the conversation guide; {outcome.actions} reminders, check-ins and surveys are scheduled."
    )]  # fmt: skip


def _rematch(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    done = rounds.rematch(session, actor=asked.actor, now=asked.now, settings=asked.settings, pairing_id=args.pairing_id, program=asked.program)
    if done.new is None:
        return [bk.section(f"Pairing {done.old.id} is cancelled; no other mentor can take {escape(done.mentee_name)} now.")]
    return [bk.section(f"Pairing {done.old.id} is cancelled; new pairing *{done.new.id}*, {escape(done.mentee_name)} with {escape(done.new_mentor_name)}: {escape('; '.join(done.reasons))}")]


def _status(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    status = terms.term_status(session, actor=asked.actor, settings=asked.settings, term=args.term, program=asked.program)
    statuses, roles, approvals = status.statuses, status.roles, status.approvals
    lines = [
        f"{status.invited} invited: {statuses.get('opted_in', 0)} in, {statuses.get('opted_out', 0)} out, {statuses.get('invited', 0)} not answered yet",
        f"{roles.get('mentor', 0)} mentors, {roles.get('mentee', 0)} mentees, {roles.get('both', 0)} both",
        f"mentors: {approvals.get('approved', 0)} confirmed, {approvals.get('pending', 0)} waiting for principals, {approvals.get('declined', 0)} declined, {approvals.get('not_required', 0)} need no approval",
        f"{status.profiles_complete} of {statuses.get('opted_in', 0)} profiles complete",
        f"messages: {status.messages_waiting} waiting to send, {status.messages_failed} failed",
        _said(status.approval.line()),
        *([_said(status.channels.summary(ZoneInfo(status.timezone)))] if status.channels else []),
    ]
    by = f" (opt-in by {status.term.opt_in_by})" if status.term.opt_in_by else ""
    out = bk.bullet_sections(f"*{escape(status.term.name)}*{by}", lines)
    out.extend(bk.bullet_sections("*Rounds*", [_round_line(r) for r in status.rounds] or ["none yet"]))
    return out


def _pool(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    pool = rounds.pool(session, actor=asked.actor, now=asked.now, settings=asked.settings, term=args.term, program=asked.program)
    return [bk.section(f"*{escape(pool.term.name)}*"), *_pool_health(pool)]


def _nudge(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    reminded = terms.nudge(session, actor=asked.actor, now=asked.now, settings=asked.settings, term=args.term, program=asked.program)
    return [bk.section(_said(reminded.summary()))]


def _export(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    if args.round_id:
        table = export_actions.export_pairings(session, actor=asked.actor, round_id=args.round_id, program=asked.program)
    else:
        table = export_actions.export_people(session, actor=asked.actor, settings=asked.settings, program=asked.program)
    return _table_blocks(table)


def _table_blocks(table: Table) -> Blocks:
    """A table as CSV text (formula-safe cells) in code blocks Slack accepts."""
    out = [bk.section(f"*{escape(table.title)}*: {_n(len(table.rows), 'row')} (CSV)")]
    chunk, chunks = "", []
    for line in to_text(table).splitlines(keepends=True):
        if len(chunk) + len(line) > 2900:
            chunks.append(chunk)
            chunk = ""
        chunk += line[:2900]
    chunks.append(chunk)
    out.extend(bk.section(f"```{escape(c, in_code=True)}```") for c in chunks if c)  # cells are people's words: no closing ``` among them
    return out


def _program_show(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    view = programs.show_program(session, actor=asked.actor, now=asked.now, settings=asked.settings, program=asked.program)
    lines = [
        f"require_approval: {'on' if view.require_approval else 'off'}: {_said(view.approval.line())}",
        f"max_capacity: {view.max_capacity}",
        f"topics: {escape('; '.join(view.topics))}",
        f"subjects: {escape('; '.join(view.subjects))}",
        f"admin_emails: {escape('; '.join(view.admin_emails)) or '(none)'}",
        f"allow_weekends: {'on' if view.allow_weekends else 'off'}",
        "custom questions: " + ("; ".join(_question_line(q) for q in view.custom_questions) or "(none)"),
    ]
    return bk.bullet_sections(f"*{escape(view.name)}* settings", lines)


def _program_set(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    stored = programs.set_option(session, actor=asked.actor, settings=asked.settings, key=args.key, value=args.value, program=asked.program)
    shown = "on" if stored is True else "off" if stored is False else "; ".join(stored) if isinstance(stored, list) else stored
    return [bk.section(f":white_check_mark: {args.key} is now *{escape(shown)}*.")]


def _program_question(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    if args.verb == "add":
        question = programs.add_question(
            session, actor=asked.actor, settings=asked.settings, key=args.key, prompt=args.prompt, kind=args.kind, options=args.options,
            minimum=args.min, maximum=args.max, required=args.required, program=asked.program,
        )  # fmt: skip
        return [bk.section(f":white_check_mark: Question *{escape(question.key)}* added; everyone's profile asks it from now on.")]
    programs.remove_question(session, actor=asked.actor, settings=asked.settings, key=args.key, program=asked.program)
    return [bk.section(f":white_check_mark: Question *{escape(args.key.strip().lower())}* removed.")]


def _question_line(question: Any) -> str:
    kind = getattr(question, "kind", "text")
    extra = f" ({kind}: {', '.join(question.options)})" if getattr(question, "options", ()) else f" ({kind})" if kind != "text" else ""
    return escape(f"{question.key}: {question.prompt}{extra}")


def _program_list(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    lines = [
        f"*{escape(program.name)}*: pool {'everyone' if size is None else size}, {len(spec.custom_questions)} question(s), "
        f"{len(spec.admins)} admin(s)" + (" · the default" if program.name == asked.settings.program_name else "")
        for program, spec, size in programs.list_programs(session, actor=asked.actor)
    ]
    return bk.bullet_sections("*Programs*", lines or ["none yet; define one with `mentorbot program apply FILE`"])


def _erase(session: Session, asked: Asked, args: argparse.Namespace) -> Blocks:
    plan = people.erase_person(session, actor=asked.actor, now=asked.now, settings=asked.settings, email=args.email, confirmed=args.yes, channel="slack")
    if plan.already_erased:
        return [bk.section("That person's data was erased already; there is nothing more to remove.")]
    if plan.result is None:
        person = plan.person
        return [bk.section(
            f"This erases the data of *{escape(person.name)}* ({escape(person.email)}): profile, answers, sign-ups and messages go; pairings, check-ins "
            f"and numeric survey answers stay without a name. It can't be undone. Run `{COMMAND} erase {escape(person.email, in_code=True)} --yes` to go ahead."
        )]  # fmt: skip
    return [bk.section(f":white_check_mark: {_said(plan.result.message())}")]


HANDLERS: dict[str, Callable[[Session, Asked, argparse.Namespace], Blocks]] = {
    "help": _help,
    "me": _me,
    "my-data": _my_data,
    "delete-my-data": _delete_my_data,
    "term open": _term_open,
    "term close": _term_close,
    "term approve": _term_approve,
    "round new": _round_new,
    "round list": _round_list,
    "round open": _round_open,
    "round preview": _round_preview,
    "round match": _round_match,
    "round publish": _round_publish,
    "round start": _round_start,
    "round close": _round_close,
    "round cancel": _round_cancel,
    "round timeline": _round_timeline,
    "rematch": _rematch,
    "status": _status,
    "pool": _pool,
    "nudge": _nudge,
    "export": _export,
    "program show": _program_show,
    "program set": _program_set,
    "program question": _program_question,
    "program list": _program_list,
    "erase": _erase,
}


# --- what anyone can see about themselves ---------------------------------------------------------------------


def me_blocks(engine: Engine, settings: Settings, *, person_id: int | None) -> list[dict[str, Any]]:
    """A person's own standing this term, for `/mentoring me` (and a typed "status" in the app's DM)."""
    with scope.unit_of_work(engine) as session:
        return _standing_blocks(session, settings, person_id=person_id)


def _standing_blocks(session: Session, settings: Settings, *, person_id: int | None) -> Blocks:
    if person_id is None:
        return [bk.section("I can't find you on the program's roster. Ask your program admin to add you.")]
    person = session.get(Person, person_id)
    # Someone invited to open terms of several programs hears about each, named by its program.
    invited = open_terms_of(session, person_id=person_id)
    if len({program.id for program, _term in invited}) > 1:
        return [bk.section(f"*{escape(program.name)}* ({escape(term.name)}), {_my_standing(session, person, term)}") for program, term in invited]
    _program, term = open_term(session, program_name=settings.program_name)
    if term is None:
        return [bk.section("No mentoring term is open right now.")]
    return [bk.section(f"*{escape(term.name)}*, {_my_standing(session, person, term)} The Home tab has the details and buttons.")]


def _my_standing(session: Session, person: Person, term: Term) -> str:
    """One person's opt-in and profile in one term, as a sentence."""
    enrollment = session.exec(select(Enrollment).where(Enrollment.term_id == term.id, Enrollment.person_id == person.id)).first()
    state = dialogs.current_state_in(session, person_id=person.id, flow="profile", context=dialogs.context_key(flow="profile", term_id=term.id))
    line = "you haven't answered the opt-in yet"
    if enrollment is not None and enrollment.status == "opted_in":
        line = f"you're in as {enrollment.role}" + (f" for {enrollment.capacity} mentee(s), approval {enrollment.approval.replace('_', ' ')}" if enrollment.role in ("mentor", "both") else "")
    elif enrollment is not None and enrollment.status == "opted_out":
        line = "you're not taking part this term"
    profile = "complete" if state is not None and state.status == "complete" else "not finished"
    return f"{escape(person.name)}: {line}. Your profile is {profile}."


# --- data rights: a person's own data, and erasure ---------------------------------------------------------

ERASE_CONFIRM_ACTION = "data_erase_confirm"
ERASE_CANCEL_ACTION = "data_erase_cancel"


def delete_confirm_blocks(*, person_id: int | None) -> list[dict[str, Any]]:
    """`/mentoring delete-my-data`: what erasure means, and a button to confirm it."""
    if person_id is None:
        return [bk.section("I can't find you on the program's roster, so there is no data of yours to delete.")]
    confirm = bk.button("Delete my data", action_id=ERASE_CONFIRM_ACTION, value=str(person_id), style="danger")
    confirm["confirm"] = {
        "title": bk.plain("Delete your data?", 100), "text": bk.plain("This can't be undone.", 300),
        "confirm": bk.plain("Delete", 30), "deny": bk.plain("Keep it", 30), "style": "danger",
    }  # fmt: skip
    return [
        bk.section(
            ":warning: *Delete your mentoring data?* Your profile, answers, sign-ups and messages are deleted and your name, email and "
            "Slack ID are removed everywhere. Your past pairings and check-ins stay only as anonymous counts for the program. "
            "You won't hear from mentorbot again; if you are added to a roster later, you start afresh."
        ),
        {"type": "actions", "block_id": "data_erase", "elements": [confirm, bk.button("Cancel", action_id=ERASE_CANCEL_ACTION, value="cancel")]},
    ]


def erase_self(engine: Engine, settings: Settings, *, person_id: int, slack_user_id: str, now: datetime) -> str:
    """A person confirmed their own erasure (the button of `delete-my-data`): carry it out and return what to tell them."""
    actor = Actor(name=slack_user_id, slack_user_id=slack_user_id, person_id=person_id)
    with scope.unit_of_work(engine) as session:
        result = people.erase_me(session, actor=actor, now=now, settings=settings, channel="slack")
    if result.already_erased:
        return "Your data was erased already; there is nothing more to remove."
    return (
        "Your mentoring data is erased. Your pairings and check-ins remain only as anonymous counts. "
        "You won't hear from mentorbot again; if you are added to a roster later, you'll start afresh."
    )
