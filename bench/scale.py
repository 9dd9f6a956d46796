"""Scale-out benchmarks, on one generated JSONL corpus, every engine run through the CLI in
a fresh process (as a user runs it; start-up included on both sides):

1. ``ingest`` with ``--engine local`` vs ``--engine ray`` against an already running cluster
   (``RAY_ADDRESS``), once per cluster shape: ONE node with 2 CPUs, and TWO nodes with 1 CPU
   each (a head that runs no task plus two worker nodes, every node its own raylet and
   object store on this machine). Cluster start-up is timed and reported apart. The
   snapshot fingerprints must be equal.
2. ``curata export`` of the ingested snapshot, ``--engine local`` vs ``--engine ray`` on the
   same clusters (shards cut by size, or ``--export-shuffle``); every shard's sha256 must be
   equal.
3. ``ingest`` into a local-folder warehouse vs into an S3 endpoint (``moto`` on loopback,
   or a real endpoint from ``AWS_ENDPOINT_URL`` with ``--s3-bucket``); skipped by default.

    python bench/scale.py [--size 1GB] [--files 8] [--nodes 1,2] [--skip-export]
                          [--shard-size 256MB] [--export-shuffle] [--repeat 1] [--s3]
    python bench/scale.py --size 256MB --nodes 1        # a quick look while developing

Ratios are Ray wall time / local wall time (target: at most 1.5x, DESIGN.md §8).
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
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.fixtures.s3, tests.scale
from _common import record  # noqa: E402

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")  # do not ship the .venv to workers
import curata  # noqa: E402
from curata_ingest.pipeline import ingest  # noqa: E402

WHEN = datetime(2026, 11, 1, tzinfo=UTC)
UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
BIN = Path(sys.executable).parent
SHAPES = {1: {"workers": 0, "head_cpus": 2}, 2: {"workers": 2, "worker_cpus": 1, "head_cpus": 0}}


def parse_size(text: str) -> int:
    for unit, mult in UNITS.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * mult)
    return int(text)


def make_corpus(root: Path, size: int, files: int, seed: int = 0) -> int:
    """JSONL files of reviews (about 5% of ids repeat, texts do not); returns the bytes."""
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


# --- the CLI in fresh processes ------------------------------------------------------------


def run_cli(tool: str, args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    """Wall time of one CLI run in a fresh process, and its --json output."""
    t0 = time.perf_counter()
    out = subprocess.run([str(BIN / tool), *args, "--json"], env=env, capture_output=True,
                         text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{tool} {' '.join(args)} failed ({out.returncode}): "
                           f"{out.stderr[-2000:]}")
    return wall, json.loads(out.stdout)


def cli_ingest(home: Path, src: Path, engine: str, env: dict[str, str]) -> tuple[float, dict]:
    shutil.rmtree(home, ignore_errors=True)
    return run_cli("ingest", [str(src), "--dataset", "corpus", "--license", "CC-BY-4.0",
                              "--engine", engine], {**env, "CURATA_HOME": str(home)})


def cli_export(home: Path, out: Path, engine: str, env: dict[str, str], shard_size: str,
               shuffle: bool) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    args = ["export", "corpus", "--out", str(out), "--shard-size", shard_size,
            "--engine", engine, "--quiet"]
    if shuffle:
        args += ["--shuffle", "--seed", "1"]
    return run_cli("curata", args, {**env, "CURATA_HOME": str(home)})


def best(fn, repeat: int) -> tuple[float, dict]:
    runs = [fn() for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


@contextlib.contextmanager
def cluster(nodes: int) -> Iterator[tuple[dict[str, str], float]]:
    """A cluster of the given shape in its own process; yields the drivers' environment
    (RAY_ADDRESS and the cluster's auth token) and its start-up seconds."""
    shape = SHAPES[nodes]
    cmd = [sys.executable, "-m", "tests.scale._cluster", "--workers", str(shape["workers"]),
           "--head-cpus", str(shape["head_cpus"])]
    if "worker_cpus" in shape:
        cmd += ["--worker-cpus", str(shape["worker_cpus"])]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError("the Ray cluster did not start")
        info = json.loads(line)
        started = time.perf_counter() - t0
        yield {**os.environ, **info["env"], "RAY_ADDRESS": info["address"]}, started
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def bench_engines(tmp: Path, src: Path, nbytes: int, args: argparse.Namespace) -> None:
    env = {**os.environ}
    for k in ("RAY_ADDRESS", "CURATA_CATALOG_URL", "CURATA_WAREHOUSE"):
        env.pop(k, None)
    t_local, local = best(lambda: cli_ingest(tmp / "local", src, "local", env), args.repeat)
    exports = {}
    if not args.skip_export:
        exports["local"] = best(lambda: cli_export(tmp / "local", tmp / "wds-local", "local",
                                                   env, args.shard_size, args.export_shuffle),
                                args.repeat)
    rows = local["rows_written"]
    lines = []
    for nodes in args.nodes:
        with cluster(nodes) as (ray_env, started):
            t_ray, ray = best(lambda e=ray_env: cli_ingest(tmp / "ray", src, "ray", e),
                              args.repeat)
            assert ray["fingerprint"] == local["fingerprint"], "engines disagree"
            shape = f"{nodes} node{'s' if nodes > 1 else ''} x {2 // nodes} CPU"
            lines.append(f"{shape}: ingest --engine ray {t_ray:.2f}s vs --engine local "
                         f"{t_local:.2f}s · ratio {t_ray / t_local:.2f}x (cluster start "
                         f"{started:.1f}s not counted; fingerprints equal)")
            if not args.skip_export:
                # The same snapshot (the local engine's) exported by both engines.
                t_re, ray_m = best(lambda e=ray_env: cli_export(
                    tmp / "local", tmp / "wds-ray", "ray", e, args.shard_size,
                    args.export_shuffle), args.repeat)
                t_le, local_m = exports["local"]
                same = [(s["name"], s["sha256"]) for s in ray_m["shards"]] == [
                    (s["name"], s["sha256"]) for s in local_m["shards"]]
                assert same, "engines wrote different shards"
                lines.append(f"{shape}: export ({local_m['num_bytes'] / 1e6:.0f} MB in "
                             f"{len(local_m['shards'])} shards of {args.shard_size}"
                             f"{', shuffled' if args.export_shuffle else ''}) --engine ray "
                             f"{t_re:.2f}s vs --engine local {t_le:.2f}s · ratio "
                             f"{t_re / t_le:.2f}x (all shard sha256 equal)")
    load = os.getloadavg()[0]
    record("bench/scale.py", f"{nbytes / 1e6:.0f} MB JSONL in {args.files} files, {rows:,} "
           f"rows, `ingest`/`curata export` CLI in fresh processes, load {load:.1f} · "
           + " · ".join(lines))


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
    ap.add_argument("--size", default="1GB", help="corpus size, e.g. 256MB or 1GB")
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--nodes", default="1,2", help="cluster shapes: 1 (one 2-CPU node), "
                    "2 (two 1-CPU worker nodes), or both")
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--shard-size", default="256MB", help="export shard size")
    ap.add_argument("--export-shuffle", action="store_true", help="export with --shuffle")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    ap.add_argument("--s3", action="store_true", help="also ingest into S3 vs a local folder")
    ap.add_argument("--s3-bucket", help="use this bucket at $AWS_ENDPOINT_URL instead of moto")
    args = ap.parse_args()
    args.nodes = [int(n) for n in args.nodes.split(",") if n]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        src = tmp / "src"
        src.mkdir()
        nbytes = make_corpus(src, parse_size(args.size), args.files)
        if args.nodes:
            bench_engines(tmp, src, nbytes, args)
        if args.s3:
            bench_s3(tmp, src, nbytes, args.s3_bucket)


if __name__ == "__main__":
    main()
