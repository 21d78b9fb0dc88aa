"""`mentorbot` starts without the heavy parts of the bot: `--help` of every command loads none of them.

A structural check rather than a timing one: a fresh interpreter imports `bot.cli`, asks every command for its help,
and reports which of the heavy modules got loaded. Each of them costs tenths of a second to import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The solver and data libraries, the database layer, the settings, the web app, and the bot's modules that pull them.
HEAVY = (
    "ortools", "numpy", "pandas", "sqlalchemy", "sqlmodel", "alembic", "pydantic_settings", "fastapi", "uvicorn",
    "bot.settings", "bot.matching", "bot.report", "bot.report_match", "bot.importer", "bot.rounds.service",
    "bot.rounds.schedule", "bot.programs.store", "bot.web.app", "storage.db", "storage.repo",
)  # fmt: skip

PROBE = """
import json, sys
import bot.cli
loaded_by_import = sorted(set(HEAVY) & set(sys.modules))

from typer.main import get_command
from typer.testing import CliRunner

def paths(command, prefix=()):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():
        yield from paths(sub, (*prefix, name))

helps = {}
for path in paths(get_command(bot.cli.app)):
    result = CliRunner().invoke(bot.cli.app, [*path, "--help"], prog_name="mentorbot")
    helps[" ".join(path)] = (result.exit_code, "Usage: mentorbot" in result.stdout)
loaded_by_help = sorted(set(HEAVY) & set(sys.modules))
print(json.dumps({"import": loaded_by_import, "help": loaded_by_help, "helps": helps}))
"""


def _probe() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_and_every_help_load_no_heavy_module() -> None:
    found = _probe()
    assert found["import"] == [], f"import bot.cli loaded {found['import']}"
    assert found["help"] == [], f"a --help loaded {found['help']}"
    # The walk reached every command, each answering its --help.
    helps = found["helps"]
    for command in ("", "demo", "serve", "admin-link", "match", "speed", "pool", "import roster", "term open",
                    "round new", "round publish", "export people", "db upgrade", "program apply", "person erase"):
        assert helps.get(command) == [0, True], command
    assert len(helps) >= 40
