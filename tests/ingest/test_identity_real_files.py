"""Identity on real files we did not write (issue: identity and integrity, item 2).

File sources keep the path out of the content, so byte-identical files under two names are
one record for `--dedup exact`, and a record's `_id` does not depend on where the corpus sits.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path

import pytest
from curata.fingerprint import record_ids
from curata_ingest.pipeline import ingest

LICENSES = Path("/usr/share/common-licenses")
ICONS = Path("/usr/share/icons/Adwaita/48x48")


def _needs(path: Path) -> None:
    if not path.is_dir():
        pytest.skip(f"{path} is not on this machine")


def _distinct(files: list[Path], key=lambda p: b"") -> int:
    return len({(hashlib.sha256(p.read_bytes()).hexdigest(), key(p)) for p in files})


def test_identical_license_texts_are_one_record(cat, tmp_path):
    _needs(LICENSES)
    files = sorted(p for p in LICENSES.iterdir() if p.is_file())
    distinct = _distinct(files)
    assert distinct < len(files)  # Debian ships twins (GPL = GPL-3, LGPL = LGPL-3, ...)
    report = ingest([str(LICENSES)], dataset="licenses", license="LicenseRef-various",
                    format="text", catalog=cat)
    assert report.rows_written == distinct
    assert report.duplicates == len(files) - distinct
    # The same texts copied elsewhere have the same ids (nothing of the path is content).
    copy = tmp_path / "elsewhere"
    shutil.copytree(LICENSES, copy)
    again = ingest([str(copy)], dataset="licenses", license="LicenseRef-various",
                   format="text", catalog=cat, source_name="copy")
    assert again.rows_written == 0 and again.duplicates == len(files)
    ids = cat.snapshot("licenses").to_arrow().column("_id").to_pylist()
    assert len(set(ids)) == len(ids) == distinct


def test_path_column_keeps_paths_as_content_when_asked(cat):
    _needs(LICENSES)
    files = sorted(p for p in LICENSES.iterdir() if p.is_file())
    report = ingest([str(LICENSES)], dataset="named", license="LicenseRef-various",
                    format="text", catalog=cat, path_column="file")
    assert report.rows_written == len(files) and report.duplicates == 0
    table = cat.snapshot("named").to_arrow()
    assert sorted(table.column("file").to_pylist()) == sorted(p.name for p in files)
    assert table.column("_id").to_pylist() == record_ids(table.select(["text", "file"])).to_pylist()


def test_identical_icons_in_one_class_are_one_record(cat):
    _needs(ICONS)
    files = sorted(ICONS.rglob("*.png"))
    # An image record is its bytes, format, size and class label (the sub-folder).
    distinct = _distinct(files, key=lambda p: p.relative_to(ICONS).parts[0])
    assert distinct < len(files)
    report = ingest([str(ICONS)], dataset="icons", license="CC-BY-SA-3.0", catalog=cat)
    assert report.rows_written == distinct
    assert report.duplicates == len(files) - distinct
    labels = Counter(cat.snapshot("icons").to_arrow().column("label").to_pylist())
    assert set(labels) == {p.name for p in ICONS.iterdir() if p.is_dir()}
