"""Program definitions: the YAML file, its line-numbered errors, apply/export round trips, custom question kinds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import dialogs
from bot.flows import PROFILE, FlowContext, advance, questions_for, start
from bot.flows.model import CustomQuestion
from bot.programs.store import apply_specs, choose_program_name, export_specs, spec_of
from bot.programs.yamlfile import ProgramFileError, dump_programs, parse_programs, read_programs
from storage import repo
from storage.db import session_scope
from storage.models import Pool, Program
from tests.test_cli import run

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "programs.example.yaml"

BAD_FILE = """\
- name: Induction
  timezone: Mars/Olympus
  pool:
    roles: [mentor, coach]
    sitez: [Lincoln]
  rules:
    require: [same_subject, same_shoe_size]
- name: SEL
  max_capacity: 40
  announce_channel: general
  custom_questions:
    - key: style
      prompt: How do you like feedback?
      kind: choice
      options: [Only one]
"""


def test_every_problem_in_a_bad_file_is_reported_with_its_line() -> None:
    with pytest.raises(ProgramFileError) as caught:
        parse_programs(BAD_FILE, path="programs.yaml")
    problems = [(problem.line, problem.where) for problem in caught.value.problems]
    assert problems == [
        (2, "program 1 > timezone"),
        (4, "program 1 > pool.roles.1"),
        (5, "program 1 > pool.sitez"),
        (7, "program 1 > rules.require.1"),
        (9, "program 2 > max_capacity"),
        (10, "program 2 > announce_channel"),
        (12, "program 2 > custom_questions.0"),
    ]
    text = str(caught.value)
    assert "7 problems; nothing was changed" in text
    assert "line 5: program 1 > pool.sitez: is not a setting a program has" in text
    assert "at least two options" in text


def test_a_single_program_file_reports_paths_without_a_program_number() -> None:
    with pytest.raises(ProgramFileError) as caught:
        parse_programs("name: Induction\nrules:\n  relax: [everything]\nadmins: [not-an-admin]\n")
    assert [(p.line, p.where) for p in caught.value.problems] == [(3, "rules.relax.0"), (4, "admins.0")]


def test_yaml_syntax_errors_and_empty_files_are_friendly() -> None:
    with pytest.raises(ProgramFileError, match="line 2: not valid YAML"):
        parse_programs("name: Induction\ntopics: [a, b\n")
    with pytest.raises(ProgramFileError, match="the file is empty"):
        parse_programs("")
    with pytest.raises(ProgramFileError, match="a list of programs"):
        parse_programs("just a sentence\n")


def test_the_same_program_twice_in_one_file_is_refused() -> None:
    with pytest.raises(ProgramFileError, match="repeated: sel"):
        parse_programs("- name: SEL\n- name: sel\n")


def test_the_example_file_applies_and_applying_it_again_changes_nothing(engine: Engine, now: datetime) -> None:
    specs = read_programs(EXAMPLE)
    assert [spec.name for spec in specs] == ["New Teacher Induction", "SEL Micro-Mentoring"]
    first = apply_specs(engine, specs, now=now)
    assert [change.action for change in first] == ["created", "created"]
    again = apply_specs(engine, read_programs(EXAMPLE), now=now)
    assert [change.action for change in again] == ["unchanged", "unchanged"]
    with session_scope(engine) as session:
        programs = {p.name: p for p in session.exec(select(Program))}
        induction = programs["New Teacher Induction"]
        assert induction.settings["admin_emails"] == ["induction.lead@district.example"]  # older readers keep working
        assert induction.settings["rules"]["allow_both_role"] is False
        pools = session.exec(select(Pool).where(Pool.name == "members")).all()
        assert sorted(pool.program_id for pool in pools) == sorted(p.id for p in programs.values())


def test_apply_export_apply_is_a_fixed_point_and_export_is_byte_stable(engine: Engine, now: datetime, tmp_path: Path) -> None:
    apply_specs(engine, read_programs(EXAMPLE), now=now)
    exported = dump_programs(export_specs(engine))
    path = tmp_path / "exported.yaml"
    path.write_text(exported, encoding="utf-8")
    changes = apply_specs(engine, read_programs(path), now=now)
    assert [change.action for change in changes] == ["unchanged", "unchanged"]
    assert dump_programs(export_specs(engine)) == exported
    assert read_programs(path) == read_programs(EXAMPLE)


def test_apply_names_the_fields_that_changed_and_a_dry_run_changes_nothing(engine: Engine, now: datetime) -> None:
    apply_specs(engine, parse_programs("name: SEL\ntopics: [SEL]\nmax_capacity: 2\n"), now=now)
    edited = parse_programs("name: SEL\ntopics: [SEL, restorative practices]\nmax_capacity: 2\ntimezone: America/Chicago\n")
    dry = apply_specs(engine, edited, now=now, dry_run=True)
    assert (dry[0].action, dry[0].fields) == ("updated", ["timezone", "topics"])
    with session_scope(engine) as session:
        program = repo.get_program(session, name="SEL")
        assert program.settings["topics"] == ["SEL"] and program.timezone == "America/Los_Angeles"
    real = apply_specs(engine, edited, now=now)
    assert real[0].describe().startswith("SEL: updated timezone, topics")
    with session_scope(engine) as session:
        assert repo.get_program(session, name="SEL").settings["topics"] == ["SEL", "restorative practices"]


def test_settings_from_before_definitions_are_read_and_unknown_keys_survive_apply(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        session.add(Program(
            name="Legacy", timezone="America/Denver", created_at=now,
            settings={"topics": ["SEL"], "custom_questions": [{"key": "why", "prompt": "Why?"}], "admin_emails": ["a@d.example"], "other_feature": {"x": 1}},
        ))  # fmt: skip
    with session_scope(engine) as session:
        spec = spec_of(session.exec(select(Program).where(Program.name == "Legacy")).one())
    assert spec.admins == ["a@d.example"] and spec.custom_questions[0].kind == "text" and spec.timezone == "America/Denver"
    apply_specs(engine, [spec.model_copy(update={"max_capacity": 2})], now=now)
    with session_scope(engine) as session:
        settings = repo.get_program(session, name="Legacy").settings
    assert settings["other_feature"] == {"x": 1} and settings["max_capacity"] == 2


def test_choosing_a_program_defaults_to_the_only_one_and_refuses_unknown_names(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        assert choose_program_name(session, requested=None, default="District Mentoring") == "District Mentoring"
    apply_specs(engine, parse_programs("name: Induction\n"), now=now)
    with session_scope(engine) as session:
        assert choose_program_name(session, requested=None, default="District Mentoring") == "Induction"
        assert choose_program_name(session, requested="induction", default="x") == "Induction"
    apply_specs(engine, parse_programs("name: SEL\n"), now=now)
    with session_scope(engine) as session:
        assert choose_program_name(session, requested=None, default="SEL") == "SEL"
        with pytest.raises(repo.NotFound, match="several programs; name one with --program: Induction, SEL"):
            choose_program_name(session, requested=None, default="District Mentoring")
        with pytest.raises(repo.NotFound, match="the programs are: Induction, SEL"):
            choose_program_name(session, requested="Speed Day", default="SEL")


def test_custom_questions_of_each_kind_parse_and_are_kept_under_the_program() -> None:
    ctx = FlowContext(
        role="mentee",
        program_id=7,
        custom_questions=(
            CustomQuestion("style", "Feedback?", "choice", ("Written notes", "A quick chat")),
            CustomQuestion("practices", "Practices?", "multi_choice", ("Morning meeting", "Calm corner", "Circles")),
            CustomQuestion("confidence", "Confidence?", "scale", minimum=1, maximum=5, required=True),
            ("why", "Why do you teach?"),
        ),
    )
    keys = [q.key for q in questions_for(PROFILE, ctx)][-4:]
    assert keys == ["custom:7:style", "custom:7:practices", "custom:7:confidence", "custom:7:why"]
    now = datetime(2026, 9, 1, 12, 0)
    outcome = advance(
        PROFILE, start(PROFILE, now=now, ctx=ctx),
        {"custom:7:style": "2", "custom:7:practices": "calm corner; 1", "custom:7:confidence": "6", "custom:7:why": "Kids"},
        now=now, ctx=ctx,
    )  # fmt: skip
    assert outcome.saved == {"custom:7:style": "A quick chat", "custom:7:practices": ["Calm corner", "Morning meeting"], "custom:7:why": "Kids"}
    assert "custom:7:confidence" in outcome.errors and "1. 1" in outcome.errors["custom:7:confidence"]
    fixed = advance(PROFILE, outcome.state, {"custom:7:confidence": "4"}, now=now, ctx=ctx)
    assert fixed.saved == {"custom:7:confidence": 4}
    # A required scale holds the profile open until it is answered; it is asked like a choice on both channels.
    confidence = next(q for q in questions_for(PROFILE, ctx) if q.key == "custom:7:confidence")
    assert confidence.required and confidence.kind == "choice" and [c.value for c in confidence.options(ctx)] == ["1", "2", "3", "4", "5"]


def test_program_options_read_question_kinds_and_old_key_prompt_questions(engine: Engine, now: datetime) -> None:
    apply_specs(engine, read_programs(EXAMPLE), now=now)
    with session_scope(engine) as session:
        program = repo.get_program(session, name="New Teacher Induction")
        options = dialogs.ProgramOptions.of(program)
        assert options.program_id == program.id
        assert [(q.key, q.kind, q.required) for q in options.custom_questions] == [("coaching_style", "choice", True), ("confidence", "scale", False)]
        legacy = Program(id=99, name="Old", settings={"custom_questions": [{"key": "why", "prompt": "Why?"}]})
        assert [(q.key, q.kind) for q in dialogs.ProgramOptions.of(legacy).custom_questions] == [("why", "text")]


def test_program_commands_on_the_command_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_FILE, encoding="utf-8")
    refused = run(tmp_path, "program", "apply", str(bad))
    assert refused.returncode == 1
    assert "line 4: program 1 > pool.roles.1" in refused.stderr and "nothing was changed" in refused.stderr
    assert "No programs yet" in run(tmp_path, "program", "list").stdout

    dry = run(tmp_path, "program", "apply", str(EXAMPLE), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(dry run) New Teacher Induction: created" in dry.stdout and "nothing was changed" in dry.stdout
    assert "No programs yet" in run(tmp_path, "program", "list").stdout

    applied = run(tmp_path, "program", "apply", str(EXAMPLE))
    assert "New Teacher Induction: created" in applied.stdout and "SEL Micro-Mentoring: created" in applied.stdout
    listing = run(tmp_path, "program", "list").stdout
    assert "New Teacher Induction" in listing and "SEL Micro-Mentoring" in listing

    out = tmp_path / "exported.yaml"
    assert run(tmp_path, "program", "export", "--out", str(out)).returncode == 0
    again = run(tmp_path, "program", "apply", str(out))
    assert "New Teacher Induction: unchanged" in again.stdout and "SEL Micro-Mentoring: unchanged" in again.stdout
    second = tmp_path / "second.yaml"
    run(tmp_path, "program", "export", "--out", str(second))
    assert second.read_bytes() == out.read_bytes()

    shown = run(tmp_path, "program", "show", "SEL Micro-Mentoring")
    assert "announce_channel: C0SELNEWS1" in shown.stdout
    unknown = run(tmp_path, "term", "list", "--program", "Speed Day")
    assert unknown.returncode == 1
    assert "the programs are: New Teacher Induction, SEL Micro-Mentoring" in unknown.stderr


def test_the_admin_guide_example_is_a_valid_program_file() -> None:
    guide = (EXAMPLE.parent / "admin-guide.md").read_text(encoding="utf-8")
    example = guide.split("\n## Programs", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    [spec] = parse_programs(example)
    assert spec.name == "New Teacher Induction" and spec.custom_questions[0].kind == "choice"


def test_a_hand_edited_invalid_definition_never_stops_a_roster_import(engine: Engine, now: datetime, tmp_path: Path) -> None:
    from bot.importer import import_roster

    apply_specs(engine, parse_programs("- name: Good\n  pool: {sites: [Lincoln]}\n- name: Broken\n"), now=now)
    with session_scope(engine) as session:
        broken = repo.get_program(session, name="Broken")
        broken.settings = {**broken.settings, "max_capacity": 99, "admin_emails": ["not an email"]}
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,role,site\nana@d.example,Ana Chen,mentor,Lincoln\nben@d.example,Ben Ortiz,mentee,Garfield\n", encoding="utf-8")
    report = import_roster(engine, roster, program_name="Good", default_timezone="America/Los_Angeles", now=now)
    assert report.created == 2 and report.pool_changes == {"Good": (1, 0)}
