"""A multi-node Ray cluster on this machine: a head and N worker nodes, each its own raylet
and object store (``ray.cluster_utils.Cluster``), with token authentication by a random
token of its own (never ``~/.ray/auth_token``, which other clusters on the machine share).

Used by ``tests/scale/conftest.py`` (one cluster per test session) and ``bench/scale.py``;
``python -m tests.scale._cluster --workers 2`` starts one, prints its address as JSON and
keeps it until stdin closes or SIGTERM.

Node start-up is retried: on a loaded 2-core machine a raylet sometimes gives up waiting for
its agents (Ray's own 15 s limit), which is not a failure of what the tests exercise.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

START_ATTEMPTS = 4


def auth_env() -> dict[str, str]:
    """Token authentication with a fresh token, for the cluster and every driver."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(24),
            "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


@dataclass
class LocalCluster:
    """A running cluster: ``address`` for ``RAY_ADDRESS``, worker nodes to add or kill."""

    cluster: Any
    temp_dir: str
    env: dict[str, str]
    workers: list[Any] = field(default_factory=list)
    start_seconds: float = 0.0

    @property
    def address(self) -> str:
        return self.cluster.address

    def add_worker(self, cpus: int = 1) -> Any:
        """Add a worker node (retried like the first start); returns the node."""
        node = _retry(lambda: self.cluster.add_node(**_node_args(self.temp_dir, cpus)),
                      what="worker node")
        self.cluster.wait_for_nodes()
        self.workers.append(node)
        return node

    def kill_worker(self, node: Any) -> None:
        """Kill a worker node's processes at once (raylet, object store, its workers)."""
        self.cluster.remove_node(node, allow_graceful=False)
        self.workers.remove(node)

    def shutdown(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.shutdown()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _reload_auth_config() -> None:
    """Make this process's Ray read the auth settings just put in the environment (Ray reads
    them once, when it is imported; Ray's own test helpers reset them the same way)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _node_args(temp_dir: str, cpus: int) -> dict[str, Any]:
    return {"num_cpus": cpus, "temp_dir": temp_dir, "object_store_memory": 200 << 20}


def _retry(start: Any, *, what: str) -> Any:
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return start()
        except Exception as exc:  # noqa: BLE001 - Ray raises plain Exception on timeouts
            if attempt == START_ATTEMPTS:
                raise RuntimeError(f"the Ray {what} did not start after {attempt} attempts "
                                   f"(is the machine overloaded?): {exc}") from exc
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def start_cluster(*, workers: int = 2, worker_cpus: int = 1, head_cpus: int = 0,
                  env: dict[str, str] | None = None) -> LocalCluster:
    """Start a head (``head_cpus``, 0: it schedules but runs no task) and ``workers`` worker
    nodes of ``worker_cpus`` each. The calling process's environment gets ``env`` (token
    auth): the nodes inherit it, and so do drivers it starts."""
    from ray.cluster_utils import Cluster

    env = env or auth_env()
    os.environ.update(env)
    _reload_auth_config()
    t0 = time.perf_counter()
    for attempt in range(1, START_ATTEMPTS + 1):
        tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: socket path limits
        cluster = None
        try:
            cluster = Cluster(initialize_head=True, head_node_args={
                **_node_args(tmp, head_cpus), "include_dashboard": False})
            out = LocalCluster(cluster=cluster, temp_dir=tmp, env=env)
            for _ in range(workers):
                out.add_worker(worker_cpus)
            out.start_seconds = time.perf_counter() - t0
            return out
        except Exception:
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.shutdown()
            shutil.rmtree(tmp, ignore_errors=True)
            if attempt == START_ATTEMPTS:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def main(argv: list[str]) -> None:
    """Keep a cluster until stdin closes (or SIGTERM); print its address and env first."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-cpus", type=int, default=1)
    ap.add_argument("--head-cpus", type=int, default=0)
    args = ap.parse_args(argv)
    cluster = start_cluster(workers=args.workers, worker_cpus=args.worker_cpus,
                            head_cpus=args.head_cpus)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(json.dumps({"address": cluster.address, "env": cluster.env,
                          "start_seconds": round(cluster.start_seconds, 2)}), flush=True)
        sys.stdin.read()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
