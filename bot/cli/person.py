"""`mentorbot person`: a person's data rights from the command line: export, erase (with a confirmation), and the log."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, context_of, friendly_errors

app = typer.Typer(help="A person's data: send them a copy, erase it, and the log of such requests.", no_args_is_help=True)


def _who() -> str:
    try:
        return f"admin:cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "admin:cli"


@app.command("export")
@friendly_errors
def export_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    out: Annotated[Path | None, typer.Option("--out", help="Also write the data to this JSON file.")] = None,
) -> None:
    """Send a person everything mentorbot holds about them (Slack summary, email with the JSON); logged.

    Example: [bold]mentorbot person export ana@district.example --out ana.json[/bold]
    """
    from bot import data_rights  # start-up time: data rights load the database
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        person = data_rights.find_person(session, email=email)
        result = data_rights.export(session, person_id=person.id, requested_by=_who(), channel="cli", now=context.now)
    if out is not None:
        out.write_text(json.dumps(result.data, indent=2, ensure_ascii=False), encoding="utf-8")
        console.print(f"Wrote {out}")
    sent = f"emailed to {result.emailed_to}" if result.emailed_to else "not emailed (no email address on file)"
    console.print(f"Export request #{result.request_id}: the data is {sent}" + (" and summarised by Slack DM." if result.data["person"]["slack_user_id"] else "."))


@app.command("erase")
@friendly_errors
def erase_command(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking first.")] = False,
) -> None:
    """Erase a person's personal data; pairings, check-ins and numeric survey answers stay without a name.

    Example: [bold]mentorbot person erase ana@district.example[/bold]
    """
    from bot import data_rights  # start-up time: data rights load the database
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        person = data_rights.find_person(session, email=email)
        name, person_id = person.name, person.id
    if not yes and not typer.confirm(f"Erase the data of {name} ({email.strip()})? This can't be undone.", default=False):
        console.print("Nothing was erased.")
        raise typer.Exit(1)
    with session_scope(context.engine) as session:
        result = data_rights.erase(
            session, person_id=person_id, requested_by=_who(), channel="cli", now=context.now, admin_slack_ids=tuple(context.settings.slack_admin_ids)
        )
    console.print(result.message())


@app.command("requests")
@friendly_errors
def requests_command(ctx: typer.Context) -> None:
    """The log of data requests (exports and erasures), newest first: counts only, never the data.

    Example: [bold]mentorbot person requests[/bold]
    """
    from bot import data_rights  # start-up time: data rights load the database
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        rows = data_rights.list_requests(session)
    if not rows:
        console.print("No data requests yet.")
        return
    table = Table("#", "when (UTC)", "kind", "person", "asked by", "via", "status", "what", title="Data requests")
    for row in rows:
        counts = row.detail.get("counts") or {}
        what = ", ".join(f"{n} {k}" for k, n in counts.items()) if isinstance(counts, dict) else ""
        table.add_row(
            str(row.id), f"{row.created_at:%Y-%m-%d %H:%M}", row.kind, f"#{row.person_id}" if row.person_id else "-",
            row.requested_by, row.channel, row.status, what,
        )  # fmt: skip
    console.print(table)
