"""The Gopher, C4 and FineWeb heuristic rule sets, with their published thresholds.

Each rule set is a frozen dataclass of thresholds (every one overridable) and a function that
evaluates all its rules on a batch of texts at once, returning one boolean column per rule
(``True`` = the record fails it). Rule names are ``<set>.<rule>``:

* **gopher** (Rae et al. 2021, §A.1.1 and Table A1): ``gopher.word_count`` (outside 50–100,000
  words), ``gopher.mean_word_length`` (outside 3–10 characters), ``gopher.symbol_ratio`` (``#``
  or ellipses per word above 0.1), ``gopher.bullet_lines`` (over 90 % of lines start with a
  bullet), ``gopher.ellipsis_lines`` (over 30 % end with an ellipsis), ``gopher.alpha_words``
  (under 80 % of words hold a letter), ``gopher.stop_words`` (fewer than 2 of *the, be, to, of,
  and, that, have, with*), ``gopher.dup_lines``/``gopher.dup_paragraphs`` (over 30 % repeated),
  ``gopher.dup_line_chars``/``gopher.dup_paragraph_chars`` (over 20 % of characters in repeated
  ones), ``gopher.top_{2,3,4}gram`` (the most frequent n-gram covers over 20/18/16 % of the
  characters) and ``gopher.dup_{5..10}gram`` (repeated n-grams cover over 15..10 %).
* **c4** (Raffel et al. 2020, §2.2): keeps lines that end in terminal punctuation and hold at
  least 3 words (dropping lines that mention *javascript* or cookie/terms-of-use policies), then
  ``c4.terminal_punct`` fails a page with fewer than 5 sentences on those lines;
  ``c4.lorem_ipsum`` and ``c4.curly_bracket`` fail a page with such a kept line.
* **fineweb** (Penedo et al. 2024): ``fineweb.line_punct`` (under 12 % of lines end in terminal
  punctuation), ``fineweb.short_lines`` (over 67 % of lines have ≤ 30 characters),
  ``fineweb.line_repetition`` (repeated lines hold over 1 % of the characters),
  ``fineweb.list_ratio`` (over 0.3 line breaks per word) and ``fineweb.empty``.

The definitions follow the reference implementation the FineWeb authors published (HF
datatrove), so decisions agree with it; ``bench/quality.py`` measures the agreement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from curata.quality import text as tx
from curata.quality._charsets import TERMINAL_PUNCTUATION, char_class

if TYPE_CHECKING:
    import polars as pl

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
           "use cookies")


@dataclass(frozen=True, slots=True, kw_only=True)
class Gopher:
    """Gopher quality and repetition thresholds (Rae et al. 2021)."""

    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3
    max_avg_word_length: float = 10
    max_symbol_word_ratio: float = 0.1
    max_bullet_lines_ratio: float = 0.9
    max_ellipsis_lines_ratio: float = 0.3
    min_alpha_words_ratio: float = 0.8
    min_stop_words: int = 2
    stop_words: tuple[str, ...] = STOP_WORDS
    dup_line_frac: float = 0.3
    dup_para_frac: float = 0.3
    dup_line_char_frac: float = 0.2
    dup_para_char_frac: float = 0.2
    top_ngrams: tuple[tuple[int, float], ...] = ((2, 0.2), (3, 0.18), (4, 0.16))
    dup_ngrams: tuple[tuple[int, float], ...] = (
        (5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))


@dataclass(frozen=True, slots=True, kw_only=True)
class C4:
    """C4 page and line rules (Raffel et al. 2020)."""

    min_num_sentences: int = 5
    min_words_per_line: int = 3
    max_word_length: int = 1000
    end_punctuation: tuple[str, ...] = (".", "?", "!", '"', "'")
    remove_citations: bool = True
    filter_lorem_ipsum: bool = True
    filter_javascript: bool = True
    filter_curly_bracket: bool = True
    filter_policy: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FineWeb:
    """FineWeb's own line rules (Penedo et al. 2024)."""

    line_punct_thr: float = 0.12
    line_punct_exclude_zero: bool = False
    short_line_thr: float = 0.67
    short_line_length: int = 30
    char_duplicates_ratio: float = 0.01
    new_line_ratio: float = 0.3


