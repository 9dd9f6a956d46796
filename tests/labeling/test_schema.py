"""Label schemas: parsing, canonical hash, versions, migration maps and refusals."""

import json
from datetime import UTC, datetime

import curata
import pytest
from curata_labeling import schema as sch
from curata_labeling import store
from curata_labeling.models import LabelProject
from hypothesis import given, settings
from hypothesis import strategies as st

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="positive"/><Choice value="negative"/><Choice value="neutral"/>
  </Choices>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
</View>"""


@pytest.fixture
def cat(tmp_path):
    return curata.connect(home=tmp_path / "home")


def test_parse_controls():
    controls = sch.parse_config(CONFIG)
    assert set(controls) == {"sentiment", "ner"}
    assert controls["sentiment"].values == ("positive", "negative", "neutral")
    assert controls["sentiment"].kind == "choice"
    assert controls["ner"].kind == "span"


@pytest.mark.parametrize("bad", ["<View>", "<Foo/>", "<View><Text name='t' value='$t'/></View>"])
def test_bad_configs_are_refused(bad):
    with pytest.raises(sch.LabelSchemaError):
        sch.parse_config(bad)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([" ", "\n", "\t", "  \n"]), min_size=3, max_size=3))
def test_hash_ignores_formatting(ws):
    reformatted = CONFIG.replace("\n  ", ws[0]).replace("/><", f"/>{ws[1]}<")
    assert sch.canonical_hash(reformatted) == sch.canonical_hash(CONFIG)
    assert sch.canonical_hash(CONFIG.replace("neutral", "mixed")) != sch.canonical_hash(CONFIG)


def test_versions(cat):
    first = sch.register_schema(cat, "reviews", CONFIG)
    assert first.created and first.schema.version == 1
    again = sch.register_schema(cat, "reviews", CONFIG.replace("\n  ", "\n    "))
    assert not again.created and again.schema.version == 1
    added = CONFIG.replace(
        '<Choice value="neutral"/>', '<Choice value="neutral"/><Choice value="x"/>'
    )
    second = sch.register_schema(cat, "reviews", added)
    assert second.created and second.schema.version == 2
    assert [s.version for s in sch.list_schemas(cat, "reviews")] == [1, 2]
    with pytest.raises(sch.LabelSchemaNotFoundError):
        sch.get_schema(cat, "nope")


def _annotation(ann_id, sentiment, dataset_project="p1"):
    now = datetime.now(UTC)
    return {
        "project": dataset_project,
        "ls_annotation_id": ann_id,
        "ls_task_id": ann_id,
        "values": json.dumps({"sentiment": [sentiment]}),
        "result": "[]",
        "result_hash": "h",
        "schema_name": "reviews",
        "schema_version": 1,
        "pulled_at": now,
        "event": "new",
        "origin": "label-studio",
        "created_at": now,
        "updated_at": now,
    }


def _link(cat, dataset="reviews_ds"):
    with cat.store.session() as s:
        s.add(
            LabelProject(
                name="p1",
                dataset=dataset,
                ls_url="http://x",
                ls_project_id=1,
                schema_name="reviews",
                schema_version=1,
            )
        )


def test_dropping_a_used_choice_is_refused_then_migrated(cat):
    sch.register_schema(cat, "reviews", CONFIG)
    _link(cat)
    store.append_events(
        cat, "reviews_ds", [_annotation(11, "neutral"), _annotation(12, "positive")]
    )
    without = CONFIG.replace('<Choice value="neutral"/>', "")
    with pytest.raises(sch.SchemaChangeRefusedError) as err:
        sch.register_schema(cat, "reviews", without)
    assert err.value.dropped == {"sentiment": ["neutral"]}
    assert err.value.annotations == [11]
    assert [s.version for s in sch.list_schemas(cat, "reviews")] == [1]

    change = sch.register_schema(
        cat, "reviews", without, migration={"sentiment": {"neutral": "positive"}}
    )
    assert change.created and change.migrated_annotations == 1
    state = store.current_state(store.read_events(cat, "reviews_ds")).to_pylist()
    by_id = {r["ls_annotation_id"]: r for r in state}
    assert json.loads(by_id[11]["values"]) == {"sentiment": ["positive"]}
    assert by_id[11]["event"] == "migrated" and by_id[11]["schema_version"] == 2


def test_dropping_an_unused_choice_needs_no_map(cat):
    sch.register_schema(cat, "reviews", CONFIG)
    _link(cat)
    store.append_events(cat, "reviews_ds", [_annotation(12, "positive")])
    change = sch.register_schema(cat, "reviews", CONFIG.replace('<Choice value="neutral"/>', ""))
    assert change.created and change.dropped == {"sentiment": ["neutral"]}


def test_migration_target_must_exist(cat):
    sch.register_schema(cat, "reviews", CONFIG)
    with pytest.raises(sch.LabelSchemaError):
        sch.register_schema(
            cat,
            "reviews",
            CONFIG.replace('<Choice value="neutral"/>', ""),
            migration={"sentiment": {"neutral": "nonexistent"}},
        )


def test_migrate_value_rename_merge_remove():
    m = {"a": "b", "c": None}
    assert sch.migrate_value(["a", "b", "c", "d"], m) == ["b", "d"]
    regions = [{"start": 0, "end": 1, "labels": ["c"]}, {"start": 2, "end": 3, "labels": ["a"]}]
    assert sch.migrate_value(regions, m) == [{"start": 2, "end": 3, "labels": ["b"]}]
