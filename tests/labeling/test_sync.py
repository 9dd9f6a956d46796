"""Push and pull against a real Label Studio server."""

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import curata
import pytest
from curata.errors import LabelStudioError
from curata_labeling import store, sync
from curata_labeling.client import LabelStudioClient

from tests.labeling.helpers import SENTIMENT, choice, make_dataset, unique

pytestmark = [pytest.mark.label_studio, pytest.mark.slow]


@pytest.fixture
def cat(tmp_path, ls_env):
    return curata.connect(home=tmp_path / "home")


def _task_count(ls, project_id):
    return len(LabelStudioClient(ls.url, ls.api_key).task_ids(project_id))


def test_push_twice_never_duplicates(cat, ls_env):
    ds = unique("ds")
    snap = make_dataset(cat, ds, 20)
    project = unique("proj")
    first = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, batch_size=7)
    assert (first.tasks_created, first.tasks_existing) == (20, 0)
    again = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT)
    assert (again.tasks_created, again.tasks_existing) == (0, 20)
    assert again.project_id == first.project_id
    assert _task_count(ls_env, first.project_id) == 20
    task = next(iter(ls_env.client().tasks.list(project=first.project_id)))
    assert {"_id", "_dataset", "_version", sync.KEY} <= set(task.data)
    assert task.data["_dataset"] == ds and task.data["_version"] == snap.version


def test_resumed_push_creates_only_the_rest(cat, ls_env, monkeypatch):
    snap = make_dataset(cat, unique("ds"), 20)
    project = unique("proj")
    real = LabelStudioClient.import_tasks
    calls = {"n": 0}

    def crash_after_two_batches(self, project_id, tasks):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt  # the process dies half way through the push
        return real(self, project_id, tasks)

    monkeypatch.setattr(LabelStudioClient, "import_tasks", crash_after_two_batches)
    with pytest.raises(KeyboardInterrupt):
        sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, batch_size=5)
    monkeypatch.setattr(LabelStudioClient, "import_tasks", real)
    resumed = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, batch_size=5)
    assert (resumed.tasks_created, resumed.tasks_existing) == (10, 10)
    assert _task_count(ls_env, resumed.project_id) == 20


def test_sample_and_filter_are_reproducible(cat, ls_env):
    snap = make_dataset(cat, unique("ds"), 30)
    a = sync.push(
        cat,
        snap.ref,
        project=unique("p"),
        schema_xml=SENTIMENT,
        sample=5,
        seed=1,
        filter="stars >= 10",
    )
    assert a.tasks_created == 5
    picked = [t.data["_id"] for t in ls_env.client().tasks.list(project=a.project_id)]
    again = sync.select_records(snap, ["text"], filter="stars >= 10", sample=5, seed=1)
    assert sorted(picked) == sorted(again.column("_id").to_pylist())


def test_image_records_are_visible(cat, ls_env):
    import pyarrow as pa

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    ds = unique("img")
    snap = cat.append(ds, pa.table({"image": [png, png + b"x"]}), license="CC0-1.0", source="t")
    config = (
        '<View><Image name="image" value="$image"/><Choices name="kind" toName="image">'
        '<Choice value="cat"/><Choice value="dog"/></Choices></View>'
    )
    res = sync.push(cat, snap.ref, project=unique("p"), schema_xml=config)
    task = next(iter(ls_env.client().tasks.list(project=res.project_id)))
    assert task.data["image"].startswith("data:image/png;base64,")
    # The server serves the labeling page for the task (what annotators open).
    url = f"{ls_env.url}/api/tasks/{task.id}"
    req = urllib.request.Request(url, headers={"Authorization": f"Token {ls_env.api_key}"})
    with urllib.request.urlopen(req) as resp:
        assert json.load(resp)["data"]["image"] == task.data["image"]


def _annotated_project(cat, ls_env, n=6):
    snap = make_dataset(cat, unique("ds"), n)
    project = unique("proj")
    res = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT, overlap=2)
    users = [ls_env.create_annotator(), ls_env.create_annotator()]
    tasks = list(ls_env.client().tasks.list(project=res.project_id))
    ann_ids = []
    for i, t in enumerate(tasks):
        for k, u in enumerate(users):
            label = "positive" if (i + k * (i % 2)) % 2 == 0 else "negative"
            ann_ids.append(ls_env.annotate(t.id, choice(label), annotator=u, lead_time=3.5))
    return snap, project, res, tasks, ann_ids


