"""WebDataset export vs a ``webdataset.ShardWriter`` loop over the same snapshot rows.

Both sides read the same pinned snapshot and write the same members per sample (text, class
label, JSON metadata with license/source/provenance; plus the image for image records) into
shards of the same target size. Prints samples/s, MB/s and the ratio, and appends a line to
bench/RESULTS.md.

    uv run python bench/export.py                       # 50k text + 10k image records
    uv run python bench/export.py --rows 500000 --image-rows 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

import curata
import pyarrow as pa
import webdataset as wds
from curata.export import export_webdataset

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "lambda", "mu", "nu", "xi"]


def text_table(n: int) -> pa.Table:
    rng = random.Random(0)
    return pa.table({
        "text": [" ".join(rng.choices(WORDS, k=rng.randrange(20, 120))) for _ in range(n)],
        "label": [rng.randrange(10) for _ in range(n)],
    })


def image_table(n: int, size: int) -> pa.Table:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    pool = []
    for _ in range(64):  # a pool of distinct JPEGs; rows differ by label and caption too
        arr = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="JPEG", quality=85)
        pool.append(buf.getvalue())
    return pa.table({
        "image": pa.array([pool[i % 64] for i in range(n)], pa.binary()),
        "caption": [f"image {i}" for i in range(n)],
        "label": [i % 1000 for i in range(n)],
    })


def shardwriter_loop(snap: curata.Snapshot, out: Path, maxsize: int) -> tuple[int, int]:
    """What a user would write with webdataset alone."""
    out.mkdir()
    n = 0
    with wds.ShardWriter(str(out / "s-%06d.tar"), maxsize=maxsize, maxcount=10**9,
                         verbose=0) as sink:
        for batch in snap.to_batches():
            for row in batch.to_pylist():
                sample = {"__key__": row["_id"], "json": {
                    "_id": row["_id"], "_license": row["_license"], "_source": row["_source"],
                    "_provenance": {**row["_provenance"],
                                    "retrieved_at": row["_provenance"]["retrieved_at"].isoformat()},
                }}
                for col, value in row.items():
                    if col.startswith("_") or value is None:
                        continue
                    ext = {bytes: "jpg", int: "cls", str: "txt"}.get(type(value), "json")
                    sample[f"{col}.{ext}"] = value
                sink.write(sample)
                n += 1
    return n, sum(p.stat().st_size for p in out.glob("*.tar"))


def _timed(fn):
    """Wall and CPU seconds of ``fn()``; CPU time is what a shared, loaded box distorts least."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run(kind: str, snap: curata.Snapshot, tmp: Path, shard_size: int) -> dict:
    m, ours, ours_cpu = _timed(
        lambda: export_webdataset(snap, tmp / f"{kind}-curata", shard_size=shard_size))
    (n, nbytes), theirs, theirs_cpu = _timed(
        lambda: shardwriter_loop(snap, tmp / f"{kind}-wds", shard_size))
    assert n == m.num_samples
    r = {"kind": kind, "samples": n, "curata_s": ours, "wds_s": theirs,
         "curata_sps": n / ours, "wds_sps": n / theirs,
         "curata_mbps": m.num_bytes / ours / 1e6, "wds_mbps": nbytes / theirs / 1e6,
         "ratio": theirs / ours, "cpu_ratio": theirs_cpu / ours_cpu}
    print(f"{kind:6s} {n:>8d} samples | curata {r['curata_sps']:>10,.0f} samples/s "
          f"{r['curata_mbps']:7.1f} MB/s | ShardWriter {r['wds_sps']:>9,.0f} samples/s "
          f"{r['wds_mbps']:6.1f} MB/s | ratio {r['ratio']:.1f}x (CPU time {r['cpu_ratio']:.1f}x)")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000, help="text records")
    ap.add_argument("--image-rows", type=int, default=10_000, help="image records")
    ap.add_argument("--image-size", type=int, default=96, help="image side in pixels")
    ap.add_argument("--shard-size", default="64MB")
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args()
    from curata.export.options import parse_size

    shard_size = parse_size(args.shard_size)
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        cat = curata.connect(home=tmp / "home")
        cat.append("text", text_table(args.rows), license="CC-BY-4.0", source="bench")
        cat.append("images", image_table(args.image_rows, args.image_size),
                   license="CC-BY-4.0", source="bench")
        results = [run("text", cat.snapshot("text"), tmp, shard_size),
                   run("images", cat.snapshot("images"), tmp, shard_size)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_record:
        record(results)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def record(results: list[dict]) -> None:
    """Append one line to bench/RESULTS.md in the file's format."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}"
    figures = "; ".join(
        f"{r['kind']} {r['samples']:,} samples: export {r['curata_sps']:,.0f} samples/s "
        f"({r['curata_mbps']:.1f} MB/s) vs ShardWriter loop {r['wds_sps']:,.0f} samples/s "
        f"({r['wds_mbps']:.1f} MB/s) · ratio {r['ratio']:.1f}x (CPU time {r['cpu_ratio']:.1f}x)"
        for r in results)
    line = f"- {now} · `bench/export.py` · {machine} · {figures} · target ≥ 5x\n"
    path = Path(__file__).with_name("RESULTS.md")
    if not path.exists():
        path.write_text("# Benchmark results\n\nAppended by `make bench`; newest last.\n\n")
    with path.open("a") as f:
        f.write(line)
    print(line, end="")


if __name__ == "__main__":
    main()
