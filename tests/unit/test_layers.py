"""The top-level packages import one way: the import graph between them has no cycle.

Every import counts, at module level or inside a function (a lazy import is still a
dependency), read from the source with ``ast``; the packages are those pyproject.toml maps.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROOT_PACKAGE = "(root)"  # cli.py and __init__.py: the command and the library's front door


def packages() -> dict[str, Path]:
    """Top-level package name (the part after ``dialectic.``) -> its folder."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {
        name.removeprefix("dialectic."): ROOT / folder
        for name, folder in mapping.items()
        if name != "dialectic"
    }


def package_of(module: str, names: set[str]) -> str | None:
    parts = module.split(".")
    if parts[0] != "dialectic":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in names else ROOT_PACKAGE


def imported_modules(source: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from dialectic import prompts`` imports the package dialectic.prompts
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    folders = packages()
    names = set(folders)
    sources = {name: sorted(folder.glob("*.py")) for name, folder in folders.items()}
    sources[ROOT_PACKAGE] = [ROOT / "cli.py", ROOT / "__init__.py"]
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, files in sources.items():
        for source in files:
            for module in imported_modules(source):
                target = package_of(module, names)
                if target is not None and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle:
            return cycle
    return None


def test_the_import_graph_between_top_level_packages_is_acyclic() -> None:
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_the_layers_stand_in_the_documented_order() -> None:
    graph = import_graph()
    # The data model sits below the graph and its nodes; the graph module only wires.
    assert "graphs" not in graph["nodes"] and "graphs" not in graph["debate"]
    assert "runner" not in graph["graphs"] and "nodes" not in graph["debate"]
    # Nothing below the command line imports it.
    assert all(ROOT_PACKAGE not in targets for name, targets in graph.items() if name != ROOT_PACKAGE)


def test_the_checker_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
