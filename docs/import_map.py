"""Count the imports between bot/ and storage/ modules, and the circles that imports inside functions keep hidden.

Run from the repository root: `python docs/import_map.py`. docs/architecture.md quotes its numbers.
"""

from __future__ import annotations

import ast
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_files() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package), for bot/ and storage/ (migrations are scripts, not modules)."""
    files = {}
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "storage").glob("*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        files[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return files


def imports(files: dict[str, tuple[Path, bool]]) -> list[tuple[str, str, str, int, bool]]:
    """(importer, imported, where, line, commented) for every import of a project module.

    `where` is "module", "function" or "type_checking"; `commented` says whether the statement has a comment on
    its line or the line above (the "why" an import inside a function should carry).
    """
    found = []
    for name, (path, is_package) in files.items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()

        def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
            if isinstance(node, ast.Import):
                return [alias.name for alias in node.names]
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]

        def visit(node: ast.AST, where: str) -> None:
            for child in ast.iter_child_nodes(node):
                here = where
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and where == "module":
                    here = "function"
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    here = "type_checking"
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    line = lines[child.lineno - 1]
                    commented = "#" in line or lines[child.lineno - 2].strip().startswith("#")
                    for target in dict.fromkeys(targets(child)):
                        while target not in files and "." in target:
                            target = target.rsplit(".", 1)[0]
                        if target in files and target != name:
                            found.append((name, target, here, child.lineno, commented))
                visit(child, here)

        visit(ast.parse(source), "module")
    return found


def room(module: str) -> str:
    """The room a module lives in: a folder of bot/, a single-file module, the CLI's files, or storage."""
    parts = module.split(".")
    if parts[0] == "storage" or len(parts) == 1:
        return parts[0]
    for prefix in ("cli", "report"):
        if parts[1].startswith(prefix):
            return f"bot.{prefix}*"
    return f"bot.{parts[1]}"


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that reach each other (strongly connected, more than one module), by Tarjan's method."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                other = stack.pop()
                group.add(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(group)

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def main() -> None:
    """Print the counts."""
    rows = imports(module_files())
    by_place = collections.Counter(where for _, _, where, _, _ in rows)
    inner = [row for row in rows if row[2] == "function"]
    statements = {(a, line) for a, _, _, line, _ in inner}
    commented = {(a, line) for a, _, _, line, note in inner if note}
    pairs = sorted({(a, b) for a, b, _, _, _ in inner})
    print(f"imports of project modules: {len(rows)}: {by_place['module']} at module level, {by_place['function']} inside "
          f"functions, {by_place['type_checking']} under TYPE_CHECKING")
    print(f"inside functions: {len(statements)} import statements ({len(commented)} with a comment beside or above), "
          f"{len(pairs)} distinct importer -> imported pairs, in {len({a for a, _ in pairs})} modules")

    top: dict[str, set[str]] = collections.defaultdict(set)
    every: dict[str, set[str]] = collections.defaultdict(set)
    for a, b, where, _, _ in rows:
        every[a].add(b)
        if where == "module":
            top[a].add(b)
    print(f"module circles at module level: {len(circles(top))}")
    hidden = circles(every)
    print(f"module circles counting imports inside functions: {len(hidden)}")
    for group in hidden:
        print("   ", " <-> ".join(sorted(group)))
    on_circle = [(a, b) for a, b in pairs if any(a in group and b in group for group in hidden)]
    print(f"imports inside functions that lie on those circles: {len(on_circle)}")
    for a, b in on_circle:
        print(f"    {a} -> {b}")

    for label, places in (("module-level imports", {"module"}), ("every import", {"module", "function", "type_checking"})):
        rooms: dict[str, set[str]] = collections.defaultdict(set)
        for a, b, where, _, _ in rows:
            if where in places and room(a) != room(b):
                rooms[room(a)].add(room(b))
        mutual = sorted({tuple(sorted((r, s))) for r in rooms for s in rooms[r] if r in rooms.get(s, ())})
        print(f"rooms that import each other, {label}: {len(mutual)}")
        for r, s in mutual:
            edges = sorted({f"{a} -> {b}" + ("" if w == "module" else f" ({w})") for a, b, w, _, _ in rows
                            if w in places and {room(a), room(b)} == {r, s}})
            print(f"    {r} <-> {s}: " + "; ".join(edges))


if __name__ == "__main__":
    main()
