"""The test suite's own rules: shared code lives in tests/helpers/, no test module imports another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    """True for a dotted module path that names a test module or a conftest (tests.test_x, tests.browser.conftest)."""
    last = dotted.rsplit(".", 1)[-1]
    return dotted.split(".")[0] == "tests" and (last.startswith("test_") or last == "conftest")


def imported_test_modules(source: str) -> list[str]:
    """Return the test modules and conftests that this source imports, anywhere in it (functions included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # `from .test_x import y` or `from . import test_x`
                names = [node.module] if node.module else [alias.name for alias in node.names]
                found += [f".{name}" for name in names if _is_test_module(f"tests.{name}")]
            elif node.module and _is_test_module(node.module):
                found.append(node.module)
            elif node.module in ("tests", "tests.browser"):
                found += [f"{node.module}.{a.name}" for a in node.names if _is_test_module(f"tests.{a.name}")]
    return found


def test_the_checker_sees_every_way_of_importing_a_test_module() -> None:
    assert imported_test_modules("from tests.test_pages import open_page") == ["tests.test_pages"]
    assert imported_test_modules("def f():\n    import tests.browser.test_journey") == ["tests.browser.test_journey"]
    assert imported_test_modules("from tests.browser.conftest import ROOT") == ["tests.browser.conftest"]
    assert imported_test_modules("from tests import test_images") == ["tests.test_images"]
    assert imported_test_modules("from .test_teach import x") == [".test_teach"]
    assert imported_test_modules("from tests.helpers.pages import open_page\nfrom .helpers import x") == []


def test_no_test_module_imports_another() -> None:
    offenders = {
        str(path.relative_to(TESTS)): found
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imported_test_modules(path.read_text()))
    }
    assert not offenders, f"move what these import into tests/helpers/: {offenders}"


def test_helpers_are_a_package() -> None:
    assert (TESTS / "helpers" / "__init__.py").is_file() and not (TESTS / "helpers.py").exists()
