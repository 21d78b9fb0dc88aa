"""`python -m bench`: rows that bench scripts emit come back as one table, and a suite that fails is named."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.__main__ import END, START, SUITES

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_emitted_rows_come_back_as_one_table_with_ratio_and_goal(tmp_path: Path) -> None:
    script = tmp_path / "two_rows.py"
    script.write_text(textwrap.dedent("""
        import sys
        from bench._rows import Row, emit
        assert "--quick" in sys.argv
        emit(Row(path="roster import", case="10 rows, SQLite", figure=3.0, unit="s", baseline=1.5,
                 baseline_name="csv + executemany", goal="within 3x of bare", met=True, note="peak 40 MB"))
        emit(Row(path="round publish", case="750 pairs", figure=2.5, unit="s", goal="under 2 s", met=False))
    """))
    done = run_bench("--quick", "--only", "none-of-them", "--script", str(script))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("| path | case | mentorbot | bare baseline")
    assert "| roster import | 10 rows, SQLite; peak 40 MB | 3 s | 1.5 s (csv + executemany) | 2.00x | within 3x of bare | yes |" in lines
    assert "| round publish | 750 pairs | 2.5 s | - | - | under 2 s | no |" in lines


def test_a_suite_that_fails_is_named_and_the_exit_code_says_so(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit(4)\n")
    done = run_bench("--only", "none-of-them", "--script", str(script))
    assert done.returncode == 1
    assert "broken (broken.py) stopped with exit code 4" in done.stdout


@pytest.mark.parametrize(("name", "script"), [(name, script) for name, script, _ in SUITES])
def test_every_suite_exists_takes_quick_and_emits_rows(name: str, script: str) -> None:
    source = (ROOT / "bench" / script).read_text(encoding="utf-8")
    assert "--quick" in source, f"{script} must take --quick"
    assert "emit(" in source, f"{script} must emit its rows through bench._rows"


def test_the_performance_page_holds_the_table_between_its_markers() -> None:
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    table = page.split(START, 1)[1].split(END, 1)[0]
    assert "| path | case | mentorbot | bare baseline (same run) | ratio | goal | met |" in table


def test_writing_the_docs_replaces_the_rows_of_the_paths_run_and_keeps_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.__main__ as bench_main

    page = tmp_path / "performance.md"
    page.write_text(
        f"# Performance\n\n{START}\nold stamp\n\n| path | case | mentorbot | bare baseline (same run) | ratio | goal | met |\n|---|---|---|---|---|---|---|\n"
        "| matching | old matching row | 1 s | - | - | x | yes |\n| round publish | old publish row | 9 s | - | - | under 2 s | no |\n"
        f"{END}\n\n## After\n", encoding="utf-8",
    )  # fmt: skip
    monkeypatch.setattr(bench_main, "DOCS", page)
    row = {"path": "round publish", "case": "750 pairs", "figure": 1.0, "unit": "s", "goal": "under 2 s", "met": True, "baseline": None, "baseline_name": "", "note": ""}
    bench_main.write_docs([row], [], quick=True)
    text = page.read_text(encoding="utf-8")
    assert "| matching | old matching row |" in text
    assert "old publish row" not in text and "| round publish | 750 pairs | 1 s | - | - | under 2 s | yes |" in text
    assert text.index("| matching |") < text.index("| round publish |") and text.endswith("\n\n## After\n")
