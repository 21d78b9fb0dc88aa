"""The docs' screenshots can be made again: the generator (tests/screenshotkit.py) seeds the demo program, serves it and
photographs every page the docs show, into a temp folder; each picture is a real PNG of the right width with content.
Slow-ish (one Chromium start, about 13 s), so it lives here rather than beside the quick tests. Pixels are not compared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.screenshotkit import CHROMIUM, SHOTS, generate, png_size

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.asyncio
async def test_the_generator_writes_every_screenshot_the_docs_show(
    tmp_path: Path,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `./dev test` installs Debian's chromium and chromium-driver",
            pytrace=False,
        )
    written = await generate(tmp_path / "images", work=tmp_path / "work")
    assert [path.name for path in written] == [shot.name for shot in SHOTS]
    for shot, path in zip(SHOTS, written, strict=True):
        width, height = png_size(path)
        assert width == shot.width and 300 <= height <= 2000, (shot.name, width, height)
        assert path.stat().st_size > 30_000, (
            shot.name,
            path.stat().st_size,
        )  # a blank or error page compresses far smaller
    assert (
        sum(path.stat().st_size for path in written) < 1_000_000
    )  # the docs stay light to clone and load


def test_every_committed_screenshot_is_generated_and_embedded_with_alt_text() -> None:
    committed = sorted(path.name for path in (DOCS / "images").glob("*.png"))
    assert committed == sorted(shot.name for shot in SHOTS)  # none stale, none missing
    pages = "\n".join(path.read_text(encoding="utf-8") for path in DOCS.glob("*.md"))
    for name in committed:
        alts = re.findall(rf"!\[([^\]]*)\]\(images/{re.escape(name)}\)", pages)
        assert alts and all(len(alt) > 40 for alt in alts), (name, alts)
