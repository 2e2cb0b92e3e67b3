"""Architecture rules that code review alone would let slip."""

from __future__ import annotations

import ast
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py") if "streamlit" in _imports(p)]
    assert offenders == []


def test_pages_reach_core_only_through_its_public_api() -> None:
    for path in (ROOT / "pages").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core."):
                raise AssertionError(f"{path.name} imports {node.module}; use `from core import ...`")


def test_public_api_names_exist() -> None:
    missing = [name for name in core.__all__ if not hasattr(core, name)]
    assert missing == []
