"""The "Using it" block of docs/getting-started.md (where the README sends readers) runs as written on the shipped
roster: every `mentorbot` line in it, in order, exits 0 and says what its comment promises. A line that stops working,
or a flag the page names that the CLI lost, fails here.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
NOW = "2027-01-11T16:00:00"  # the page's dates are the spring of 2027: its commands run as on a Monday in January
NOT_RUN_HERE = ("serve",)  # a server that runs until stopped; tests/test_web.py serves it


def using_it_commands() -> list[list[str]]:
    """The `mentorbot` lines of the getting-started page's "Using it" block, comments dropped, as a shell would split them."""
    page = GETTING_STARTED.read_text(encoding="utf-8")
    section = page.split("\n## Using it", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "mentorbot":
            commands.append(words[1:])
    return commands


def test_the_getting_started_using_it_block_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "bot" / "demo_data", tmp_path / "bot" / "demo_data")  # the path the page names
    commands = using_it_commands()
    assert len(commands) >= 15 and ["term", "approve", "--all"] in commands
    said: dict[str, str] = {}
    for words in commands:
        if words[0] in NOT_RUN_HERE:
            continue
        ran = run(tmp_path, "--now", NOW, *words, extra_env={"REQUIRE_PRINCIPAL_APPROVAL": "true"})
        assert ran.returncode == 0, f"mentorbot {shlex.join(words)}\n{ran.stdout}{ran.stderr}"
        said[shlex.join(words)] = " ".join((ran.stdout + ran.stderr).split())
    assert "Imported 70 of 70 rows" in said["import roster bot/demo_data/roster.csv"]
    assert "await their principal's approval" in said["term open 'Spring 2027' --opt-in-by 2027-01-22 --enroll-roster"]
    assert re.search(r"Approved \d+ mentors at Garfield High", said["term approve --site 'Garfield High'"])
    assert re.search(r"Approved \d+ mentors in Spring 2027; each is told", said["term approve --all"])
    matched = re.search(r"Matched (\d+) of (\d+) mentees", said["round match 1"])
    assert matched and int(matched.group(1)) >= 0.8 * int(matched.group(2)), said["round match 1"]  # a healthy program
    assert "Nothing has been sent" in said["round preview 1"]
    assert said["round cancel 2 --message ..."].startswith("Cancelled round 2")
    assert "Round 1 is now published" in said["round publish 1"] and "pairing notices to every pair" in said["round timeline 1"]
    assert (tmp_path / "round1.csv").read_text(encoding="utf-8-sig").count("\n") == int(matched.group(1)) + 1
    assert "Round 3 is now published" in said["round publish 3"] and "rotations" in said["round match 3"]
    assert (tmp_path / "pairings.csv").exists()
