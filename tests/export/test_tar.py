"""The hand-written ustar writer against tarfile and GNU tar."""

from __future__ import annotations

import io
import subprocess
import tarfile

from curata.export.tar import FIXED_MTIME, RECORD, TarShardWriter, member_header
from hypothesis import given, settings
from hypothesis import strategies as st

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=140)


@settings(deadline=None)
@given(name=names, size=st.integers(min_value=0, max_value=8**11 - 1))
def test_header_matches_tarfile_ustar(name: str, size: int) -> None:
    raw = name.encode()
    if len(raw) > 100:
        return  # long names go through tarfile's PAX path (tested below)
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, FIXED_MTIME, 0o644
    info.uname = info.gname = ""
    assert member_header(raw, size) == info.tobuf(format=tarfile.USTAR_FORMAT)


@settings(max_examples=50, deadline=None)
@given(samples=st.lists(
    st.lists(st.tuples(names, st.binary(max_size=2000)), min_size=1, max_size=4),
    min_size=1, max_size=8,
))
def test_tarfile_reads_back_every_member(samples: list[list[tuple[str, bytes]]]) -> None:
    buf = io.BytesIO()
    w = TarShardWriter(buf)
    expected = []
    for sample in samples:
        members = [(n.encode(), p) for n, p in sample]
        w.add_sample(members)
        expected += members
    w.close()
    data = buf.getvalue()
    assert len(data) % RECORD == 0 and len(data) == w.size
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        got = [(m.name.encode(), tar.extractfile(m).read()) for m in tar.getmembers()]
        assert all(m.mtime == FIXED_MTIME and m.uid == 0 and m.gid == 0 for m in tar)
    assert got == expected


def test_gnu_tar_lists_long_and_short_names(tmp_path) -> None:
    long_name = ("k" * 32 + "." + "c" * 90 + ".txt").encode()
    path = tmp_path / "s.tar"
    with open(path, "wb") as f:
        w = TarShardWriter(f)
        w.add_sample([(b"a.txt", b"hello"), (long_name, b"x" * 600)])
        sha = w.close()
    listed = subprocess.run(["tar", "-tf", str(path)], check=True, capture_output=True,
                            text=True).stdout.split()
    assert listed == ["a.txt", long_name.decode()]
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
