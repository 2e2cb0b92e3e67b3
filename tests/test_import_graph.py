"""Core's import graph, read from the source with `ast`: no circles, and data/models never reach up a layer.

Every import counts, including those inside functions and under `if TYPE_CHECKING:`, because each one is a
dependency a reader has to follow; only `core/__init__.py` (the lazy facade over everything) is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "core"
LOW = ("core.data", "core.models")  # the layers below the runs, training and inference
HIGH = ("core.runs", "core.training", "core.inference")


def _module_name(path: Path) -> str:
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(CORE.rglob("*.py"))}


def _targets(node: ast.AST, here: str, modules: dict[str, Path]) -> set[str]:
    """Return the core modules one import statement loads."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:  # relative: resolve against this module's package
        package = here.split(".")[: -node.level] if here not in ("core",) else ["core"]
        base = ".".join([*package, node.module] if node.module else package)
    else:
        base = node.module or ""
    found = set()
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in modules:
            found.add(sub)  # `from core import cli_ship`: the submodule
        elif base in modules:
            found.add(base)
    return found


def import_graph() -> dict[str, set[str]]:
    """Return core module -> the core modules it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name == "core":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = set().union(*(_targets(node, name, modules) for node in ast.walk(tree))) - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import circle as a path that starts and ends on the same module, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_core_has_no_import_circles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_data_and_models_do_not_import_runs_training_or_inference() -> None:
    upward = sorted(
        f"{low} -> {high}"
        for low, targets in import_graph().items()
        if _under(low, LOW)
        for high in targets
        if _under(high, HIGH)
    )
    assert upward == []


def test_core_modules_do_not_import_the_facade() -> None:
    """`from core import X` inside core would load the whole public API from within a part of it."""
    assert sorted(name for name, targets in import_graph().items() if "core" in targets) == []


def test_the_graph_sees_function_level_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.runs import RunStore\n"
        "def f():\n    from core.config import RunConfig\n    import core.errors\n"
    )
    modules = {"core.runs": CORE, "core.config": CORE, "core.errors": CORE}
    found = set().union(*(_targets(n, "core.x", modules) for n in ast.walk(ast.parse(source))))
    assert found == {"core.runs", "core.config", "core.errors"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
