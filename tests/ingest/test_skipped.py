"""Nothing is skipped silently, and nothing outside the ingested folder is read unless asked
(issues: ingest robustness 2, hostile input 6).

Every input file is written, rejected, a duplicate, or counted as skipped with its reason;
symbolic links are followed when they resolve inside the folder, skipped (and counted) when
they lead outside it or loop.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from curata_ingest.pipeline import ingest
from PIL import Image

DOC = Path("/usr/share/doc")
ADWAITA = Path("/usr/share/icons/Adwaita")
SECRET = "ssh-ed25519 AAAA-secret-key-material"


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "corpus"
    (root / "real").mkdir(parents=True)
    (root / "a.jsonl").write_text('{"t": "a"}\n')
    (root / "real" / "b.jsonl").write_text('{"t": "b"}\n')
    (root / ".hidden.jsonl").write_text('{"t": "hidden"}\n')
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa.jsonl").write_text(json.dumps({"t": SECRET}) + "\n")
    (root / "linked").symlink_to(root / "real")            # inside: followed
    (root / "key.jsonl").symlink_to(outside / "id_rsa.jsonl")  # outside: skipped
    (root / "real" / "up").symlink_to(root)                # a loop: skipped
    (root / "gone.jsonl").symlink_to(tmp_path / "missing")  # broken: skipped
    return root, outside


def test_links_inside_are_followed_others_counted_and_never_read(cat, tmp_path):
    root, _ = _tree(tmp_path)
    report = ingest([str(root)], dataset="t", license="MIT", catalog=cat)
    # the loop is met twice: through real/ and through the link to it, linked/
    assert report.skip_reasons == {"broken_symlink": 1, "hidden_file": 1,
                                   "symlink_loop": 2, "symlink_outside_root": 1}
    assert report.skipped == 5 == sum(s.skipped for s in report.sources)
    by_reason = {f["reason"]: f["path"] for f in report.skipped_files}
    assert by_reason["symlink_outside_root"].endswith("key.jsonl")
    # a.jsonl, real/b.jsonl and linked/b.jsonl (the same bytes, a duplicate)
    assert (report.rows_read, report.rows_written, report.duplicates) == (3, 2, 1)
    data = cat.snapshot("t").to_arrow()
    assert sorted(data.column("t").to_pylist()) == ["a", "b"]
    raw = cat.rejects("t").to_pylist()
    assert not any(SECRET.encode() in (r.get("raw") or b"") for r in raw)


def test_follow_symlinks_all_reads_what_the_user_asked_for(cat, tmp_path):
    root, _ = _tree(tmp_path)
    report = ingest([str(root)], dataset="t", license="MIT", catalog=cat,
                    follow_symlinks="all", source_name="all")
    assert "symlink_outside_root" not in report.skip_reasons
    assert SECRET in cat.snapshot("t").to_arrow().column("t").to_pylist()


def test_images_beside_svgs_and_cursors_count_them(cat, tmp_path):
    root = tmp_path / "icons" / "apps"
    root.mkdir(parents=True)
    Image.new("RGB", (4, 4), (1, 2, 3)).save(root / "a.png")
    (root / "b.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (root / "cursor").write_bytes(b"Xcur\x10\x00\x00\x00")
    report = ingest([str(tmp_path / "icons")], dataset="i", license="MIT", catalog=cat)
    assert report.rows_written == 1
    assert report.skip_reasons == {"unsupported_format": 2}
    assert sorted(Path(f["path"]).name for f in report.skipped_files) == ["b.svg", "cursor"]


def _needs(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"{path} is not on this machine")


def test_every_debian_copyright_file_is_accounted_for(cat):
    """A glob through Debian's symlinked doc folders (fsspec's glob missed 42 of them)."""
    _needs(DOC)
    expected = {p for p in DOC.glob("*/copyright") if p.is_file()}
    report = ingest([f"{DOC}/*/copyright"], dataset="copyright", license="LicenseRef-various",
                    format="text", catalog=cat)
    assert report.rows_read == len(expected)
    assert report.rows_written + report.duplicates + report.rejected == len(expected)
    assert report.skipped == 0


def test_every_adwaita_file_is_written_rejected_or_counted(cat):
    _needs(ADWAITA)
    files = [Path(d) / f for d, _, fs in os.walk(ADWAITA, followlinks=False) for f in fs]
    regular = [p for p in files if not p.name.startswith(".")]
    report = ingest([str(ADWAITA)], dataset="adwaita", license="CC-BY-SA-3.0", catalog=cat)
    assert report.rows_read + report.skipped == len(regular)
    reasons = Counter(Path(f["path"]).suffix for f in report.skipped_files
                      if f["reason"] == "unsupported_format")
    assert reasons[".svg"] == sum(p.suffix == ".svg" for p in regular)
