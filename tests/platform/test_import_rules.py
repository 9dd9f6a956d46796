"""The layout rules of docs/architecture.md, checked on the source (issue 16).

1. No ``curata.*`` import inside a function body in ``platform/curata``: modules import each
   other at the top, so the import graph is explicit and has no cycle. Exceptions: the
   package's own lazy loaders (``curata/__init__.py``, PEP 562) and modules that exist only
   with an optional extra installed (:data:`EXTRAS`: importing them needs torch or mlflow).
2. The ORM models (``curata.store.models``) are imported only inside ``curata/store/``.
3. No ``_private`` name is imported from another module. A private *module* of the same
   package (``from curata_ui import _render``) is that package's business and allowed.
4. The import graph of ``platform/curata`` (top-level imports) has no cycle.

Third-party libraries may be imported inside functions (pandas, torch, Polars on paths that
need them), which is how the CLI starts fast.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "curata": ROOT / "platform" / "curata",
    "curata_ingest": ROOT / "ingest" / "curata_ingest",
    "curata_labeling": ROOT / "labeling" / "curata_labeling",
    "curata_ui": ROOT / "ui" / "curata_ui",
}
#: Modules that import an optional extra at their top (torch, mlflow): only functions that
#: need them import them.
EXTRAS = ("curata.export.torch", "curata.tracking")
#: Lazy loaders of the public names (PEP 562).
LAZY_LOADERS = {"curata", "curata_ingest"}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _modules() -> dict[str, Path]:
    out = {}
    for top, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((top, *parts))
            out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> list[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement: (node, inside a function, under ``if TYPE_CHECKING``)."""
    out = []

    def visit(node: ast.AST, in_fn: bool, in_tc: bool) -> None:
        for child in ast.iter_child_nodes(node):
            fn = in_fn or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            tc = in_tc or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                out.append((child, fn, tc))
            visit(child, fn, tc)

    visit(ast.parse(path.read_text()), False, False)
    return out


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return [node.module or ""]


def _violations_function_imports() -> list[str]:
    bad = []
    for name, path in MODULES.items():
        if not name.startswith("curata.") or name in LAZY_LOADERS:
            continue
        for node, in_fn, _ in _imports(path):
            for target in _targets(node):
                if in_fn and (target == "curata" or target.startswith("curata.")) \
                        and not target.startswith(EXTRAS):
                    bad.append(f"{_rel(path)}:{node.lineno} imports {target} "
                               "inside a function")
    return bad


def test_no_curata_import_inside_functions() -> None:
    assert _violations_function_imports() == []


def test_orm_models_stay_in_the_store() -> None:
    bad = []
    for name, path in MODULES.items():
        if name.startswith("curata.store"):
            continue
        for node, _, _ in _imports(path):
            names = _targets(node)
            if isinstance(node, ast.ImportFrom) and node.module == "curata.store":
                names += [f"curata.store.{a.name}" for a in node.names]
            if any(t == "curata.store.models" or t.startswith("curata.store.models.")
                   for t in names):
                bad.append(f"{_rel(path)}:{node.lineno}")
    assert bad == []


def test_no_private_names_cross_modules() -> None:
    bad = []
    for path in MODULES.values():
        for node, _, _ in _imports(path):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            for alias in node.names:
                if not alias.name.startswith("_") or alias.name.startswith("__"):
                    continue
                if f"{node.module}.{alias.name}" in MODULES:  # a private module of the package
                    continue
                bad.append(f"{_rel(path)}:{node.lineno} imports {alias.name} "
                           f"from {node.module}")
    assert bad == []


def import_graph(*, function_level: bool) -> dict[str, set[str]]:
    """``platform/curata``'s modules and the curata modules each imports at load time
    (``function_level``: also those imported inside functions). ``from pkg import sub`` is an
    edge to ``pkg.sub``; importing a module is also an edge to each package above it (their
    ``__init__`` runs first), except the importer's own ancestors (already loading)."""
    mods = {n: p for n, p in MODULES.items() if n == "curata" or n.startswith("curata.")}

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        edges = set()
        for node, in_fn, in_tc in _imports(path):
            if in_tc or (in_fn and not function_level):
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level or not (node.module or "").startswith("curata"):
                    continue
                subs = [f"{node.module}.{a.name}" for a in node.names]
                found = [s for s in subs if s in mods]
                targets = found + ([node.module] if len(found) < len(subs) else [])
            else:
                targets = [a.name for a in node.names if a.name.startswith("curata")]
            for target in targets:
                r = resolve(target)
                while r and r != name and not name.startswith(r + "."):
                    edges.add(r)  # and the packages above it: loading r runs their __init__
                    r = r.rpartition(".")[0]
                    if r not in mods:
                        break
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_import_graph_has_no_cycle() -> None:
    assert cycles(import_graph(function_level=False)) == []


@pytest.mark.parametrize(("bad", "check"), [
    ("def f():\n    from curata.snapshot import Snapshot\n", "test_no_curata_import_inside_functions"),
    ("from curata.store.models import Dataset\n", "test_orm_models_stay_in_the_store"),
    ("from curata.store import models\n", "test_orm_models_stay_in_the_store"),
    ("from curata.write.append import _helper\n", "test_no_private_names_cross_modules"),
])
def test_the_checks_catch_what_they_forbid(tmp_path: Path, monkeypatch, bad: str,
                                           check: str) -> None:
    """Each rule fails on a module that breaks it (the checks are not vacuous)."""
    path = tmp_path / "platform" / "curata" / "probe.py"
    path.parent.mkdir(parents=True)
    path.write_text(bad)
    monkeypatch.setitem(MODULES, "curata.probe", path)
    with pytest.raises(AssertionError):
        globals()[check]()


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_system_columns_are_defined_once() -> None:
    """``SYSTEM_COLUMNS`` was defined three times (writer, pipeline, Ray); now one module owns
    it and the others import it."""
    where = [f"{_rel(path)}:{node.lineno}" for path in MODULES.values()
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Assign)
             and any(getattr(t, "id", None) == "SYSTEM_COLUMNS" for t in node.targets)]
    assert where == ["platform/curata/fingerprint.py:" + where[0].rpartition(":")[2]]
