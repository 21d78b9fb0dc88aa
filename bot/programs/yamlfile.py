"""Read program definitions from YAML, reporting every problem with the line it is on, and write them back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.errors import UserError
from bot.programs.spec import ProgramFile, ProgramSpec


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a program file, where it is and what to do."""

    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}" if self.line else "file"
        return f"{at}: {self.where}: {self.message}" if self.where else f"{at}: {self.message}"


class ProgramFileError(UserError):
    """A program file that cannot be applied; `problems` lists every one found."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path, self.problems = path, problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{path} has {len(problems)} problem{'' if len(problems) == 1 else 's'}; nothing was changed:\n{listing}")


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The YAML node a pydantic error location points to, or the deepest node on the way there."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = None
            for key, value in node.value:
                if str(key.value) == str(part):
                    # A key that should not be there is best shown at the key; anything else at its value.
                    found = value
                    break
            if found is None:
                return node
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_programs(text: str, *, path: str = "<text>") -> list[ProgramSpec]:
    """Every program a YAML text defines (one mapping or a list of them); ProgramFileError lists all problems."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # The context mark is where the unfinished thing began (an open bracket), which is where to look.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        problem = " ".join(part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part) or str(exc)
        raise ProgramFileError(path, [Problem(mark.line + 1 if mark else None, "", f"not valid YAML: {problem}")]) from None
    if data is None:
        raise ProgramFileError(path, [Problem(None, "", "the file is empty; it should define a program (name: ...) or a list of them")])
    single = isinstance(data, dict)
    if not single and not isinstance(data, list):
        raise ProgramFileError(path, [Problem(1, "", "the file should hold a program (name: ...) or a list of programs")])
    programs = [data] if single else data
    try:
        return ProgramFile(programs=programs).programs
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            if loc and loc[0] == "programs":
                loc = loc[1:]
            node_loc = loc[1:] if single and loc and isinstance(loc[0], int) else loc
            node = _node_at(root, node_loc)
            if single:
                where = _where(loc[1:]) if loc and isinstance(loc[0], int) else _where(loc)
            else:
                where = f"program {loc[0] + 1}" + (f" > {_where(loc[1:])}" if loc[1:] else "") if loc and isinstance(loc[0], int) else _where(loc)
            if error["type"] == "extra_forbidden":
                message = "is not a setting a program has (check the spelling; see docs/programs.example.yaml)"
            else:
                message = error["msg"].removeprefix("Value error, ")
            problems.append(Problem(node.start_mark.line + 1 if node is not None else None, where, message))
        problems.sort(key=lambda problem: problem.line or 0)
        raise ProgramFileError(path, problems) from None


def read_programs(path: Path) -> list[ProgramSpec]:
    """The programs a YAML file defines; ProgramFileError lists every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgramFileError(str(path), [Problem(None, "", "there is no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramFileError(str(path), [Problem(None, "", f"cannot be read ({exc})")]) from None
    return parse_programs(text, path=str(path))


def dump_programs(specs: list[ProgramSpec]) -> str:
    """YAML for the programs, byte-stable: the same definitions always give the same text."""
    documents = [spec.file_dict() for spec in specs]
    body: Any = documents[0] if len(documents) == 1 else documents
    return yaml.safe_dump(body, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
