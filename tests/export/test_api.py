"""The public surface of curata.export, and that it needs no torch."""

from __future__ import annotations

import subprocess
import sys

import curata.export


def test_all_matches_exports() -> None:
    public = {n for n in dir(curata.export) if not n.startswith("_")}  # includes lazy names
    submodules = {"errors", "gate", "jsonarrow", "loader", "manifest", "options", "publish",
                  "samples", "selection", "shuffle", "sources", "tar", "writer", "torch"}
    assert set(curata.export.__all__) == public - submodules
    assert all(hasattr(curata.export, n) for n in curata.export.__all__)


def test_snapshot_methods_delegate_here(snapshot, tmp_path) -> None:
    m = snapshot.export_webdataset(str(tmp_path / "s"), shard_count=2)
    assert isinstance(m, curata.export.ExportManifest)
    assert isinstance(snapshot.webdataset(out=str(tmp_path / "s"), shard_count=2),
                      curata.export.WebDatasetLoader)


NO_TORCH = """
import sys
sys.modules["torch"] = None  # as if torch were not installed
from curata.export import open_webdataset
print(sum(1 for _ in open_webdataset(sys.argv[1], shuffle=True, seed=1)))
"""


def test_export_and_loader_work_without_torch(snapshot, tmp_path) -> None:
    m = snapshot.export_webdataset(str(tmp_path / "s"), shard_count=2)
    res = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path / "s")],
                         capture_output=True, text=True, check=True)
    assert int(res.stdout) == m.num_samples
