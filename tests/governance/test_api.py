"""The public surface of curata.governance."""

from __future__ import annotations

import subprocess
import sys

import curata.governance as gov


def test_all_matches_exports():
    public = {n for n in vars(gov) if not n.startswith("_")} - {
        "annotations",
        "audit",
        "bom",
        "collect",
        "facts",
        "licenses",
        "policy",
        "provenance",
        "report",
    }
    assert set(gov.__all__) == public
    assert all(hasattr(gov, n) for n in gov.__all__)


def test_import_does_not_touch_the_catalog_or_heavy_optional_libs():
    code = (
        "import sys, curata.governance; "
        "bad = [m for m in ('mlcroissant', 'cyclonedx', 'spdx_python_model') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
