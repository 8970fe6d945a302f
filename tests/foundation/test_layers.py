"""The layers point one way: every import of ours (top-level, function-local or for type
checking) goes from a package to one that ARCHITECTURE.md puts below it, and no two
modules import each other, directly or round a longer loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_STAGES = {"schema", "crawlers", "classifiers", "search", "alerts", "reports"}
# What each package may import besides itself (ARCHITECTURE.md, "Each folder is one stage").
ALLOWED: dict[str, set[str]] = {
    "tbt_alert": set(),
    "devtools": {"tbt_alert"},
    "schema": {"tbt_alert"},
    "crawlers": {"tbt_alert", "schema"},
    # Training records are read through the crawlers' parsers, so training text is production text.
    "classifiers": {"tbt_alert", "schema", "crawlers"},
    "search": {"tbt_alert", "schema", "classifiers"},
    "alerts": {"tbt_alert", "schema", "classifiers"},
    "reports": {"tbt_alert", "schema", "classifiers"},
    "portal": {"tbt_alert"} | _STAGES,
    "pipeline": {"tbt_alert", "devtools", "portal"} | _STAGES,
    "dags": {"tbt_alert", "pipeline"},
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in ALLOWED:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def _imports(path: Path, module: str) -> Iterator[str]:
    """Every absolute module name ``path`` imports, anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # `from pkg import module` imports a module too.
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph() -> dict[str, set[str]]:
    modules = dict(_modules())
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name}
    return graph


def test_no_package_imports_one_above_it() -> None:
    wrong = []
    for module, targets in _graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_leaf_and_the_stages_never_import_the_top() -> None:
    graph = _graph()
    top = ("pipeline", "portal", "dags", "devtools")
    offenders = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.split(".")[0] in _STAGES | {"tbt_alert"}
        for target in targets
        if target.split(".")[0] in top
    ]
    assert offenders == []


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    # Tarjan's strongly connected components; a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            # A package's __init__ and its own modules are one unit to Python's import system.
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_walk_sees_the_imports_it_should() -> None:
    # Guards the test itself: a walker that found nothing would pass everything above.
    graph = _graph()
    assert "tbt_alert.errors" in graph["crawlers.parsers"]
    assert "pipeline.stages" in graph["dags.tbt_pipeline"]
    assert "classifiers.encoder" in graph["classifiers.model_build"]
