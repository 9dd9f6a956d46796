"""Label Studio sync on loopback: `curata label push` of 10k tasks with model predictions and
`pull` of 30k annotations (targets: push ≤ 60 s; pull no slower than Label Studio's own JSON
export of the same project), next to what a user would otherwise run: a raw SDK `import_tasks`
of the same tasks and a JSON export of the same annotations.

The machine is shared and Label Studio's timings swing by tens of percent from run to run, so
pull and export alternate ``--rounds`` times (each pull from scratch: no cursor, no stored
annotations) and the ratio is of the medians.

Starts its own throw-away Label Studio from `.tools/label-studio/venv`
(`scripts/install_label_studio.sh`).

    python bench/label_sync.py [--tasks 10000] [--per-task 3] [--rounds 3] [--no-predictions]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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


def annotate_all(
    client: LabelStudioClient, project_id: int, per_task: int, predictions: bool
) -> int:
    """Re-create the project's tasks with ``per_task`` annotations each (no bulk annotation API
    in Label Studio Community: importing tasks with annotations is the fast way), keeping one
    model prediction per task when ``predictions``."""
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
        task = {"data": t["data"], "annotations": anns}
        if predictions:
            task["predictions"] = [{"model_version": "bench-model", "score": 0.9,
                                    "result": [{**anns[0]["result"][0]}]}]
        payload.append(task)
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


def first_pull(cat, client, project: str = "bench") -> tuple[float, object]:
    """A pull from scratch: the stored annotations/predictions and the cursor removed first."""
    from curata_labeling.models import LabelSyncCursor

    for kind in ("annotations", "predictions"):
        shutil.rmtree(cat.table_uri("bench", kind), ignore_errors=True)
    with cat.store.session() as s:
        cursor = s.get(LabelSyncCursor, sync.get_project(cat, project).id)
        if cursor is not None:
            s.delete(cursor)
    return timed(lambda: sync.pull(cat, project, client=client), "pull")


def add_predictions(client: LabelStudioClient, project_id: int) -> int:
    """One prediction per task of the project (after the annotation-only rounds)."""
    ids = sorted(client.task_ids(project_id))
    preds = [{"task": t, "model_version": "bench-model", "score": 0.9,
              "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                          "value": {"choices": [LABELS[t % 3]]}}]} for t in ids]
    for start in range(0, len(preds), 1000):
        client.import_predictions(project_id, preds[start : start + 1000])
    return len(preds)


def bench_push(cat, client, snap, n: int) -> tuple[float, float, object]:
    """Push with predictions into its own project (deleting 10k predicted tasks to re-create
    them annotated takes Label Studio minutes), then push again: nothing to create."""
    kw = {"project": "bench-push", "schema_xml": CONFIG, "client": client,
          "predictions": "model_label", "model_version": "bench-model"}
    t_push, pushed = timed(lambda: sync.push(cat, snap.ref, **kw), "push with predictions")
    t_repush, again = timed(lambda: sync.push(cat, snap.ref, **kw), "re-push")
    assert pushed.tasks_created == n and pushed.predictions_created == n
    assert again.tasks_created == 0 and again.tasks_existing == n and again.predictions_created == 0
    return t_push, t_repush, pushed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=10_000)
    ap.add_argument("--per-task", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, run_label_studio() as ls:
        client = LabelStudioClient(ls.url, ls.api_key)
        cat = curata.connect(home=Path(tmp) / "home")
        n = args.tasks
        snap = cat.append(
            "bench",
            pa.table({
                "text": [f"review {i} " * 8 for i in range(n)],
                "model_label": [LABELS[i % 3] for i in range(n)],
            }),
            license="CC0-1.0",
            source="bench",
        )
        t_push, t_repush, pushed = bench_push(cat, client, snap, n)
        tasks = sync._tasks(snap.to_arrow(columns=["_id", "text"]), "raw", snap, ["text"])
        raw = client.create_project(title="raw", label_config=CONFIG, overlap=1)["id"]
        t_raw, _ = timed(
            lambda: [client.import_tasks(raw, tasks[s : s + 1000]) for s in range(0, n, 1000)],
            "raw import_tasks",
        )

        labeled = sync.push(cat, snap.ref, project="bench", schema_xml=CONFIG, client=client)
        total = annotate_all(client, labeled.project_id, args.per_task, False)
        pulls, exports = [], []
        for r in range(args.rounds):  # alternate which goes first: drift hits both alike
            for step in (["pull", "export"] if r % 2 == 0 else ["export", "pull"]):
                if step == "pull":
                    took, pulled = first_pull(cat, client)
                    assert pulled.annotations_new == total
                    pulls.append(took)
                else:
                    exports.append(timed(lambda: export_json(ls.url, ls.api_key,
                                                             labeled.project_id), "export")[0])
        t_repull, repulled = timed(lambda: sync.pull(cat, "bench", client=client), "re-pull")
        assert repulled.annotations_new == repulled.annotations_changed == 0
        assert repulled.annotations_deleted == 0
        n_pred = add_predictions(client, labeled.project_id)
        t_pred_pull, with_preds = first_pull(cat, client)
        assert with_preds.predictions_new == n_pred and with_preds.annotations_new == total
        t_pred_export, _ = timed(lambda: export_json(ls.url, ls.api_key, labeled.project_id),
                                 "export")
        t_pull, t_export = statistics.median(pulls), statistics.median(exports)
        record(
            "bench/label_sync.py",
            f"loopback Label Studio 1.23.2: push {n:,} tasks with {pushed.predictions_created:,} "
            f"predictions {t_push:.1f}s (re-push, 0 created, {t_repush:.1f}s) vs raw SDK "
            f"import_tasks without predictions {t_raw:.1f}s · ratio {t_push / t_raw:.2f}x; "
            f"pull {total:,} annotations, median of {args.rounds}: {t_pull:.1f}s "
            f"({', '.join(f'{x:.1f}' for x in pulls)}) vs JSON export {t_export:.1f}s "
            f"({', '.join(f'{x:.1f}' for x in exports)}) · ratio {t_pull / t_export:.2f}x "
            f"(re-pull, 0 new, {t_repull:.1f}s); with {n_pred:,} predictions too: pull "
            f"{t_pred_pull:.1f}s vs export {t_pred_export:.1f}s · ratio "
            f"{t_pred_pull / t_pred_export:.2f}x · targets: push ≤ 60 s, pull ≤ 1.0x export",
        )


if __name__ == "__main__":
    main()
