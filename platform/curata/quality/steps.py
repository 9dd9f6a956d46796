"""Derive steps of the quality toolkit: ``language``, ``quality``, ``pii``, ``decontaminate``
and image ``near_dedup`` (in ``images.py``).

Each is a frozen dataclass whose ``spec()`` holds every parameter that changes its output
(thresholds included, defaults spelled out), and whose ``libraries()`` names the versions of
what decides (the language model file's hash too), so re-deriving with the same settings is
a cache hit and changing any threshold is a new transform fingerprint. Steps add or change
content columns and carry the system columns through; ``derive`` recomputes ``_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from curata.quality import language
from curata.quality import rules as qr
from curata.quality.pii import KINDS, scan
from curata.transforms.errors import PipelineError
from curata.transforms.steps import Context, Step

if TYPE_CHECKING:
    import polars as pl

#: Bump when a quality step's output changes for the same input and parameters.
QUALITY_VERSION = "curata-quality-1"


def _text(df: pl.DataFrame, column: str, kind: str) -> pl.Series:
    import polars as pl

    if column not in df.columns:
        raise PipelineError(f"no column {column!r}", kind=kind, valid=df.columns)
    return df.get_column(column).cast(pl.String)


def _names(value: str | Sequence[str], kind: str, what: str, valid: Sequence[str]
           ) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise PipelineError(f"unknown {what} {bad or names}", kind=kind, valid=list(valid))
    return names


@dataclass(frozen=True, slots=True)
class Language(Step):
    """Add ``lang`` (ISO 639-1, ``und`` when unsure) and ``lang_score`` (0–1).

    Example:
        >>> Language("text", keep=["en", "pt"])
    """

    column: str = "text"
    keep: tuple[str, ...] | None = None
    min_score: float = 0.5
    max_chars: int = 2000
    kind: ClassVar[str] = "language"
    changes_content: ClassVar[bool] = False  # adds annotation columns only

    def __post_init__(self) -> None:
        if not 0 <= self.min_score <= 1:
            raise PipelineError(f"min_score must be in [0, 1], got {self.min_score}",
                                kind=self.kind)
        if self.keep is not None:
            object.__setattr__(self, "keep", tuple(sorted(
                (self.keep,) if isinstance(self.keep, str) else self.keep)))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "min_score": float(self.min_score),
                "max_chars": int(self.max_chars),
                "keep": list(self.keep) if self.keep is not None else None}

    def libraries(self) -> dict[str, str]:
        return {"quality": QUALITY_VERSION, **language.libraries()}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        lang, score = language.detect(_text(df, self.column, self.kind),
                                      min_score=self.min_score, max_chars=self.max_chars)
        out = df.with_columns(lang, score)
        return out if self.keep is None else out.filter(pl.col("lang").is_in(list(self.keep)))


@dataclass(frozen=True, slots=True)
class Quality(Step):
    """Add ``quality_issues`` (the rules a record fails) and ``stats``; ``drop`` removes
    failing records.

    Args:
        column: the text column.
        rules: rule sets to run (``gopher``, ``c4``, ``fineweb``).
        thresholds: ``{rule set: {threshold: value}}`` overriding the published defaults.
        drop: remove records that fail any rule.
        stats: add the per-record ``stats`` struct.

    Example:
        >>> Quality("text", rules=["gopher", "c4"], thresholds={"gopher": {"min_doc_words": 20}})
    """

    column: str = "text"
    rules: tuple[str, ...] = ("gopher", "c4", "fineweb")
    thresholds: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    drop: bool = False
    stats: bool = True
    kind: ClassVar[str] = "quality"
    changes_content: ClassVar[bool] = False  # adds annotation columns only

    def __post_init__(self) -> None:
        rules = _names(self.rules, self.kind, "rule sets", list(qr.RULE_SETS))
        object.__setattr__(self, "rules", rules)
        extra = set(self.thresholds or {}) - set(rules)
        if extra:
            raise PipelineError(f"thresholds for rule sets not run: {sorted(extra)}",
                                kind=self.kind, valid=list(rules))
        try:
            for name in rules:
                qr.thresholds(name, (self.thresholds or {}).get(name))
        except (KeyError, TypeError) as exc:
            raise PipelineError(str(exc).strip('"'), kind=self.kind) from None
        object.__setattr__(self, "thresholds", {k: dict(v) for k, v in
                                                (self.thresholds or {}).items()})

    def rule_sets(self) -> dict[str, Any]:
        return {n: qr.thresholds(n, self.thresholds.get(n)) for n in self.rules}

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "drop": bool(self.drop),
                "stats": bool(self.stats),
                "rules": {n: qr.spec(r) for n, r in self.rule_sets().items()}}

    def libraries(self) -> dict[str, str]:
        return {"quality": QUALITY_VERSION}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        issues, stats = qr.evaluate(_text(df, self.column, self.kind), self.rule_sets())
        out = df.with_columns(issues, stats) if self.stats else df.with_columns(issues)
        return out.filter(pl.col("quality_issues").list.len() == 0) if self.drop else out


@dataclass(frozen=True, slots=True)
class Pii(Step):
    """Find personal data; ``redact`` replaces it with ``<EMAIL>``…, ``flag`` only reports it,
    ``drop`` removes records holding any. Every action adds ``pii`` (kinds found).

    Example:
        >>> Pii("text", action="redact", kinds=["email", "credit_card", "iban"])
    """

    column: str = "text"
    action: Literal["redact", "flag", "drop"] = "flag"
    kinds: tuple[str, ...] = ("email", "phone", "ip", "credit_card", "iban")
    region: str = "US"
    kind: ClassVar[str] = "pii"
    ACTIONS: ClassVar[tuple[str, ...]] = ("redact", "flag", "drop")

    @property
    def changes_content(self) -> bool:  # type: ignore[override]
        """Redacting rewrites the text (a new ``_id``); flag and drop only annotate or filter."""
        return self.action == "redact"

    def __post_init__(self) -> None:
        if self.action not in self.ACTIONS:
            raise PipelineError(f"unknown action {self.action!r}", kind=self.kind,
                                valid=list(self.ACTIONS))
        object.__setattr__(self, "kinds", tuple(sorted(_names(self.kinds, self.kind,
                                                              "kinds", KINDS))))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "action": self.action,
                "kinds": list(self.kinds), "region": self.region}

    def libraries(self) -> dict[str, str]:
        from importlib.metadata import version

        return {"quality": QUALITY_VERSION, "phonenumbers": version("phonenumbers")}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        redacted, found = scan(_text(df, self.column, self.kind), self.kinds,
                               region=self.region)
        out = df.with_columns(found)
        if self.action == "redact":
            out = out.with_columns(redacted.alias(self.column))
        elif self.action == "drop":
            out = out.filter(pl.col("pii").list.len() == 0)
        return out
