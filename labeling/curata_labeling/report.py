"""Agreement reports: every coefficient per control, per label, per annotator and per week.

Input is a flat list of :class:`Judgement` (one annotator's normalized value for one control of
one item). Categorical and numeric controls get all chance-corrected coefficients; multi-choice
and region controls get IoU-based pairwise agreement (Label Studio's matching), and the
chance-corrected coefficients on per-label presence (one binary variable per label).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from curata_labeling import agreement as ag
from curata_labeling.regions import pairwise_mean, region_agreement, set_iou
from curata_labeling.results import choice_value


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """One annotator's normalized value for one control of one item."""

    item: str
    annotator: str
    control: str
    value: Any
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Coefficients:
    """The agreement coefficients of one group of judgements (``None`` = not defined)."""

    n_items: int
    n_annotations: int
    percent_agreement: float | None
    cohen_kappa: float | None = None
    cohen_kappa_linear: float | None = None
    cohen_kappa_quadratic: float | None = None
    fleiss_kappa: float | None = None
    krippendorff_alpha: float | None = None
    krippendorff_alpha_levels: dict[str, float | None] = field(default_factory=dict)
    gwet_ac1: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnotatorAgreement:
    """An annotator against the consensus of the others on the items they share."""

    n_items: int
    agreement_with_consensus: float | None
    cohen_kappa: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlAgreement:
    """All agreement figures of one control."""

    control: str
    kind: str
    n_annotators: int
    overall: Coefficients
    by_label: dict[str, Coefficients]
    by_annotator: dict[str, AnnotatorAgreement]
    by_week: dict[str, Coefficients]

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON: the overall coefficients at the top level, breakdowns below."""
        out = {"control": self.control, "kind": self.kind, "n_annotators": self.n_annotators}
        out.update(_clean(asdict(self.overall)))
        for name in ("by_label", "by_annotator", "by_week"):
            out[name] = {k: _clean(asdict(v)) for k, v in getattr(self, name).items()}
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementReport:
    """Agreement of a labeling project, keyed by control name."""

    controls: dict[str, ControlAgreement]

    def to_dict(self) -> dict[str, Any]:
        return {"controls": {name: c.to_dict() for name, c in self.controls.items()}}


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return None if math.isnan(obj) else obj
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    return obj


def _nan_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def infer_kind(values: Iterable[Any]) -> str:
    """Guess a control's kind from its normalized values (the schema knows better)."""
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return "number"
        if isinstance(v, list) and v and isinstance(v[0], dict):
            return "span" if "start" in v[0] else "box"
    multi = any(isinstance(v, list) and len(v) > 1 for v in values)
    return "multi" if multi else "choice"


def _matrix(grid: dict[str, dict[str, Any]], annotators: list[str], items: list[str], code):
    """Reliability data (annotators × items) from ``grid[item][annotator] -> value``."""
    data = np.full((len(annotators), len(items)), np.nan)
    a_idx = {a: i for i, a in enumerate(annotators)}
    for j, item in enumerate(items):
        for annotator, value in grid[item].items():
            c = code(value)
            if c is not None:
                data[a_idx[annotator], j] = c
    return data


def coefficients(data: np.ndarray, *, numeric: bool = False) -> Coefficients:
    """All coefficients of one reliability-data matrix."""
    n_ann = int((~np.isnan(data)).sum())
    n_items = int(((~np.isnan(data)).sum(axis=0) > 0).sum())
    if n_ann == 0:
        return Coefficients(n_items=0, n_annotations=0, percent_agreement=None)
    levels = ("nominal", "ordinal", "interval", "ratio") if numeric else ("nominal",)
    alphas = {lv: _nan_none(ag.krippendorff_alpha(data, level=lv)) for lv in levels}
    return Coefficients(
        n_items=n_items,
        n_annotations=n_ann,
        percent_agreement=_nan_none(ag.percent_agreement(data)),
        cohen_kappa=_nan_none(ag.mean_pairwise_cohen_kappa(data)),
        cohen_kappa_linear=_nan_none(ag.mean_pairwise_cohen_kappa(data, weights="linear")),
        cohen_kappa_quadratic=_nan_none(ag.mean_pairwise_cohen_kappa(data, weights="quadratic")),
        fleiss_kappa=_nan_none(ag.fleiss_kappa(data)),
        krippendorff_alpha=alphas["interval" if numeric else "nominal"],
        krippendorff_alpha_levels=alphas,
        gwet_ac1=_nan_none(ag.gwet_ac1(data)),
    )


def _iou_coefficients(grid, annotators, items, kind) -> Coefficients:
    """Pairwise IoU agreement, plus chance-corrected figures on per-label presence."""
    score = set_iou if kind == "multi" else region_agreement
    per_item = [pairwise_mean(list(grid[i].values()), score) for i in items]
    per_item = [s for s in per_item if not math.isnan(s)]
    n_ann = sum(len(grid[i]) for i in items)
    return Coefficients(
        n_items=len(items),
        n_annotations=n_ann,
        percent_agreement=float(np.mean(per_item)) if per_item else None,
    )


def _labels_in(value: Any) -> set[str]:
    if isinstance(value, list):
        return {lab for v in value for lab in (v.get("labels", []) if isinstance(v, dict) else [v])}
    return set() if value is None else {str(value)}


def _by_label(grid, annotators, items) -> dict[str, Coefficients]:
    labels = sorted({lab for i in items for v in grid[i].values() for lab in _labels_in(v)})
    return {
        lab: coefficients(
            _matrix(grid, annotators, items, lambda v, lab=lab: float(lab in _labels_in(v)))
        )
        for lab in labels
    }


