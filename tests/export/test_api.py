"""The public surface of curata.export, and that it needs no torch."""

from __future__ import annotations

import subprocess
import sys

import curata.export


def test_all_matches_exports() -> None:
    public = {n for n in dir(curata.export) if not n.startswith("_")}  # includes lazy names
    submodules = {"errors", "gate", "jsonarrow", "loader", "manifest", "options", "publish",
                  "samples", "selection", "shardset", "shuffle", "sources", "tar", "writer", "torch",
                  "ray"}
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


NO_RAY = """
import sys
sys.modules["ray"] = None  # as if Ray were not installed
import curata
from curata.errors import UsageError
snap = curata.connect(home=sys.argv[1]).snapshot("reviews@v1")
m = snap.export_webdataset(sys.argv[2], shard_count=2)
try:
    snap.export_webdataset(sys.argv[2] + "-ray", shard_count=2, engine="ray")
except UsageError as exc:
    print(m.num_samples, exc)
"""


def test_export_works_without_ray_and_says_how_to_get_it(snapshot, catalog, tmp_path) -> None:
    res = subprocess.run([sys.executable, "-c", NO_RAY, str(catalog.settings.home),
                          str(tmp_path / "s")], capture_output=True, text=True, check=True)
    samples, message = res.stdout.split(" ", 1)
    assert int(samples) == snapshot.num_rows
    assert "pip install 'curata-ingest[ray]'" in message
