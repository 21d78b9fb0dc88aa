"""`mentorbot db`: the database schema: upgrade, show the revision, downgrade.

The commands import `storage.db` when they run: SQLAlchemy and the migrations are not needed to start or for `--help`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import console, context_of, friendly_errors

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="Database schema: upgrade, show the revision, downgrade.", no_args_is_help=True)


def _plain_engine(ctx: typer.Context) -> Engine:
    """An engine on the configured database, not migrated: these commands move the schema themselves."""
    from storage import db  # start-up time: see the module's docstring

    return db.create_db_engine(context_of(ctx).settings.resolved_database_url)


@app.command("upgrade")
@friendly_errors
def db_upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date (the app also does this on start).

    Example: [bold]mentorbot db upgrade[/bold]
    """
    from storage import db  # start-up time: see the module's docstring

    engine = _plain_engine(ctx)
    db.upgrade(engine, revision)
    console.print(f"Database at revision {db.current_revision(engine)}")


@app.command("current")
@friendly_errors
def db_current(ctx: typer.Context) -> None:
    """Show the schema revision and where the database is.

    Example: [bold]mentorbot db current[/bold]
    """
    from storage import db  # start-up time: see the module's docstring

    engine = _plain_engine(ctx)
    console.print(f"{engine.url.render_as_string(hide_password=True)}: revision {db.current_revision(engine) or 'none (empty)'}")


@app.command("downgrade")
@friendly_errors
def db_downgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")]) -> None:
    """Take the schema back to an earlier revision (base empties the database).

    Example: [bold]mentorbot db downgrade base[/bold]
    """
    from storage import db  # start-up time: see the module's docstring

    engine = _plain_engine(ctx)
    db.downgrade(engine, revision)
    console.print(f"Database at revision {db.current_revision(engine) or 'none (empty)'}")
