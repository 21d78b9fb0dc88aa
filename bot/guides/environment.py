"""The sandboxed Jinja2 environment, the override-first loader, and checking an admin's override.

Every template renders in an `ImmutableSandboxedEnvironment` with autoescape and `StrictUndefined`: a
misspelled name is an error, never blank text, and a template cannot reach Python internals. Admin
overrides are checked by `validate_override` when the admin previews them; at send time a broken
override is logged and the shipped template is used, so a guide always goes out.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from bot.guides.context import (
    GUIDE_NAMES,
    SHIPPED_TEMPLATES,
    TEMPLATE_VARIABLES,
    GuideContext,
    and_list,
    sample_contexts,
    split_minutes,
    template_variables,
)
from bot.guides.document import Document, GuideMarkupError, parse_guide

logger = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
OVERRIDE_PREFIX = "override:"


class _OverrideLoader(BaseLoader):
    """Serves an admin's overrides by name; anything else falls through to the shipped templates."""

    def __init__(self, overrides: Mapping[str, str]) -> None:
        self.overrides = dict(overrides)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, object]:
        if template not in self.overrides:
            raise TemplateNotFound(template)
        return self.overrides[template], f"{OVERRIDE_PREFIX}{template}", lambda: True


def _environment(overrides: tuple[tuple[str, str], ...]) -> ImmutableSandboxedEnvironment:
    shipped = FileSystemLoader(str(TEMPLATE_DIR))
    loader = ChoiceLoader([_OverrideLoader(dict(overrides)), shipped]) if overrides else shipped
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals["split_minutes"] = split_minutes
    env.filters["and_list"] = and_list
    return env


@functools.lru_cache(maxsize=64)
def _cached_environment(overrides: tuple[tuple[str, str], ...]) -> ImmutableSandboxedEnvironment:
    return _environment(overrides)


def guide_environment(overrides: Mapping[str, str] | None = None) -> ImmutableSandboxedEnvironment:
    """The sandboxed environment; `overrides` (template name -> source) win over the shipped templates."""
    return _cached_environment(tuple(sorted((overrides or {}).items())))


def shipped_source(name: str) -> str:
    """The source of a shipped template, as a starting point for an admin's override."""
    if name not in SHIPPED_TEMPLATES:
        raise KeyError(f"no shipped guide template named {name!r}")
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def render_markup(ctx: GuideContext, *, overrides: Mapping[str, str] | None = None) -> str:
    """The guide markup for `ctx` (errors in an override propagate; see `render_document`)."""
    env = guide_environment(overrides)
    return env.get_template(ctx.template_name).render(template_variables(ctx))


def render_document(ctx: GuideContext, *, overrides: Mapping[str, str] | None = None) -> Document:
    """The structured guide for `ctx`; a broken override is logged and the shipped template used instead."""
    if overrides:
        try:
            return parse_guide(render_markup(ctx, overrides=overrides))
        except Exception:  # an override must never stop a guide going out; preview reports the problem
            logger.warning("guide override failed for %s; using the shipped template", ctx.template_name, exc_info=True)
    return parse_guide(render_markup(ctx))


# --- checking an override at preview --------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an override; `line` is in the override's source (None when it has none)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line is not None else self.message


def _error_line(exc: BaseException, filename: str) -> tuple[int | None, str | None]:
    """The override's line in the traceback Jinja rewrote, else the innermost template's name and line."""
    line: int | None = None
    innermost: str | None = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        code_file = tb.tb_frame.f_code.co_filename
        if code_file == filename:
            line = tb.tb_lineno
        elif code_file.startswith(str(TEMPLATE_DIR)):
            innermost = f"{Path(code_file).name}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return line, innermost


def _tag_line(source: str, tag: str | None) -> int | None:
    if not tag:
        return None
    pattern = re.compile(rf"<\s*/?\s*{re.escape(tag)}\b", re.IGNORECASE)
    for number, text in enumerate(source.splitlines(), start=1):
        if pattern.search(text):
            return number
    return None


SPECIAL_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})


def _names_defined_in(ast: nodes.Template) -> set[str]:
    """Every name the template itself defines anywhere: set, for, with, macros and their arguments, imports.

    Deliberately generous (a name set in one block counts everywhere); rendering every sample shape
    under StrictUndefined catches a name used where it is not set.
    """
    names = set(SPECIAL_NAMES)
    names |= {node.name for node in ast.find_all(nodes.Name) if node.ctx in ("store", "param")}
    names |= {node.name for node in ast.find_all(nodes.Macro)}
    names |= {node.target for node in ast.find_all(nodes.Import)}
    for node in ast.find_all(nodes.FromImport):
        names |= {item if isinstance(item, str) else item[1] for item in node.names}
    return names


