"""Words, lines and n-grams of a text column, computed for a whole batch at once.

The published rule sets count *words* as a tokenizer splits them (datatrove, FineWeb's
reference, uses spaCy's rule-based English tokenizer). ``TOKEN`` reproduces what that
tokenizer does to ordinary prose with one regular expression run by Polars (Rust): URLs and
e-mail addresses stay whole, numbers keep their inner ``.``/``,``/``:``/``/``, contractions
split before ``n't`` and ``'s``/``'re``/…, runs of two or more dots are one token and every
other punctuation mark or symbol is a token of its own. Known differences (abbreviations such
as ``Mr.`` or ``e.g.``, which spaCy keeps whole, and bare domain names) are listed in
``bench/quality.py``'s report.

Everything is vectorised: a batch becomes one long frame of tokens (``doc``, ``pos``, ``token``)
and per-document figures are group-bys over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from curata.quality._charsets import PUNCTUATION, char_class

if TYPE_CHECKING:
    import polars as pl

#: One match = one word as spaCy's English tokenizer splits ordinary prose (see module doc).
TOKEN = (
    r"(?:https?://|www\.)\S*[^\s.,;:!?)\]\"']"   # URLs, trailing punctuation split off
    r"|[\w.+-]+@\w[\w-]*(?:\.\w[\w-]*)+"         # e-mail addresses
    r"|\d+(?:[.,:/]\d+)+"                        # 3.14, 1,000, 10:30, 1/2
    r"|(?i:n['’]t)|['’](?i:s|re|ve|ll|d|m)\b"    # contraction suffixes (split off below)
    r"|\w+(?:['’]\w+)*"                          # words; l'été, qu'il stay whole
    r"|\.{2,}|-{2,}"
    r"|\S"
)
_CONTRACTION = r"(\w)((?i:n['’]t|['’](?:s|re|ve|ll|d|m))\b)"
_SYMBOL_WORD = f"^{char_class(PUNCTUATION)}+$"
#: Python's ``str.splitlines`` boundaries, folded to ``\n`` before splitting.
LINE_BREAKS = r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_MULT = np.uint64(0x9E3779B97F4A7C15)


def tokens(texts: pl.Series) -> pl.DataFrame:
    """Every word of every text: ``doc`` (row index), ``pos``, ``token``, ``len``, ``symbol``
    (made only of punctuation) and ``alpha`` (holds a letter)."""
    import polars as pl

    df = pl.DataFrame({"text": texts.fill_null("")}).with_row_index("doc")
    return (
        df.lazy()
        .select("doc", token=pl.col("text").str.replace_all(_CONTRACTION, "$1 $2")
                .str.extract_all(TOKEN))
        .explode("token")
        .drop_nulls("token")
        .with_columns(
            pos=pl.int_range(pl.len()).over("doc").cast(pl.UInt32),
            len=pl.col("token").str.len_chars().cast(pl.UInt32),
            symbol=pl.col("token").str.contains(_SYMBOL_WORD),
            alpha=pl.col("token").str.contains(r"\p{L}"),
        )
        .collect()
    )


def lines(texts: pl.Series, *, pattern: str | None = None) -> pl.DataFrame:
    """Every line of every text (``doc``, ``line_no``, ``line``): split as ``str.splitlines``
    does, or on ``pattern`` (a regex of separators, e.g. ``\\n+``) when given."""
    import polars as pl

    df = pl.DataFrame({"text": texts.fill_null("")}).with_row_index("doc")
    if pattern is None:
        text = pl.col("text").str.replace_all(LINE_BREAKS, "\n")
        # splitlines drops the empty piece after a final line break (and yields nothing for "")
        text = pl.when(text.str.ends_with("\n")).then(text.str.slice(0, text.str.len_chars() - 1)) \
            .otherwise(text)
        split = pl.when(pl.col("text") == "").then(pl.lit([], dtype=pl.List(pl.String))) \
            .otherwise(text.str.split("\n"))
    else:
        split = pl.col("text").str.replace_all(pattern, "\x00").str.split("\x00")
    return (
        df.lazy().select("doc", line=split).explode("line").drop_nulls("line")
        .with_columns(line_no=pl.int_range(pl.len()).over("doc").cast(pl.UInt32))
        .collect()
    )


def token_hashes(tok: pl.DataFrame) -> np.ndarray:
    """A 64-bit hash per token (equal tokens, equal hashes; within one run)."""
    return tok.get_column("token").hash(seed=0x6375726174).to_numpy().astype(np.uint64)


def ngram_levels(hashes: np.ndarray, doc: np.ndarray, ns: list[int]
                 ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """For each ``n`` in ``ns`` (ascending): the hash of every word ``n``-gram that stays inside
    its document, and its start index.

    A polynomial hash over the token hashes (wrapping 64-bit arithmetic), built one word longer
    at a time, so equal word sequences hash equal and different ones collide with probability
    ~2**-64.
    """
    acc = hashes.copy()
    with np.errstate(over="ignore"):
        for n in range(1, max(ns, default=0) + 1):
            if n > 1:
                acc = acc[:-1] * _MULT + hashes[n - 1:]
            if n in ns:
                m = len(acc)
                start = np.flatnonzero(doc[:m] == doc[n - 1:n - 1 + m])
                yield n, acc[start], start


def doc_keys(hashes: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """One 64-bit key per (document, hash) pair, for group-bys on a single integer column."""
    with np.errstate(over="ignore"):
        return hashes ^ (doc.astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93))


def window_sums(values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values[i:i+n]`` for every ``i`` with a full window."""
    c = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    return c[n:] - c[:-n]


def repeated_fraction(items: pl.Expr) -> pl.Expr:
    """Fraction of the elements of a list that repeat an earlier element."""
    import polars as pl

    n = items.list.len()
    return pl.when(n > 0).then(1 - items.list.n_unique() / n).otherwise(0.0)
