"""`/mentoring`: parse the command (shlex + argparse, usage help on any mistake) and carry it out.

Parsing is pure. Carrying out is synchronous database work (`run`), which the Slack app does after it has
acknowledged the command, then posts the result back by response_url. Everything an admin can do here goes
through the same services the command line uses (`bot/rounds/`, `bot/notify.py`).
"""

from __future__ import annotations

import argparse
import csv
import io
import shlex
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot import dialogs, notify
from bot.rounds import service
from bot.rounds.events import open_round
from bot.rounds.lifecycle import IllegalTransition
from bot.settings import Settings
from bot.slack import blocks as bk
from bot.slack.store import open_term, open_terms_of
from storage import repo
from storage.db import session_scope
from storage.models import Enrollment, OutboxMessage, Person, Program, Round, Term

COMMAND = "/mentoring"
PERSONAL = ("help", "me", "profile", "opt-in", "my-data", "delete-my-data")
USER_ERRORS = (service.RoundError, IllegalTransition, repo.NotFound, ValueError)

ADMIN_HELP = f"""*Run the program with `{COMMAND}`:*
• `term open "Spring 2027" --opt-in-by 2027-01-22`: open a term and DM everyone the opt-in question
• `round new micro --topic "SEL" --sessions 2 --start 2027-02-01 --match-on 2027-01-25`
• `round new speed --rotations 6 --minutes 10 --at "2027-02-03 15:30"`
• `round new event --topics "SEL; assessment; family communication" --start-on 2027-02-01 --match-on 2027-02-04 --end-on 2027-02-09`
• `round new interview --start-on 2027-02-01 --match-on 2027-02-04`: informational interviews across sites
• `round list` · `round open ID`: start collecting (events and interviews announce themselves to the pool)
• `round preview ID [--rematch]`: pairs, reasons and pool health; nothing is sent
• `round publish ID --message "..."`: send the pairings and schedule reminders
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

PROGRAM_KEYS = {
    "require_approval": "on or off: mentors need their principal's confirmation",
    "max_capacity": "1 to 10: most mentees one mentor may take",
    "topics": 'the topic list, separated by ";"',
    "subjects": 'the subject list, separated by ";"',
    "admin_emails": 'who hears about stalled pairs by email, separated by ";"',
    "allow_weekends": "on or off: nudges and sessions on weekends",
}


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


def _parser() -> _Parser:
    root = _Parser(prog=COMMAND, add_help=False)
    top = root.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    top.required = True
    for name in ("help", "me", "profile", "opt-in", "status", "pool", "nudge"):
        top.add_parser(name, prog=f"{COMMAND} {name}")
    export = top.add_parser("export", prog=f"{COMMAND} export")
    export.add_argument("round_id", nargs="?", type=_positive, help="a round's pairings; without it, the term's people")
    rematch = top.add_parser("rematch", prog=f"{COMMAND} rematch")
    rematch.add_argument("pairing_id", type=_positive)
    for name in ("my-data", "delete-my-data"):
        top.add_parser(name, prog=f"{COMMAND} {name}")
    erase = top.add_parser("erase", prog=f"{COMMAND} erase")
    erase.add_argument("email", help="the person's email address")
    erase.add_argument("--yes", action="store_true", help="erase now; without it, only say what would be erased")

    term = top.add_parser("term", prog=f"{COMMAND} term").add_subparsers(dest="action", parser_class=_Parser, metavar="open|close")
    term.required = True
    term_open = term.add_parser("open", prog=f"{COMMAND} term open")
    term_open.add_argument("name", help='e.g. "Spring 2027"')
    term_open.add_argument("--opt-in-by", type=_date, help="last day to opt in, YYYY-MM-DD")
    term_close = term.add_parser("close", prog=f"{COMMAND} term close")
    term_close.add_argument("name", nargs="?")

    rounds = top.add_parser("round", prog=f"{COMMAND} round").add_subparsers(dest="action", parser_class=_Parser, metavar="new|list|open|preview|publish")
    rounds.required = True
    new = rounds.add_parser("new", prog=f"{COMMAND} round new").add_subparsers(dest="kind", parser_class=_Parser, metavar="micro|speed|event|interview")
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
    rounds.add_parser("list", prog=f"{COMMAND} round list")
    for name in ("open", "preview", "publish"):
        sub = rounds.add_parser(name, prog=f"{COMMAND} round {name}")
        sub.add_argument("round_id", type=_positive)
        if name == "preview":
            sub.add_argument("--rematch", action="store_true", help="run the matcher again")
        if name == "publish":
            sub.add_argument("--message", help="a note added to every pairing message")

    program = top.add_parser("program", prog=f"{COMMAND} program").add_subparsers(dest="action", parser_class=_Parser, metavar="show|set|question")
    program.required = True
    program.add_parser("show", prog=f"{COMMAND} program show")
    program.add_parser("list", prog=f"{COMMAND} program list")
    setting = program.add_parser("set", prog=f"{COMMAND} program set")
    setting.add_argument("key", choices=sorted(PROGRAM_KEYS))
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
    def personal(self) -> bool:
        return self.name in PERSONAL


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
    return Command(args.command, args, text.strip(), program)


def usage_blocks(error: UsageError, *, admin: bool) -> list[dict[str, Any]]:
    """Usage help for a command that could not be read."""
    out = []
    if error.message:
        out.append(bk.section(f":thinking_face: {error.message[:1].upper() + error.message[1:]}."))
    out.append(bk.section(f"```{bk.trim(error.usage.strip(), 2900)}```"))
    out.append(bk.section(ADMIN_HELP if admin else PERSONAL_HELP))
    return out


def refusal_blocks() -> list[dict[str, Any]]:
    return [
        bk.section(":lock: Only program admins can run that. If you think you should be one, ask your program admin to add your Slack ID."),
        bk.section(PERSONAL_HELP),
    ]


# --- carrying out admin commands ---------------------------------------------------------------------------


def run(engine: Engine, settings: Settings, command: Command, *, now: datetime) -> list[dict[str, Any]]:
    """Carry out an admin command and return the blocks that report it (user errors become a friendly line)."""
    handler = HANDLERS[command.name if command.name in HANDLERS else f"{command.name} {command.args.action}"]
    try:
        # Every handler reads settings.program_name: handing it the chosen program makes each one act on that program only.
        settings = settings.model_copy(update={"program_name": command_program(engine, settings, command)})
        return handler(engine, settings, command.args, now)
    except UsageError:
        raise
    except USER_ERRORS as exc:
        return [bk.section(f":warning: {str(exc)[:1].upper() + str(exc)[1:]}")]


def _help(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    return [bk.section(ADMIN_HELP), bk.section(PERSONAL_HELP)]


def _term_open(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    from bot.rounds.schedule import schedule_term_reminders

    term = service.open_term(engine, program_name=settings.program_name, timezone=settings.default_timezone, name=args.name, opt_in_by=args.opt_in_by, now=now)
    asked = notify.invite_to_term(engine, term_id=term.id, now=now)
    schedule_term_reminders(engine, term_id=term.id, now=now)
    with session_scope(engine) as session:
        channels = Counter(
            m.channel for m in session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "prompt.opt_in", col(OutboxMessage.idempotency_key).like(f"prompt.opt_in:term:{term.id}:%")))
        )
    by = f", opt-in by {term.opt_in_by}" if term.opt_in_by else ""
    return [bk.section(
        f":white_check_mark: Opened *{term.name}*{by}. Asked {asked} people to opt in: {channels.get('slack', 0)} by Slack DM, "
        f"{channels.get('email', 0)} by email. The DMs go out over the next minutes; reminders follow after 3 and 7 days."
    )]  # fmt: skip


def _term_close(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    term = service.close_term(engine, program_name=settings.program_name, name=args.name, now=now)
    return [bk.section(f"Closed *{term.name}*.")]


def _round_new(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    if args.kind in ("event", "interview"):
        request = service.RoundRequest(
            kind=args.kind, topics=getattr(args, "topics", None), sessions=getattr(args, "sessions", 1),
            start_on=args.start_on, match_on=args.match_on, end_on=args.end_on,
        )  # fmt: skip
        round_ = service.create_round(engine, program_name=settings.program_name, term_name=None, request=request, now=now)
        what = "informational interviews" if args.kind == "interview" else "a topic event on " + "; ".join(f"*{t}*" for t in round_.settings.get("topics", ()))
        opens = f"on {round_.start_on}" if round_.start_on else "now"
        text = f":white_check_mark: Created round *{round_.id}*: {what}. It announces itself {opens}; sign-ups close and pairs are made on {round_.match_on}."
        return [bk.section(text + f"\nOpen it at once with `{COMMAND} round open {round_.id}`.")]
    if args.kind == "micro":
        request = service.RoundRequest(kind="micro", topic=args.topic, sessions=args.sessions, start_on=args.start, match_on=args.match_on, end_on=args.end)
        round_ = service.create_round(engine, program_name=settings.program_name, term_name=None, request=request, now=now)
        topic = f" on *{round_.topic}*" if round_.topic else ""
        when = (f", starting {round_.start_on}" if round_.start_on else "") + (f"; the matcher runs on {round_.match_on} at 06:00" if round_.match_on else "")
        text = f":white_check_mark: Created round *{round_.id}*: micro-mentoring{topic}, {round_.sessions} session(s){when}."
    else:
        with session_scope(engine) as session:
            program = repo.get_program(session, name=settings.program_name)
            zone = program.timezone
        at = args.at if args.at.tzinfo else args.at.replace(tzinfo=ZoneInfo(zone))
        if at < now:
            raise service.RoundError(f"{args.at:%Y-%m-%d %H:%M} is already past")
        request = service.RoundRequest(kind="speed", topic=args.topic, rotations=args.rotations, rotation_minutes=args.minutes, starts_at=at)
        round_ = service.create_round(engine, program_name=settings.program_name, term_name=None, request=request, now=now)
        text = (
            f":white_check_mark: Created round *{round_.id}*: speed mentoring on {at:%a %b} {at.day} at {at:%H:%M} ({zone}), "
            f"{args.rotations} rotations of {args.minutes} minutes ({args.rotations * args.minutes} minutes in all)."
        )
    return [bk.section(text + f"\nPreview the pairs with `{COMMAND} round preview {round_.id}`.")]


def _round_list(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return [bk.section(f"No term is open. Open one with `{COMMAND} term open \"Spring 2027\"`.")]
        lines = [_round_line(r) for r in repo.list_rounds(session, term_id=term.id)]
        name = term.name
    return bk.bullet_sections(f"*Rounds in {name}*", lines or ["none yet"])


def _round_line(round_: Round) -> str:
    topic = f" on {round_.topic}" if round_.topic else ""
    shape = f"{round_.rotations}×{round_.rotation_minutes} min speed" if round_.kind == "speed" else f"{round_.sessions}-session micro"
    return f"*{round_.id}*: {shape}{topic}, {round_.status}" + (f", match on {round_.match_on}" if round_.match_on else "")


def _round_open(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    queued = open_round(engine, round_id=args.round_id, now=now)  # a round that announces itself invites its pool, once
    told = f" Announced to {queued} people or channels." if queued else ""
    return [bk.section(f"Round *{args.round_id}* is collecting.{told} Preview it with `{COMMAND} round preview {args.round_id}`.")]


def _round_preview(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        round_ = repo.get_round(session, round_id=args.round_id)
        status, kind, term_id = round_.status, round_.kind, round_.term_id
    if kind == "speed":
        raise service.RoundError("a speed-mentoring event is paired by rotation at the event, so it has no preview; it runs as scheduled")
    if status == "draft":
        # The same opening as `round open`: a round that announces itself invites its pool, once.
        open_round(engine, round_id=args.round_id, now=now)
        status = "collecting"
    if status == "collecting" or (status == "review" and args.rematch):
        service.run_matching(engine, round_id=args.round_id, session_minutes=settings.session_minutes, now=now)
    round_, pairs = service.round_pairs(engine, round_id=args.round_id)
    summary = round_.match_summary or {}
    topic = f" on {round_.topic}" if round_.topic else ""
    out: list[dict[str, Any]] = [bk.header(f"Round {round_.id} preview"), bk.section(f"{ {'event': 'Topic event', 'interview': 'Informational interviews'}.get(round_.kind, 'Micro-mentoring')}{topic}, {round_.sessions} session(s). Status: *{round_.status}*.")]
    if summary:
        out.append(bk.section(
            f"Matched *{summary.get('matched', 0)} of {summary.get('mentees', 0)}* mentees with {summary.get('mentors', 0)} available mentors "
            f"(total fit {summary.get('total_score', 0):.0f})."
        ))  # fmt: skip
    from bot.rounds.events import topic_lines

    if summary.get("topics"):
        out.extend(bk.bullet_sections("*Topic by topic*", topic_lines(summary)))
    out.extend(_pool_health(engine, settings, term_id=term_id, now=now, round_id=round_.id))
    out.extend(bk.bullet_sections("*Pairs and why*", [f"*{p.mentor_name}* → *{p.mentee_name}*{f' ({p.topic})' if p.topic else ''} (fit {p.score:.0f}): {'; '.join(p.reasons)}" for p in pairs] or ["no pairs"]))
    unmatched = summary.get("unmatched") or []
    if unmatched:
        out.extend(bk.bullet_sections("*Not matched, and why*", [f"*{u['name']}*: {'; '.join(u['reasons'])}" for u in unmatched]))
    if round_.status == "review":
        out.append(bk.context(f"Nothing has been sent. Publish with `{COMMAND} round publish {round_.id} --message \"...\"`, or re-run with `{COMMAND} round preview {round_.id} --rematch`."))
    return out


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _pool_health(engine: Engine, settings: Settings, *, term_id: int, now: datetime, round_id: int | None = None) -> list[dict[str, Any]]:
    """The pool at a glance, from the matcher's own pool-health report: places, thin areas, the forecast; and who is missing."""
    from bot.rounds.reports import load_pool_report

    with session_scope(engine) as session:
        term = session.get(Term, term_id)
        round_ = repo.get_round(session, round_id=round_id) if round_id is not None else None
        report = load_pool_report(session, term=term, session_minutes=settings.session_minutes, today=now.date(), round_=round_)
        people = repo.enrollments(session, term_id=term_id)
        answers = repo.profiles(session, person_ids=[p.id for e, p in people if e.status == "opted_in"])
    health = report.health
    no_time = [p.name for e, p in people if e.status == "opted_in" and e.role in ("mentee", "both") and not answers[p.id].get("availability")]
    thin = [
        f"{a.rule} {a.area}: {_n(a.mentors, 'mentor')} for {_n(a.mentees, 'mentee')}" + (f", {a.forecast_unmatched} left unmatched" if a.forecast_unmatched else "")
        for a in health.areas if a.flagged
    ]  # fmt: skip
    lines = [
        f"{_n(health.mentors, 'mentor')} ready with room for {_n(health.seats, 'mentee')}; {_n(health.mentees, 'mentee')}"
        + (" :warning: more mentees than places" if health.mentees > health.seats else ""),
        f"{report.awaiting_approval} mentor(s) waiting for their principal",
        f"a round now would match {report.forecast_matched} of {_n(health.mentees, 'mentee')}",
        "thin areas: " + ("; ".join(thin[:8]) + (f"; and {len(thin) - 8} more" if len(thin) > 8 else "") if thin else "none"),
        f"{_n(len(no_time), 'mentee')} without availability" + (f": {', '.join(no_time[:10])}" if no_time else ""),
        f"{sum(1 for e, _ in people if e.status == 'invited')} invited without an answer yet; {sum(1 for e, _ in people if e.status == 'opted_out')} opted out",
    ]
    return bk.bullet_sections("*Pool health*", lines)