def _first_use(ast: nodes.Template, name: str) -> int | None:
    lines = [node.lineno for node in ast.find_all(nodes.Name) if node.name == name and node.ctx == "load"]
    return min(lines) if lines else None


def validate_override(
    template_source: str,
    *,
    name: str | None = None,
    overrides: Mapping[str, str] | None = None,
    contexts: list[GuideContext] | None = None,
) -> list[Problem]:
    """Problems with an override, each with its line: syntax, unknown names, sandbox refusals, bad markup.

    `name` is the shipped template it replaces (a guide such as `two_sessions.html`, or a shared part:
    `guide.html`, `_macros.html`); without a name the source is checked as a guide of its own. The
    override is rendered for every sample shape it takes part in (1, 2 and 3 sessions, one-to-one and
    small group, speed, with and without the optional parts); `overrides` are the admin's other
    overrides, used alongside. An empty list means the override is safe to use.
    """
    if name is not None and name not in SHIPPED_TEMPLATES:
        return [Problem(None, f"mentorbot has no guide template named {name!r}; choose one of {', '.join(SHIPPED_TEMPLATES)}")]
    key = name or "custom_guide.html"
    filename = f"{OVERRIDE_PREFIX}{key}"
    env = guide_environment({**(overrides or {}), key: template_source})

    try:
        ast = env.parse(template_source, key, filename)
    except TemplateSyntaxError as exc:
        return [Problem(exc.lineno, f"syntax error: {exc.message}")]

    problems: set[Problem] = set()
    known = TEMPLATE_VARIABLES | set(env.globals) | _names_defined_in(ast)
    undeclared = {node.name for node in ast.find_all(nodes.Name) if node.ctx == "load"}
    for unknown in sorted(undeclared - known):
        problems.add(
            Problem(_first_use(ast, unknown), f"unknown variable {unknown!r}; guides can use {', '.join(sorted(TEMPLATE_VARIABLES))}")
        )
    try:
        env.get_template(key)
    except TemplateSyntaxError as exc:  # e.g. an unknown filter, found when compiling
        problems.add(Problem(exc.lineno, f"syntax error: {exc.message}"))
        return sorted(problems, key=_sort_key)
    if problems:
        return sorted(problems, key=_sort_key)

    for ctx in contexts or sample_contexts():
        if name in GUIDE_NAMES and ctx.template_name != name:
            continue
        main = ctx.template_name if name is not None else key
        try:
            markup = env.get_template(main).render(template_variables(ctx))
            parse_guide(markup)
        except GuideMarkupError as exc:
            line = _tag_line(template_source, exc.tag)
            where = "" if line is not None else f" (line {exc.line} of the rendered guide)"
            problems.add(Problem(line, f"guide markup: {exc.message}{where}"))
        except SecurityError as exc:
            line, inner = _error_line(exc, filename)
            problems.add(Problem(line, f"not allowed in the sandbox: {exc}" + (f" (in {inner})" if line is None and inner else "")))
        except UndefinedError as exc:
            line, inner = _error_line(exc, filename)
            problems.add(Problem(line, f"unknown name: {exc.message}" + (f" (in {inner})" if line is None and inner else "")))
        except TemplateError as exc:
            line, inner = _error_line(exc, filename)
            problems.add(Problem(line, f"template error: {exc.message}" + (f" (in {inner})" if line is None and inner else "")))
        except Exception as exc:  # a template can still raise plain Python errors, such as dividing by zero
            line, inner = _error_line(exc, filename)
            problems.add(Problem(line, f"{type(exc).__name__}: {exc}" + (f" (in {inner})" if line is None and inner else "")))
    return sorted(problems, key=_sort_key)


def _sort_key(problem: Problem) -> tuple[int, str]:
    return (problem.line if problem.line is not None else 0, problem.message)


def validate_overrides(overrides: Mapping[str, str]) -> dict[str, list[Problem]]:
    """`validate_override` for each override of a set, checked together; only names with problems are kept."""
    report: dict[str, list[Problem]] = {}
    for name, source in overrides.items():
        others = {other: text for other, text in overrides.items() if other != name}
        problems = validate_override(source, name=name, overrides=others)
        if problems:
            report[name] = problems
    return report
