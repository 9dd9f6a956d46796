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
