"""The import contracts in pyproject.toml hold: each room imports only what docs/architecture.md says it may."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
import pytest
from importlinter import api  # noqa: F401  (importing it sets up import-linter's adapters for use_cases)
from importlinter.application import use_cases

import bot

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONFIG = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACT_IDS = [contract["id"] for contract in CONFIG["contracts"]]


def test_the_checked_code_is_this_checkout() -> None:
    # The graph is built from whatever `import bot` finds; an installed copy elsewhere would be checked instead.
    assert Path(bot.__file__).resolve().parent == ROOT / "bot", f"`import bot` finds {bot.__file__}, not {ROOT / 'bot'}"


@pytest.mark.parametrize("contract_id", CONTRACT_IDS)
def test_contract_is_kept(contract_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    kept = use_cases.lint_imports(
        config_filename=str(PYPROJECT), limit_to_contracts=(contract_id,), cache_dir=None, no_logo=True, is_debug_mode=True
    )
    report = capsys.readouterr().out
    assert kept, f"import contract '{contract_id}' is broken:\n{report}"


def test_the_contracts_see_every_module() -> None:
    # A folder without __init__.py inside a package is invisible to the import graph (bot/email is one, hence its
    # place in root_packages); a room the graph cannot see would pass every contract unchecked.
    on_disk = set()
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "storage").glob("*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        on_disk.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    seen = grimp.build_graph(*CONFIG["root_packages"], cache_dir=None).modules
    assert sorted(on_disk - seen) == [], "modules the import contracts cannot see"


def test_a_broken_contract_is_reported_with_the_import_that_breaks_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same engine, pointed at a contract that the code breaks today, names the importer, the imported and the line.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["bot", "bot.email", "storage"]\n\n'
        '[[tool.importlinter.contracts]]\nid = "no-email-in-programs"\nname = "programs without email"\n'
        'type = "forbidden"\nsource_modules = ["bot.programs"]\nforbidden_modules = ["bot.email"]\n',
        encoding="utf-8",
    )
    kept = use_cases.lint_imports(config_filename=str(config), cache_dir=None, no_logo=True, is_debug_mode=True)
    report = capsys.readouterr().out
    assert not kept
    assert "programs without email BROKEN" in report
    assert "bot.programs.spec -> bot.email.availability" in report
