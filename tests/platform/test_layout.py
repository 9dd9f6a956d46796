"""The workspace layout promises of DESIGN.md §2."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_stdlib_platform_is_not_shadowed_from_the_repo_root() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    out = subprocess.run([sys.executable, "-c", "import platform; print(platform.system())"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() in {"Linux", "Darwin", "Windows"}


def test_every_member_imports() -> None:
    for name in ("curata", "curata_ingest", "curata_labeling", "curata_ui"):
        importlib.import_module(name)


def test_public_all_matches_exports() -> None:
    import curata

    public = {n for n in dir(curata) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(curata, n)).__name__ == "module"}
    assert set(curata.__all__) - {"__version__"} == public - (modules - {"errors"})
    for name in curata.__all__:
        assert hasattr(curata, name)


def test_errors_form_one_hierarchy() -> None:
    from curata import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and
               issubclass(c, Exception) and c.__module__ == errors.__name__]
    assert all(issubclass(c, errors.CurataError) for c in classes)
