"""A gate on disk that holds a Ray task at a chosen point until the test says go.

A task that reaches the gate records its arrival (a numbered file ``arrived-N.json`` holding
its node id and pid; the number is claimed by creating ``claim-N`` with ``O_EXCL``, so
arrivals from several processes are counted once each) and, from arrival ``block_from`` on,
waits until the file ``release`` exists. The test waits for the arrival, kills that task's
node, makes sure the task's process is gone and only then creates ``release``, so a retry
passes straight through. The driver (the process that made the gate) never waits and never
counts: the local engine's run, the driver's census and schema peek go through untouched.

Two ways for a task to reach the gate, both through public extension points:

* :class:`GatedJsonl`, a JSON Lines source (``ingest`` takes ``Source`` objects) that stops
  before it reads the file named ``gated``;
* :func:`gated_filter`, an export filter (a ``polars.Expr`` with a Python function) that keeps
  every row and stops on the batch holding the row whose ``column`` equals ``value``.

This module is pickled by value (:func:`ship`), so workers need not import it from the tests.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curata_ingest.sources import RejectSink
from curata_ingest.sources.jsonl import JsonlSource

WAIT_SECONDS = 180  # a gated task gives up (and fails) after this long without a release


@dataclass(frozen=True, slots=True)
class Gate:
    root: str
    driver_pid: int
    block_from: int = 1  # the first arrival (1-based) that waits for the release

    @classmethod
    def make(cls, root: Path, *, block_from: int = 1) -> Gate:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=str(root), driver_pid=os.getpid(), block_from=block_from)

    # --- task side ----------------------------------------------------------------------

    def arrive(self, what: str) -> None:
        if os.getpid() == self.driver_pid:
            return
        import ray

        number = self._claim({"what": what, "pid": os.getpid(), "time": time.time(),
                              "node": ray.get_runtime_context().get_node_id()})
        if number < self.block_from:
            return
        release = Path(self.root) / "release"
        deadline = time.monotonic() + WAIT_SECONDS
        while not release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {self.root}: no release within {WAIT_SECONDS} s")
            time.sleep(0.05)

    def _claim(self, doc: dict[str, Any]) -> int:
        number = 1
        while True:  # `claim-N` is never removed: each number goes to one arrival only
            try:
                os.close(os.open(Path(self.root) / f"claim-{number}",
                                 os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                number += 1
                continue
            path = Path(self.root) / f"arrived-{number}.json"
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({**doc, "number": number}))
            os.replace(tmp, path)  # readers never see a partial file
            return number

    # --- test side ----------------------------------------------------------------------

    def arrivals(self) -> list[dict[str, Any]]:
        docs = [json.loads(p.read_text()) for p in Path(self.root).glob("arrived-*.json")]
        return sorted(docs, key=lambda d: d["number"])

    def wait_for(self, number: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        path = Path(self.root) / f"arrived-{number}.json"
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no task reached the gate ({number}) in {timeout} s")
            time.sleep(0.05)
        return json.loads(path.read_text())

    def release(self) -> None:
        (Path(self.root) / "release").touch()


class GatedJsonl(JsonlSource):
    """JSON Lines whose file named ``gated`` is read only after the gate lets the task go."""

    def __init__(self, spec: str, *, gate: Gate, gated: str, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.gate, self.gated = gate, gated

    def _read_file(self, path: str, rejects: RejectSink, progress: Any
                   ) -> Iterator[Any]:
        if os.path.basename(path) == self.gated:
            self.gate.arrive(path)
        yield from super()._read_file(path, rejects, progress)


@dataclass(frozen=True, slots=True)
class _KeepAll:
    gate: Gate
    value: Any

    def __call__(self, series: Any) -> Any:
        if series.len() and (series == self.value).any():
            self.gate.arrive(f"batch of {series.len()} rows")
        return series.is_not_null() | series.is_null()  # every row, as a boolean Series


def gated_filter(gate: Gate, column: str, value: Any) -> Any:
    """A filter keeping every row that passes ``gate`` on the batch holding ``value``."""
    import polars as pl

    return pl.col(column).map_batches(_KeepAll(gate, value), return_dtype=pl.Boolean)


def ship() -> None:
    """Pickle this module's functions and classes by value (Ray's and Polars' cloudpickle),
    so a worker whose ``sys.path`` lacks the tests still runs them."""
    import sys

    import cloudpickle
    import ray.cloudpickle

    module = sys.modules[__name__]
    for pickler in (cloudpickle, ray.cloudpickle):
        pickler.register_pickle_by_value(module)
