"""Record tables with Curata's system columns, for export tests."""

from __future__ import annotations

import io
import random

import pyarrow as pa

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
         "kappa", "lambda", "mu"]


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


def content_table(n: int, *, images: str | None = "png", seed: int = 0) -> pa.Table:
    """``n`` rows: text, integer label, JSON-ish meta, a split column and images
    (``"png"``, ``"mixed"`` PNG/JPEG, or ``None`` for no image column)."""
    rng = random.Random(seed)
    cols = {
        "text": [" ".join(rng.choices(WORDS, k=rng.randrange(1, 12))) + f" #{i}" for i in range(n)],
        "label": [rng.randrange(5) for _ in range(n)],
        "meta": [{"score": rng.random(), "tags": rng.sample(WORDS, 2)} for _ in range(n)],
        "split": ["train" if rng.random() < 0.8 else "test" for _ in range(n)],
    }
    table = pa.table(cols)
    if images:
        imgs = [png_bytes(i) if images == "png" or i % 2 else jpeg_bytes(i) for i in range(n)]
        table = table.append_column("image", pa.array(imgs, pa.binary()))
    return table


def append_mix(cat, table: pa.Table, dataset: str, tag: str = "v1"):
    """Three sources with different licenses, as a curated corpus would have (three appends,
    so three data files); tagged ``tag``. Returns the tagged snapshot."""
    n = table.num_rows
    cuts = [0, n // 2, n // 2 + n // 3, n]
    parts = [("CC-BY-4.0", "wiki dump", "Text from Wikipedia, CC BY 4.0"),
             ("CC-BY-NC-4.0", "forum crawl", "Forum posts courtesy of ForumCo"),
             ("unknown", "scraped misc", None)]
    for (lic, source, attribution), start, end in zip(parts, cuts[:-1], cuts[1:], strict=True):
        cat.append(dataset, table.slice(start, end - start), license=lic, source=source,
                   source_uri=f"https://example.org/{source.replace(' ', '-')}",
                   attribution=attribution)
    cat.tag(dataset, tag)
    return cat.snapshot(f"{dataset}@{tag}")


# Member names over tar's 100 bytes get a PAX header; this one makes the name of that member
# 502 bytes under a plain 32-character key (a PAX record of exactly one block), so a repeat's
# ``KEY-1`` needs one block more.
LONG_COLUMN = "caption_" + "x" * 457


def append_repeats(cat, dataset: str = "repeats", tag: str = "v1"):
    """Runs of three identical records (same ``_id``) inside two files and across their
    boundary, whichever file a snapshot reads first, with a column whose member needs a PAX
    header that a ``KEY-N`` suffix makes one block longer (``LONG_COLUMN``)."""
    import pyarrow.compute as pc

    base = content_table(30, images=None, seed=5)
    base = base.append_column(LONG_COLUMN,
                              pc.binary_join_element_wise(base.column("text"), "!", ""))
    thrice = [i for r in range(14) for i in (r, r, r)]
    # each file ends with two copies of the record the other one starts with
    cat.append(dataset, base.take(pa.array([29, *thrice, 14, 14])), license="CC0-1.0",
               source="a", dedup="off")
    cat.append(dataset, base.take(pa.array([14, *[t + 15 for t in thrice], 29, 29])),
               license="CC0-1.0", source="b", dedup="off")
    cat.tag(dataset, tag)
    return cat.snapshot(f"{dataset}@{tag}")
