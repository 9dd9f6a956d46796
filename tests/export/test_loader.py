"""Training loaders: partitioning, deterministic shuffle, mid-epoch resume."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from curata.export import LoaderStateError, WebDatasetLoader, open_webdataset
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.export.conftest import require_torch


@pytest.fixture
def shards(text_snapshot, tmp_path):
    """The text snapshot exported as 8 shards."""
    m = text_snapshot.export_webdataset(str(tmp_path / "shards"), shard_count=8)
    return tmp_path / "shards", m


def _keys(samples) -> list[str]:
    return [s["__key__"] for s in samples]


def test_snapshot_webdataset_yields_decoded_records(text_snapshot, tmp_path) -> None:
    loader = text_snapshot.webdataset(out=str(tmp_path / "c"), shard_count=4)
    rows = {r["_id"]: r for r in text_snapshot.to_arrow().to_pylist()}
    samples = list(loader)
    assert len(samples) == len(loader) == text_snapshot.num_rows
    for s in samples:
        row = rows[s["__key__"]]
        assert (s["text"], s["label"], s["meta"], s["split"]) == (
            row["text"], row["label"], row["meta"], row["split"])
        assert s["_license"] == "CC-BY-4.0"
        assert s["_provenance"]["run_id"] == row["_provenance"]["run_id"]
    # a second call finds the export in place
    assert _keys(text_snapshot.webdataset(out=str(tmp_path / "c"), shard_count=4)) == _keys(samples)


def test_default_cache_lives_under_curata_home(text_snapshot, catalog) -> None:
    loader = text_snapshot.webdataset(shard_count=2)
    assert str(catalog.settings.home) in loader.root
    assert len(list(loader)) == text_snapshot.num_rows


def test_ranks_partition_the_samples(shards) -> None:
    path, m = shards
    seen = Counter()
    for rank in range(3):
        loader = open_webdataset(str(path), rank=rank, world_size=3, shuffle=True, seed=5)
        keys = _keys(loader)
        assert len(keys) == len(loader)
        seen.update(keys)
    assert sum(seen.values()) == m.num_samples and set(seen.values()) == {1}


@settings(max_examples=40, deadline=None)
@given(n_shards=st.integers(1, 20), world=st.integers(1, 5), workers=st.integers(1, 4),
       seed=st.integers(0, 3), epoch=st.integers(0, 3))
def test_streams_cover_each_shard_once(n_shards, world, workers, seed, epoch) -> None:
    doc = {"fields": [], "snapshot": {"fingerprint": "f"},
           "shards": [{"name": f"s{i}", "split": "", "samples": 1} for i in range(n_shards)]}
    loader = WebDatasetLoader(doc, "/nowhere", shuffle=True, seed=seed, epoch=epoch)
    got = [s["name"] for r in range(world) for w in range(workers)
           for s in loader.shards_for(r, world, w, workers)]
    assert sorted(got) == sorted(s["name"] for s in doc["shards"])


def test_shuffle_is_deterministic_per_seed_and_epoch(shards) -> None:
    path, _ = shards

    def order(seed: int, epoch: int) -> list[str]:
        return _keys(open_webdataset(str(path), shuffle=True, seed=seed, epoch=epoch,
                                     shuffle_buffer=50))

    first = order(1, 0)
    assert first == order(1, 0)
    assert first != order(1, 1) and first != order(2, 0)
    assert sorted(first) == sorted(order(1, 1)) == sorted(_keys(open_webdataset(str(path))))


def test_in_process_resume_yields_exactly_the_unseen(shards) -> None:
    path, _ = shards
    loader = open_webdataset(str(path), shuffle=True, seed=3, shuffle_buffer=40)
    full = _keys(open_webdataset(str(path), shuffle=True, seed=3, shuffle_buffer=40))
    it = iter(loader)
    head = [next(it)["__key__"] for _ in range(137)]
    state = json.loads(json.dumps(loader.state_dict()))  # checkpoints are JSON
    resumed = open_webdataset(str(path), shuffle=True, seed=3, shuffle_buffer=40)
    resumed.load_state_dict(state)
    assert head + _keys(resumed) == full
    assert _keys(resumed) == full  # the next pass is a whole epoch again


def test_set_epoch_drops_the_saved_position(shards) -> None:
    path, _ = shards
    loader = open_webdataset(str(path), shuffle=True, seed=3)
    it = iter(loader)
    next(it)
    loader.load_state_dict(loader.state_dict())
    loader.set_epoch(1)
    assert len(_keys(loader)) == len(loader)


def test_state_from_another_layout_is_refused(shards) -> None:
    path, _ = shards
    state = open_webdataset(str(path), seed=1, world_size=2, rank=0).state_dict()
    with pytest.raises(LoaderStateError) as err:
        open_webdataset(str(path), seed=2, world_size=2, rank=0).load_state_dict(state)
    assert err.value.field == "seed"
    with pytest.raises(LoaderStateError):
        open_webdataset(str(path), seed=1, world_size=4, rank=0).load_state_dict(state)


def _run(dl, stop_after=None):
    keys = []
    for batches, batch in enumerate(dl, start=1):
        keys += batch["__key__"]
        if stop_after is not None and batches == stop_after:
            return keys, dl.state_dict()
    return keys, None


def test_torch_workers_and_ranks_read_each_sample_once(shards) -> None:
    require_torch()
    from curata.export.torch import StatefulDataLoader

    path, m = shards
    seen = Counter()
    for rank in range(2):
        ds = open_webdataset(str(path), rank=rank, world_size=2, shuffle=True, seed=9).torch()
        keys, _ = _run(StatefulDataLoader(ds, batch_size=16, num_workers=2))
        seen.update(keys)
    assert sum(seen.values()) == m.num_samples and set(seen.values()) == {1}


@pytest.mark.parametrize("num_workers", [0, 2])
def test_torch_mid_epoch_resume_yields_exactly_the_unseen(shards, num_workers) -> None:
    torch = require_torch()
    from curata.export.torch import StatefulDataLoader

    path, m = shards

    def loader():
        ds = open_webdataset(str(path), shuffle=True, seed=4, shuffle_buffer=30).torch()
        return StatefulDataLoader(ds, batch_size=10, num_workers=num_workers)

    head, state = _run(loader(), stop_after=7)
    assert len(head) == 70
    buf = io.BytesIO()
    torch.save(state, buf)  # as a training script checkpoints it
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    resumed = loader()
    resumed.load_state_dict(saved)
    rest, _ = _run(resumed)
    assert len(head) + len(rest) == m.num_samples
    assert sorted(head + rest) == sorted(_keys(open_webdataset(str(path))))
    assert not set(head) & set(rest)
    # the epoch after the resumed one is complete again
    again, _ = _run(resumed)
    assert len(again) == m.num_samples


def test_images_decode_with_pil(snapshot, tmp_path) -> None:
    m = snapshot.export_webdataset(str(tmp_path / "s"), shard_count=2)
    sample = next(iter(open_webdataset(str(tmp_path / "s"), image="pil")))
    assert sample["image"].size == (8, 8) and m.num_samples == snapshot.num_rows
