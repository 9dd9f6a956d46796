"""A writer process for the concurrency tests: appends or tags, prints one JSON line.

Run as ``python -m tests.scale._worker append NAME WORKER N`` or ``... tag NAME PREFIX N``;
configuration (catalog URL, warehouse, object-store credentials) comes from the environment,
as it would for an engineer's ``ingest`` process.
"""

from __future__ import annotations

import json
import sys

import curata
import pyarrow as pa
from curata.errors import CommitConflictError


def append(dataset: str, worker: int, n: int, rows: int) -> dict[str, object]:
    cat = curata.connect()
    committed, conflicts = [], 0
    for i in range(n):
        table = pa.table({"worker": [worker] * rows, "batch": [i] * rows,
                          "row": list(range(rows))})
        try:
            snap = cat.append(dataset, table, license="CC0-1.0", source=f"worker-{worker}")
        except CommitConflictError as exc:  # allowed outcome: nothing of it may be visible
            conflicts += 1
            print(json.dumps({"conflict": exc.attempts}), file=sys.stderr)
            continue
        committed.append({"version": snap.version, "rows": rows, "batch": i})
    return {"worker": worker, "committed": committed, "conflicts": conflicts}


def tag(dataset: str, prefix: str, n: int) -> dict[str, object]:
    cat = curata.connect()
    tags = []
    for i in range(n):
        snap = cat.tag(dataset, f"{prefix}-{i}")
        tags.append({"tag": snap.tag, "version": snap.version, "fingerprint": snap.fingerprint})
    return {"tags": tags}


def main(argv: list[str]) -> None:
    mode, dataset = argv[0], argv[1]
    if mode == "append":
        out = append(dataset, int(argv[2]), int(argv[3]), int(argv[4]))
    else:
        out = tag(dataset, argv[2], int(argv[3]))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
