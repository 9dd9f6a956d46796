"""Transform steps: declared, serialisable, deterministic operations on a stream of batches.

Every step has a canonical ``spec()`` (JSON, part of the transform fingerprint), may name code
it runs (``code()``), libraries whose versions change its results (``libraries()``) and other
snapshots it reads (``input_refs()``). Data flows as Polars frames; ``run`` gets a callable
that (re)starts the upstream stream, so a step that needs two passes (dedup) can take them
without holding the data in memory.

Hash-based steps (split, sample, dedup tie-break) use XXH3-64 of ``_id`` with a seed derived
from the step's own seed: a row's fate depends on its id alone, so adding rows never moves the
existing ones to another split.
"""

from __future__ import annotations

import base64
import io
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import xxhash

from curata.errors import InvalidRefError
from curata.fingerprint import SYSTEM_COLUMNS
from curata.refs import parse_ref
from curata.transforms.errors import PipelineError, StepFailedError, UnhashableStepError
from curata.transforms.registry import code_hash, qualified_name, resolve

if TYPE_CHECKING:
    import polars as pl

Upstream = Callable[[], Iterator["pl.DataFrame"]]
_U64 = 1 << 64


@dataclass(slots=True)
class Context:
    """What steps may use while running: the store and the pinned snapshots they read."""

    store: Any = None  # curata.store.Store (untyped here: steps import no catalog layer)
    snapshots: dict[str, Any] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict)


class Step(ABC):
    """One transform step. Subclasses are frozen dataclasses.

    ``changes_content``: the step may change, drop or rename content columns, so the engine
    recomputes ``_id`` (the hash of the content columns) from its output; steps that only keep,
    drop or order rows, or attach columns that are not content (a split, joined labels), say
    False and the record's ``_id`` carries through.
    """

    kind: ClassVar[str]
    changes_content: ClassVar[bool] = True

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """Canonical, JSON-able parameters (with ``kind``): what the fingerprint hashes."""

    def code(self) -> dict[str, str]:
        """Hashes of code the step runs, by name (``apply`` steps)."""
        return {}

    def libraries(self) -> dict[str, str]:
        """Versions of libraries beyond Polars whose behaviour changes this step's output."""
        return {}

    def input_refs(self) -> list[str]:
        """Refs of other snapshots the step reads (``join``)."""
        return []

    def preload(self, ctx: Context) -> Any:
        """What the step reads besides its batches (a joined snapshot, an evaluation index),
        built once from ``ctx``; ``None`` when nothing. An engine that runs the step in other
        processes (Ray) builds it once and hands it to them with :meth:`adopt`."""
        return None

    def adopt(self, ctx: Context, preloaded: Any) -> None:
        """Make the step use ``preloaded`` (what :meth:`preload` built elsewhere) in ``ctx``,
        whose store and snapshots may be absent."""
        return None

    @property
    def name(self) -> str:
        return self.kind

    def run(self, upstream: Upstream, ctx: Context) -> Iterator[pl.DataFrame]:
        for df in upstream():
            yield self.apply(df, ctx)

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        raise NotImplementedError


def _seed(purpose: str, seed: int) -> int:
    """A 64-bit hash seed per purpose, so split and sample with the same seed are independent."""
    return xxhash.xxh3_64_intdigest(f"curata-{purpose}\0{seed}".encode())


def id_hash(seed: int) -> pl.Expr:
    """XXH3-64 of the ``_id`` text under ``seed`` (UInt64), stable across platforms."""
    import polars_hash as plh

    return plh.col("_id").nchash.xxh3_64(seed=seed)


def _threshold(fraction: float) -> int:
    """The UInt64 bound below which a uniform 64-bit hash falls with probability ``fraction``."""
    return min(_U64 - 1, int(fraction * _U64)) if fraction < 1 else _U64 - 1


