"""The `mentorbot` command line (typer + rich)."""

from __future__ import annotations

import csv
import functools
import logging
import os
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot import report
from bot.importer import import_roster
from bot.roster import RosterFileError
from bot.rounds import service
from bot.rounds.lifecycle import IllegalTransition
from bot.rounds.schedule import publish_round, schedule_term_reminders
from bot.settings import Settings
from storage import db, repo

console = Console()
err_console = Console(stderr=True)

USER_ERRORS = (service.RoundError, IllegalTransition, repo.NotFound, RosterFileError)
logger = logging.getLogger("mentorbot")

app = typer.Typer(
    help="mentorbot runs teacher mentoring programs: roster, terms, rounds, fair matching, Slack and email.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Bring people in from files.", no_args_is_help=True)
term_app = typer.Typer(help="Open, list and close terms; enroll people and record principal approval.", no_args_is_help=True)
round_app = typer.Typer(help="Create micro-mentoring rounds and speed events and move them along.", no_args_is_help=True)
export_app = typer.Typer(help="Write people and pairings to CSV.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema: upgrade, show the revision, downgrade.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(term_app, name="term")
app.add_typer(round_app, name="round")
app.add_typer(export_app, name="export")
app.add_typer(db_app, name="db")

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command needs: settings, the clock, and a migrated engine made on first use."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.settings = settings
        self.now = now
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = db.create_db_engine(self.settings.resolved_database_url)
            db.upgrade(self._engine)
        return self._engine


def friendly_errors(command: F) -> F:
    """Turn the errors a user can cause into one plain line and exit code 1, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            err_console.print(f"[red]Error:[/red] {exc}")
            raise typer.Exit(1) from None
        except OperationalError as exc:
            err_console.print(f"[red]Error:[/red] cannot use the database: {exc.orig or exc}".splitlines()[0])
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            # A bug of ours: say so plainly, keep the details in the log rather than on the user's screen.
            logger.debug("unexpected error", exc_info=True)
            err_console.print(
                f"[red]Something went wrong[/red] ({type(exc).__name__}: {exc}). Nothing half-done was saved; "
                "run again with LOG_LEVEL=DEBUG for details."
            )
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def _ctx(ctx: typer.Context) -> Context:
    return ctx.find_root().obj


ProgramOption = Annotated[
    str | None, typer.Option("--program", "-p", help="Program to act on (default: the only one, else PROGRAM_NAME).")
]


def _program_name(context: Context, requested: str | None, *, district_wide: bool = False) -> str:
    """The program a command acts on; an unknown name is refused with the list of programs."""
    from bot.programs.store import resolve_program_name

    return resolve_program_name(context.engine, requested=requested, default=context.settings.program_name, district_wide=district_wide)


@app.callback()
def main_callback(
    ctx: typer.Context,
    now: Annotated[
        datetime | None,
        typer.Option(help="Pretend the time is this UTC moment (for rehearsals and tests).", hidden=True),
    ] = None,
) -> None:
    """Read settings from the environment and `.env` once; every command gets them passed in."""
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        err_console.print(f"[red]Error:[/red] a setting is wrong: {problems}")
        raise typer.Exit(2) from None
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    # Migration chatter is noise on a command line; `mentorbot db current` says where the schema is.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    moment = (now.replace(tzinfo=timezone.utc) if now and now.tzinfo is None else now) or datetime.now(timezone.utc)
    ctx.obj = Context(settings, moment)


# --- demo and serve ----------------------------------------------------------------------------


@app.command()
@friendly_errors
def demo(
    ctx: typer.Context,
    roster: Annotated[
        Path | None, typer.Option(help="Roster to use instead of the one the demo ships.", exists=True, dir_okay=False)
    ] = None,
) -> None:
    """Run a whole term on a fresh demo database: import, opt in, approve, match a round, publish.

    Example: [bold]mentorbot demo[/bold]
    """
    from bot.demo import run_demo

    context = _ctx(ctx)
    run_demo(context.settings, console=console, now=context.now, roster=roster)


@app.command()
@friendly_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default HTTP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default HTTP_PORT).")] = None,
) -> None:
    """Start the web app (health, Slack, email and admin pages) with the scheduler.

    Slack is reached over HTTP at /slack/events, or over Socket Mode when SLACK_APP_TOKEN is set.

    Example: [bold]mentorbot serve --port 8000[/bold]
    """
    import uvicorn

    from bot.web.app import create_app

    settings = _ctx(ctx).settings
    host, port = host or settings.http_host, settings.http_port if port is None else port
    if settings.slack_enabled and settings.slack_app_token:
        import asyncio

        from bot.slack.socket import serve_with_socket_mode

        console.print("Slack: Socket Mode (SLACK_APP_TOKEN is set)")
        asyncio.run(serve_with_socket_mode(create_app(settings), settings, host=host, port=port))
        return
    handler = None
    if settings.slack_enabled:
        console.print(f"Slack: HTTP, at {settings.public_base_url.rstrip('/')}/slack/events")
        if "slack_handlers" not in settings.model_fields_set:
            # Served over HTTP, the web workers only keep and acknowledge Slack requests; a handler process of lower
            # CPU priority does their work, so acks never wait behind it (SLACK_HANDLERS=inline keeps it in-process).
            settings = settings.model_copy(update={"slack_handlers": "process"})
        os.environ["SLACK_HANDLERS"] = settings.slack_handlers  # for worker processes that read the environment
        if settings.slack_handlers == "process":
            from bot.slack.handler import HandlerProcess

            handler = HandlerProcess(settings)
    try:
        if handler is not None:
            handler.start()
        if settings.http_workers > 1:
            # Each worker process builds its own app from the environment and runs its own scheduler, which works only
            # while that worker holds the leader lock: the schedule still runs once. The schema is brought up to date
            # here, once, so the workers starting together never race to create it.
            _ctx(ctx).engine.dispose()  # migrated now; each worker opens its own connections
            console.print(f"{settings.http_workers} worker processes")
            uvicorn.run("bot.web.app:app_from_environment", factory=True, workers=settings.http_workers, host=host, port=port, log_level=settings.log_level.lower())
            return
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())
    finally:
        if handler is not None:
            handler.stop()


@app.command("admin-link")
@friendly_errors
def admin_link(
    ctx: typer.Context,
    minutes: Annotated[int | None, typer.Option(help="How long the link works (default ADMIN_LINK_MINUTES).", min=1, max=1440)] = None,
) -> None:
    """Print a one-time link that signs you in to the admin pages (for trials, or before Slack sign-in is set up).

    The link works once, for a few minutes, on the server at PUBLIC_BASE_URL that shares this DATA_DIR (or ADMIN_SECRET).

    Example: [bold]mentorbot admin-link[/bold]
    """
    from bot.web.admin.auth import make_sign_in_link

    context = _ctx(ctx)
    context.engine  # the link's single use is recorded in the database: make sure its schema is there
    link = make_sign_in_link(context.settings, now=context.now, minutes=minutes)
    console.print("Open this link to sign in to the admin pages (it works once):", highlight=False)
    print(link.url)
    console.print(f"It expires at {link.expires_at:%Y-%m-%d %H:%M} UTC. Run `mentorbot serve` if the server is not running.", highlight=False)


# --- import ------------------------------------------------------------------------------------


@import_app.command("roster")
@friendly_errors
def import_roster_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Roster file, .csv or .xlsx (see the roster format in the README).")],
    strict: Annotated[bool, typer.Option("--strict", help="Import nothing if any row has a problem.")] = False,
    program: ProgramOption = None,
) -> None:
    """Import or update people from a roster; bad rows are reported by line and the good rows still land.

    Example: [bold]mentorbot import roster teachers.csv[/bold]
    """
    context = _ctx(ctx)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"Reading {file.name}", total=None)
        result = import_roster(
            context.engine,
            file,
            program_name=_program_name(context, program, district_wide=True),  # the roster serves every program's pool
            default_timezone=context.settings.default_timezone,
            now=context.now,
            strict=strict,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    report.print_import(console, result)
    for name, (added, removed) in result.pool_changes.items():
        if added or removed:
            console.print(f"Pool of {name}: {added} joined, {removed} left.", highlight=False)
    if result.strict_rejected:
        raise typer.Exit(1)


# --- terms -------------------------------------------------------------------------------------


@term_app.command("open")
@friendly_errors
def term_open(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='Term name, e.g. "Spring 2027".')],
    opt_in_by: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Last day to opt in.")] = None,
    enroll_roster: Annotated[
        bool, typer.Option("--enroll-roster", help="Enroll everyone as their roster row says instead of asking them.")
    ] = False,
    program: ProgramOption = None,
) -> None:
    """Open a term.

    Example: [bold]mentorbot term open "Spring 2027" --opt-in-by 2027-01-22 --enroll-roster[/bold]
    """
    context = _ctx(ctx)
    settings = context.settings
    program_name = _program_name(context, program)
    term = service.open_term(
        context.engine,
        program_name=program_name,
        timezone=settings.default_timezone,
        name=name,
        opt_in_by=opt_in_by,
        now=context.now,
    )
    console.print(f"Opened term [bold]{term.name}[/bold]" + (f", opt-in by {term.opt_in_by}" if term.opt_in_by else ""))
    if not enroll_roster:
        from bot.notify import invite_to_term

        asked = invite_to_term(context.engine, term_id=term.id, now=context.now)
        schedule_term_reminders(context.engine, term_id=term.id, now=context.now)
        console.print(f"Asked {asked} people to opt in (Slack DM or email); reminders follow after 3 and 7 days.")
    else:
        counts = service.enroll_from_roster(
            context.engine,
            program_name=program_name,
            term_name=term.name,
            require_approval=settings.require_principal_approval,
            now=context.now,
        )
        report.print_enrollment_counts(console, counts)


@term_app.command("list")
@friendly_errors
def term_list(ctx: typer.Context, program: ProgramOption = None) -> None:
    """List the program's terms.

    Example: [bold]mentorbot term list[/bold]
    """
    context = _ctx(ctx)
    from storage.db import session_scope

    with session_scope(context.engine) as session:
        the_program = repo.get_program(session, name=_program_name(context, program))
        terms = repo.list_terms(session, program_id=the_program.id)
    table = Table("term", "status", "opt-in by", "opened")
    for term in terms:
        table.add_row(term.name, term.status, str(term.opt_in_by or ""), term.opened_at.strftime("%Y-%m-%d") if term.opened_at else "")
    console.print(table)


@term_app.command("close")
@friendly_errors
def term_close(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Term to close.")], program: ProgramOption = None) -> None:
    """Close a term once all its rounds are closed.

    Example: [bold]mentorbot term close "Spring 2027"[/bold]
    """
    context = _ctx(ctx)
    term = service.close_term(context.engine, program_name=_program_name(context, program), name=name, now=context.now)
    console.print(f"Closed term [bold]{term.name}[/bold]")


@term_app.command("approve")
@friendly_errors
def term_approve(
    ctx: typer.Context,
    mentor_email: Annotated[str, typer.Argument(help="The mentor's email.")],
    decline: Annotated[bool, typer.Option("--decline", help="Decline instead of approving.")] = False,
    capacity: Annotated[int | None, typer.Option(help="Change how many mentees they take this term.")] = None,
    by: Annotated[str, typer.Option(help="Who decided (a principal's email).")] = "admin",
    term: Annotated[str | None, typer.Option(help="Term name (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Record a principal's decision on a mentor.

    Example: [bold]mentorbot term approve ana.chen@district.example --capacity 2 --by principal@district.example[/bold]
    """
    context = _ctx(ctx)
    enrollment = service.decide_approval(
        context.engine,
        program_name=_program_name(context, program),
        term_name=term,
        mentor_email=mentor_email,
        approve=not decline,
        decided_by=by,
        capacity=capacity,
        now=context.now,
    )
    console.print(f"{mentor_email}: {enrollment.approval}, capacity {enrollment.capacity}")


# --- rounds ------------------------------------------------------------------------------------


@round_app.command("new")
@friendly_errors
def round_new(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="micro, speed, event (topic event) or interview (informational interviews)")],
    topic: Annotated[str | None, typer.Option(help="Topic of a micro round; mentors must list it as a strength.")] = None,
    sessions: Annotated[int, typer.Option(help="Sessions in a micro round or per event topic: 1, 2 or 3.")] = 1,
    start: Annotated[date | None, typer.Option("--start", "--start-on", formats=["%Y-%m-%d"], help="First day of sessions (events and interviews: the day sign-ups open and the round announces itself).")] = None,
    match_on: Annotated[date | None, typer.Option(formats=["%Y-%m-%d"], help="Day the matcher runs by itself.")] = None,
    end: Annotated[date | None, typer.Option("--end", "--end-on", formats=["%Y-%m-%d"], help="Last day of the round (events: the event day).")] = None,
    topics: Annotated[str | None, typer.Option(help='Topic events: the topics, separated by ";" (e.g. "SEL; assessment; family communication").')] = None,
    rotations: Annotated[int | None, typer.Option(help="Speed events: partners each mentee meets.")] = None,
    minutes: Annotated[int | None, typer.Option(help="Speed events: minutes per rotation.")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"], help="Speed events: when the first rotation starts, program time."),
    ] = None,
    term: Annotated[str | None, typer.Option(help="Term name (default: the open term).")] = None,
    program: ProgramOption = None,
) -> None:
    """Create a round in the open term.

    Examples:
      [bold]mentorbot round new micro --topic SEL --sessions 2 --start 2027-02-01 --match-on 2027-01-25[/bold]
      [bold]mentorbot round new speed --rotations 6 --minutes 10 --at "2027-03-04 15:30"[/bold]
      [bold]mentorbot round new event --topics "SEL; assessment; family communication" --sessions 1 --start-on 2027-02-01 --match-on 2027-02-05 --end-on 2027-02-09[/bold]
      [bold]mentorbot round new interview --start-on 2027-02-01 --match-on 2027-02-05[/bold]
    """
    context = _ctx(ctx)
    program_name = _program_name(context, program)
    starts_at = None
    if at is not None:
        from zoneinfo import ZoneInfo

        from storage.db import session_scope

        with session_scope(context.engine) as session:
            zone = repo.get_program(session, name=program_name).timezone
        starts_at = at.replace(tzinfo=ZoneInfo(zone))
    request = service.RoundRequest(
        kind=kind.strip().lower(),
        topic=topic,
        sessions=sessions,
        start_on=start,
        match_on=match_on,
        end_on=end,
        rotations=rotations,
        rotation_minutes=minutes,
        starts_at=starts_at,
        topics=topics,
    )
    round_ = service.create_round(
        context.engine, program_name=program_name, term_name=term, request=request, now=context.now
    )
    console.print(f"Created {round_.kind} round [bold]{round_.id}[/bold] ({round_.status})")


