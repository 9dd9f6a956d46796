"""Adjudication: one resolved label per item, written back into the records as a new version.

Two strategies for categorical controls: ``majority`` (plurality vote; ties are unresolved) and
``dawid-skene`` (EM over per-annotator confusion matrices, Dawid & Skene 1979), which discounts
annotators who are often wrong or biased. Each resolved item gets its label, a confidence (vote
share or posterior), the number of annotations, the method and the schema version; ties and
items under ``min_agreement`` also go to a review list that can be pushed back to Label Studio.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from curata.errors import UsageError

from curata_labeling import store
from curata_labeling.results import choice_value

Strategy = Literal["majority", "dawid-skene"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolution:
    """The resolved label of one item for one control."""

    record_id: str
    label: str | None
    confidence: float
    n_annotations: int
    needs_review: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveResult:
    project: str
    dataset: str
    strategy: str
    ref: str | None
    version: int | None
    controls: list[str]
    items_resolved: int
    items_for_review: int
    review: list[str]


def majority_vote(labels: list[str]) -> tuple[str | None, float]:
    """The plurality label and its vote share; ``None`` on a tie for first place."""
    top = Counter(labels).most_common(2)
    if not top:
        return None, 0.0
    if len(top) > 1 and top[0][1] == top[1][1]:
        return None, top[0][1] / len(labels)
    return top[0][0], top[0][1] / len(labels)


def dawid_skene(
    data: npt.ArrayLike,
    n_classes: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Dawid–Skene EM on ``(items, annotators)`` class codes (``-1`` = not annotated).

    Returns the ``(items, classes)`` posterior and the ``(annotators, classes, classes)``
    confusion matrices (true class × given class). Initialised with soft majority votes.
    """
    codes = np.asarray(data, dtype=np.int64)
    n_items, n_ann = codes.shape
    # one-hot (items, annotators, classes); missing rows stay zero
    onehot = np.zeros((n_items, n_ann, n_classes))
    ii, aa = np.nonzero(codes >= 0)
    onehot[ii, aa, codes[ii, aa]] = 1.0
    post = onehot.sum(axis=1) + 1e-9
    post /= post.sum(axis=1, keepdims=True)
    for _ in range(max_iter):
        prior = post.mean(axis=0)
        conf = np.einsum("ik,ijl->jkl", post, onehot) + smoothing
        conf /= conf.sum(axis=2, keepdims=True)
        log_post = np.log(prior) + np.einsum("ijl,jkl->ik", onehot, np.log(conf))
        log_post -= log_post.max(axis=1, keepdims=True)
        new = np.exp(log_post)
        new /= new.sum(axis=1, keepdims=True)
        delta = np.abs(new - post).max()
        post = new
        if delta < tol:
            break
    return post, conf


def _votes(state: pa.Table, kinds: dict[str, str]) -> dict[str, dict[str, dict[str, str]]]:
    """control → record id → annotator → label, from the current annotations."""
    votes: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in state.to_pylist():
        if row["was_cancelled"] or not row["record_id"]:
            continue
        for control, value in json.loads(row["values"] or "{}").items():
            if kinds.get(control, "choice") != "choice":
                continue
            label = choice_value(value)
            if label is not None:
                votes[control][row["record_id"]][row["annotator"]] = label
    return votes


def resolve_control(
    items: dict[str, dict[str, str]], *, strategy: Strategy, min_agreement: float = 0.0
) -> list[Resolution]:
    """Resolve one control's votes (record id → annotator → label)."""
    records = sorted(items)
    if strategy == "majority":
        out = []
        for r in records:
            labels = list(items[r].values())
            label, share = majority_vote(labels)
            out.append(
                Resolution(
                    record_id=r,
                    label=label,
                    confidence=share,
                    n_annotations=len(labels),
                    needs_review=label is None or share < min_agreement,
                )
            )
        return out
    if strategy != "dawid-skene":
        raise UsageError(f"Unknown strategy {strategy!r}; use 'majority' or 'dawid-skene'")
    annotators = sorted({a for r in records for a in items[r]})
    classes = sorted({v for r in records for v in items[r].values()})
    a_idx, c_idx = {a: i for i, a in enumerate(annotators)}, {c: i for i, c in enumerate(classes)}
    codes = np.full((len(records), len(annotators)), -1)
    for i, r in enumerate(records):
        for a, v in items[r].items():
            codes[i, a_idx[a]] = c_idx[v]
    post, _ = dawid_skene(codes, len(classes))
    out = []
    for i, r in enumerate(records):
        best = int(post[i].argmax())
        conf = float(post[i, best])
        share = sum(v == classes[best] for v in items[r].values()) / len(items[r])
        out.append(
            Resolution(
                record_id=r,
                label=classes[best],
                confidence=conf,
                n_annotations=len(items[r]),
                needs_review=share < min_agreement or conf < 0.5,
            )
        )
    return out


def _columns(control: str, res: list[Resolution], method: str, version: int) -> dict[str, pa.Array]:
    p = f"label_{control}"
    return {
        p: pa.array([r.label for r in res], pa.string()),
        f"{p}_confidence": pa.array([r.confidence for r in res], pa.float64()),
        f"{p}_n": pa.array([r.n_annotations for r in res], pa.int64()),
        f"{p}_method": pa.array([method] * len(res), pa.string()),
        f"{p}_schema_version": pa.array([version] * len(res), pa.int64()),
    }


def resolve(
    cat: Any,
    project: str,
    *,
    strategy: Strategy = "majority",
    min_agreement: float = 0.0,
) -> ResolveResult:
    """Resolve every categorical control of a project and MERGE the labels into the records.

    The result is a new records version (``cat.update_columns``), so tagging it pins data and
    labels together. Records without annotations are left as they are.

    Example:
        >>> resolve(cat, "sentiment", strategy="dawid-skene", min_agreement=0.7).review[:3]
    """
    from curata_labeling.schema import get_schema
    from curata_labeling.sync import get_project

    info = get_project(cat, project)
    schema = get_schema(cat, info.schema_name, info.schema_version)
    state = store.current_state(store.read_events(cat, info.dataset, project=project))
    votes = _votes(state, schema.kinds)
    if not votes:
        raise UsageError(
            f"Project {project!r} has no categorical annotations to resolve",
            hint=f"Run `curata label pull --project {project}` first",
        )
    per_control = {
        c: resolve_control(v, strategy=strategy, min_agreement=min_agreement)
        for c, v in sorted(votes.items())
    }
    records = sorted({r.record_id for res in per_control.values() for r in res})
    cols: dict[str, pa.Array] = {"_id": pa.array(records, pa.string())}
    for control, res in per_control.items():
        by_id = {r.record_id: r for r in res}
        full = [
            by_id.get(rid)
            or Resolution(
                record_id=rid, label=None, confidence=0.0, n_annotations=0, needs_review=False
            )
            for rid in records
        ]
        cols.update(_columns(control, full, strategy, schema.version))
    snap = cat.update_columns(info.dataset, pa.table(cols), operation="label.resolve")
    review = sorted({r.record_id for res in per_control.values() for r in res if r.needs_review})
    cat.audit(
        "label.resolve",
        dataset=info.dataset,
        details={
            "project": project,
            "strategy": strategy,
            "version": snap.version,
            "review": len(review),
        },
    )
    return ResolveResult(
        project=project,
        dataset=info.dataset,
        strategy=strategy,
        ref=snap.ref,
        version=snap.version,
        controls=list(per_control),
        items_resolved=len(records),
        items_for_review=len(review),
        review=review,
    )