# --- filter, select, rename ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter(Step):
    """Keep rows matching an expression: SQL text (parsed by Polars, never ``eval``) or a
    ``polars.Expr`` (hashed through ``Expr.meta.serialize``).

    Example:
        >>> Filter("length(text) >= 20 AND lang = 'en'")
    """

    expr: str | pl.Expr
    kind: ClassVar[str] = "filter"
    changes_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        import polars as pl

        if isinstance(self.expr, str):
            try:
                pl.sql_expr(self.expr)
            except Exception as exc:  # Polars raises several types for bad SQL
                raise PipelineError(f"cannot parse filter {self.expr!r}: {exc}",
                                    kind="filter") from None
        elif not isinstance(self.expr, pl.Expr):
            raise PipelineError(f"a filter is SQL text or a polars.Expr, not "
                                f"{type(self.expr).__name__}", kind="filter")

    def polars_expr(self) -> pl.Expr:
        import polars as pl

        return pl.sql_expr(self.expr) if isinstance(self.expr, str) else self.expr

    def spec(self) -> dict[str, Any]:
        if isinstance(self.expr, str):
            return {"kind": self.kind, "expr": self.expr}
        return {"kind": self.kind, "polars_expr": serialize_expr(self.expr)}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return df.filter(self.polars_expr())


def serialize_expr(expr: pl.Expr) -> str:
    """Base64 of Polars' binary expression serialisation; refuses Python UDFs (pickled, and
    their bytes are not a stable description of the code)."""
    text = str(expr)
    if "python_udf" in text or "map_list" in text or "map_batches" in text or "UDF" in text:
        raise UnhashableStepError("filter", reason="the expression calls a Python function; "
                                  "use an `apply` step for Python code")
    try:
        return base64.b64encode(expr.meta.serialize()).decode()
    except Exception as exc:
        raise UnhashableStepError("filter", reason=f"Polars cannot serialise it ({exc})") \
            from None


def deserialize_expr(data: str) -> pl.Expr:
    import polars as pl

    return pl.Expr.deserialize(io.BytesIO(base64.b64decode(data)))


@dataclass(frozen=True, slots=True)
class Select(Step):
    """Keep these content columns (the system columns are always kept), in this order."""

    columns: tuple[str, ...]
    kind: ClassVar[str] = "select"

    def __post_init__(self) -> None:
        if isinstance(self.columns, str) or not self.columns:
            raise PipelineError("select takes a non-empty list of column names", kind="select")
        object.__setattr__(self, "columns", tuple(self.columns))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": list(self.columns)}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        system = [c for c in SYSTEM_COLUMNS if c in df.columns]
        return df.select([*system, *(c for c in self.columns if c not in SYSTEM_COLUMNS)])


@dataclass(frozen=True, slots=True)
class Rename(Step):
    """Rename content columns (``{old: new}``); system columns cannot be renamed."""

    mapping: Mapping[str, str]
    kind: ClassVar[str] = "rename"

    def __post_init__(self) -> None:
        if not isinstance(self.mapping, Mapping) or not self.mapping:
            raise PipelineError("rename takes a mapping {old: new}", kind="rename")
        bad = [k for k, v in self.mapping.items()
               if k.startswith("_") or not isinstance(v, str) or v.startswith("_")]
        if bad:
            raise PipelineError(f"cannot rename system columns or to names starting with '_': "
                                f"{bad}", kind="rename")
        object.__setattr__(self, "mapping", dict(self.mapping))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "mapping": dict(sorted(self.mapping.items()))}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        return df.rename(dict(self.mapping))