RULE_SETS: dict[str, type[Any]] = {"gopher": Gopher, "c4": C4, "fineweb": FineWeb}


def thresholds(name: str, overrides: Mapping[str, Any] | None = None) -> Any:
    """The rule set ``name`` with ``overrides`` applied (``KeyError``/``TypeError`` on bad ones)."""
    cls = RULE_SETS[name]
    known = {f.name for f in fields(cls)}
    unknown = set(overrides or {}) - known
    if unknown:
        raise KeyError(f"unknown thresholds of {name}: {sorted(unknown)}; valid: {sorted(known)}")
    values = {k: _tupled(v) for k, v in (overrides or {}).items()}
    return cls(**values)


def _tupled(v: Any) -> Any:
    return tuple(_tupled(x) for x in v) if isinstance(v, (list, tuple)) else v


def spec(rules: Any) -> dict[str, Any]:
    """Thresholds as canonical JSON values (tuples as lists)."""
    return {k: _listed(v) for k, v in sorted(asdict(rules).items())}


def _listed(v: Any) -> Any:
    return [_listed(x) for x in v] if isinstance(v, (list, tuple)) else v


# --- evaluation ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Batch:
    """A batch of texts and what several rules share (tokens, lines), computed once."""

    texts: pl.Series
    _tokens: pl.DataFrame | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.texts)

    @property
    def tokens(self) -> pl.DataFrame:
        if self._tokens is None:
            self._tokens = tx.tokens(self.texts)
        return self._tokens

    def per_doc(self, frame: pl.DataFrame, exprs: list[pl.Expr]) -> pl.DataFrame:
        """Aggregate ``frame`` by ``doc`` and give every document a row (zeros where none)."""
        import polars as pl

        agg = frame.lazy().group_by("doc").agg(exprs).collect()
        return pl.DataFrame([self.scatter(agg["doc"], agg[c]).alias(c)
                             for c in agg.columns if c != "doc"])

    def scatter(self, docs: pl.Series, values: pl.Series) -> pl.Series:
        """``values`` placed at rows ``docs`` of a batch-long column of zeros."""
        import polars as pl

        dtype = pl.Int64 if values.dtype == pl.Boolean else values.dtype
        base = pl.Series(np.zeros(self.n, dtype=np.int64)).cast(dtype)
        return base.scatter(docs, values.cast(dtype).fill_null(0)) if len(docs) else base

    def chars(self) -> pl.Series:
        import polars as pl

        return self.texts.fill_null("").str.len_chars().cast(pl.Int64)

    def word_stats(self) -> pl.DataFrame:
        import polars as pl

        if "words" not in self._cache:
            self._cache["words"] = self.per_doc(self.tokens, [
                pl.len().alias("n_words"),
                (~pl.col("symbol")).sum().alias("n_words_ns"),
                pl.col("len").filter(~pl.col("symbol")).sum().alias("len_ns"),
                pl.col("alpha").sum().alias("n_alpha"),
            ])
        return self._cache["words"]

    def duplicates(self, pattern: str | None, *, strip: bool = False) -> pl.DataFrame:
        """Per document: pieces (lines or paragraphs), repeats of an earlier piece, their chars."""
        import polars as pl

        key = f"dup:{pattern}:{strip}"
        if key not in self._cache:
            texts = self.texts.fill_null("").str.strip_chars() if strip else self.texts
            ln = tx.lines(texts, pattern=pattern)
            dup = ~pl.struct("doc", "line").is_first_distinct()
            self._cache[key] = self.per_doc(ln, [
                pl.len().alias("pieces"), dup.sum().alias("dups"),
                pl.col("line").str.len_chars().filter(dup).sum().alias("dup_chars")])
        return self._cache[key]


