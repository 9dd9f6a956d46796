"""An export never deletes or replaces a file it did not write (issue 24 item 1).

An export folder's old ``manifest.json`` is input like any other: it may name ``../victim``,
an absolute path or a sub-folder, and the folder may hold symlinks under the exporter's own
names. Only files of the exporter's names directly inside the folder are replaced or removed;
anything else is an ``ExportFolderError`` raised before anything is deleted or written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import curata
import pyarrow as pa
import pytest
from curata.export import ExportFolderError, ExportOptionError, export_webdataset
from curata.export.manifest import is_export_name
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st


def tree(root: Path) -> dict[str, object]:
    """Every entry under ``root`` (links not followed) but the catalog's ``home``: path ->
    bytes, link target or ``"dir"``."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root and "home" in dirnames:
            dirnames.remove("home")
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = p.read_bytes()
    return out


def victims(base: Path) -> Path:
    """Files outside the export folder that a hostile manifest may name."""
    v = base / "victim"
    (v / "sub").mkdir(parents=True)
    (v / "file").write_text("precious")
    (v / "reviews-000000.tar").write_text("not an export of ours")
    (v / "sub" / "ATTRIBUTION.md").write_text("someone else's")
    return v


def tamper(out: Path, *, shards: list = (), wids: dict | None = None) -> None:
    """Add entries to the export's manifest (still a Curata manifest of the right format)."""
    doc = json.loads((out / "manifest.json").read_text())
    doc["shards"] += [{"name": n, "split": "", "samples": 1, "bytes": 1, "sha256": "0"}
                      for n in shards]
    doc["wids_indexes"].update(wids or {})
    (out / "manifest.json").write_text(json.dumps(doc))


HOSTILE = ["../victim/file", "../victim/reviews-000000.tar", "{victim}/file", "..",
           "sub/../../victim/file", "./../victim/file", "victim/../../victim/file",
           "../victim/sub", ".hidden-000000.tar", "a/reviews-000000.tar", "", "manifest.json"]


@pytest.mark.parametrize("name", HOSTILE)
def test_manifest_naming_files_outside_the_folder_is_refused(snapshot, tmp_path, name) -> None:
    victim = victims(tmp_path)
    out = tmp_path / "out"
    export_webdataset(snapshot, out, shard_count=2)
    tamper(out, shards=[name.format(victim=victim)])
    before = tree(tmp_path)
    with pytest.raises(ExportFolderError) as err:
        export_webdataset(snapshot, out, shard_count=3)  # other options: not "unchanged"
    assert err.value.name == name.format(victim=victim) and err.value.folder == str(out)
    assert err.value.exit_code == 2
    assert tree(tmp_path) == before  # nothing deleted, nothing written, inside or out


def test_wids_index_outside_the_folder_is_refused(snapshot, tmp_path) -> None:
    victims(tmp_path)
    out = tmp_path / "out"
    export_webdataset(snapshot, out, shard_count=2)
    tamper(out, wids={"x": "../victim/sub/ATTRIBUTION.md"})
    before = tree(tmp_path)
    with pytest.raises(ExportFolderError) as err:
        export_webdataset(snapshot, out, shard_count=1)
    assert err.value.name == "../victim/sub/ATTRIBUTION.md"
    assert tree(tmp_path) == before


@pytest.mark.parametrize("entry", ["reviews-000000.tar", "manifest.json", "ATTRIBUTION.md",
                                   "reviews.wids.json"])
def test_symlink_under_an_export_name_is_refused(snapshot, tmp_path, entry) -> None:
    """A rename onto a symlinked folder moved the new shard *into* the victim folder."""
    victim = victims(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / entry).symlink_to(victim)
    before = tree(tmp_path)
    with pytest.raises(ExportFolderError) as err:
        export_webdataset(snapshot, out, shard_count=1)
    assert err.value.name == entry
    assert tree(tmp_path) == before


def test_stale_shards_of_an_earlier_export_are_still_removed(snapshot, tmp_path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / "notes.txt").write_text("mine")  # not an export name: never touched
    many = export_webdataset(snapshot, out, shard_count=4, split_by="split")
    few = export_webdataset(snapshot, out, shard_count=1)
    assert len(many.shards) == 8 and len(few.shards) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*few.shard_names(), "manifest.json", "ATTRIBUTION.md", "reviews.wids.json",
         "notes.txt"])


def test_malformed_manifest_is_refused(snapshot, tmp_path) -> None:
    out = tmp_path / "out"
    export_webdataset(snapshot, out, shard_count=1)
    doc = json.loads((out / "manifest.json").read_text())
    doc["shards"] = {"name": "../victim"}
    (out / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ExportFolderError) as err:
        export_webdataset(snapshot, out, shard_count=2)
    assert err.value.name == "manifest.json"


