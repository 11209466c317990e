"""The import graph points one way: the shared vocabulary at the bottom, the CLI on top.

Read from the source (every import statement, also those inside functions or ``TYPE_CHECKING``):
no package imports one above it or beside it unless listed here, and no module imports itself
back through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# Each package and the packages of ours it may import. Everything else is a violation.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "media": {"core"},
    "storage": {"core"},
    "status": {"core"},
    "platforms": {"core"},
    "callbacks": {"core"},
    "simulator": {"core"},
    "transcription": {"core", "media"},
    "indexes": {"core", "media", "storage", "status", "transcription"},
    "bot": {"core", "media", "storage", "status", "platforms", "callbacks", "transcription"},
    "server": {"core", "media", "storage", "status", "platforms", "callbacks", "bot", "transcription",
               "indexes"},
    "cli": {"core", "media", "storage", "status", "platforms", "callbacks", "bot", "server", "simulator",
            "transcription", "indexes"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Absolute module names this file imports (``from a.b import c`` counts as ``a.b`` and ``a.b.c``,
    since ``c`` may be a submodule)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in ALLOWED for p in (ROOT / pkg).rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_every_package_imports_only_what_it_may() -> None:
    graph = _graph()
    wrong = sorted(f"{mod} imports {dep}" for mod, deps in graph.items() for dep in deps
                   if dep.split(".")[0] != mod.split(".")[0]
                   and dep.split(".")[0] not in ALLOWED[mod.split(".")[0]])
    assert not wrong, "\n".join(wrong)


def test_the_allowed_package_graph_has_no_cycle() -> None:
    seen: dict[str, int] = {}

    def visit(pkg: str, path: list[str]) -> None:
        if seen.get(pkg) == 1:
            raise AssertionError(" -> ".join([*path, pkg]))
        if seen.get(pkg) == 2:
            return
        seen[pkg] = 1
        for dep in ALLOWED[pkg]:
            visit(dep, [*path, pkg])
        seen[pkg] = 2

    for pkg in ALLOWED:
        visit(pkg, [])


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    # A package's __init__ importing its own modules is how packages re-export; the modules must
    # not import the __init__ back (that is a cycle too), so it stays in the graph.
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(mod: str, stack: list[str]) -> None:
        state[mod] = 1
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*stack[stack.index(dep):], mod, dep]) if dep in stack
                              else f"{mod} -> {dep}")
            elif state.get(dep) is None:
                visit(dep, [*stack, mod])
        state[mod] = 2

    for mod in sorted(graph):
        if state.get(mod) is None:
            visit(mod, [])
    assert not cycles, "\n".join(cycles)


def test_the_check_sees_an_upward_import() -> None:
    """The checker itself: a leaf module that imported the runner would be reported."""
    fake = {"core.outcomes": {"bot.runner"}, "bot.runner": set()}
    wrong = [f"{m} imports {d}" for m, deps in fake.items() for d in deps
             if d.split(".")[0] != m.split(".")[0] and d.split(".")[0] not in ALLOWED[m.split(".")[0]]]
    assert wrong == ["core.outcomes imports bot.runner"]
