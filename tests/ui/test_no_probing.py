"""The UI imports the names it uses; it never probes for guessed ones (issue 16, item 7).

Core features (``curata.*``, ``Catalog`` methods) always exist, so a page imports and calls
them. The one optional part is the ``curata-labeling`` workspace member: the Labeling page
checks once whether it is installed, then imports its public names directly.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import curata_labeling
import pytest

UI = Path(__file__).resolve().parents[2] / "ui" / "curata_ui"
SOURCES = sorted(UI.rglob("*.py"))
PAGES = sorted((UI / "pages").glob("*.py"))
#: Calls that look a name up at run time instead of importing it.
PROBES = {"getattr", "hasattr", "__import__", "import_module", "signature"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _called(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _imported_from(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from module import name`` in a file."""
    return [(node.module or "", alias.name) for node in ast.walk(_tree(path))
            if isinstance(node, ast.ImportFrom) for alias in node.names]


def test_features_module_is_gone() -> None:
    assert importlib.util.find_spec("curata_ui._features") is None


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(UI)))
def test_no_feature_probing_helpers(path: Path) -> None:
    """``_features.function`` / ``_features.module`` / ``_catalog.has`` must not come back."""
    bad = [ast.unparse(node) for node in ast.walk(_tree(path))
           if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
           and (node.value.id == "_features" or (node.value.id == "_catalog" and node.attr == "has"))]
    bad += [name for module, name in _imported_from(path) if name == "_features"]
    assert not bad, f"{path.name} probes for features: {bad}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_look_up_no_names_at_run_time(path: Path) -> None:
    calls = [f"line {node.lineno}: {ast.unparse(node)}" for node in ast.walk(_tree(path))
             if isinstance(node, ast.Call) and _called(node) in PROBES]
    assert not calls, f"{path.name} looks names up instead of importing them: {calls}"


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_every_curata_name_a_page_imports_exists(path: Path) -> None:
    for module, name in _imported_from(path):
        if module.split(".")[0] in ("curata", "curata_labeling"):
            assert hasattr(importlib.import_module(module), name), f"{module}.{name}"


def test_labeling_page_uses_only_public_curata_labeling_names() -> None:
    page = UI / "pages" / "labeling.py"
    used = [name for module, name in _imported_from(page) if module.startswith("curata_labeling")]
    assert used, "the Labeling page draws curata_labeling's reports"
    assert {m for m, _ in _imported_from(page) if m.startswith("curata_labeling")} == {"curata_labeling"}
    assert set(used) <= set(curata_labeling.__all__)
    assert all(callable(getattr(curata_labeling, name)) for name in used)


def test_one_installed_check_for_the_optional_member() -> None:
    """Only the Labeling page asks whether a package is there, and only about curata_labeling."""
    checks = [(path.name, ast.unparse(node)) for path in SOURCES for node in ast.walk(_tree(path))
              if isinstance(node, ast.Call) and _called(node) == "find_spec"]
    assert checks == [("labeling.py", "importlib.util.find_spec('curata_labeling')")]
