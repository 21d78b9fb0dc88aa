"""The `mentorbot` command line (typer + rich).

Each group of commands lives in its own module. Starting the command loads typer, rich and the commands' signatures
only, so `mentorbot --help` answers at once; a command imports the settings, the database and the domain it needs
when it runs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

import typer

from bot import installed_version
from bot.cli import database, import_export, match, person, program, rounds, server, terms
from bot.cli.common import Context, datetime_value

app = typer.Typer(
    help="mentorbot runs teacher mentoring programs: roster, terms, rounds, fair matching, Slack and email.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def print_version(asked: bool) -> None:
    """`mentorbot --version`: print the installed version and stop."""
    if asked:
        print(f"mentorbot {installed_version()}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=print_version, is_eager=True, help="Print the version and stop.")
    ] = False,
    now: Annotated[
        datetime | None,
        typer.Option(parser=datetime_value("--now"), help="Pretend the time is this UTC moment (for rehearsals and tests).", hidden=True),
    ] = None,
) -> None:
    """Set the clock; the settings are read from the environment and `.env` once, when a command first needs them."""
    moment = (now.replace(tzinfo=timezone.utc) if now and now.tzinfo is None else now) or datetime.now(timezone.utc)
    ctx.obj = Context(moment)
    ctx.call_on_close(ctx.obj.close)


app.add_typer(server.app)
app.add_typer(match.app)
app.add_typer(import_export.import_app, name="import")
app.add_typer(terms.app, name="term")
app.add_typer(rounds.app, name="round")
app.add_typer(import_export.export_app, name="export")
app.add_typer(database.app, name="db")
app.add_typer(program.app, name="program")
app.add_typer(person.app, name="person")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="mentorbot")
