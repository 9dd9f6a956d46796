"""UI benchmark: first render of Browse on a large snapshot, and app memory vs row count.

Builds synthetic snapshots (cheap columns: text, label, score) of ``--rows`` and ``--rows/10``
rows through ``Catalog.append``, serves the app exactly as ``curata ui`` does, and opens the
Browse page of each in headless Chromium with a fresh server (so each render is cold):

* first render: from navigation until the first page of rows is on screen (target ≤ 2 s),
  next to the same measure for a one-line Streamlit app (the floor Streamlit and the browser
  set on this machine) and the server-side script time of the Browse page;
* memory: the server's RSS after that render, for both sizes (target: flat in row count).

Side by side, it runs what a user would otherwise do in a notebook / naive Streamlit app:
read the whole snapshot into memory (``polars.read_delta``) before showing the first rows,
and prints the ratios. Appends one line to ``bench/RESULTS.md``.

    uv run python bench/ui.py                   # 1M rows (modest default)
    uv run python bench/ui.py --rows 10000000   # the 10M-row target
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "ui"), str(REPO / "bench")]

from _common import record  # noqa: E402

BATCH = 1_000_000
WARM_LOADS = 5  # the machine is shared: report the median of several fresh page loads


def _batches(rows: int):
    for start in range(0, rows, BATCH):
        n = min(BATCH, rows - start)
        frame = pl.select(pl.int_range(start, start + n, dtype=pl.Int64).alias("n")).select(
            text=pl.format("synthetic review {} with some words to search", pl.col("n")),
            label=(pl.col("n") % 5).cast(pl.Int32),
            score=(pl.col("n") % 1000).cast(pl.Float64) / 1000.0,
        )
        yield from frame.to_arrow().to_batches()


def build(home: Path, name: str, rows: int) -> None:
    """Create dataset ``name`` with ``rows`` rows unless it already exists."""
    import curata

    cat = curata.connect(home=str(home))
    if name in [getattr(d, "name", d) for d in cat.datasets()]:
        return
    t0 = time.perf_counter()
    cat.append(name, _batches(rows), license="CC0-1.0", source="synthetic-bench")
    print(f"built {name}: {rows:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)


HELLO = "import streamlit as st\nst.title('Hello')\nst.text('of 1 · page 1 of 1')\n"


def _serve(home: Path, port: int, log: Path, *, hello: bool = False) -> subprocess.Popen[bytes]:
    from curata_ui.cli import streamlit_argv

    argv = streamlit_argv(port, "127.0.0.1")
    if hello:  # the floor: a one-line app served by plain `streamlit run`
        script = log.with_suffix(".py")
        script.write_text(HELLO)
        argv = [sys.executable, "-m", "streamlit", "run", str(script), *argv[3:]]
    env = {**os.environ, "CURATA_HOME": str(home), "CURATA_UI_TIMING": "1"}
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def _script_times(log: Path) -> list[float]:
    return [float(line.rsplit(" ", 1)[1].rstrip("s")) for line in log.read_text().splitlines()
            if line.startswith("curata-ui render browse")]


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError("streamlit exited")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def first_render(
    home: Path, dataset: str | None, rows: int, port: int
) -> tuple[float, float, int, list[float]]:
    """(cold s, median warm s, server RSS bytes, server script times) for Browse on ``dataset``.

    ``dataset=None`` measures the one-line app instead (the floor).
    """
    import psutil
    from playwright.sync_api import sync_playwright

    from tests.fixtures.chromium import CHROMIUM_ARGS, find_chromium

    log = home / f"serve-{dataset or 'hello'}.log"
    proc = _serve(home, port, log, hello=dataset is None)
    url = f"http://127.0.0.1:{port}"
    path = f"/browse?dataset={dataset}" if dataset else "/"
    try:
        _wait_healthy(url, proc)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page()
            marker = f"of {rows:,} · page 1 of"
            times = []  # [0]: the server's first session (cold); then fresh page loads (warm)
            for _ in range(1 + WARM_LOADS):
                t0 = time.perf_counter()
                page.goto(url + path)
                page.get_by_text(marker).first.wait_for(timeout=120_000)
                times.append(time.perf_counter() - t0)
            browser.close()
        rss = psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return times[0], statistics.median(times[1:]), rss, _script_times(log)


def naive(home: Path, dataset: str) -> tuple[float, int]:
    """Seconds and peak RSS to read the whole snapshot before showing rows (in a fresh process)."""
    # RSS is read in the child after the load (ru_maxrss would carry the parent's over exec).
    code = (
        "import sys,time,psutil,curata\n"
        "t=time.perf_counter();s=curata.connect(home=sys.argv[1]).snapshot(sys.argv[2])\n"
        "df=s.to_polars();df.head(50)\n"
        "print(time.perf_counter()-t, psutil.Process().memory_info().rss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(home), dataset], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, default=None, help="default bench/_data/ui-ROWS")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    home = args.home or REPO / "bench" / "_data" / f"ui-{args.rows}"
    sizes = {f"big{args.rows}": args.rows, f"small{args.rows // 10}": args.rows // 10}
    for name, rows in sizes.items():
        build(home, name, rows)
    floor_cold, floor_warm, _, _ = first_render(home, None, 1, args.port)
    print(f"floor (one-line Streamlit app): first render {floor_cold:.2f}s cold / "
          f"{floor_warm:.2f}s warm", flush=True)
    results = {}
    for name, rows in sizes.items():
        cold, warm, rss, script = first_render(home, name, rows, args.port)
        base_s, base_rss = naive(home, name)
        results[name] = (rows, cold, warm, rss, base_s, base_rss, script)
        print(f"{rows:>12,} rows: Browse first render {cold:.2f}s (warm {warm:.2f}s; server "
              f"script {script[0]:.2f}s cold, {statistics.median(script[1:]):.2f}s warm), "
              f"server RSS {rss / 2**20:.0f} MiB | read-all-then-show {base_s:.2f}s, peak RSS "
              f"{base_rss / 2**20:.0f} MiB | time ratio {cold / base_s:.2f}x", flush=True)
    (big, bc, bw, brss, bbs, bbr, bscript), (small, _, _, srss, _, sbr, _) = results.values()
    growth = brss / srss
    print(f"server RSS {small:,} → {big:,} rows: {srss / 2**20:.0f} → {brss / 2**20:.0f} MiB "
          f"({growth:.2f}x for {big / small:.0f}x rows); read-all peak "
          f"{sbr / 2**20:.0f} → {bbr / 2**20:.0f} MiB ({bbr / sbr:.2f}x)")
    record(f"bench/ui.py --rows {args.rows}", (
        f"load {os.getloadavg()[0]:.1f} · Browse first render on {big:,} rows {bc:.2f}s cold / "
        f"{bw:.2f}s warm (median of {WARM_LOADS}; target ≤ 2 s), of which server script "
        f"{bscript[0]:.2f}s / {statistics.median(bscript[1:]):.2f}s; a one-line Streamlit app "
        f"takes {floor_cold:.2f}s / {floor_warm:.2f}s here · server RSS {srss / 2**20:.0f} MiB "
        f"@ {small:,} rows → {brss / 2**20:.0f} MiB @ {big:,} ({growth:.2f}x for "
        f"{big / small:.0f}x rows) · read-all-then-show (polars, as a notebook would) "
        f"{bbs:.2f}s, {bbr / 2**20:.0f} MiB: first render / read-all = {bc / bbs:.2f}x"))


if __name__ == "__main__":
    main()
