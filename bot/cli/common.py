"""What every `mentorbot` command shares: the consoles, the context (settings, clock, engine) and friendly errors.

This module is loaded on every start, `--help` included, so it imports typer, rich, the standard library and
`bot.errors` (a leaf) only: settings, the database and the use-case layer load when a command first asks for them.
A command only translates: it parses its options, runs one operation of `bot/actions/` (`perform`) and renders the
typed result.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import inspect
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bot.errors import UserError
from bot.logs import configure_logging

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.actions.access import Actor
    from bot.settings import Settings

console = Console()
err_console = Console(stderr=True)
logger = logging.getLogger("mentorbot")

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class CommandError(UserError):
    """A request on the command line that cannot be carried out; the message says why."""


def is_database_error(exc: BaseException) -> bool:
    """Whether the error says the database cannot be reached or used (only once SQLAlchemy is loaded)."""
    exc_module = sys.modules.get("sqlalchemy.exc")
    return exc_module is not None and isinstance(exc, exc_module.OperationalError)


def read_settings() -> Settings:
    """Settings from the environment and `.env`; a wrong one is named and the command stops with exit code 2."""
    # Imported here, not at the top: pydantic-settings would slow every start, `--help` included.
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        err_console.print(f"[red]Error:[/red] a setting is wrong: {problems}")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)
    # Migration chatter is noise on a command line; `mentorbot db current` says where the schema is.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    return settings


class Context:
    """What every command needs: settings read on first use, the clock, and a migrated engine made on first use."""

    def __init__(self, now: datetime, load_settings: Callable[[], Settings] = read_settings) -> None:
        self.now = now
        self._load_settings = load_settings
        self._engine: Engine | None = None

    @functools.cached_property
    def settings(self) -> Settings:
        return self._load_settings()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            # Imported here, not at the top: SQLAlchemy and the models are loaded only by commands that use the database.
            from storage import db

            self._engine = db.create_db_engine(self.settings.resolved_database_url)
            db.upgrade(self._engine)
        return self._engine

    @functools.cached_property
    def actor(self) -> Actor:
        """Whoever runs the command: the operator of this installation, a site admin, named by their login."""
        # Imported here, not at the top: the access table loads the program store and SQLAlchemy (start-up time).
        from bot.actions.access import Actor

        return Actor.operator(f"cli:{login_name()}")

    def close(self) -> None:
        """Close the database connections the command opened (a command run in-process leaves none behind)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def context_of(ctx: typer.Context) -> Context:
    """The command's shared context, made by the `mentorbot` callback."""
    return ctx.find_root().obj


def friendly_errors(command: F) -> F:
    """Turn the errors a user can cause into one plain line and exit code 1, never a traceback.

    The settings are read (and checked) before the command runs, as every command needs them.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            for given in (*args, *kwargs.values()):
                if isinstance(given, typer.Context):
                    context_of(given).settings  # read now: a wrong setting stops the command before it starts
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except UserError as exc:
            # soft_wrap: one line however long (a list of sites, say), for whoever reads or greps it.
            err_console.print(f"[red]Error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            if is_database_error(exc):
                err_console.print(f"[red]Error:[/red] cannot use the database: {escape(str(exc.orig or exc))}".splitlines()[0])
                raise typer.Exit(1) from None
            # A bug of ours: say so plainly, keep the details in the log rather than on the user's screen.
            logger.debug("unexpected error", exc_info=True)
            err_console.print(
                f"[red]Something went wrong[/red] ({type(exc).__name__}: {escape(str(exc))}). Nothing half-done was saved; "
                "run again with LOG_LEVEL=DEBUG for details."
            )
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


ProgramOption = Annotated[
    str | None, typer.Option("--program", "-p", help="Program to act on (default: the only one, else PROGRAM_NAME).")
]


def perform(ctx: typer.Context, action: Callable[..., T], /, **arguments: Any) -> T:
    """Run one operation of `bot/actions/` in one unit of work, as the operator, at the command's clock and settings.

    `now` and `settings` are passed to the operations that take them; everything else is the command's `arguments`.
    The work is committed when the operation returns and rolled back when it raises.
    """
    # Imported here, not at the top: the unit of work loads SQLAlchemy and the models (start-up time).
    from bot.actions.scope import unit_of_work

    context = context_of(ctx)
    takes = inspect.signature(action).parameters
    given = {"actor": context.actor, "now": context.now, "settings": context.settings}
    with unit_of_work(context.engine) as session:
        return action(session, **{name: value for name, value in given.items() if name in takes}, **arguments)


def login_name() -> str:
    """The login name of whoever runs the command, for the records it leaves ("operator" when there is none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "operator"


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None] | None]:
    """A transient progress bar on stderr, fed by the `progress(done, total)` callable this yields.

    Only when stderr is a terminal: otherwise this yields None (the action then reports nothing) and prints nothing,
    so piped output and logs stay as they were.
    """
    if not err_console.is_terminal:
        yield None
        return
    # Imported here, not at the top: only long commands draw a bar (start-up time).
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True
    ) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _bad_moment(option: str, value: str, what: str, example: str) -> typer.Exit:
    err_console.print(f"[red]Error:[/red] {option}: {escape(repr(value))} is not {what}; write it as {example}", highlight=False)
    return typer.Exit(2)  # a usage error, as click's own


def date_value(option: str) -> Callable[[str], date]:
    """A parser for a date option: ISO forms (2027-02-01; a time after it, as in 2027-02-01 15:30, is dropped);
    anything else stops the command with one line saying how to write it, and the usage-error exit code 2."""

    def parse(value: str | date) -> date:
        if isinstance(value, date):
            return value.date() if isinstance(value, datetime) else value
        text = value.strip()
        for read in (date.fromisoformat, lambda t: datetime.fromisoformat(t).date()):
            try:
                return read(text)
            except ValueError:
                continue
        raise _bad_moment(option, value, "a date", "YYYY-MM-DD, e.g. 2027-02-01")

    return parse


def datetime_value(option: str) -> Callable[[str], datetime]:
    """A parser for a date-and-time option: ISO forms (2027-02-01 15:30, 2027-02-01T15:30, 2027-02-01 for midnight);
    anything else stops the command with one line saying how to write it, and the usage-error exit code 2."""

    def parse(value: str | datetime) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise _bad_moment(option, value, "a date and time", '"YYYY-MM-DD HH:MM", e.g. "2027-02-01 15:30"') from None

    return parse