# --- python functions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Apply(Step):
    """Run a registered Python function on each batch (a ``polars.DataFrame``).

    Its source hash and ``params`` (JSON) are part of the fingerprint. The function may drop
    rows and change content columns; ``_source``, ``_license`` and ``_provenance`` are carried
    over from the input by ``_id`` whatever it returns.
    """

    fn: str | Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "apply"

    def __post_init__(self) -> None:
        if isinstance(self.fn, str):
            resolve(self.fn)  # fail early on unknown names
        elif not callable(self.fn):
            raise PipelineError("apply takes a function or a registered name", kind="apply")
        object.__setattr__(self, "params", dict(self.params or {}))

    @property
    def function(self) -> Callable[..., Any]:
        return resolve(self.fn) if isinstance(self.fn, str) else self.fn

    @property
    def name(self) -> str:
        return f"apply:{self.fn if isinstance(self.fn, str) else qualified_name(self.fn)}"

    def spec(self) -> dict[str, Any]:
        try:
            params = json.loads(json.dumps(self.params, sort_keys=True, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise UnhashableStepError(self.name, reason=f"params are not JSON ({exc})") from None
        return {"kind": self.kind, "fn": self.name.removeprefix("apply:"), "params": params}

    def code(self) -> dict[str, str]:
        return {self.name.removeprefix("apply:"): code_hash(self.function, step=self.name)}

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        out = self.function(df, **self.params)
        if not isinstance(out, pl.DataFrame):
            raise StepFailedError(self.name, reason=f"returned {type(out).__name__}, "
                                                    "expected a polars.DataFrame")
        return _carry_system_columns(df, out, self.name)


def _carry_system_columns(before: pl.DataFrame, after: pl.DataFrame, step: str) -> pl.DataFrame:
    """Re-attach the input's system columns to a function's output, matched by ``_id``."""
    import polars as pl

    if "_id" not in after.columns:
        raise StepFailedError(step, reason="the function dropped the `_id` column")
    system = [c for c in SYSTEM_COLUMNS if c in before.columns and c != "_id"]
    content = [c for c in after.columns if c not in SYSTEM_COLUMNS]
    if after.height == before.height and after["_id"].equals(before["_id"]):
        return pl.concat([before.select("_id", *system), after.select(content)],
                         how="horizontal")
    unknown = ~after["_id"].is_in(before["_id"].implode())
    if unknown.any():
        raise StepFailedError(step, reason=f"returned {int(unknown.sum())} rows whose `_id` "
                                           "is not in its input (rows cannot be invented)")
    # Copies of one record (an id repeated in the batch, e.g. from two sources) keep their
    # own system columns: the n-th copy out gets those of the n-th copy in (a function that
    # keeps or drops all copies of a record gives every copy's `_source`/`_license` back, in
    # whatever batches the rows arrive); surplus copies get those of the last one.
    copy = pl.int_range(pl.len()).over("_id").cast(pl.Int64).alias("_copy")
    origin = before.select("_id", *system).with_columns(copy)
    copies = origin.group_by("_id").agg(pl.len().cast(pl.Int64).alias("_copies"))
    keyed = (after.select("_id", *content).with_columns(copy)
             .join(copies, on="_id", how="left", maintain_order="left")
             .with_columns(pl.min_horizontal("_copy", pl.col("_copies") - 1).alias("_copy")))
    joined = keyed.join(origin, on=["_id", "_copy"], how="left", maintain_order="left")
    return joined.select("_id", *system, *content)


# --- split and sample ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split(Step):
    """Assign each row to a split by a hash of its ``_id`` (stable when rows are added).

    Args:
        fractions: ordered ``{split name: fraction}``, summing to 1.
        column: the column that receives the split name.
        seed: changes the assignment; the same seed always gives the same one.
        keep: keep only these splits (default: all rows, labelled).

    Example:
        >>> Split({"train": 0.8, "val": 0.1, "test": 0.1})
    """

    fractions: Mapping[str, float]
    column: str = "split"
    seed: int = 0
    keep: tuple[str, ...] | None = None
    kind: ClassVar[str] = "split"
    changes_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        fr = dict(self.fractions) if isinstance(self.fractions, Mapping) else None
        if not fr or any(not isinstance(v, (int, float)) or v < 0 for v in fr.values()):
            raise PipelineError("fractions must map split names to non-negative numbers",
                                kind="split")
        if not math.isclose(sum(fr.values()), 1.0, abs_tol=1e-9):
            raise PipelineError(f"fractions sum to {sum(fr.values())}, not 1", kind="split")
        if self.column.startswith("_"):
            raise PipelineError("the split column cannot start with '_'", kind="split")
        keep = (self.keep,) if isinstance(self.keep, str) else self.keep
        if keep is not None and (not keep or set(keep) - set(fr)):
            raise PipelineError(f"keep names unknown splits: {keep}", kind="split",
                                valid=list(fr))
        object.__setattr__(self, "fractions", fr)
        object.__setattr__(self, "keep", tuple(keep) if keep is not None else None)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "fractions": [[k, float(v)] for k, v in self.fractions.items()],
                "column": self.column, "seed": int(self.seed),
                "keep": list(self.keep) if self.keep is not None else None}

    def libraries(self) -> dict[str, str]:
        return _polars_hash_version()

    def expression(self) -> pl.Expr:
        import polars as pl

        h = id_hash(_seed("split", self.seed))
        names = list(self.fractions)
        cum, bounds = 0.0, []
        for n in names[:-1]:
            cum += self.fractions[n]
            bounds.append(_threshold(cum))
        expr: Any = pl
        for n, b in zip(names[:-1], bounds, strict=True):
            expr = expr.when(h < pl.lit(b, dtype=pl.UInt64)).then(pl.lit(n))
        last = pl.lit(names[-1])
        return (expr.otherwise(last) if bounds else last).alias(self.column)

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        out = df.with_columns(self.expression())
        if self.keep is not None:
            out = out.filter(pl.col(self.column).is_in(list(self.keep)))
        return out


@dataclass(frozen=True, slots=True)
class Sample(Step):
    """Keep a seeded, id-hash-based fraction of rows: a row in the sample stays in it when
    rows are added, and a larger fraction with the same seed is a superset."""

    fraction: float
    seed: int = 0
    kind: ClassVar[str] = "sample"
    changes_content: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not isinstance(self.fraction, (int, float)) or not 0 <= self.fraction <= 1:
            raise PipelineError(f"fraction must be in [0, 1], got {self.fraction!r}",
                                kind="sample")

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "fraction": float(self.fraction), "seed": int(self.seed)}

    def libraries(self) -> dict[str, str]:
        return _polars_hash_version()

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        import polars as pl

        if self.fraction >= 1:
            return df
        bound = pl.lit(_threshold(self.fraction), dtype=pl.UInt64)
        return df.filter(id_hash(_seed("sample", self.seed)) < bound)


