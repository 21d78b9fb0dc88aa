"""`mentorbot round`: create micro-mentoring rounds, speed events, topic events and interviews, and move them along.

Every command imports the round service, the scheduler or the reports when it runs, not when this module loads:
they bring in the database, OR-Tools and the matcher, which `--help` and the other commands never need.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

import typer

from bot.cli.common import ProgramOption, chosen_program, console, context_of, friendly_errors

app = typer.Typer(help="Create micro-mentoring rounds and speed events and move them along.", no_args_is_help=True)


@app.command("new")
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
    from bot.rounds import service  # start-up time: see the module's docstring

    context = context_of(ctx)
    program_name = chosen_program(context, program)
    starts_at = None
    if at is not None:
        from zoneinfo import ZoneInfo

        from storage import repo
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


@app.command("list")
@friendly_errors
def round_list(ctx: typer.Context, term: Annotated[str | None, typer.Option(help="Term name.")] = None, program: ProgramOption = None) -> None:
    """List the term's rounds.

    Example: [bold]mentorbot round list[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from storage import repo
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        the_program = repo.get_program(session, name=chosen_program(context, program))
        the_term = repo.get_term(session, program_id=the_program.id, name=term)
        rounds = repo.list_rounds(session, term_id=the_term.id)
    report.print_rounds(console, the_term.name, rounds)


def _move_command(target: str, verb: str) -> Callable[..., None]:
    @friendly_errors
    def command(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
        from bot.rounds import service  # start-up time: see the module's docstring

        context = context_of(ctx)
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
    app.command(_name)(_command)


@app.command("publish")
@friendly_errors
def round_publish(
    ctx: typer.Context,
    round_id: Annotated[int, typer.Argument(help="Round number.")],
    message: Annotated[str | None, typer.Option(help="A note from the program added to every pairing notice.")] = None,
) -> None:
    """Publish a reviewed round: propose session times and schedule notices, reminders, check-ins and the survey.

    Example: [bold]mentorbot round publish 1 --message "Thank you for mentoring this spring!"[/bold]
    """
    from bot.rounds.schedule import publish_round, schedule_config  # start-up time: see the module's docstring

    context = context_of(ctx)
    outcome = publish_round(context.engine, round_id=round_id, now=context.now, config=schedule_config(context.settings), message=message)
    console.print(f"Round {round_id} is now [bold]published[/bold]: {outcome.pairs} pairs, {outcome.actions} scheduled actions.")


@app.command("rematch")
@friendly_errors
def round_rematch(ctx: typer.Context, pairing_id: Annotated[int, typer.Argument(help="The stalled pairing's number.")]) -> None:
    """Cancel a stalled pairing and match its mentee again (never with the same mentor).

    Example: [bold]mentorbot round rematch 12[/bold]
    """
    from bot.rounds.schedule import rematch, schedule_config  # start-up time: see the module's docstring

    context = context_of(ctx)
    new = rematch(context.engine, pairing_id=pairing_id, now=context.now, config=schedule_config(context.settings))
    if new is None:
        console.print(f"Pairing {pairing_id} is cancelled; no other mentor can take this mentee now.")
    else:
        console.print(f"Pairing {pairing_id} is cancelled; new pairing {new.id}: {'; '.join(new.reasons)}")


@app.command("timeline")
@friendly_errors
def round_timeline(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Show what the round has sent and what is due, in time order.

    Example: [bold]mentorbot round timeline 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from storage import repo
    from storage.db import session_scope

    context = context_of(ctx)
    with session_scope(context.engine) as session:
        actions = repo.round_actions(session, round_id=round_id)
    report.print_timeline(console, actions)


@app.command("match")
@friendly_errors
def round_match(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Run the matcher on a collecting round (or re-run it in review) and show the proposed pairs.

    Example: [bold]mentorbot round match 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.rounds import service

    context = context_of(ctx)
    outcome = service.run_matching(
        context.engine, round_id=round_id, session_minutes=context.settings.session_minutes, now=context.now
    )
    _round, pairs = service.round_pairs(context.engine, round_id=round_id)
    report.print_match(console, outcome.round, pairs)
    _print_topics(outcome.round, pairs)


@app.command("show")
@friendly_errors
def round_show(ctx: typer.Context, round_id: Annotated[int, typer.Argument(help="Round number.")]) -> None:
    """Show a round, its pairs with reasons, and who is unmatched and why.

    Example: [bold]mentorbot round show 1[/bold]
    """
    from bot import report  # start-up time: see the module's docstring
    from bot.rounds import service

    round_, pairs = service.round_pairs(context_of(ctx).engine, round_id=round_id)
    report.print_match(console, round_, pairs)
    _print_topics(round_, pairs)


def _print_topics(round_, pairs) -> None:
    """Topic events and interviews: each topic's result, and which topic each pair is about."""
    from bot.rounds.events import EVENT_KINDS, topic_lines  # start-up time: see the module's docstring

    if round_.kind not in EVENT_KINDS or not round_.match_summary:
        return
    for line in topic_lines(round_.match_summary):
        console.print(f"  {line}", highlight=False)
    for pair in pairs:
        if pair.topic:
            console.print(f"  {pair.mentor_name} -> {pair.mentee_name}: {pair.topic}", highlight=False)