def test_empty_out_is_a_usage_error(snapshot, tmp_path, monkeypatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with pytest.raises(ExportOptionError) as err:
        export_webdataset(snapshot, "", shard_count=1)
    assert err.value.option == "out"
    with pytest.raises(ExportOptionError):
        export_webdataset(snapshot, "  ", shard_count=1)
    assert list(cwd.iterdir()) == []


CLI = ("import sys; from curata_ingest.cli import app; from curata_ingest.cli._errors "
       "import run; sys.argv = ['curata', *sys.argv[1:]]; run(app)")


def _cli(catalog: curata.Catalog, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"CURATA_HOME": str(catalog.settings.home), "PATH": "/usr/bin:/bin",
           "HOME": str(catalog.settings.home)}
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def test_cli_refuses_empty_out_and_hostile_manifest(snapshot, catalog, tmp_path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    res = _cli(catalog, cwd, "export", "reviews@v1", "--out", "", "--shard-count", "1")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert list(cwd.iterdir()) == []  # not written into the current folder
    victims(tmp_path)
    out = tmp_path / "out"
    export_webdataset(snapshot, out, shard_count=1)
    tamper(out, shards=["../victim/file"])
    before = tree(tmp_path)
    res = _cli(catalog, cwd, "export", "reviews@v1", "--out", str(out), "--shard-count", "2",
               "--json")
    assert res.returncode == 2, res.stderr
    doc = json.loads(res.stdout)
    assert doc["error"] == "ExportFolderError" and doc["name"] == "../victim/file"
    assert tree(tmp_path) == before


def test_object_store_manifest_cannot_reach_other_keys(snapshot, s3_options) -> None:
    import fsspec

    bucket, options = s3_options
    fs = fsspec.filesystem("s3", **options)
    fs.pipe(f"{bucket}/victim/file", b"precious")
    uri = f"s3://{bucket}/exports/out"
    export_webdataset(snapshot, uri, shard_count=1, storage_options=options)
    doc = json.loads(fs.cat(f"{bucket}/exports/out/manifest.json"))
    doc["shards"].append({"name": "../../victim/file", "split": "", "samples": 1, "bytes": 8,
                          "sha256": "0"})
    fs.pipe(f"{bucket}/exports/out/manifest.json", json.dumps(doc).encode())
    with pytest.raises(ExportFolderError):
        export_webdataset(snapshot, uri, shard_count=2, storage_options=options)
    fs.invalidate_cache()
    assert fs.cat(f"{bucket}/victim/file") == b"precious"
    assert json.loads(fs.cat(f"{bucket}/exports/out/manifest.json")) == doc  # untouched


# --- property: whatever an old manifest lists, nothing outside the folder changes -------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[curata.Snapshot, Path]:
    """A 6-row snapshot and a template folder holding its export (copied per example)."""
    base = tmp_path_factory.mktemp("hostile")
    cat = curata.connect(home=base / "home")
    cat.append("reviews", pa.table({"text": [f"t{i}" for i in range(6)],
                                    "split": ["a", "b"] * 3}),
               license="CC0-1.0", source="s")
    snap = cat.snapshot("reviews")
    export_webdataset(snap, base / "template", shard_count=2, split_by="split")
    return snap, base / "template"


_PIECES = st.sampled_from(["..", ".", "", "victim", "file", "sub", "reviews-000000.tar",
                           "ATTRIBUTION.md", "manifest.json", "x.wids.json", "~", "%2e%2e",
                           "..\\victim", "reviews-000001.tar\n", "\x00", "out"])
_PATHS = st.builds(lambda parts, lead: lead + "/".join(parts),
                   st.lists(_PIECES, min_size=1, max_size=5),
                   st.sampled_from(["", "/", "../", "./", "{victim}/", "{base}/"]))
_VALID = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}-[0-9]{6}\.tar", fullmatch=True)
_NAMES = st.one_of(_PATHS, _VALID, st.text(max_size=30), st.integers(), st.none())
_LINKS = st.lists(st.sampled_from(["reviews-a-000000.tar", "reviews-b-000005.tar",
                                   "manifest.json", "ATTRIBUTION.md", "reviews-a.wids.json"]),
                  max_size=2, unique=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shards=st.lists(_NAMES, max_size=4), wids=st.lists(_NAMES, max_size=2), links=_LINKS)
def test_hostile_manifests_never_touch_anything_outside(small, shards, wids, links) -> None:
    snap, template = small
    with tempfile.TemporaryDirectory(dir=template.parent) as tmp:
        base = Path(tmp)
        victim = victims(base)
        out = base / "out"
        shutil.copytree(template, out)
        def fill(n: object) -> object:
            if not isinstance(n, str):
                return n
            return n.replace("{victim}", str(victim)).replace("{base}", str(base))

        shards, wids = [fill(n) for n in shards], [fill(n) for n in wids]
        for name in [n for n in shards if isinstance(n, str) and is_export_name(n)]:
            if "/" not in name and not (out / name).exists():
                (out / name).write_bytes(b"an old shard")  # a listed file of ours
        tamper(out, shards=shards, wids={f"w{i}": n for i, n in enumerate(wids)})
        for i, entry in enumerate(links):
            target = victim if i % 2 else victim / "file"
            if (out / entry).exists():
                (out / entry).unlink()
            (out / entry).symlink_to(target)
        outside = {k: v for k, v in tree(base).items() if not k.startswith("out")}
        before = tree(out)
        valid = all(isinstance(n, str) and "/" not in n and is_export_name(n)
                    and n.endswith(".tar") for n in shards) and all(
            isinstance(n, str) and "/" not in n and n.endswith(".wids.json")
            and is_export_name(n) for n in wids)
        try:
            export_webdataset(snap, out, shard_count=3)  # not the template's options
            refused = False
        except ExportFolderError:
            refused = True
        assert {k: v for k, v in tree(base).items() if not k.startswith("out")} == outside
        event("refused" if refused else "written")
        assert refused == (not valid or bool(links))
        if refused:
            assert tree(out) == before
        else:
            left = {p.name for p in out.iterdir()}
            assert left == {"reviews-000000.tar", "reviews-000001.tar", "reviews-000002.tar",
                            "reviews.wids.json", "ATTRIBUTION.md", "manifest.json"}