def _polars_hash_version() -> dict[str, str]:
    from importlib.metadata import version

    return {"polars-hash": version("polars-hash")}


# --- join ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join(Step):
    """Join columns of another snapshot (pinned when the derive starts; its fingerprint is an
    input of the transform). The other side is read into memory and must be unique on ``on``.

    Example:
        >>> Join("labels@v2", on="_id", right_on="review_id", columns=["label"])
    """

    ref: str
    on: str = "_id"
    how: str = "left"
    columns: tuple[str, ...] | None = None
    right_on: str | None = None
    kind: ClassVar[str] = "join"
    changes_content: ClassVar[bool] = False
    HOWS: ClassVar[tuple[str, ...]] = ("left", "inner", "semi", "anti")

    def __post_init__(self) -> None:
        try:
            parse_ref(self.ref)
        except InvalidRefError as exc:
            raise PipelineError(f"bad ref {self.ref!r}: {exc.reason}", kind="join") from None
        if self.how not in self.HOWS:
            raise PipelineError(f"unknown join type {self.how!r}", kind="join",
                                valid=list(self.HOWS))
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns))

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "on": self.on, "how": self.how,
                "columns": list(self.columns) if self.columns is not None else None,
                "right_on": self.right_on or self.on}

    def input_refs(self) -> list[str]:
        return [self.ref]

    def preload(self, ctx: Context) -> pl.DataFrame:
        return self.right(ctx)

    def adopt(self, ctx: Context, preloaded: Any) -> None:
        ctx.cache[id(self)] = preloaded

    def right(self, ctx: Context) -> pl.DataFrame:
        import polars as pl

        if id(self) not in ctx.cache:
            snap = ctx.snapshots[self.ref]
            names = snap.schema.names
            wanted = list(self.columns) if self.columns is not None else [
                n for n in names if not n.startswith("_")]
            key = self.right_on or self.on
            missing = [c for c in [key, *wanted] if c not in names]
            if missing:
                raise PipelineError(f"{self.ref} has no columns {missing}", kind="join",
                                    valid=names)
            cols = [key, *(c for c in wanted if c != key)]
            right = pl.from_arrow(snap.to_arrow(columns=cols))
            assert isinstance(right, pl.DataFrame)
            if right[key].is_duplicated().any():
                raise PipelineError(f"{self.ref} has repeated values in join key {key!r}",
                                    kind="join")
            right = right.rename({key: self.on})
            ctx.cache[id(self)] = right
        return ctx.cache[id(self)]

    def apply(self, df: pl.DataFrame, ctx: Context) -> pl.DataFrame:
        right = self.right(ctx)
        clash = [c for c in right.columns if c != self.on and c in df.columns]
        if clash and self.how in ("left", "inner"):
            raise PipelineError(f"joined columns {clash} already exist; list `columns` or "
                                "rename first", kind="join")
        return df.join(right, on=self.on, how=self.how, maintain_order="left")  # type: ignore[arg-type]


def as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)