def _ratio(num: pl.Series | pl.Expr, den: pl.Series | pl.Expr) -> Any:
    """``num / den`` as floats, null where both are 0 (Polars orders NaN above every number,
    so a NaN would pass every ``>`` test)."""
    import polars as pl

    return (num.cast(pl.Float64) / den.cast(pl.Float64)).fill_nan(None)


def gopher(batch: Batch, g: Gopher) -> dict[str, pl.Series]:
    """Gopher quality and repetition rules: ``{rule name: fails}``."""
    return {**_gopher_quality(batch, g), **_gopher_repetition(batch, g)}


def _gopher_quality(batch: Batch, g: Gopher) -> dict[str, pl.Series]:
    import polars as pl

    w = batch.word_stats()
    text = batch.texts.fill_null("")
    n_words, n_ns = w["n_words"], w["n_words_ns"]
    mean_len = _ratio(w["len_ns"], n_ns)
    stops = batch.per_doc(batch.tokens.filter(pl.col("token").is_in(list(g.stop_words))),
                          [pl.col("token").n_unique().alias("n")])["n"]
    ln = tx.lines(text)
    per_line = batch.per_doc(ln, [
        pl.len().alias("lines"),
        pl.col("line").str.strip_chars_start().str.contains(r"^[•-]").sum().alias("bullets"),
        pl.col("line").str.strip_chars_end().str.contains(r"(?:\.\.\.|…)$").sum().alias("ell"),
    ])
    hashes = text.str.count_matches("#", literal=True)
    ellipses = text.str.count_matches("...", literal=True) + text.str.count_matches("…", literal=True)
    return {
        "gopher.word_count": (n_ns < g.min_doc_words) | (n_ns > g.max_doc_words),
        "gopher.mean_word_length": ((mean_len < g.min_avg_word_length)
                                    | (mean_len > g.max_avg_word_length)).fill_null(False),
        "gopher.symbol_ratio": ((_ratio(hashes, n_words) > g.max_symbol_word_ratio)
                                | (_ratio(ellipses, n_words) > g.max_symbol_word_ratio))
        .fill_null(False),
        "gopher.bullet_lines": (_ratio(per_line["bullets"], per_line["lines"])
                                > g.max_bullet_lines_ratio).fill_null(False),
        "gopher.ellipsis_lines": (_ratio(per_line["ell"], per_line["lines"])
                                  > g.max_ellipsis_lines_ratio).fill_null(False),
        "gopher.alpha_words": (_ratio(w["n_alpha"], n_words) < g.min_alpha_words_ratio)
        .fill_null(False),
        "gopher.stop_words": stops < g.min_stop_words,
    }


def _gopher_repetition(batch: Batch, g: Gopher) -> dict[str, pl.Series]:
    chars = batch.chars()
    para = batch.duplicates(r"\n{2,}", strip=True)
    line = batch.duplicates(r"\n+")
    out = {
        "gopher.dup_paragraphs": _ratio(para["dups"], para["pieces"]) > g.dup_para_frac,
        "gopher.dup_paragraph_chars": _ratio(para["dup_chars"], chars) > g.dup_para_char_frac,
        "gopher.dup_lines": _ratio(line["dups"], line["pieces"]) > g.dup_line_frac,
        "gopher.dup_line_chars": _ratio(line["dup_chars"], chars) > g.dup_line_char_frac,
    }
    top = _top_ngram_chars(batch, [n for n, _ in g.top_ngrams])
    for n, frac in g.top_ngrams:
        out[f"gopher.top_{n}gram"] = _ratio(top[n], chars) > frac
    dup = _dup_ngram_chars(batch, [n for n, _ in g.dup_ngrams], chars,
                           [f for _, f in g.dup_ngrams])
    for n, frac in g.dup_ngrams:
        out[f"gopher.dup_{n}gram"] = _ratio(dup[n], chars) > frac
    empty = chars == 0  # the reference fails an empty text on every repetition rule
    return {k: (v.fill_null(False) | empty).alias(k) for k, v in out.items()}


