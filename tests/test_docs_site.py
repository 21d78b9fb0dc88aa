"""The README stays a short front door, and every page it and the site's nav name exists (`./dev test` also runs
`mkdocs build --strict`, which checks every link and anchor between pages)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_is_at_most_12_kb_and_keeps_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode("utf-8")) <= 12 * 1024
    assert "./dev demo" in readme and "./dev test" in readme  # .ci/run runs ./dev test


def test_every_page_the_readme_links_to_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [link.split("#", 1)[0] for link in re.findall(r"\]\(([^)]+)\)", readme) if not link.startswith("http")]
    assert len(targets) >= 10
    assert [target for target in targets if not (ROOT / target).is_file()] == []


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = re.findall(r"^  - [^:]+: (\S+\.md)$", config, re.MULTILINE)
    assert {"index.md", "getting-started.md", "admin-guide.md", "slack.md", "email.md", "settings.md"} <= set(nav)
    pages = {path.name for path in (ROOT / "docs").glob("*.md")}
    assert set(nav) == pages
