"""The Label Studio fixture runs a real server with the known admin token."""

from pathlib import Path

import pytest

from tests.fixtures.label_studio import OFFLINE_ENV

pytestmark = [pytest.mark.label_studio, pytest.mark.slow]


def test_server_answers_with_admin_token(label_studio):
    client = label_studio.client()
    me = client.users.whoami()
    assert me.email == label_studio.username


def test_annotator_posts_annotation_as_itself(label_studio):
    client = label_studio.client()
    project = client.projects.create(
        title="fixture-smoke",
        label_config='<View><Text name="t" value="$text"/>'
        '<Choices name="c" toName="t"><Choice value="a"/><Choice value="b"/></Choices></View>',
    )
    try:
        client.projects.import_tasks(id=project.id, request=[{"text": "hello"}])
        task = next(iter(client.tasks.list(project=project.id)))
        user = label_studio.create_annotator()
        result = [
            {"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": ["a"]}}
        ]
        ann_id = label_studio.annotate(task.id, result, annotator=user)
        ann = client.annotations.get(id=ann_id)
        assert ann.completed_by == user
    finally:
        client.projects.delete(id=project.id)


def test_server_runs_offline_and_quiet(label_studio):
    """No Sentry reports, analytics or PyPI version checks leave the test machine."""
    raw = Path(f"/proc/{label_studio.pid}/environ").read_bytes()
    env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    for name, value in OFFLINE_ENV.items():
        assert env.get(name) == value, name
    assert OFFLINE_ENV["SENTRY_DSN"] == "" and OFFLINE_ENV["COLLECT_ANALYTICS"] == "false"
