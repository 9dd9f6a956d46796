"""Scale-out benchmarks (issue 8 §5), both on the same generated JSONL corpus:

1. ``ingest`` with the local engine vs the Ray Data engine (a local Ray cluster using every
   core of this machine); the snapshot fingerprints must be equal.
2. ``ingest`` into a local-folder warehouse vs into an S3 endpoint (``moto`` on loopback,
   one request at a time, or a real endpoint from ``AWS_ENDPOINT_URL`` with ``--s3-bucket``).
3. ``curata export`` of one snapshot of that corpus with ``--engine local`` vs ``--engine ray``
   (shards cut by size, so the Ray engine runs its measuring scan and its write tasks; with
   ``--export-shuffle`` also the groupby that routes rows to shards); every shard's sha256
   must be equal.

    python bench/scale.py [--size 64MB] [--files 8] [--skip-ray] [--skip-s3] [--skip-export]
                          [--shard-size 8MB] [--export-shuffle]
    python bench/scale.py --size 2GB --files 32      # the 2 GB run of the issue
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.fixtures.s3
from _common import record  # noqa: E402

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # do not ship the .venv to workers
import curata  # noqa: E402
from curata_ingest.pipeline import ingest  # noqa: E402

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def parse_size(text: str) -> int:
    for unit, mult in UNITS.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * mult)
    return int(text)


def make_corpus(root: Path, size: int, files: int, seed: int = 0) -> int:
    """JSONL files of reviews (about 5% exact duplicates); returns the bytes written."""
    rng = np.random.default_rng(seed)
    words = np.array(["data", "label", "curate", "snapshot", "delta", "arrow", "train", "model",
                      "great", "poor"])
    total, per_file = 0, size // files
    for f in range(files):
        lines, n = [], 0
        while n < per_file:
            rows = rng.choice(words, size=(2000, 16))
            stars = rng.integers(1, 6, 2000)
            for i in range(2000):
                idx = int(rng.integers(0, 50)) if rng.random() < 0.05 else i + f * 10**7 + n
                line = json.dumps({"id": idx, "text": " ".join(rows[i]), "stars": int(stars[i])})
                lines.append(line)
                n += len(line) + 1
        (root / f"part-{f:03d}.jsonl").write_text("\n".join(lines) + "\n")
        total += n
    return total


def timed_ingest(home: Path, src: Path, engine: str, env: dict[str, str] | None = None
                 ) -> tuple[float, str, int]:
    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        cat = curata.connect(home=home)
        t0 = time.perf_counter()
        rep = ingest([str(src)], dataset="corpus", license="CC-BY-4.0", catalog=cat,
                     engine=engine, run_id="bench", retrieved_at=WHEN)
        return time.perf_counter() - t0, rep.fingerprint or "", rep.rows_written
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _ray_cluster() -> Iterator[float]:
    """A local Ray cluster on every core for the ``with`` body; yields its start-up seconds."""
    import ray

    t0 = time.perf_counter()
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: socket path limits
    ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False,
             log_to_driver=False, configure_logging=False, _temp_dir=ray_tmp)
    try:
        yield time.perf_counter() - t0
    finally:
        ray.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def bench_ray(tmp: Path, src: Path, nbytes: int) -> None:
    t_local, fp_local, rows = timed_ingest(tmp / "local", src, "local")
    with _ray_cluster() as start:
        t_ray, fp_ray, _ = timed_ingest(tmp / "ray", src, "ray")
    assert fp_ray == fp_local, "engines disagree on the snapshot fingerprint"
    record("bench/scale.py", f"{nbytes / 1e6:.0f} MB JSONL, {rows:,} rows: ingest --engine ray "
           f"{t_ray:.2f}s vs --engine local {t_local:.2f}s · ratio {t_ray / t_local:.2f}x "
           f"(cluster start {start:.1f}s not counted; fingerprints equal)")


def bench_export(tmp: Path, src: Path, nbytes: int, shard_size: str, shuffle: bool) -> None:
    from curata.export import export_webdataset

    cat = curata.connect(home=tmp / "export")
    ingest([str(src)], dataset="corpus", license="CC-BY-4.0", catalog=cat, run_id="bench",
           retrieved_at=WHEN)
    snap = cat.snapshot("corpus")
    options = {"shard_size": shard_size, "shuffle": shuffle, "seed": 1}
    t0 = time.perf_counter()
    local = export_webdataset(snap, str(tmp / "wds-local"), **options)
    t_local = time.perf_counter() - t0
    with _ray_cluster() as start:
        t0 = time.perf_counter()
        distributed = export_webdataset(snap, str(tmp / "wds-ray"), engine="ray", **options)
        t_ray = time.perf_counter() - t0
    same = [(s.name, s.sha256) for s in distributed.shards] == [
        (s.name, s.sha256) for s in local.shards]
    assert same, "engines wrote different shards"
    record("bench/scale.py", f"{nbytes / 1e6:.0f} MB JSONL, {snap.num_rows:,} rows -> "
           f"{local.num_bytes / 1e6:.0f} MB in {len(local.shards)} shards of {shard_size}"
           f"{', shuffled' if shuffle else ''}: export --engine ray {t_ray:.2f}s vs "
           f"--engine local {t_local:.2f}s · "
           f"ratio {t_ray / t_local:.2f}x (cluster start {start:.1f}s not counted; "
           f"all {len(local.shards)} shard sha256 equal)")


def _moto() -> tuple[subprocess.Popen[bytes], str]:
    from tests.fixtures.s3 import _SERVE  # one request at a time: atomic conditional puts

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    return proc, f"http://127.0.0.1:{port}"


def bench_s3(tmp: Path, src: Path, nbytes: int, bucket: str | None) -> None:
    import boto3

    t_local, fp_local, rows = timed_ingest(tmp / "s3-local", src, "local")
    proc, endpoint = (None, os.environ["AWS_ENDPOINT_URL"]) if bucket else _moto()
    try:
        env = {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
               "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
               "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "bench")}
        if bucket is None:
            bucket = "curata-bench"
            boto3.client("s3", endpoint_url=endpoint, region_name=env["AWS_REGION"],
                         aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]
                         ).create_bucket(Bucket=bucket)
        env["CURATA_WAREHOUSE"] = f"s3://{bucket}/bench-{int(time.time())}"
        t_s3, fp_s3, _ = timed_ingest(tmp / "s3", src, "local", env)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    assert fp_s3 == fp_local, "S3 and local warehouses disagree on the fingerprint"
    record("bench/scale.py", f"{nbytes / 1e6:.0f} MB JSONL, {rows:,} rows: ingest into S3 "
           f"({'moto on loopback' if proc else endpoint}) {t_s3:.2f}s vs local folder "
           f"{t_local:.2f}s · ratio {t_s3 / t_local:.2f}x (fingerprints equal)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="64MB", help="corpus size, e.g. 64MB or 2GB")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-s3", action="store_true")
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--shard-size", default="8MB", help="export shard size")
    ap.add_argument("--export-shuffle", action="store_true", help="export with --shuffle")
    ap.add_argument("--s3-bucket", help="use this bucket at $AWS_ENDPOINT_URL instead of moto")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        src = tmp / "src"
        src.mkdir()
        nbytes = make_corpus(src, parse_size(args.size), args.files)
        if not args.skip_ray:
            bench_ray(tmp, src, nbytes)
        if not args.skip_s3:
            bench_s3(tmp, src, nbytes, args.s3_bucket)
        if not args.skip_export:
            bench_export(tmp, src, nbytes, args.shard_size, args.export_shuffle)


if __name__ == "__main__":
    main()
