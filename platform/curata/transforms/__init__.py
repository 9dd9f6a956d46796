"""Curation transforms: deterministic, fingerprinted, cached derivations with lineage.

Example:
    >>> import curata
    >>> from curata.transforms import Pipeline, Filter, Dedup, Split
    >>> cat = curata.connect()
    >>> result = cat.derive("reviews@v3", Pipeline([
    ...     Filter("length(text) >= 20"), Dedup(), Split({"train": 0.8, "val": 0.1, "test": 0.1}),
    ... ]), into="reviews-clean", tag="v1")
    >>> result.status, result.snapshot.ref
    ('committed', 'reviews-clean@v1')
    >>> cat.lineage("reviews-clean@v1").to_dict()
"""

from __future__ import annotations

from curata.transforms.dedup import Dedup, NearDedup
from curata.transforms.derive import DeriveResult, derive
from curata.transforms.errors import (
    DeriveTargetError,
    PipelineError,
    StepFailedError,
    UnhashableStepError,
    UnknownFunctionError,
)
from curata.transforms.fingerprint import TRANSFORM_VERSION, TransformIdentity, identity
from curata.transforms.lineage import LineageEdge, LineageGraph, LineageNode, lineage
from curata.transforms.pipeline import Pipeline, as_pipeline
from curata.transforms.registry import register
from curata.transforms.steps import Apply, Filter, Join, Rename, Sample, Select, Split, Step

__all__ = [
    "TRANSFORM_VERSION",
    "Apply",
    "Dedup",
    "DeriveResult",
    "DeriveTargetError",
    "Filter",
    "Join",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "NearDedup",
    "Pipeline",
    "PipelineError",
    "Rename",
    "Sample",
    "Select",
    "Split",
    "Step",
    "StepFailedError",
    "TransformIdentity",
    "UnhashableStepError",
    "UnknownFunctionError",
    "as_pipeline",
    "derive",
    "identity",
    "lineage",
    "register",
]
