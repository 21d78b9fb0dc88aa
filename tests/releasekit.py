"""Building the release in a test: the sdist and the wheel, from a copy of the source, with no network.

Shared by tests/test_package.py (the wheel unpacked and run) and tests/reliability/test_clean_install.py (the
wheel installed into a fresh virtual environment).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What `python -m build` reads: the packages, the metadata and what MANIFEST.in adds to the sdist.
SOURCE = ("pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in", "docs", "bot", "storage")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")


@dataclass(frozen=True)
class Release:
    """A built release: the sdist, the wheel made from it, and how long the build took."""

    sdist: Path
    wheel: Path
    seconds: float


def project_version() -> str:
    """The version written in pyproject.toml (the one source of it)."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def build_release(workdir: Path) -> Release:
    """Copy the source to `workdir`/src (the build writes build/ and *.egg-info there, not in the checkout) and
    run `python -m build --no-isolation`: the sdist, then the wheel built from the unpacked sdist."""
    source = workdir / "src"
    for name in SOURCE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=JUNK)
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, source / name)
    out = workdir / "dist"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    (sdist,) = out.glob("mentorbot-*.tar.gz")
    (wheel,) = out.glob("mentorbot-*.whl")
    return Release(sdist=sdist, wheel=wheel, seconds=seconds)


def unpack(wheel: Path, into: Path) -> Path:
    """Unzip the wheel (what an installer puts in site-packages) into `into`."""
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into)
    return into


def small_roster(shipped: Path, into: Path, rows: int = 20) -> Path:
    """The first `rows` people of the demo roster, so the demo runs in seconds (the full one takes ~15 s)."""
    lines = shipped.read_text(encoding="utf-8").splitlines(keepends=True)
    into.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return into


def runtime_files() -> set[str]:
    """Every file of the packages in the checkout, as wheel paths: the code and everything it reads at run time."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in ("bot", "storage")
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
