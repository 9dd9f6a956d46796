"""Benchmark: ingest JSONL → Delta (fingerprints, license, provenance, exact dedup) side by side
with what a user would otherwise run, plus peak memory.

    uv run python bench/ingest.py                 # quick: 32 MB
    uv run python bench/ingest.py --size 258MB    # the DESIGN.md §8 figure
    uv run python bench/ingest.py --size 258MB --memory-steps 4   # bounded-memory check

Each tool runs in its own child process (so peak RSS is its own) on the same generated file:
  cli      the `ingest` command in a fresh process (imports, catalog open, report: what users
           run; `--tools cli,polars-proc` compares it with a fresh polars process)
  polars-proc  `python -c "import polars; scan_ndjson().sink_parquet()"` in a fresh process
  curata   curata_ingest.ingest(..., dedup="exact") into a catalog created before the clock
           (once per home, as `curata init` does; `--time-setup` times that too)
  polars   pl.scan_ndjson(path).sink_parquet(out)             (no hashing; target ratio ≤ 1.5x)
  hf       datasets.load_dataset("json").to_parquet(out)        (curata must be faster)
Appends one line to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
WORDS = [f"w{i:04x}" for i in range(4096)] + ["the", "a", "of", "and", "data", "model"] * 50


def parse_size(text: str) -> int:
    units = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "K": 10**3, "M": 10**6, "G": 10**9, "B": 1}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def corpus(size: int) -> Path:
    """A JSONL text corpus of about ``size`` bytes (cached in bench/_data; ~1% duplicates)."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"corpus-{size}.jsonl"
    if path.exists():
        return path
    rng = random.Random(size)
    tmp = path.with_suffix(".tmp")
    written, i = 0, 0
    with tmp.open("w", encoding="utf-8") as fh:
        while written < size:
            lines = []
            for _ in range(10_000):
                n = rng.randint(10, 40)
                doc = {
                    "id": i if rng.random() > 0.01 else i // 2,
                    "text": " ".join(rng.choices(WORDS, k=n)),
                    "source": rng.choice(("web", "books", "news")),
                    "score": rng.random(),
                }
                if doc["id"] != i:  # a repeated document: exact dedup has work to do
                    doc = {"id": doc["id"], "text": "duplicate", "source": "web", "score": 0.5}
                lines.append(json.dumps(doc))
                i += 1
            chunk = "\n".join(lines) + "\n"
            fh.write(chunk)
            written += len(chunk)
    tmp.rename(path)
    return path


def setup_curata(work: str) -> None:
    """Create the catalog (SQLite + Alembic migrations, ~0.3 s) before the clock starts: it
    happens once per home (`curata init`), like installing a tool; every ingest after it
    reuses it. `--time-setup` puts it back inside the timing."""
    import curata

    curata.connect(home=Path(work) / "home")


def run_curata(path: str, work: str) -> dict:
    import curata
    from curata_ingest import ingest

    cat = curata.connect(home=Path(work) / "home")
    report = ingest([path], dataset="bench", license="CC-BY-4.0", catalog=cat, dedup="exact")
    return {
        "rows": report.rows_written,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
    }


def run_polars(path: str, work: str) -> dict:
    import polars as pl

    pl.scan_ndjson(path).sink_parquet(Path(work) / "out.parquet")
    return {}


def run_hf(path: str, work: str) -> dict:
    import datasets

    datasets.disable_progress_bars()
    ds = datasets.load_dataset(
        "json", data_files=path, split="train", cache_dir=str(Path(work) / "hf-cache")
    )
    ds.to_parquet(str(Path(work) / "out.parquet"))
    return {"rows": len(ds)}


TOOLS = {"curata": run_curata, "polars": run_polars, "hf": run_hf}
SETUP = {"curata": setup_curata}
# Imported before the clock starts: we time the work, not Python start-up.
IMPORTS = {
    # pandas: pyarrow's pandas shim imports it on the first numpy conversion (~0.4 s), as
    # `import datasets` does for hf; the others are imported by the ingest modules lazily.
    "curata": ("curata", "curata_ingest", "curata_ingest.pipeline", "curata.write.shards",
               "deltalake", "license_expression", "pandas", "polars_hash", "pyarrow.json",
               "pyarrow.parquet"),
    "polars": ("polars",),
    "hf": ("datasets",),
}


