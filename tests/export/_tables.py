"""Record tables with Curata's system columns, for export tests."""

from __future__ import annotations

import datetime as dt
import io
import random

import pyarrow as pa
import xxhash

PROVENANCE = pa.struct([
    ("uri", pa.string()), ("locator", pa.string()), ("run_id", pa.string()),
    ("retrieved_at", pa.timestamp("us", tz="UTC")),
])
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()


def png_bytes(seed: int, size: int = 8) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(seed: int, size: int = 16) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def content_table(n: int, *, images: bool = True, seed: int = 0) -> pa.Table:
    """``n`` rows: text, integer label, JSON-ish meta, optional image bytes, a split column."""
    rng = random.Random(seed)
    cols = {
        "text": [" ".join(rng.choices(WORDS, k=rng.randrange(1, 12))) + f" #{i}" for i in range(n)],
        "label": [rng.randrange(5) for _ in range(n)],
        "meta": [{"score": rng.random(), "tags": rng.sample(WORDS, 2)} for _ in range(n)],
        "split": ["train" if rng.random() < 0.8 else "test" for _ in range(n)],
    }
    table = pa.table(cols)
    if images:
        imgs = [png_bytes(i) if i % 2 else jpeg_bytes(i) for i in range(n)]
        table = table.append_column("image", pa.array(imgs, pa.binary()))
    return table


def with_system_columns(table: pa.Table, *, licenses=("CC-BY-4.0",), sources=("src-a",)) -> pa.Table:
    """Adds ``_id``/``_source``/``_license``/``_provenance`` the way the catalog does."""
    n = table.num_rows
    ids = [xxhash.xxh3_128_hexdigest(repr(r).encode()) for r in table.to_pylist()]
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    prov = [{"uri": "file:///data.jsonl", "locator": f"line {i}", "run_id": "r1",
             "retrieved_at": when} for i in range(n)]
    return (table.append_column("_id", pa.array(ids))
            .append_column("_source", pa.array([sources[i % len(sources)] for i in range(n)]))
            .append_column("_license", pa.array([licenses[i % len(licenses)] for i in range(n)]))
            .append_column("_provenance", pa.array(prov, PROVENANCE)))