def _code_fn(kind: str, domain: list[Any]):
    if kind == "number":
        return lambda v: None if v is None else float(v)
    index = {d: k for k, d in enumerate(domain)}
    return lambda v: None if choice_value(v) is None else float(index[choice_value(v)])


def _by_annotator(grid, annotators, items, kind) -> dict[str, AnnotatorAgreement]:
    out = {}
    categorical = kind in ("choice", "number")
    score = set_iou if kind == "multi" else region_agreement
    for a in annotators:
        mine, cons, scores = [], [], []
        for i in items:
            if a not in grid[i] or len(grid[i]) < 2:
                continue
            others = [v for b, v in grid[i].items() if b != a]
            if categorical:
                # Consensus = the item's majority over all its annotators; ties have none.
                top = Counter(map(repr, grid[i].values())).most_common(2)
                if len(top) > 1 and top[0][1] == top[1][1]:
                    continue
                consensus = next(v for v in grid[i].values() if repr(v) == top[0][0])
                mine.append(repr(grid[i][a]))
                cons.append(repr(consensus))
                scores.append(float(mine[-1] == cons[-1]))
            else:
                scores.append(float(np.mean([score(grid[i][a], v) for v in others])))
        kappa = ag.cohen_kappa(mine, cons) if len(mine) >= 2 else float("nan")
        out[a] = AnnotatorAgreement(
            n_items=len(scores),
            agreement_with_consensus=float(np.mean(scores)) if scores else None,
            cohen_kappa=_nan_none(kappa),
        )
    return out


_CHANCE_CORRECTED = ("cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "gwet_ac1")


def _macro(base: Coefficients, by_label: dict[str, Coefficients]) -> Coefficients:
    """Chance-corrected figures of an IoU control: the mean over its labels' presence."""
    means = {}
    for name in _CHANCE_CORRECTED:
        vals = [getattr(c, name) for c in by_label.values() if getattr(c, name) is not None]
        means[name] = float(np.mean(vals)) if vals else None
    return replace(base, **means)


def _week(ts: datetime | None) -> str:
    if ts is None:
        return "unknown"
    year, week, _ = ts.isocalendar()
    return f"{year}-W{week:02d}"


def _control_agreement(control: str, rows: Sequence[Judgement], kind: str | None):
    grid: dict[str, dict[str, Any]] = defaultdict(dict)
    first_seen: dict[str, datetime | None] = {}
    for r in rows:
        grid[r.item][r.annotator] = r.value
        seen = first_seen.get(r.item)
        if r.item not in first_seen or (r.created_at and (seen is None or r.created_at < seen)):
            first_seen[r.item] = r.created_at
    kind = kind or infer_kind(r.value for r in rows)
    annotators = sorted({r.annotator for r in rows})
    items = sorted(grid)

    def overall(subset: list[str]) -> Coefficients:
        if kind in ("choice", "number"):
            domain = sorted({choice_value(v) for i in subset for v in grid[i].values()} - {None})
            data = _matrix(grid, annotators, subset, _code_fn(kind, domain))
            return coefficients(data, numeric=kind == "number")
        return _iou_coefficients(grid, annotators, subset, kind)

    weeks: dict[str, list[str]] = defaultdict(list)
    for i in items:
        weeks[_week(first_seen[i])].append(i)
    by_label = _by_label(grid, annotators, items) if kind != "number" else {}
    total = overall(items)
    if kind not in ("choice", "number"):
        total = _macro(total, by_label)
    return ControlAgreement(
        control=control,
        kind=kind,
        n_annotators=len(annotators),
        overall=total,
        by_label=by_label,
        by_annotator=_by_annotator(grid, annotators, items, kind),
        by_week={w: overall(sorted(its)) for w, its in sorted(weeks.items())},
    )


def agreement_report(
    judgements: Iterable[Judgement], *, kinds: dict[str, str] | None = None
) -> AgreementReport:
    """Compute the agreement report of a set of judgements.

    Args:
        judgements: one row per (item, annotator, control); a later row for the same triple
            replaces an earlier one.
        kinds: control name → ``choice | multi | number | span | box`` (from the label schema);
            inferred from the values when missing.

    Example:
        >>> rows = [Judgement(item="1", annotator="a", control="c", value=["pos"]),
        ...         Judgement(item="1", annotator="b", control="c", value=["pos"])]
        >>> agreement_report(rows).controls["c"].overall.percent_agreement
        1.0
    """
    by_control: dict[str, list[Judgement]] = defaultdict(list)
    for j in judgements:
        by_control[j.control].append(j)
    kinds = kinds or {}
    return AgreementReport(
        controls={
            c: _control_agreement(c, rows, kinds.get(c)) for c, rows in sorted(by_control.items())
        }
    )


def project_judgements(cat: Any, project: str) -> tuple[list[Judgement], dict[str, str]]:
    """The current, non-cancelled annotations of a project as judgements, and control kinds."""
    import json as _json

    from curata_labeling import store
    from curata_labeling.schema import get_schema
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    kinds = (
        get_schema(cat, info.schema_name, info.schema_version).kinds if info.schema_version else {}
    )
    state = store.current_state(store.read_events(cat, info.dataset, project=project))
    rows = []
    for r in state.to_pylist():
        if r["was_cancelled"]:
            continue
        item = r["record_id"] or str(r["ls_task_id"])
        for control, value in _json.loads(r["values"] or "{}").items():
            rows.append(
                Judgement(
                    item=item,
                    annotator=r["annotator"] or "?",
                    control=control,
                    value=value,
                    created_at=r["created_at"],
                )
            )
    return rows, kinds


def project_agreement(cat: Any, project: str) -> AgreementReport:
    """The agreement report of a project's current annotations (pull first)."""
    rows, kinds = project_judgements(cat, project)
    return agreement_report(rows, kinds=kinds)