def _child(tool: str, path: str, queue: mp.Queue, time_setup: bool = False) -> None:
    import importlib

    for module in IMPORTS[tool]:
        importlib.import_module(module)
    work = tempfile.mkdtemp(prefix=f"bench-{tool}-")
    try:
        if tool in SETUP and not time_setup:
            SETUP[tool](work)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        extra = TOOLS[tool](path, work)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        peak_kib = after.ru_maxrss
        queue.put({"seconds": seconds, "cpu": cpu, "peak_mb": peak_kib / 1024, **extra})
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _measure_process(tool: str, path: Path) -> dict:
    """Wall, CPU and peak RSS of one command in a fresh process (``/usr/bin/time``)."""
    import subprocess

    work = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-"))
    env = {**os.environ, "CURATA_HOME": str(work / "home")}
    bin_dir = Path(sys.executable).parent
    if tool == "cli":
        subprocess.run([str(bin_dir / "curata"), "init", "-q"], env=env, check=True)
        cmd = [str(bin_dir / "ingest"), str(path), "--dataset", "bench", "--license",
               "CC-BY-4.0", "--dedup", "exact", "--json"]
    else:
        cmd = [sys.executable, "-c", "import sys, polars as pl; "
               "pl.scan_ndjson(sys.argv[1]).sink_parquet(sys.argv[2])",
               str(path), str(work / "out.parquet")]
    try:
        t0 = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", *cmd], env=env, check=True,
                             capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    user, system, rss_kb = out.stderr.strip().splitlines()[-1].split()
    extra = {}
    if tool == "cli":
        report = json.loads(out.stdout)
        extra = {"rows": report["rows_written"], "duplicates": report["duplicates"]}
    return {"seconds": seconds, "cpu": float(user) + float(system),
            "peak_mb": int(rss_kb) / 1024, **extra}


def measure(tool: str, path: Path, repeat: int = 1, time_setup: bool = False) -> dict:
    """Best of ``repeat`` runs (by wall time), each in a fresh process."""
    once = _measure_process if tool in PROCESS_TOOLS else (
        lambda t, p: _measure_once(t, p, time_setup))
    runs = [once(tool, path) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"])


def _measure_once(tool: str, path: Path, time_setup: bool = False) -> dict:
    """Run one tool in a fresh process (spawned: no inherited memory) and return its figures."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(tool, str(path), queue, time_setup))
    proc.start()
    result = queue.get()
    proc.join()
    return result


PROCESS_TOOLS = ("cli", "polars-proc")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="32MB", help="corpus size, e.g. 32MB, 258MB, 2GB")
    parser.add_argument("--tools", default="curata,polars,hf")
    parser.add_argument(
        "--memory-steps",
        type=int,
        default=0,
        help="also ingest 1/N, 2/N … of the size and report curata's peak RSS",
    )
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each tool N times and keep its fastest run (shared machines)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--time-setup", action="store_true",
                        help="time curata's catalog creation too (a new home per run)")
    args = parser.parse_args()
    size = parse_size(args.size)
    path = corpus(size)
    mb = path.stat().st_size / 1e6
    print(f"corpus {path.name}: {mb:.0f} MB")
    results = {}
    for tool in args.tools.split(","):
        results[tool] = measure(tool, path, args.repeat, args.time_setup)
        r = results[tool]
        counts = {k: v for k, v in r.items() if k not in ("seconds", "cpu", "peak_mb")}
        print(
            f"  {tool:7s} {r['seconds']:7.2f} s  {mb / r['seconds']:7.1f} MB/s  "
            f"CPU {r['cpu']:6.2f} s  peak RSS {r['peak_mb']:7.0f} MB  {json.dumps(counts)}"
        )
    line = _ratios(results)
    print(line)
    memory = _memory_steps(size, args.memory_steps) if args.memory_steps else ""
    if memory:
        print(memory)
    if not args.no_record:
        setup = "catalog creation timed" if args.time_setup else "catalog created untimed"
        _record(mb, results, f"{line} ({setup})", memory)


def _ratios(results: dict) -> str:
    parts = []
    if "cli" in results and "polars-proc" in results:
        ratio = results["cli"]["seconds"] / results["polars-proc"]["seconds"]
        parts.append(f"end to end in fresh processes: ingest command/polars process = "
                     f"{ratio:.2f}x")
    if "curata" in results and "polars" in results:
        ratio = results["curata"]["seconds"] / results["polars"]["seconds"]
        parts.append(f"curata/polars = {ratio:.2f}x (target ≤ 1.5x)")
    if "curata" in results and "hf" in results:
        ratio = results["hf"]["seconds"] / results["curata"]["seconds"]
        parts.append(f"hf/curata = {ratio:.2f}x (curata must be faster: > 1)")
    return "; ".join(parts)


def _memory_steps(size: int, steps: int) -> str:
    peaks = []
    for k in range(1, steps + 1):
        part = corpus(size * k // steps)
        peaks.append((part.stat().st_size / 1e6, measure("curata", part)["peak_mb"]))
    shown = ", ".join(f"{m:.0f} MB → {p:.0f} MB RSS" for m, p in peaks)
    return f"curata peak RSS by input size: {shown}"


def _record(mb: float, results: dict, line: str, memory: str) -> None:
    load = os.getloadavg()[0]  # a shared machine: say how busy it was
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f}, "
        f"Python {sys.version.split()[0]}"
    )
    figures = ", ".join(
        f"{t} {r['seconds']:.2f} s (CPU {r['cpu']:.2f} s) / {r['peak_mb']:.0f} MB RSS"
        for t, r in results.items()
    )
    entry = (
        f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · ingest · {machine} · {mb:.0f} MB JSONL · "
        f"{figures} · {line}" + (f" · {memory}" if memory else "") + "\n"
    )
    with (HERE / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write(entry)


if __name__ == "__main__":
    main()
