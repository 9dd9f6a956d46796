"""Label Studio sync on loopback: `curata label push` of 10k tasks and `pull` of 30k annotations
(target: ≤ 60 s each, idempotent), next to what a user would otherwise run: a raw SDK
`import_tasks` of the same tasks and a JSON export of the same annotations.

Starts its own throw-away Label Studio from `.tools/label-studio/venv`
(`scripts/install_label_studio.sh`).

    python bench/label_sync.py [--tasks 10000] [--per-task 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
import curata  # noqa: E402
from _common import record  # noqa: E402
from curata_labeling import sync  # noqa: E402
from curata_labeling.client import LabelStudioClient  # noqa: E402

from tests.fixtures.label_studio import run_label_studio  # noqa: E402

CONFIG = """<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">
<Choice value="positive"/><Choice value="negative"/><Choice value="neutral"/></Choices></View>"""
LABELS = ["positive", "negative", "neutral"]


def timed(fn, what=""):
    t0 = time.perf_counter()
    out = fn()
    took = time.perf_counter() - t0
    print(f"  {what or getattr(fn, '__name__', 'step')}: {took:.1f}s", file=sys.stderr, flush=True)
    return took, out


def annotate_all(client: LabelStudioClient, project_id: int, per_task: int) -> int:
    """Re-create the project's tasks with ``per_task`` annotations each (no bulk annotation API
    in Label Studio Community: importing tasks with annotations is the fast way)."""
    tasks = [
        t
        for page in client._pages(
            "list", project=project_id, page_size=1000, fields="task_only", include="id,data"
        )
        for t in page
    ]
    client._call("delete tasks", client._sdk.tasks.delete_all_tasks, id=project_id)
    payload = []
    for i, t in enumerate(tasks):
        anns = [
            {
                "result": [
                    {
                        "from_name": "sentiment",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [LABELS[(i + k * (i % 3 == 0)) % 3]]},
                    }
                ],
                "lead_time": 1.0,
            }
            for k in range(per_task)
        ]
        payload.append({"data": t["data"], "annotations": anns})
    for start in range(0, len(payload), 1000):
        client.import_tasks(project_id, payload[start : start + 1000])
    return len(payload) * per_task


def export_json(url: str, key: str, project_id: int) -> bytes:
    req = urllib.request.Request(
        f"{url}/api/projects/{project_id}/export?exportType=JSON",
        headers={"Authorization": f"Token {key}"},
    )
    with urllib.request.urlopen(req, timeout=600) as resp:
        return resp.read()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--per-task", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, run_label_studio() as ls:
        client = LabelStudioClient(ls.url, ls.api_key)
        cat = curata.connect(home=Path(tmp) / "home")
        n = args.tasks
        snap = cat.append(
            "bench",
            pa.table({"text": [f"review {i} " * 8 for i in range(n)]}),
            license="CC0-1.0",
            source="bench",
        )
        t_push, pushed = timed(
            lambda: sync.push(cat, snap.ref, project="bench", schema_xml=CONFIG, client=client)
        )
        t_repush, again = timed(
            lambda: sync.push(cat, snap.ref, project="bench", schema_xml=CONFIG, client=client)
        )
        assert pushed.tasks_created == n and again.tasks_created == 0 and again.tasks_existing == n
        tasks = sync._tasks(snap.to_arrow(columns=["_id", "text"]), "raw", snap, ["text"])
        raw = client.create_project(title="raw", label_config=CONFIG, overlap=1)["id"]
        t_raw, _ = timed(
            lambda: [client.import_tasks(raw, tasks[s : s + 1000]) for s in range(0, n, 1000)]
        )

        total = annotate_all(client, pushed.project_id, args.per_task)
        t_pull, pulled = timed(lambda: sync.pull(cat, "bench", client=client))
        t_repull, repulled = timed(lambda: sync.pull(cat, "bench", client=client))
        assert pulled.annotations_new == total and repulled.annotations_new == 0
        assert repulled.annotations_changed == repulled.annotations_deleted == 0
        t_export, _ = timed(lambda: export_json(ls.url, ls.api_key, pushed.project_id))
        record(
            "bench/label_sync.py",
            f"loopback Label Studio 1.23.2: push {n:,} tasks {t_push:.1f}s (re-push, 0 created, "
            f"{t_repush:.1f}s) vs raw SDK import_tasks {t_raw:.1f}s · ratio {t_push / t_raw:.2f}x; "
            f"pull {total:,} annotations {t_pull:.1f}s (re-pull, 0 new, {t_repull:.1f}s) vs "
            f"JSON export {t_export:.1f}s · ratio {t_pull / t_export:.2f}x (target ≤ 60 s each)",
        )


if __name__ == "__main__":
    main()
