"""The release carries everything mentorbot reads at run time, and runs with no checkout in sight.

The sdist and wheel are built from a copy of the source (`python -m build --no-isolation`, no network), the wheel
is checked file by file against the packages, then unpacked in a temporary folder and `mentorbot demo` run from
there with an audit hook that records every file opened inside the checkout: none may be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from tests.releasekit import ROOT, Release, build_release, project_version, runtime_files, small_roster, unpack

# Runs the command under an audit hook, with argv given after two arguments: the forbidden folders and the report.
AUDITED_RUN = textwrap.dedent(
    """
    import json, os, runpy, sys
    forbidden, allowed, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
    touched = []

    def audit(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.abspath(os.fsdecode(args[0]))
            if path.startswith(tuple(forbidden)) and not path.startswith(tuple(allowed)):
                touched.append(path)

    sys.addaudithook(audit)
    sys.argv = ["mentorbot", *sys.argv[4:]]
    code = 0
    try:
        runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        code = exit.code or 0
    finally:
        import bot, storage, bot.demo
        with open(report, "w", encoding="utf-8") as out:
            json.dump({"touched": sorted(set(touched)), "bot": bot.__file__, "storage": storage.__file__,
                       "roster": str(bot.demo.shipped_roster()), "version": bot.installed_version()}, out)
    sys.exit(code)
    """
)


def source_folders() -> list[str]:
    """The checkout under test, and the source tree the development install points at (if it is editable)."""
    folders = {ROOT}
    try:
        direct = json.loads(metadata.distribution("mentorbot").read_text("direct_url.json") or "{}")
    except metadata.PackageNotFoundError:
        direct = {}
    if direct.get("dir_info", {}).get("editable") and direct.get("url", "").startswith("file://"):
        folders.add(Path(direct["url"].removeprefix("file://")))
    return [str(folder) + os.sep for folder in folders]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """The sdist and wheel, built once for this module."""
    return build_release(tmp_path_factory.mktemp("release"))


def test_the_wheel_holds_every_file_of_the_packages_and_the_version_of_pyproject(release: Release) -> None:
    names = set(zipfile.ZipFile(release.wheel).namelist())
    shipped = {name for name in names if not name.startswith("mentorbot-")}
    # Templates, the admin stylesheet, migrations and the demo roster among them: nothing left behind, nothing extra.
    assert sorted(runtime_files() - shipped) == []
    assert sorted(shipped - runtime_files()) == []
    for needed in (
        "bot/demo_data/roster.csv", "bot/web/admin/static/admin.css", "bot/web/admin/templates/base.html",
        "bot/email/templates/pairing.html", "bot/email/render.py", "bot/guides/templates/guide.html",
        "storage/migrations/env.py", "storage/migrations/script.py.mako", "storage/migrations/versions/0001_initial_schema.py",
    ):  # fmt: skip
        assert needed in shipped
    version = project_version()
    assert release.wheel.name == f"mentorbot-{version}-py3-none-any.whl"
    info = f"mentorbot-{version}.dist-info"
    assert f"Version: {version}" in zipfile.ZipFile(release.wheel).read(f"{info}/METADATA").decode().splitlines()
    assert "mentorbot = bot.cli:main" in zipfile.ZipFile(release.wheel).read(f"{info}/entry_points.txt").decode()
    assert release.wheel.stat().st_size < 2_000_000  # ~0.7 MB today: a stray data file would show here


def test_the_sdist_holds_the_changelog_and_install_notes_but_not_the_tests(release: Release) -> None:
    with tarfile.open(release.sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pyproject.toml", "CHANGELOG.md", "docs/install.md", "bot/demo_data/roster.csv", "storage/migrations/script.py.mako"):
        assert needed in names
    assert not any(name.startswith(("tests/", "bench/")) for name in names)
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)


def test_the_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{project_version()}] - " in changelog


def test_the_unpacked_wheel_runs_the_demo_with_no_file_read_from_the_checkout(release: Release, tmp_path: Path) -> None:
    site = unpack(release.wheel, tmp_path / "site")
    elsewhere = tmp_path / "elsewhere"  # the working directory: no checkout, no .env
    elsewhere.mkdir()
    runner = tmp_path / "audited_run.py"
    runner.write_text(AUDITED_RUN, encoding="utf-8")
    roster = small_roster(site / "bot" / "demo_data" / "roster.csv", tmp_path / "roster.csv")
    dependencies = sysconfig.get_paths()["purelib"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(site), dependencies]), "DATA_DIR": str(tmp_path / "data"),
    }  # fmt: skip
    forbidden, allowed = json.dumps(source_folders()), json.dumps([sys.prefix + os.sep])

    def run(report: Path, *argv: str) -> tuple[subprocess.CompletedProcess[str], dict]:
        # -S: the development install's .pth files (an editable finder into the checkout) are never read.
        done = subprocess.run(
            [sys.executable, "-S", str(runner), forbidden, allowed, str(report), *argv],
            check=False, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        return done, json.loads(report.read_text(encoding="utf-8"))

    version, seen = run(tmp_path / "version.json", "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"mentorbot {project_version()}"
    assert seen["version"] == project_version()

    demo, seen = run(tmp_path / "demo.json", "demo", "--roster", str(roster))
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Where to see everything" in demo.stdout and "emails sent" in demo.stdout
    assert (tmp_path / "data" / "demo" / "mentorbot.db").is_file()
    assert seen["touched"] == []  # not one file of the checkout opened or listed
    for module in ("bot", "storage", "roster"):
        assert Path(seen[module]).is_relative_to(site), (module, seen[module])
        assert not any(seen[module].startswith(folder) for folder in source_folders())
