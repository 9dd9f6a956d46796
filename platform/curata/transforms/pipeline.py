"""Pipelines: an ordered list of steps, built in Python or loaded from YAML/TOML.

File format (YAML; TOML is the same structure, ``[[steps]]`` tables)::

    name: clean-reviews
    imports: [my_steps]          # modules that register `apply` functions (optional)
    steps:
      - filter: "length(text) >= 20 AND lang = 'en'"
      - select: [text, stars]
      - rename: {stars: rating}
      - apply: {fn: strip_html, params: {column: text}}
      - dedup: {}
      - near_dedup: {column: text, threshold: 0.85}
      - split: {fractions: {train: 0.8, val: 0.1, test: 0.1}, column: split, seed: 0}
      - sample: {fraction: 0.1, seed: 42}
      - join: {ref: "labels@v2", on: _id, how: left, columns: [label]}
      - language: {column: text, keep: [en, pt]}
      - quality: {column: text, rules: [gopher, c4, fineweb], drop: true}
      - pii: {column: text, action: redact, kinds: [email, phone, ip, credit_card, iban]}
      - decontaminate: {column: text, against: ["evals@v1"], ngram: 13, action: flag}
      - near_dedup: {column: image, method: phash, max_distance: 4}

Each step is a one-key mapping: the key is the step kind, the value its parameters (a
scalar or list is the first parameter). Files are parsed with ``yaml.safe_load`` /
``tomllib``. The only code that runs is the modules listed under ``imports`` (imported when
the pipeline is loaded; ``curata derive`` prints them first) and the functions they register
with ``curata.transforms.register``, which ``apply`` steps name; ``apply`` never imports a
``module:function`` path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curata import fingerprint as fp
from curata.errors import CurataError
from curata.quality import steps
from curata.quality.decontaminate import Decontaminate
from curata.quality.images import ImageNearDedup
from curata.transforms.dedup import Dedup, NearDedup
from curata.transforms.errors import PipelineError, StepFailedError, UnknownFunctionError
from curata.transforms.registry import import_modules
from curata.transforms.steps import (
    Apply,
    Context,
    Filter,
    Join,
    Rename,
    Sample,
    Select,
    Split,
    Step,
    Upstream,
    as_tuple,
    deserialize_expr,
)

if TYPE_CHECKING:
    import polars as pl


def _filter(v: Any) -> Step:
    if isinstance(v, Mapping):
        if "polars_expr" in v:
            return Filter(deserialize_expr(v["polars_expr"]))
        return Filter(v["expr"])
    return Filter(v)


def _select(v: Any) -> Step:
    return Select(as_tuple(v["columns"] if isinstance(v, Mapping) else v) or ())


def _rename(v: Any) -> Step:
    return Rename(v["mapping"] if isinstance(v, Mapping) and "mapping" in v else v)


def _apply(v: Any) -> Step:
    if isinstance(v, str):
        return Apply(v)
    return Apply(v["fn"], dict(v.get("params") or {}))


def _split(v: Any) -> Step:
    if isinstance(v, Mapping) and "fractions" not in v:
        return Split(v)
    fr = v["fractions"]
    if isinstance(fr, list):  # the canonical form: [[name, fraction], ...]
        fr = dict(fr)
    return Split(fr, column=v.get("column", "split"), seed=int(v.get("seed", 0)),
                 keep=as_tuple(v.get("keep")))


def _sample(v: Any) -> Step:
    if isinstance(v, Mapping):
        return Sample(float(v["fraction"]), seed=int(v.get("seed", 0)))
    return Sample(float(v))


def _join(v: Any) -> Step:
    if isinstance(v, str):
        return Join(v)
    return Join(v["ref"], on=v.get("on", "_id"), how=v.get("how", "left"),
                columns=as_tuple(v.get("columns")), right_on=v.get("right_on"))


def _dedup(v: Any) -> Step:
    if v not in (None, {}, True, {"on": "_id"}, "_id"):
        raise PipelineError("exact dedup is by `_id` only; use near_dedup for similar text",
                            kind="dedup")
    return Dedup()


def _near(v: Any) -> Step:
    v = v or {}
    if v.get("method", "minhash") == "phash":  # images: perceptual hash (curata.quality)

        return ImageNearDedup(**{k: v[k] for k in ("column", "max_distance") if k in v})
    if v.get("method", "minhash") != "minhash":
        raise PipelineError(f"unknown method {v['method']!r}", kind="near_dedup",
                            valid=["minhash", "phash"])
    return NearDedup(**{k: v[k] for k in ("column", "threshold", "num_perm", "seed") if k in v})


def _quality_step(kind: str) -> Callable[[Any], Step]:
    """Builders of the curata.quality steps (imported when a pipeline names one)."""
    def build(v: Any) -> Step:
        cls = {"language": steps.Language, "quality": steps.Quality, "pii": steps.Pii,
               "decontaminate": Decontaminate}[kind]
        if isinstance(v, str):
            return cls(v)
        v = dict(v or {})
        v.pop("normalize", None)  # canonical form (spec()) reads back too
        if isinstance(v.get("rules"), Mapping):
            v["thresholds"], v["rules"] = v["rules"], list(v["rules"])
        for key in ("keep", "rules", "kinds", "against"):
            if key in v and v[key] is not None:
                v[key] = as_tuple(v[key])
        return cls(**v)

    return build


BUILDERS: dict[str, Callable[[Any], Step]] = {
    "filter": _filter, "select": _select, "rename": _rename, "apply": _apply,
    "dedup": _dedup, "near_dedup": _near, "split": _split, "sample": _sample, "join": _join,
    **{k: _quality_step(k) for k in ("language", "quality", "pii", "decontaminate")},
}


@dataclass(frozen=True, slots=True)
class Pipeline:
    """An ordered list of transform steps.

    Example:
        >>> from curata.transforms import Pipeline, Filter, Split
        >>> p = Pipeline([Filter("length(text) > 20"), Split({"train": 0.9, "test": 0.1})])
        >>> cat.derive("reviews@v3", p, into="reviews-clean")
    """

    steps: Sequence[Step]
    name: str = ""
    imports: Sequence[str] = ()

    def __post_init__(self) -> None:
        for i, s in enumerate(self.steps):
            if not isinstance(s, Step):
                raise PipelineError(f"{type(s).__name__} is not a transform step", step=i)
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "imports", tuple(self.imports))

    # --- loading ------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Sequence[Any]) -> Pipeline:
        """Build from the parsed file structure (``{"name":…, "imports": [...], "steps":
        [...]}`` or a list of steps). The ``imports`` modules are imported first, so that
        the functions they register can be named by ``apply`` steps."""
        imports: list[str] = []
        if isinstance(data, Mapping):
            unknown = set(data) - set(TOP_LEVEL)
            if unknown:
                raise PipelineError(f"unknown top-level keys {sorted(unknown)}",
                                    valid=list(TOP_LEVEL))
            name, raw = str(data.get("name", "")), data.get("steps")
            imports = import_modules(pipeline_imports(data))
        else:
            name, raw = "", data
        if not isinstance(raw, list):
            raise PipelineError("`steps` must be a list of one-key mappings")
        return cls([_build(i, item) for i, item in enumerate(raw)], name=name, imports=imports)

    @classmethod
    def from_file(cls, path: str | Path) -> Pipeline:
        """Load a ``.yaml``/``.yml``, ``.toml`` or ``.json`` pipeline file (importing the
        modules its ``imports`` list names)."""
        return cls.from_dict(read_pipeline_file(path) or {})

    # --- identity -----------------------------------------------------------------------------

    def canonical(self) -> list[dict[str, Any]]:
        """The steps as canonical JSON values (what is stored and fingerprinted)."""
        return [s.spec() for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        steps = [{s["kind"]: {k: v for k, v in s.items() if k != "kind"}}
                 for s in self.canonical()]
        if self.imports:
            return {"name": self.name, "imports": list(self.imports), "steps": steps}
        return {"name": self.name, "steps": steps}

    def input_refs(self) -> list[str]:
        return [r for s in self.steps for r in s.input_refs()]

    # --- running ------------------------------------------------------------------------------

    def run(self, source: Upstream, ctx: Context, stats: dict[str, int] | None = None
            ) -> Iterator[pl.DataFrame]:
        """Stream ``source`` through every step; ``stats`` gets rows out of each step."""
        upstream = source
        for i, step in enumerate(self.steps):
            upstream = _guarded(step, i, upstream, ctx, stats)
        return upstream()


TOP_LEVEL = ("name", "imports", "steps")


def pipeline_imports(data: Any) -> list[str]:
    """The modules a parsed pipeline file lists under ``imports`` (nothing imported)."""
    raw = data.get("imports") if isinstance(data, Mapping) else None
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(m, str) for m in raw):
        raise PipelineError("`imports` must be a list of module names", kind="imports")
    return list(raw)


def read_pipeline_file(path: str | Path) -> Any:
    """Parse a ``.yaml``/``.yml``, ``.toml`` or ``.json`` pipeline file (nothing imported)."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise PipelineError(f"cannot read {p}: {exc.strerror}") from None
    suffix = p.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise PipelineError(f"unknown pipeline file type {suffix!r}",
                                valid=[".yaml", ".yml", ".toml", ".json"])
    except CurataError:
        raise
    except Exception as exc:  # yaml/toml/json parse errors
        raise PipelineError(f"cannot parse {p}: {exc}") from None
    return data


