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

Names are imported on first use (PEP 562): the steps' base modules (``steps``, ``errors``,
``registry``, ``near``) are what ``curata.quality`` builds its steps on, and ``derive`` and
``pipeline`` build on ``curata.quality`` in turn, so importing this package must not load
them all (it would make ``quality → transforms → derive → quality`` a cycle).
"""

import typing as _typing

from curata.lazy import lazy_names as _lazy_names

_LAZY = {
    "Apply": "curata.transforms.steps",
    "Dedup": "curata.transforms.dedup",
    "DeriveResult": "curata.transforms.derivation",
    "DeriveTargetError": "curata.transforms.errors",
    "Filter": "curata.transforms.steps",
    "Join": "curata.transforms.steps",
    "LineageEdge": "curata.transforms.lineage_graph",
    "LineageGraph": "curata.transforms.lineage_graph",
    "LineageNode": "curata.transforms.lineage_graph",
    "NearDedup": "curata.transforms.dedup",
    "Pipeline": "curata.transforms.pipeline",
    "PipelineError": "curata.transforms.errors",
    "Rename": "curata.transforms.steps",
    "Sample": "curata.transforms.steps",
    "Select": "curata.transforms.steps",
    "Split": "curata.transforms.steps",
    "Step": "curata.transforms.steps",
    "StepFailedError": "curata.transforms.errors",
    "TRANSFORM_VERSION": "curata.transforms.fingerprint",
    "TransformIdentity": "curata.transforms.fingerprint",
    "UnhashableStepError": "curata.transforms.errors",
    "UnknownFunctionError": "curata.transforms.errors",
    "as_pipeline": "curata.transforms.pipeline",
    "derive": "curata.transforms.derivation",
    "identity": "curata.transforms.fingerprint",
    "lineage": "curata.transforms.lineage_graph",
    "register": "curata.transforms.registry",
}

if _typing.TYPE_CHECKING:
    from curata.transforms.dedup import Dedup, NearDedup
    from curata.transforms.derivation import DeriveResult, derive
    from curata.transforms.errors import (
        DeriveTargetError,
        PipelineError,
        StepFailedError,
        UnhashableStepError,
        UnknownFunctionError,
    )
    from curata.transforms.fingerprint import TRANSFORM_VERSION, TransformIdentity, identity
    from curata.transforms.lineage_graph import LineageEdge, LineageGraph, LineageNode, lineage
    from curata.transforms.pipeline import Pipeline, as_pipeline
    from curata.transforms.registry import register
    from curata.transforms.steps import Apply, Filter, Join, Rename, Sample, Select, Split, Step


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)


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