def _round_publish(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    from bot.rounds.schedule import publish_round
    from bot.rounds.schedule import schedule_config

    outcome = publish_round(engine, round_id=args.round_id, now=now, config=schedule_config(settings), message=args.message)
    return [bk.section(
        f":white_check_mark: Round *{args.round_id}* is published: {outcome.pairs} pair{'' if outcome.pairs == 1 else 's'}. Each person gets their pairing with the reasons, "
        f"proposed times and the conversation guide; {outcome.actions} reminders, check-ins and surveys are scheduled."
    )]  # fmt: skip


def _rematch(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    from bot.rounds.schedule import rematch
    from bot.rounds.schedule import schedule_config

    new = rematch(engine, pairing_id=args.pairing_id, now=now, config=schedule_config(settings))
    if new is None:
        return [bk.section(f"Pairing {args.pairing_id} is cancelled; no other mentor can take this mentee now.")]
    return [bk.section(f"Pairing {args.pairing_id} is cancelled; new pairing *{new.id}*: {'; '.join(new.reasons)}")]


def _status(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return [bk.section(f"No term is open. Open one with `{COMMAND} term open \"Spring 2027\" --opt-in-by 2027-01-22`.")]
        people = repo.enrollments(session, term_id=term.id)
        rounds = [_round_line(r) for r in repo.list_rounds(session, term_id=term.id)]
        profiles_done = sum(
            1 for e, p in people if e.status == "opted_in"
            and (s := dialogs.current_state_in(session, person_id=p.id, flow="profile", context=dialogs.context_key(flow="profile", term_id=term.id))) is not None
            and s.status == "complete"
        )  # fmt: skip
        outbox = Counter(m.status for m in session.exec(select(OutboxMessage).where(col(OutboxMessage.status).in_(("pending", "sending", "failed")))))
        name, opt_in_by = term.name, term.opt_in_by
    statuses = Counter(e.status for e, _ in people)
    roles = Counter(e.role for e, _ in people if e.status == "opted_in")
    approvals = Counter(e.approval for e, _ in people if e.status == "opted_in" and e.role in ("mentor", "both"))
    lines = [
        f"{len(people)} invited: {statuses.get('opted_in', 0)} in, {statuses.get('opted_out', 0)} out, {statuses.get('invited', 0)} not answered yet",
        f"{roles.get('mentor', 0)} mentors, {roles.get('mentee', 0)} mentees, {roles.get('both', 0)} both",
        f"mentors: {approvals.get('approved', 0)} confirmed, {approvals.get('pending', 0)} waiting for principals, {approvals.get('declined', 0)} declined, {approvals.get('not_required', 0)} need no approval",
        f"{profiles_done} of {statuses.get('opted_in', 0)} profiles complete",
        f"messages: {outbox.get('pending', 0) + outbox.get('sending', 0)} waiting to send, {outbox.get('failed', 0)} failed",
    ]
    by = f" (opt-in by {opt_in_by})" if opt_in_by else ""
    out = bk.bullet_sections(f"*{name}*{by}", lines)
    out.extend(bk.bullet_sections("*Rounds*", rounds or ["none yet"]))
    return out


def _pool(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return [bk.section("No term is open, so there is no pool yet.")]
        term_id, name = term.id, term.name
    return [bk.section(f"*{name}*"), *_pool_health(engine, settings, term_id=term_id, now=now)]


def _nudge(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    """Ask again everyone who hasn't answered: the opt-in, an unfinished profile, a principal's decision."""
    attempt = f"nudge-{now:%Y%m%d%H%M}"
    counts = Counter()
    with session_scope(engine) as session:
        _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return [bk.section("No term is open; there is nobody to nudge.")]
        for enrollment, person in repo.enrollments(session, term_id=term.id):
            if person.unsubscribed_at is not None:
                continue
            if enrollment.status == "invited":
                context = dialogs.context_key(flow="opt_in", term_id=term.id)
                notify.prompt_flow(session, person=person, flow="opt_in", context=context, now=now, extra={"term_name": term.name, "reminder": True}, attempt=attempt)
                counts["opt-in"] += 1
            elif enrollment.status == "opted_in":
                context = dialogs.context_key(flow="profile", term_id=term.id)
                state = dialogs.current_state_in(session, person_id=person.id, flow="profile", context=context)
                if state is None or state.status != "complete":
                    notify.prompt_flow(session, person=person, flow="profile", context=context, now=now, extra={"reminder": True}, attempt=attempt)
                    counts["profile"] += 1
                if enrollment.approval == "pending":
                    principal = notify.principal_for(session, mentor=person, now=now)
                    if principal is not None:
                        context = dialogs.context_key(flow="approval", term_id=term.id, subject_id=person.id)
                        extra = {"mentor_name": person.name, "mentor_email": person.email, "capacity": enrollment.capacity, "reminder": True}
                        notify.prompt_flow(session, person=principal, flow="approval", context=context, now=now, extra=extra, attempt=attempt)
                        counts["approval"] += 1
    return [bk.section(
        f"Nudged {counts['opt-in']} people about opting in, {counts['profile']} about their profile and "
        f"{counts['approval']} principals about a mentor waiting for them."
    )]  # fmt: skip


def _export(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if args.round_id:
        round_, pairs = service.round_pairs(engine, round_id=args.round_id)
        writer.writerow(["mentor_name", "mentor_email", "mentee_name", "mentee_email", "score", "reasons", "status"])
        for p in pairs:
            writer.writerow([p.mentor_name, p.mentor_email, p.mentee_name, p.mentee_email, f"{p.score:.1f}", "; ".join(p.reasons), p.status])
        title = f"Round {round_.id} pairings ({len(pairs)})"
    else:
        with session_scope(engine) as session:
            _program, term = open_term(session, program_name=settings.program_name)
            if term is None:
                return [bk.section("No term is open; name a round to export its pairings: `/mentoring export 3`.")]
            writer.writerow(["name", "email", "role", "capacity", "status", "approval", "site"])
            rows = repo.enrollments(session, term_id=term.id)
            for e, p in rows:
                writer.writerow([p.name, p.email, e.role, e.capacity, e.status, e.approval, p.site or ""])
            title = f"{term.name}: {len(rows)} people"
    out = [bk.section(f"*{title}* (CSV)")]
    chunk, chunks = "", []
    for line in buffer.getvalue().splitlines(keepends=True):
        if len(chunk) + len(line) > 2900:
            chunks.append(chunk)
            chunk = ""
        chunk += line[:2900]
    chunks.append(chunk)
    out.extend(bk.section(f"```{c}```") for c in chunks if c)
    return out


def _program_show(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        program = repo.get_or_create_program(session, name=settings.program_name, timezone=settings.default_timezone, now=now)
        options = dialogs.ProgramOptions.of(program, require_approval_default=settings.require_principal_approval)
        raw = dict(program.settings or {})
    lines = [
        f"require_approval: {'on' if options.require_approval else 'off'}",
        f"max_capacity: {options.max_capacity}",
        f"topics: {'; '.join(options.topics)}",
        f"subjects: {'; '.join(options.subjects)}",
        f"admin_emails: {'; '.join(raw.get('admin_emails') or ()) or '(none)'}",
        f"allow_weekends: {'on' if raw.get('allow_weekends') else 'off'}",
        "custom questions: " + ("; ".join(_question_line(q) for q in options.custom_questions) or "(none)"),
    ]
    return bk.bullet_sections(f"*{settings.program_name}* settings", lines)


def _switch(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("on", "yes", "true", "1"):
        return True
    if lowered in ("off", "no", "false", "0"):
        return False
    raise ValueError(f"'{value}' is not on or off")


def _program_set(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    key, value = args.key, args.value
    if key in ("require_approval", "allow_weekends"):
        stored: Any = _switch(value)
    elif key == "max_capacity":
        if not value.isdecimal() or not 1 <= int(value) <= 10:
            raise ValueError("max_capacity must be a whole number from 1 to 10")
        stored = int(value)
    else:
        stored = [item.strip() for item in value.split(";") if item.strip()]
        if not stored:
            raise ValueError(f"{key} needs at least one item")
    _update_program(engine, settings, now, lambda s: {**s, key: stored})
    shown = "on" if stored is True else "off" if stored is False else "; ".join(stored) if isinstance(stored, list) else stored
    return [bk.section(f":white_check_mark: {key} is now *{shown}*.")]


def _program_question(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    key = args.key.strip().lower()
    if not key.replace("_", "").isalnum() or len(key) > 40:
        raise ValueError("a question key is one word of letters, digits and _ (at most 40), e.g. coaching_style")

    def change(current: dict[str, Any]) -> dict[str, Any]:
        questions = [q for q in current.get("custom_questions") or () if q["key"] != key]
        if args.verb == "add":
            if not args.prompt.strip():
                raise ValueError("the question needs a prompt")
            questions.append(_new_question(key, args))
        elif len(questions) == len(current.get("custom_questions") or ()):
            raise ValueError(f"there is no custom question '{key}'")
        return {**current, "custom_questions": questions}

    _update_program(engine, settings, now, change)
    verb = "added; everyone's profile asks it from now on" if args.verb == "add" else "removed"
    return [bk.section(f":white_check_mark: Question *{key}* {verb}.")]


def _update_program(engine: Engine, settings: Settings, now: datetime, change: Any) -> None:
    with session_scope(engine) as session:
        program: Program = repo.get_or_create_program(session, name=settings.program_name, timezone=settings.default_timezone, now=now)
        program.settings = change(dict(program.settings or {}))  # a new dict, so the JSON column is written


def _question_line(question: Any) -> str:
    kind = getattr(question, "kind", "text")
    extra = f" ({kind}: {', '.join(question.options)})" if getattr(question, "options", ()) else f" ({kind})" if kind != "text" else ""
    return f"{question.key}: {question.prompt}{extra}"


def _new_question(key: str, args: argparse.Namespace) -> dict[str, Any]:
    """A custom question from `program question add`, checked like one in a program file."""
    from pydantic import ValidationError

    from bot.programs.spec import CustomQuestion

    options = [item.strip() for item in (args.options or "").split(";") if item.strip()]
    try:
        question = CustomQuestion(
            key=key, prompt=args.prompt.strip()[:300], kind=getattr(args, "kind", "text") or "text", options=options,
            min=getattr(args, "min", None), max=getattr(args, "max", None), required=bool(getattr(args, "required", False)),
        )  # fmt: skip
    except ValidationError as exc:
        raise ValueError("; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())) from None
    return question.model_dump(mode="json")


def command_program(engine: Engine, settings: Settings, command: Command) -> str:
    """The program an admin command acts on, refusing a round or pairing that belongs to another program."""
    from bot.programs.store import choose_program_name
    from storage.models import Pairing

    with session_scope(engine) as session:
        name = choose_program_name(session, requested=command.program, default=settings.program_name)
        round_id = getattr(command.args, "round_id", None)
        pairing_id = getattr(command.args, "pairing_id", None)
        if pairing_id is not None:
            pairing = session.get(Pairing, pairing_id)
            round_id = pairing.round_id if pairing is not None else None
        if round_id is not None:
            round_ = session.get(Round, round_id)
            term = session.get(Term, round_.term_id) if round_ is not None else None
            owner = session.get(Program, term.program_id) if term is not None else None
            if owner is not None and owner.name != name:
                what = f"pairing {pairing_id}" if pairing_id is not None else f"round {round_id}"
                raise ValueError(f"{what} belongs to {owner.name}, not {name}; add --program \"{owner.name}\" if you run that program")
        return name


def is_program_admin(engine: Engine, settings: Settings, command: Command, *, slack_user_id: str) -> bool:
    """True when the user is one of the admins the chosen program's definition names (by Slack ID or email)."""
    from bot.programs.store import program_admin

    try:
        name = command_program(engine, settings, command)
    except USER_ERRORS:
        return False
    with session_scope(engine) as session:
        program = session.exec(select(Program).where(Program.name == name)).first()
        if program is None:
            return False
        person = session.exec(select(Person).where(Person.slack_user_id == slack_user_id)).first()
        return program_admin(program, slack_user_id=slack_user_id, email=person.email if person is not None else None)


def _program_list(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    from bot.programs.store import list_programs

    lines = [
        f"*{program.name}*: pool {'everyone' if size is None else size}, {len(spec.custom_questions)} question(s), "
        f"{len(spec.admins)} admin(s)" + (" · the default" if program.name == settings.program_name else "")
        for program, spec, size in list_programs(engine)
    ]
    return bk.bullet_sections("*Programs*", lines or ["none yet; define one with `mentorbot program apply FILE`"])


HANDLERS = {
    "help": _help,
    "program list": _program_list,
    "term open": _term_open,
    "term close": _term_close,
    "round new": _round_new,
    "round list": _round_list,
    "round open": _round_open,
    "round preview": _round_preview,
    "round publish": _round_publish,
    "rematch": _rematch,
    "status": _status,
    "pool": _pool,
    "nudge": _nudge,
    "export": _export,
    "program show": _program_show,
    "program set": _program_set,
    "program question": _program_question,
    "erase": lambda engine, settings, args, now: _erase(engine, settings, args, now),
}


# --- what anyone can see about themselves ---------------------------------------------------------------------


def me_blocks(engine: Engine, settings: Settings, *, person_id: int | None) -> list[dict[str, Any]]:
    """A person's own standing this term, for `/mentoring me`."""
    if person_id is None:
        return [bk.section("I can't find you on the program's roster. Ask your program admin to add you.")]
    with session_scope(engine) as session:
        person = session.get(Person, person_id)
        # Someone invited to open terms of several programs hears about each, named by its program.
        invited = open_terms_of(session, person_id=person_id)
        if len({program.id for program, _term in invited}) > 1:
            return [bk.section(f"*{program.name}* ({term.name}), {_my_standing(session, person, term)}") for program, term in invited]
        _program, term = open_term(session, program_name=settings.program_name)
        if term is None:
            return [bk.section("No mentoring term is open right now.")]
        return [bk.section(f"*{term.name}*, {_my_standing(session, person, term)} The Home tab has the details and buttons.")]


def _my_standing(session: Any, person: Person, term: Term) -> str:
    """One person's opt-in and profile in one term, as a sentence."""
    enrollment = session.exec(select(Enrollment).where(Enrollment.term_id == term.id, Enrollment.person_id == person.id)).first()
    state = dialogs.current_state_in(session, person_id=person.id, flow="profile", context=dialogs.context_key(flow="profile", term_id=term.id))
    line = "you haven't answered the opt-in yet"
    if enrollment is not None and enrollment.status == "opted_in":
        line = f"you're in as {enrollment.role}" + (f" for {enrollment.capacity} mentee(s), approval {enrollment.approval.replace('_', ' ')}" if enrollment.role in ("mentor", "both") else "")
    elif enrollment is not None and enrollment.status == "opted_out":
        line = "you're not taking part this term"
    profile = "complete" if state is not None and state.status == "complete" else "not finished"
    return f"{person.name}: {line}. Your profile is {profile}."


# --- data rights: a person's own data, and erasure ---------------------------------------------------------

# People are not kept per program, so erasing one is for the whole site's admins, not a single program's.
WHOLE_SITE_ONLY = ("erase",)
ERASE_CONFIRM_ACTION = "data_erase_confirm"
ERASE_CANCEL_ACTION = "data_erase_cancel"


def my_data_blocks(engine: Engine, settings: Settings, *, person_id: int | None, slack_user_id: str, now: datetime) -> list[dict[str, Any]]:
    """`/mentoring my-data`: log the request, queue the DM summary and the emailed file, and say what was sent."""
    from bot import data_rights

    if person_id is None:
        return [bk.section("I can't find you on the program's roster, so mentorbot holds no data about you.")]
    with session_scope(engine) as session:
        result = data_rights.export(session, person_id=person_id, requested_by=slack_user_id, channel="slack", now=now)
    where = f"and the full data as a JSON file to {result.emailed_to}" if result.emailed_to else "(you have no email address on file for the full file)"
    return [bk.section(f":open_file_folder: I'm sending you a summary in this DM {where}. Only you receive it.")]


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
    """A person confirmed their own erasure: carry it out and return what to tell them."""
    from bot import data_rights

    with session_scope(engine) as session:
        result = data_rights.erase(session, person_id=person_id, requested_by=slack_user_id, channel="slack", now=now, admin_slack_ids=tuple(settings.slack_admin_ids))
    if result.already_erased:
        return "Your data was erased already; there is nothing more to remove."
    return (
        "Your mentoring data is erased. Your pairings and check-ins remain only as anonymous counts. "
        "You won't hear from mentorbot again; if you are added to a roster later, you'll start afresh."
    )


def _erase(engine: Engine, settings: Settings, args: argparse.Namespace, now: datetime) -> list[dict[str, Any]]:
    from bot import data_rights

    who = getattr(args, "admin_user", None) or "slack"
    try:
        with session_scope(engine) as session:
            person = data_rights.find_person(session, email=args.email)
            if data_rights.is_erased(person):
                return [bk.section("That person's data was erased already; there is nothing more to remove.")]
            if not args.yes:
                return [bk.section(
                    f"This erases the data of *{person.name}* ({person.email}): profile, answers, sign-ups and messages go; pairings, check-ins "
                    f"and numeric survey answers stay without a name. It can't be undone. Run `{COMMAND} erase {person.email} --yes` to go ahead."
                )]  # fmt: skip
            result = data_rights.erase(session, person_id=person.id, requested_by=f"admin:{who}", channel="slack", now=now, admin_slack_ids=tuple(settings.slack_admin_ids))
    except data_rights.NoSuchPerson as exc:
        return [bk.section(f":warning: {str(exc)[:1].upper() + str(exc)[1:]}.")]
    return [bk.section(f":white_check_mark: {result.message()}")]