@round_app.command("list")
@friendly_errors
def round_list(ctx: typer.Context, term: Annotated[str | None, typer.Option(help="Term name.")] = None, program: ProgramOption = None) -> None:
    """List the term's rounds.

    Example: [bold]mentorbot round list[/bold]
    """
    context = _ctx(ctx)
    from storage.db import session_scope

    with session_scope(context.engine) as session:
        the_program = repo.get_program(session, name=_program_name(context, program))
        the_term = repo.get_term(session, program_id=the_program.id, name=term)
        rounds = repo.list_rounds(session, term_id=the_term.id)
    report.print_rounds(console, the_term.name, rounds)


def _move_command(target: str, verb: str) -> Callable[..., None]:
    @friendly_errors
    def command(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
        context = _ctx(ctx)
        if target == "collecting":
            # Opening a round that announces itself also invites its pool (once per person, even if run again).
            from bot.rounds.events import open_round

            queued = open_round(context.engine, round_id=round_id, now=context.now)
            round_ = service.round_pairs(context.engine, round_id=round_id)[0]
            if queued:
                console.print(f"Announced to {queued} people or channels.")
        else:
            round_ = service.move_round(context.engine, round_id=round_id, target=target, now=context.now)
        console.print(f"Round {round_.id} is now [bold]{round_.status}[/bold]")

    command.__doc__ = f"{verb}.\n\nExample: [bold]mentorbot round {{name}} 1[/bold]"
    return command


for _name, _target, _verb in (
    ("open", "collecting", "Open a draft round to participants (collecting)"),
    ("start", "running", "Start a published round's sessions"),
    ("close", "closed", "Close a running round"),
):
    _command = _move_command(_target, _verb)
    _command.__doc__ = _command.__doc__.replace("{name}", _name)
    round_app.command(_name)(_command)


@round_app.command("publish")
@friendly_errors
def round_publish(
    ctx: typer.Context,
    round_id: Annotated[int, typer.Argument(help="Round number.")],
    message: Annotated[str | None, typer.Option(help="A note from the program added to every pairing notice.")] = None,
) -> None:
    """Publish a reviewed round: propose session times and schedule notices, reminders, check-ins and the survey.

    Example: [bold]mentorbot round publish 1 --message "Thank you for mentoring this spring!"[/bold]
    """
    from bot.rounds.schedule import schedule_config

    context = _ctx(ctx)
    outcome = publish_round(context.engine, round_id=round_id, now=context.now, config=schedule_config(context.settings), message=message)
    console.print(f"Round {round_id} is now [bold]published[/bold]: {outcome.pairs} pairs, {outcome.actions} scheduled actions.")


@round_app.command("rematch")
@friendly_errors
def round_rematch(ctx: typer.Context, pairing_id: Annotated[int, typer.Argument(help="The stalled pairing's number.")]) -> None:
    """Cancel a stalled pairing and match its mentee again (never with the same mentor).

    Example: [bold]mentorbot round rematch 12[/bold]
    """
    from bot.rounds.schedule import rematch
    from bot.rounds.schedule import schedule_config

    context = _ctx(ctx)
    new = rematch(context.engine, pairing_id=pairing_id, now=context.now, config=schedule_config(context.settings))
    if new is None:
        console.print(f"Pairing {pairing_id} is cancelled; no other mentor can take this mentee now.")
    else:
        console.print(f"Pairing {pairing_id} is cancelled; new pairing {new.id}: {'; '.join(new.reasons)}")


@round_app.command("timeline")
@friendly_errors
def round_timeline(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Show what the round has sent and what is due, in time order.

    Example: [bold]mentorbot round timeline 1[/bold]
    """
    from storage.db import session_scope

    context = _ctx(ctx)
    with session_scope(context.engine) as session:
        actions = repo.round_actions(session, round_id=round_id)
    report.print_timeline(console, actions)


@round_app.command("match")
@friendly_errors
def round_match(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Run the matcher on a collecting round (or re-run it in review) and show the proposed pairs.

    Example: [bold]mentorbot round match 1[/bold]
    """
    context = _ctx(ctx)
    outcome = service.run_matching(
        context.engine, round_id=round_id, session_minutes=context.settings.session_minutes, now=context.now
    )
    _round, pairs = service.round_pairs(context.engine, round_id=round_id)
    report.print_match(console, outcome.round, pairs)
    _print_topics(outcome.round, pairs)


@round_app.command("show")
@friendly_errors
def round_show(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Show a round, its pairs with reasons, and who is unmatched and why.

    Example: [bold]mentorbot round show 1[/bold]
    """
    round_, pairs = service.round_pairs(_ctx(ctx).engine, round_id=round_id)
    report.print_match(console, round_, pairs)
    _print_topics(round_, pairs)


def _print_topics(round_, pairs) -> None:
    """Topic events and interviews: each topic's result, and which topic each pair is about."""
    from bot.rounds.events import EVENT_KINDS, topic_lines

    if round_.kind not in EVENT_KINDS or not round_.match_summary:
        return
    for line in topic_lines(round_.match_summary):
        console.print(f"  {line}", highlight=False)
    for pair in pairs:
        if pair.topic:
            console.print(f"  {pair.mentor_name} -> {pair.mentee_name}: {pair.topic}", highlight=False)


# --- export ------------------------------------------------------------------------------------


@export_app.command("pairings")
@friendly_errors
def export_pairings(
    ctx: typer.Context,
    round_id: Annotated[int, typer.Argument(help="Round number.")],
    out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("pairings.csv"),
) -> None:
    """Write a round's pairs with scores and reasons to CSV.

    Example: [bold]mentorbot export pairings 1 --out spring-round-1.csv[/bold]
    """
    _round, pairs = service.round_pairs(_ctx(ctx).engine, round_id=round_id)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mentor_email", "mentee_email", "mentor_name", "mentee_name", "score", "status", "reasons"])
        for pair in pairs:
            writer.writerow([pair.mentor_email, pair.mentee_email, pair.mentor_name, pair.mentee_name, f"{pair.score:.1f}", pair.status, "; ".join(pair.reasons)])
    console.print(f"Wrote {len(pairs)} pairs to {out}")


@export_app.command("people")
@friendly_errors
def export_people(
    ctx: typer.Context, out: Annotated[Path, typer.Option(help="CSV file to write.")] = Path("people.csv"), program: ProgramOption = None
) -> None:
    """Write everyone on file as a roster CSV that `mentorbot import roster` reads back.

    Example: [bold]mentorbot export people --out roster-backup.csv[/bold]
    """
    from bot.importer import write_roster_csv

    context = _ctx(ctx)
    count = write_roster_csv(context.engine, out, program_name=_program_name(context, program))
    console.print(f"Wrote {count} people to {out}")


# --- db ----------------------------------------------------------------------------------------


def _plain_engine(ctx: typer.Context) -> Engine:
    return db.create_db_engine(_ctx(ctx).settings.resolved_database_url)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date (the app also does this on start).

    Example: [bold]mentorbot db upgrade[/bold]
    """
    engine = _plain_engine(ctx)
    db.upgrade(engine, revision)
    console.print(f"Database at revision {db.current_revision(engine)}")


@db_app.command("current")
@friendly_errors
def db_current(ctx: typer.Context) -> None:
    """Show the schema revision and where the database is.

    Example: [bold]mentorbot db current[/bold]
    """
    engine = _plain_engine(ctx)
    console.print(f"{engine.url.render_as_string(hide_password=True)}: revision {db.current_revision(engine) or 'none (empty)'}")


@db_app.command("downgrade")
@friendly_errors
def db_downgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")]) -> None:
    """Take the schema back to an earlier revision (base empties the database).

    Example: [bold]mentorbot db downgrade base[/bold]
    """
    engine = _plain_engine(ctx)
    db.downgrade(engine, revision)
    console.print(f"Database at revision {db.current_revision(engine) or 'none (empty)'}")


from bot.cli_match import register as _register_match_commands  # noqa: E402  (needs `app` and helpers above)

_register_match_commands(app)

from bot.cli_program import register as _register_program_commands  # noqa: E402  (needs `app` and helpers above)

_register_program_commands(app)

from bot.cli_person import register as _register_person_commands  # noqa: E402  (needs `app` and helpers above)

_register_person_commands(app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="mentorbot")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