def _build(i: int, item: Any) -> Step:
    if isinstance(item, str) and item in ("dedup",):
        item = {item: {}}
    if not isinstance(item, Mapping) or len(item) != 1:
        raise PipelineError("each step is a mapping with one key, the step kind", step=i,
                            valid=list(BUILDERS))
    (kind, value), = item.items()
    if kind not in BUILDERS:
        raise PipelineError(f"unknown step kind {kind!r}", step=i, kind=str(kind),
                            valid=list(BUILDERS))
    try:
        return BUILDERS[kind](value)
    except UnknownFunctionError as exc:
        raise UnknownFunctionError(exc.function, valid=exc.valid, step=i) from None
    except PipelineError as exc:
        raise PipelineError(exc.reason, step=i, kind=kind, valid=exc.valid) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise PipelineError(f"bad parameters {value!r} ({type(exc).__name__}: {exc})",
                            step=i, kind=kind) from None


def _guarded(step: Step, index: int, upstream: Upstream, ctx: Context,
             stats: dict[str, int] | None) -> Upstream:
    """Wrap a step: non-Curata exceptions become ``StepFailedError`` naming it; count rows."""
    key = f"{index}:{step.name}"

    def start() -> Iterator[pl.DataFrame]:
        if stats is not None:
            stats[key] = 0  # a re-run (second pass of a later step) counts afresh
        try:
            for df in step.run(upstream, ctx):
                if stats is not None:
                    stats[key] += df.height
                yield with_content_ids(df) if step.changes_content else df
        except CurataError:
            raise
        except Exception as exc:
            raise StepFailedError(step.name, reason=f"{type(exc).__name__}: {exc}",
                                  index=index) from exc

    return start


def with_content_ids(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with ``_id`` recomputed from its content columns: after a step that changed
    content, a record is identified by what it now holds (``lower`` then ``dedup`` must merge
    "Hello" and "HELLO"), never by the id of the row it came from."""
    import polars as pl

    if not df.height and "_id" in df.columns:
        return df
    table = df.to_arrow(compat_level=pl.CompatLevel.oldest())
    ids = pl.Series("_id", fp.record_ids(table), dtype=pl.String)
    return df.with_columns(ids) if "_id" in df.columns else df.insert_column(0, ids)


def as_pipeline(pipeline: Pipeline | Sequence[Step] | Mapping[str, Any] | str | Path
                ) -> Pipeline:
    """Accept a ``Pipeline``, a list of steps, a parsed mapping or a file path."""
    if isinstance(pipeline, Pipeline):
        return pipeline
    if isinstance(pipeline, (str, Path)):
        return Pipeline.from_file(pipeline)
    if isinstance(pipeline, Mapping):
        return Pipeline.from_dict(pipeline)
    items = list(pipeline)
    if all(isinstance(s, Step) for s in items):
        return Pipeline(items)
    return Pipeline.from_dict(items)
