"""Every command the docs show runs: each `mentorbot …` line of a fenced block and each inline `mentorbot …` span of
README.md and docs/*.md runs through the CLI in a sandbox that has what it needs (the shipped roster, an open term,
a matched round), and each `/mentoring …` the docs show is read by the Slack command parser. A command that exits
non-zero, or names an option or subcommand the CLI lost, fails here, so the docs can't drift from the program.

Each page gets one sandbox: the shared set-up, then the page's commands in the order the page shows them (a page that
downgrades the database upgrades it again a few lines later, as the reader would).
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.slack.admin import UsageError, parse
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOW = "2027-01-11T16:00:00"  # the docs' dates are the spring of 2027: commands run as on a Monday in January
SHELL_FENCES = ("bash", "sh", "console", "shell", "")
ENV = {"REQUIRE_PRINCIPAL_APPROVAL": "true"}  # the docs' approval steps need mentors waiting for their principal

# Commands that can't run to completion here: only their options are checked, through `--help` (the command and
# subcommand must exist) and a parse of the options shown.
ONLY_PARSED = {
    "serve": "runs until stopped (tests/test_web.py and tests/test_package.py serve it and ask /health)",
    "demo": "a whole term at full scale takes most of a minute (tests/test_cli.py and tests/test_package.py run it)",
}
# Spans that name commands rather than show one to type.
NOT_COMMANDS = {
    "mentorbot ...": "stands for any command (admin guide's opening)",
}

# The docs' placeholders, as the sandbox fills them.
PLACEHOLDERS = {
    "EMAIL": "ana.chen.mr6@district.example",  # a mentor of the shipped roster who waits for her principal
    "PRINCIPAL": "principal@district.example",
    "N": "2",
    "ROUND_ID": "1",
    "ID": "1",
    "FILE": "out.csv",
    "NAME": "District Mentoring",  # the shipped roster's program
    "<revision>": "0008",
    "COMMAND": "round",
}
INLINE = "\0inline"  # marks a span in running text: it may name a command without its arguments ("`mentorbot person erase` ...")
OPTION_VALUES = {"--message": "Called off: the district closed schools", "--match-on": "2027-03-04", "--topics": "SEL; assessment"}


@dataclass(frozen=True)
class Shown:
    """One command as a page shows it: where, and its words after `mentorbot` (or `/mentoring`)."""

    page: str
    line: int
    words: tuple[str, ...]

    @property
    def inline(self) -> bool:
        """Shown in running text rather than a block to type."""
        return INLINE in self.words

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {shlex.join(word for word in self.words if word != INLINE)}"


def _fill(words: list[str]) -> list[str]:
    """The words with placeholders filled, optional `[...]` parts kept (their options must exist too) and `...` values given."""
    filled: list[str] = []
    for word in words:
        word = word.strip("[]") if word.startswith("[") or word.endswith("]") else word
        if word in ("...", '"..."'):
            if filled and filled[-1] in OPTION_VALUES:
                filled.append(OPTION_VALUES[filled[-1]])
            continue  # a trailing "..." stands for "and so on"
        filled.append(PLACEHOLDERS.get(word, word))
    return filled


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def shown_commands(prefix: str) -> list[Shown]:
    """Every command starting with `prefix` that the pages show, fenced lines then inline spans, in page order."""
    found: list[tuple[str, int, list[str]]] = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        name = str(page.relative_to(ROOT))
        fences = list(re.finditer(r"^```([\w-]*)[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE))
        for fence in fences:
            if fence.group(1) not in SHELL_FENCES:
                continue
            body = fence.group(2).replace("\\\n", " ")  # a command continued on the next line
            for number, line in enumerate(body.splitlines()):
                words = shlex.split(line.removeprefix("$ "), comments=True)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                    words.pop(0)  # DATA_DIR=... mentorbot serve: the variable is the shell's business
                if words and (words[0] == prefix or words[0].endswith("/" + prefix)):
                    found.append((name, _line_of(text, fence.start(2)) + number, words[1:]))
        outside = text
        for fence in reversed(fences):
            outside = outside[: fence.start()] + " " * (fence.end() - fence.start()) + outside[fence.end() :]
        for span in re.finditer(r"`(" + re.escape(prefix) + (r" [^`]*)`" if prefix == "mentorbot" else r"(?: [^`]*)?)`"), outside):
            if span.group(1) in NOT_COMMANDS:
                continue
            found.append((name, _line_of(text, span.start()), [*shlex.split(span.group(1))[1:], *([INLINE] if prefix == "mentorbot" else [])]))
    found.sort(key=lambda item: (PAGES.index(ROOT / item[0]), item[1]))
    return [Shown(page, line, tuple(_fill(words))) for page, line, words in found]


def _expanded(shown: Shown) -> list[list[str]]:
    """`match/speed/pool` names three commands; anything else is one."""
    words = [word for word in shown.words if word != INLINE]
    if words and "/" in words[0] and not words[0].startswith(("/", ".")):
        return [[part, *words[1:]] for part in words[0].split("/")]
    return [words]


SET_UP = (
    ["import", "roster", "bot/demo_data/roster.csv"],
    ["term", "open", "Spring 2027", "--opt-in-by", "2027-01-22", "--enroll-roster"],
    ["round", "new", "micro", "--topic", "classroom management", "--start", "2027-02-01", "--match-on", "2027-01-25"],
    ["round", "open", "1"],
    ["round", "match", "1"],
)


def _sandbox(tmp_path: Path, commands: list[Shown]) -> Path:
    """A directory with the files the docs name; unless the page builds its own, the shipped roster imported,
    Spring 2027 open (mentors waiting on their principals) and round 1 matched, in review."""
    shutil.copytree(ROOT / "bot" / "demo_data", tmp_path / "bot" / "demo_data")
    shutil.copy(ROOT / "bot" / "demo_data" / "roster.csv", tmp_path / "roster.csv")
    shutil.copy(ROOT / "docs" / "programs.example.yaml", tmp_path / "programs.yaml")
    if any(shown.words[:2] == ("import", "roster") for shown in commands):
        return tmp_path  # the page walks through it itself, in order
    for words in SET_UP:
        ran = run(tmp_path, "--now", NOW, *words, extra_env=ENV)
        assert ran.returncode == 0, f"set-up: mentorbot {shlex.join(words)}\n{ran.stdout}{ran.stderr}"
    return tmp_path


CLI_COMMANDS = shown_commands("mentorbot")
SLACK_COMMANDS = shown_commands("/mentoring")


def test_the_docs_show_the_commands_this_test_expects_to_find() -> None:
    """The extraction itself could rot: a page rewritten into a form it misses would make every test below pass vacuously."""
    pages = {shown.page for shown in CLI_COMMANDS}
    assert {"README.md", "docs/getting-started.md", "docs/admin-guide.md", "docs/deployment.md", "docs/install.md"} <= pages
    assert len(CLI_COMMANDS) >= 90, len(CLI_COMMANDS)
    assert any(shown.words[:3] == ("round", "new", "event") and "--end-on" in shown.words for shown in CLI_COMMANDS)  # a continued line
    assert any(shown.words == ("--version",) for shown in CLI_COMMANDS)  # /opt/mentorbot/bin/mentorbot --version
    assert len(SLACK_COMMANDS) >= 20 and any(shown.words[:2] == ("term", "open") for shown in SLACK_COMMANDS)


@pytest.mark.parametrize("page", sorted({shown.page for shown in CLI_COMMANDS}))
def test_every_mentorbot_command_a_page_shows_runs(tmp_path: Path, page: str) -> None:
    commands = [shown for shown in CLI_COMMANDS if shown.page == page]
    sandbox = _sandbox(tmp_path, commands)
    for shown in commands:
        for words in _expanded(shown):
            if words and words[0] in ONLY_PARSED:
                _assert_options_parse(sandbox, shown, words)
                continue
            answer = "y\n" if words[:2] == ["person", "erase"] else None  # it asks first, as the page says
            ran = run(sandbox, "--now", NOW, *words, extra_env=ENV, input=answer)
            if shown.inline and _names_a_command(ran) and not any(w.startswith("-") for w in words):
                _assert_options_parse(sandbox, shown, words)  # running text naming a command, not a line to type
                continue
            assert ran.returncode == 0, f"{shown}\n{ran.stdout}{ran.stderr}"


def _names_a_command(ran) -> bool:
    """The run stopped only for want of an argument or a subcommand (a group named alone prints its help, exit 2)."""
    said = ran.stdout + ran.stderr
    return ran.returncode == 2 and ("Missing argument" in said or "Missing command" in said or "Usage:" in ran.stdout)


def _assert_options_parse(sandbox: Path, shown: Shown, words: list[str]) -> None:
    """The command exists and each option the page names is one of its options."""
    command = [word for word in words if not word.startswith("-")][:2]
    helped = run(sandbox, *command, "--help")
    assert helped.returncode == 0, f"{shown}\n{helped.stdout}{helped.stderr}"
    for option in (word.split("=", 1)[0] for word in words[1:] if word.startswith("--")):
        assert re.search(rf"{re.escape(option)}\b", helped.stdout), f"{shown}: `mentorbot {words[0]}` has no {option}"


@pytest.mark.parametrize("shown", SLACK_COMMANDS, ids=str)
def test_every_slack_command_the_docs_show_is_read_by_the_parser(shown: Shown) -> None:
    """A complete command parses; a span naming a command without its arguments (`round cancel`) names a real one."""
    try:
        parse(shlex.join(shown.words))
    except UsageError as error:
        # Only a missing argument is let through: the span names a real command and leaves its arguments to the reader.
        missing = error.message.startswith("the following arguments are required") or error.message.startswith("name the mentor by email")
        assert missing, f"{shown}: {error.message}"