def _token_arrays(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = batch.tokens
    return (tx.token_hashes(t), t["doc"].to_numpy(), t["len"].to_numpy().astype(np.int64))


def _top_ngram_chars(batch: Batch, ns: list[int]) -> dict[int, pl.Series]:
    """Characters of each document's most frequent word n-gram (joined by spaces) times its
    count; among equally frequent n-grams the first to occur, as ``Counter.most_common``.

    Where no n-gram repeats, that is the document's first n-gram; only repeating n-grams (a
    small share) are grouped to find the most frequent.
    """
    import polars as pl

    hashes, doc, lens = _token_arrays(batch)
    out = {n: pl.Series(np.zeros(batch.n, np.int64)) for n in ns}
    for n, h, start in tx.ngram_levels(hashes, doc, sorted(ns)):
        if not len(start):
            continue
        gram_doc = doc[start]
        width = tx.window_sums(lens, n)[start] + n - 1
        top = np.zeros(batch.n, np.int64)
        docs, first = np.unique(gram_doc, return_index=True)
        top[docs] = width[first]
        keys = tx.doc_keys(h, gram_doc)
        rep = pl.Series(keys).is_duplicated().to_numpy()
        grams = pl.DataFrame({"key": keys[rep], "doc": gram_doc[rep], "start": start[rep],
                              "width": width[rep]})
        best = (grams.lazy().group_by("key")
                .agg(pl.col("doc").first(), pl.len().alias("count"), pl.col("start").min(),
                     pl.col("width").first())
                .with_columns(score=pl.col("count").cast(pl.Int64) * (1 << 32) - pl.col("start"))
                # scores are distinct within a document (starts are): one row per document
                .filter(pl.col("score") == pl.col("score").max().over("doc"))
                .select("doc", top=pl.col("width") * pl.col("count"))
                .collect())
        top[best["doc"].to_numpy()] = best["top"].to_numpy()
        out[n] = pl.Series(top)
    return out


def _dup_ngram_chars(batch: Batch, ns: list[int], chars: pl.Series,
                     fracs: list[float]) -> dict[int, pl.Series]:
    """Characters of repeated word n-grams (joined without spaces), counted as the reference
    does: scanning left to right, a repeat of an n-gram seen so far adds its characters and
    jumps past itself; a new n-gram is remembered and the scan moves one word.

    The scan only matters where it could pass the threshold: it counts a subset of the n-grams
    that repeat an earlier one (and a longer n-gram repeats only where its prefix does), so
    documents whose repeating n-grams hold too few characters in all are decided by that bound
    (vectorised) and never scanned.
    """
    import polars as pl

    hashes, doc, lens = _token_arrays(batch)
    out = {n: np.zeros(batch.n, np.int64) for n in ns}
    if not ns:
        return {}
    limits = dict(zip(ns, fracs, strict=True))
    chars_np = chars.to_numpy().astype(np.float64)
    first, *rest = sorted(ns)
    repeating = _dup_level(out, limits, chars_np, first, hashes, doc, lens)
    keep = np.isin(doc, repeating)  # longer n-grams repeat only where a shortest one does
    _dup_level(out, limits, chars_np, rest, hashes[keep], doc[keep], lens[keep])
    return {n: pl.Series(v) for n, v in out.items()}


def _dup_level(out: dict[int, np.ndarray], limits: dict[int, float], chars: np.ndarray,
               ns: int | list[int], hashes: np.ndarray, doc: np.ndarray, lens: np.ndarray
               ) -> np.ndarray:
    """Fill ``out[n]`` for ``ns``; returns the documents that repeat an n-gram of the last."""
    import polars as pl

    repeating = np.empty(0, np.uint32)
    for n, h, start in tx.ngram_levels(hashes, doc, [ns] if isinstance(ns, int) else ns):
        gram_doc = doc[start]
        width = tx.window_sums(lens, n)[start]
        later = ~pl.Series(tx.doc_keys(h, gram_doc)).is_first_distinct().to_numpy()
        bound = np.bincount(gram_doc[later], weights=width[later], minlength=len(chars))
        out[n] = bound.astype(np.int64)
        over = np.flatnonzero(bound > limits[n] * chars).astype(gram_doc.dtype)
        lows, highs = np.searchsorted(gram_doc, over), np.searchsorted(gram_doc, over + 1)
        for d, lo, hi in zip(over.tolist(), lows.tolist(), highs.tolist(), strict=True):
            out[n][d] = _greedy_repeats(h[lo:hi], width[lo:hi], n)
        repeating = np.unique(gram_doc[later])
    return repeating


def _greedy_repeats(hashes: np.ndarray, widths: np.ndarray, n: int) -> int:
    # The definition is a sequential scan whose jumps depend on what it has seen, so it runs as
    # a Python loop, only over the few documents the caller's bound cannot decide.
    seen: set[int] = set()
    hs, ws = hashes.tolist(), widths.tolist()
    idx, repeated = 0, 0
    while idx < len(hs):
        if hs[idx] in seen:
            repeated += ws[idx]
            idx += n
        else:
            seen.add(hs[idx])
            idx += 1
    return repeated


#: A sentence boundary inside a line, as spaCy's sentencizer finds one in ordinary prose: a
#: ``!``/``?``, or a ``.`` that is a token of its own (not in ``..``, a number, or after a lone
#: ASCII letter as in ``a.``, ``e.g.``, ``U.S.``, which spaCy keeps whole), followed, after closing
#: quotes or brackets and a space, by a further token.
_SENTENCE_BREAK = r"(?:(?:^|[^.\w]|\w\w|[\w&&[^\x00-\x7F]])\.|[!?])[!?\"'”’)\]»]*\s+\S"
#: Abbreviations spaCy's English tokenizer keeps whole with their period (no boundary).
_ABBREVIATIONS = (r"\b(Mr|Mrs|Ms|Dr|St|Jr|Inc|Ltd|Co|co|Corp|vs|Prof|Gen|Gov|Rep|Sen|Rev|Adm"
                  r"|Bros|Messrs|Md|Mo|Mont)\.")


def c4(batch: Batch, c: C4) -> dict[str, pl.Series]:
    """C4's page rules after its line filter: ``{rule name: fails}``."""
    import polars as pl

    ln = tx.lines(batch.texts).with_columns(pl.col("line").str.strip_chars())
    line = pl.col("line")
    words = line.str.count_matches(r"\S+")
    cleaned = line.str.replace_all(_CITATION, "") if c.remove_citations else line
    lower = cleaned.str.to_lowercase()
    ends = pl.any_horizontal([cleaned.str.ends_with(p) for p in c.end_punctuation])
    kept = ~line.str.contains(rf"\S{{{c.max_word_length + 1}}}") if c.max_word_length >= 0 \
        else pl.lit(True)
    kept = kept & ends & ~cleaned.str.ends_with("...") & (words >= c.min_words_per_line)
    lorem = kept & lower.str.contains("lorem ipsum", literal=True) if c.filter_lorem_ipsum \
        else pl.lit(False)
    if c.filter_javascript:
        kept = kept & ~lower.str.contains("javascript", literal=True)
    curly = kept & cleaned.str.contains("{", literal=True) if c.filter_curly_bracket \
        else pl.lit(False)
    if c.filter_policy:
        kept = kept & ~pl.any_horizontal([lower.str.contains(p, literal=True) for p in _POLICY])
    sentences = 1 + cleaned.str.replace_all(_ABBREVIATIONS, "$1").str.count_matches(
        _SENTENCE_BREAK)
    per = batch.per_doc(ln, [
        lorem.any().alias("lorem"), curly.any().alias("curly"),
        sentences.filter(kept).sum().alias("sentences")])
    return {
        "c4.terminal_punct": per["sentences"] < c.min_num_sentences,
        "c4.lorem_ipsum": per["lorem"].cast(pl.Boolean),
        "c4.curly_bracket": per["curly"].cast(pl.Boolean),
    }


def fineweb(batch: Batch, f: FineWeb) -> dict[str, pl.Series]:
    """FineWeb's line rules: ``{rule name: fails}``."""
    import polars as pl

    text = batch.texts.fill_null("")
    ln = tx.lines(text, pattern="\n").filter(pl.col("line").str.strip_chars() != "")
    line = pl.col("line")
    stop = line.str.contains(char_class(TERMINAL_PUNCTUATION) + "$")
    dup = ~pl.struct("doc", "line").is_first_distinct()
    per = batch.per_doc(ln, [
        pl.len().alias("lines"), stop.sum().alias("stop"),
        (line.str.len_chars() <= f.short_line_length).sum().alias("short"),
        line.str.len_chars().filter(dup).sum().alias("dup_chars")])
    empty = per["lines"] == 0
    punct = _ratio(per["stop"], per["lines"])
    punct_fail = (punct < f.line_punct_thr) & ~((punct == 0) & f.line_punct_exclude_zero)
    body = text.str.replace_all("\n", "", literal=True).str.len_chars()
    newlines = text.str.count_matches("\n", literal=True)
    out = {
        "fineweb.line_punct": punct_fail,
        "fineweb.short_lines": _ratio(per["short"], per["lines"]) > f.short_line_thr,
        "fineweb.line_repetition": _ratio(per["dup_chars"], body) > f.char_duplicates_ratio,
        "fineweb.list_ratio": _ratio(newlines, batch.word_stats()["n_words"]) > f.new_line_ratio,
    }
    # an empty document fails only as empty, as in the reference
    out = {k: (v.fill_null(False) & ~empty).alias(k) for k, v in out.items()}
    out["fineweb.empty"] = empty.alias("fineweb.empty")
    return out


EVALUATORS: dict[str, Callable[[Batch, Any], dict[str, pl.Series]]] = {
    "gopher": gopher, "c4": c4, "fineweb": fineweb}


def record_stats(batch: Batch) -> pl.Series:
    """Per-record ``stats``: chars, words, lines, mean word length, fraction of repeated lines."""
    import polars as pl

    w = batch.word_stats()
    lines = batch.duplicates(r"\n+")
    n_lines = tx.lines(batch.texts).group_by("doc").len()
    counted = batch.per_doc(n_lines, [pl.col("len").first()])["len"]
    return pl.DataFrame({
        "chars": batch.chars(),
        "words": w["n_words_ns"].cast(pl.Int64),
        "lines": counted.cast(pl.Int64),
        "mean_word_length": _ratio(w["len_ns"], w["n_words_ns"]).fill_null(0.0),
        "line_repetition": _ratio(lines["dups"], lines["pieces"]).fill_null(0.0),
    }).to_struct("stats")


def evaluate(texts: pl.Series, rule_sets: dict[str, Any]) -> tuple[pl.Series, pl.Series]:
    """``quality_issues`` (``list<string>``, rule order) and ``stats`` of each text."""
    import polars as pl

    batch = Batch(texts)
    fails: dict[str, pl.Series] = {}
    for name, rules in rule_sets.items():
        fails.update(EVALUATORS[name](batch, rules))
    names = list(fails)
    if names:
        frame = pl.DataFrame([fails[k].alias(k) for k in names])
        issues = frame.select(pl.concat_list(
            [pl.when(pl.col(k)).then(pl.lit(k)) for k in names]).list.drop_nulls()
            .alias("quality_issues")).to_series()
    else:
        issues = pl.Series("quality_issues", [[]] * len(texts), dtype=pl.List(pl.String))
    return issues, record_stats(batch)
