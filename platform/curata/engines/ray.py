"""Ray plumbing shared by the distributed engines (ingest, derive, export) and
``Snapshot.to_ray()``.

The engines run plain Ray *tasks* (``ray.remote`` functions), not Ray Data pipelines: each
task reads its own input and writes its own files, and only small results (file lists, row
counts, row-hash sums, 16-byte ids) travel back to the driver. Measured on a 2-CPU cluster,
the Ray Data version spent most of its wall time outside the work itself (operator start-up,
shuffle actors, every row copied through the object store); see docs/scale.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from curata.errors import UsageError
from curata.storage import filesystem, join_uri

if TYPE_CHECKING:
    from curata.snapshot import Snapshot

INSTALL_HINT = "pip install 'curata-ingest[ray]'"


def require_ray() -> Any:
    """The ``ray`` module, or a :class:`UsageError` saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        raise UsageError(f"engine='ray' needs Ray: {INSTALL_HINT}",
                         hint="or run with --engine local") from exc
    return ray


def connect() -> Any:
    """``ray``, connected: to ``RAY_ADDRESS``, to the cluster this process already joined,
    or to a new local one (as ``ray.init()`` decides)."""
    ray = require_ray()
    if not ray.is_initialized():
        ray.init(log_to_driver=False, configure_logging=False)
    return ray


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


#: The most CPUs one task takes: a task runs like the local engine (reading, hashing and
#: Parquet encoding overlap on threads), so one task per node uses the node the way one
#: local process uses a machine, and starts one worker process instead of one per CPU.
MAX_TASK_CPUS = 4


def task_cpus(ray: Any) -> int:
    """CPUs per task: those of the smallest node with CPUs (at most ``MAX_TASK_CPUS``), so a
    task fits every node."""
    per_node = [int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    smallest = min((c for c in per_node if c > 0), default=1)
    return max(1, min(smallest, MAX_TASK_CPUS))


def warm_up(ray: Any, fn: Callable[[], None], *, num_cpus: int = 1) -> None:
    """Start one task per task slot of the cluster that runs ``fn`` (imports): a fresh
    driver's workers are new processes, which then import while the driver still prepares
    the run."""
    remote = ray.remote(fn).options(num_cpus=num_cpus, max_retries=0)
    for _ in range(max(1, cluster_cpus(ray) // num_cpus)):
        remote.remote()


def node_id() -> str:
    """The id of the Ray node running the calling task (reported so runs can tell where
    their tasks ran)."""
    import ray

    # Never `ray.init()` implicitly (a task body called outside Ray, e.g. in tests).
    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""


def gather(refs: Sequence[Any], on_result: Callable[[int, Any], None] | None = None, *,
           settle: float | None = None) -> list[Any]:
    """Results of ``refs`` in order; ``on_result(i, value)`` is called as each arrives (in
    completion order). On any error or interrupt the tasks still running are cancelled, so a
    failed run stops using the cluster at once (their partial files are the caller's to
    clean up, or ``curata gc``'s).

    ``settle``: cancel gently instead (a ``KeyboardInterrupt`` inside each task, whose own
    clean-up then runs, e.g. a shard writer deleting its files) and wait up to that many
    seconds for them; results that still arrive go to ``on_result`` (so the caller can remove
    what they wrote) before the error is raised."""
    import ray

    index = {ref: i for i, ref in enumerate(refs)}
    out: list[Any] = [None] * len(refs)
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                value = ray.get(ref)
                out[index[ref]] = value
                if on_result is not None:
                    on_result(index[ref], value)
    except BaseException:
        for ref in pending:
            with contextlib.suppress(Exception):  # best effort: it may have finished meanwhile
                ray.cancel(ref, force=settle is None)
        if settle is not None and pending:
            with contextlib.suppress(Exception):
                done, _ = ray.wait(pending, num_returns=len(pending), timeout=settle)
                for ref in done:
                    with contextlib.suppress(Exception):  # cancelled or failed: nothing left
                        value = ray.get(ref)
                        if on_result is not None:
                            on_result(index[ref], value)
        raise
    return out


def to_ray(snapshot: Snapshot, *, columns: Sequence[str] | None = None,
           override_num_blocks: int | None = None) -> Any:
    """Read the Parquet files of ``snapshot``'s version as a Ray dataset.

    The file list comes from the Delta log at the pinned version, so writes after the
    snapshot never show up; the files are read by Ray tasks on whatever cluster
    ``ray.init()`` connects to (local folder or object storage, credentials from the
    environment).
    """
    try:
        import ray
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError("to_ray() needs Ray: pip install 'curata-ingest[ray]' "
                                  "or 'ray[data]'") from exc
    fs, root = filesystem(snapshot.table_uri, snapshot.storage_options)
    paths = [join_uri(root, f["path"]) for f in snapshot.files()]
    if not paths:
        return ray.data.from_arrow(snapshot.to_arrow(columns=columns))
    ds = ray.data.read_parquet(paths, filesystem=fs, override_num_blocks=override_num_blocks)
    return ds.select_columns(list(columns)) if columns is not None else ds