def test_pull_new_changed_deleted_and_idempotent(cat, ls_env):
    snap, project, res, tasks, ann_ids = _annotated_project(cat, ls_env)
    first = sync.pull(cat, project)
    assert (first.annotations_new, first.annotations_changed, first.annotations_deleted) == (
        12,
        0,
        0,
    )
    events = store.read_events(cat, snap.dataset, project=project)
    assert events.num_rows == 12
    row = events.to_pylist()[0]
    assert row["record_id"] in {t.data["_id"] for t in tasks}
    assert row["schema_version"] == 1 and row["lead_time"] == 3.5
    assert row["annotator"].endswith("@example.com")
    assert set(json.loads(row["values"])) == {"sentiment"}

    second = sync.pull(cat, project)
    assert (second.annotations_new, second.annotations_changed, second.annotations_deleted) == (
        0,
        0,
        0,
    )
    assert store.read_events(cat, snap.dataset, project=project).num_rows == 12

    client = ls_env.client()
    client.annotations.update(id=ann_ids[0], result=choice("neutral"))
    client.annotations.delete(id=ann_ids[1])
    client.tasks.delete(id=str(tasks[-1].id))
    third = sync.pull(cat, project)
    assert third.annotations_changed == 1
    assert third.annotations_deleted == 3  # one annotation, and both of the deleted task's
    state = store.current_state(store.read_events(cat, snap.dataset, project=project))
    assert state.num_rows == 12 - 3
    assert sync.pull(cat, project).annotations_deleted == 0


class _Flaky(BaseHTTPRequestHandler):
    """Forwards the first ``budget`` requests to Label Studio, then answers 503."""

    upstream = ""
    budget = 0

    def _handle(self):
        cls = type(self)
        if cls.budget <= 0:
            self.send_response(503)
            self.end_headers()
            return
        cls.budget -= 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        req = urllib.request.Request(
            cls.upstream + self.path,
            data=body,
            method=self.command,
            headers={
                k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
            },
        )
        with urllib.request.urlopen(req) as resp:
            payload = resp.read()
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = _handle

    def log_message(self, *args):
        pass


def test_label_studio_failing_mid_pull_leaves_no_partial_state(cat, ls_env):
    snap, project, *_ = _annotated_project(cat, ls_env, n=4)
    _Flaky.upstream, _Flaky.budget = ls_env.url, 1  # the first page works, then 503s
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        flaky = LabelStudioClient(url, ls_env.api_key, retries=2, backoff_s=0.01)
        with pytest.raises(LabelStudioError) as err:
            sync.pull(cat, project, client=flaky, page_size=2)
        assert err.value.url == url and err.value.status == 503
    finally:
        server.shutdown()
        server.server_close()
    assert store.read_events(cat, snap.dataset, project=project).num_rows == 0
    assert sync.pull(cat, project).annotations_new == 8


def test_label_studio_down_is_a_clear_error(cat, ls_env):
    snap = make_dataset(cat, unique("ds"), 3)
    dead = LabelStudioClient("http://127.0.0.1:9", "token", retries=2, backoff_s=0.01)
    with pytest.raises(LabelStudioError) as err:
        sync.push(cat, snap.ref, project=unique("p"), schema_xml=SENTIMENT, client=dead)
    assert err.value.url == "http://127.0.0.1:9"
    assert sync.list_projects(cat) == []


def test_changed_config_is_a_new_version_pushed_to_the_project(cat, ls_env):
    snap = make_dataset(cat, unique("ds"), 3)
    project = unique("proj")
    first = sync.push(cat, snap.ref, project=project, schema_xml=SENTIMENT)
    extended = SENTIMENT.replace(
        '<Choice value="neutral"/>', '<Choice value="neutral"/><Choice value="mixed"/>'
    )
    second = sync.push(cat, snap.ref, project=project, schema_xml=extended)
    assert (first.schema_version, second.schema_version) == (1, 2)
    assert second.tasks_created == 0 and second.project_id == first.project_id
    config = ls_env.client().projects.get(id=first.project_id).label_config
    assert 'value="mixed"' in config
    assert sync.get_project(cat, project).schema_version == 2
