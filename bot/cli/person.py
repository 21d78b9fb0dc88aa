"""`mentorbot person`: a person's data rights from the command line: export, erase (with a confirmation), and the log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, friendly_errors, perform

app = typer.Typer(help="A person's data: send them a copy, erase it, and the log of such requests.", no_args_is_help=True)


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
    from bot.actions import people  # start-up time: data rights load the database

    result = perform(ctx, people.send_person_data, email=email, channel="cli")
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
    from bot.actions import people  # start-up time: data rights load the database

    if not yes:
        plan = perform(ctx, people.erase_person, email=email, confirmed=False, channel="cli")
        if plan.already_erased:
            console.print("This person's data was erased already; there is nothing more to remove.")
            return
        if not typer.confirm(f"Erase the data of {plan.person.name} ({email.strip()})? This can't be undone.", default=False):
            console.print("Nothing was erased.")
            raise typer.Exit(1)
    done = perform(ctx, people.erase_person, email=email, confirmed=True, channel="cli")
    console.print(done.result.message() if done.result is not None else "This person's data was erased already; there is nothing more to remove.")


@app.command("requests")
@friendly_errors
def requests_command(ctx: typer.Context) -> None:
    """The log of data requests (exports and erasures), newest first: counts only, never the data.

    Example: [bold]mentorbot person requests[/bold]
    """
    from bot.actions import people  # start-up time: data rights load the database

    rows = perform(ctx, people.data_requests)
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
