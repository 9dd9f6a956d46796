"""CLI start-up, end to end in fresh processes: `curata --help` and `curata datasets` beside
`git --version` and `python -c "import pyarrow"` (targets, DESIGN.md §8: ≤ 0.3 s and ≤ 0.8 s
wall on the 2-core machine).

    python bench/cli_startup.py [--repeat 5]

Also prints the heaviest imports of `curata --help` (``python -X importtime``), so that a
regression names its cause.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import record  # noqa: E402

BIN = Path(sys.executable).parent


def wall(cmd: list[str], env: dict[str, str], repeat: int) -> float:
    """Best wall time of ``repeat`` fresh processes (the minimum is the signal on a shared
    machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def heaviest_imports(env: dict[str, str], n: int = 8) -> list[tuple[float, str]]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "from curata_ingest.cli import main; import sys; "
                          "sys.argv = ['curata', '--help']; main()"],
                         env=env, capture_output=True, text=True)
    rows = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (p.strip() for p in line.split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative) / 1e6, name))
    tops = [r for r in rows if not r[1].startswith(" ")]  # top-level imports only
    return sorted(tops or rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    curata = str(BIN / "curata")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CURATA_HOME": str(Path(tmp) / "home")}
        env.pop("CURATA_CATALOG_URL", None)
        subprocess.run([curata, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        times = {
            "git --version": wall(["git", "--version"], env, args.repeat),
            "python -c 'import pyarrow'": wall([sys.executable, "-c", "import pyarrow"], env,
                                               args.repeat),
            "curata --help": wall([curata, "--help"], env, args.repeat),
            "curata datasets": wall([curata, "datasets"], env, args.repeat),
        }
        for seconds, name in heaviest_imports(env):
            print(f"  import {name}: {seconds:.3f} s")
    for name, seconds in times.items():
        print(f"{name:32s} {seconds:6.3f} s")
    record("cli_startup", f"best of {args.repeat}: " + ", ".join(
        f"{k} {v:.3f} s" for k, v in times.items())
        + " (targets: --help ≤ 0.3 s, datasets ≤ 0.8 s)")


if __name__ == "__main__":
    main()
