"""The public surface of curata.governance."""

from __future__ import annotations

import subprocess
import sys

import curata.governance as gov


def test_all_matches_exports():
    # names load lazily (PEP 562): dir() lists them, each resolves, none is a submodule
    public = {n for n in dir(gov) if not n.startswith("_")}
    assert set(gov.__all__) == public
    values = {n: getattr(gov, n) for n in gov.__all__}
    assert not [n for n, v in values.items() if type(v).__name__ == "module"]


def test_import_does_not_touch_the_catalog_or_heavy_optional_libs():
    code = (
        "import sys, curata.governance; "
        "bad = [m for m in ('mlcroissant', 'cyclonedx', 'spdx_python_model') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
