"""Sample encoding: vectorised JSON equals json.dumps; keys; extensions."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from curata.export.errors import SampleKeyError
from curata.export.jsonarrow import json_array, to_json
from curata.export.samples import (
    check_keys,
    dedupe_adjacent,
    image_extension,
    key_runs,
)
from hypothesis import given, settings
from hypothesis import strategies as st

texts = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(['a"b', "c\\d", "e\nf", "ü€"]))
times = st.one_of(st.none(), st.datetimes(timezones=st.just(dt.UTC)))
rows = st.fixed_dictionaries({
    "uri": texts, "n": st.one_of(st.none(), st.integers(-(2**62), 2**62)),
    "t": times, "f": st.one_of(st.none(), st.floats(allow_nan=False)),
    "ok": st.one_of(st.none(), st.booleans()),
    "inner": st.one_of(st.none(), st.fixed_dictionaries({"q": texts})),
})
TYPE = pa.struct([("uri", pa.string()), ("n", pa.int64()), ("t", pa.timestamp("us", "UTC")),
                  ("f", pa.float64()), ("ok", pa.bool_()),
                  ("inner", pa.struct([("q", pa.string())]))])


@settings(deadline=None)  # a loaded CI box must not turn slowness into failures
@given(values=st.lists(st.one_of(st.none(), rows), max_size=30))
def test_json_array_matches_json_dumps(values) -> None:
    arr = pa.array(values, TYPE)
    assert json_array(arr).to_pylist() == [to_json(v) for v in arr.to_pylist()]


@settings(deadline=None)
@given(values=st.lists(texts, max_size=40), repeat=st.integers(1, 6))
def test_json_strings_low_and_high_cardinality(values, repeat) -> None:
    arr = pa.array(values * repeat, pa.string())
    assert json_array(arr).to_pylist() == [to_json(v) for v in arr.to_pylist()]


@pytest.mark.parametrize("bad", ["_hidden", "a.b", "a/b", "", None])
def test_unsafe_keys_are_refused(bad) -> None:
    with pytest.raises(SampleKeyError) as err:
        check_keys(pa.array(["abc", bad], pa.string()))
    assert err.value.key == bad


def test_adjacent_duplicates_get_distinct_keys() -> None:
    keys = ["a", "a", "b", "a", "a", "a"]
    assert dedupe_adjacent(keys, None) == ["a", "a-1", "b", "a", "a-1", "a-2"]
    assert dedupe_adjacent(["a", "b"], "a") == ["a-1", "b"]


def test_key_numbering_does_not_depend_on_batches() -> None:
    keys = ["a", "a", "b", "a", "a", "a", "a", "c"]
    whole, _ = key_runs(keys, None)
    for cut in range(len(keys) + 1):
        head, state = key_runs(keys[:cut], None)
        tail, _ = key_runs(keys[cut:], state)
        assert head + tail == whole == ["a", "a-1", "b", "a", "a-1", "a-2", "a-3", "c"]


@pytest.mark.parametrize("data, ext", [
    (b"\xff\xd8\xff\xe0rest", "jpg"), (b"\x89PNG\r\n\x1a\nrest", "png"), (b"GIF89a..", "gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8", "webp"), (b"BM....", "bmp"), (b"II*\x00", "tiff"),
    (b"plain", "bin"),
])
def test_image_extension_from_magic(data, ext) -> None:
    assert image_extension(data) == ext
