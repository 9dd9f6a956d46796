"""The transform fingerprint: what a derived snapshot is a function of.

``sha256`` of canonical JSON holding the input snapshot fingerprints (source and joined
snapshots, not their refs: a tag or version number that names the same data hits the cache),
the canonical pipeline, the source hash of every Python function it runs, and the versions of
the libraries whose behaviour changes results (Polars, polars-hash for id hashing, datasketch
for near dedup, Curata's fingerprint encoding and this engine's own semantics version).

Nothing here falls back to a random or process-specific value: a step that cannot be hashed
raises ``UnhashableStepError`` naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curata import fingerprint as fp
from curata.transforms.pipeline import Pipeline

if TYPE_CHECKING:
    pass

#: Bump when a step's semantics change (its output for the same input and parameters).
#: 2: ``apply`` gives copies of a record (a repeated ``_id``) each their own system columns,
#: never all those of the first copy in the batch.
TRANSFORM_VERSION = "curata-transform-2"


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformIdentity:
    """Everything the fingerprint hashes, kept for the lineage record."""

    fingerprint: str
    pipeline: list[dict[str, Any]]
    code: dict[str, str]
    libraries: dict[str, str]
    inputs: list[dict[str, Any]]


def libraries(pipeline: Pipeline) -> dict[str, str]:
    import polars as pl

    libs = {"transform": TRANSFORM_VERSION, "polars": pl.__version__,
            "fingerprint": fp.FINGERPRINT_VERSION}
    for step in pipeline.steps:
        libs.update(step.libraries())
    return dict(sorted(libs.items()))


def code_hashes(pipeline: Pipeline) -> dict[str, str]:
    code: dict[str, str] = {}
    for step in pipeline.steps:
        code.update(step.code())
    return dict(sorted(code.items()))


def identity(pipeline: Pipeline, inputs: list[dict[str, Any]]) -> TransformIdentity:
    """Fingerprint ``pipeline`` applied to ``inputs`` (``role``, ``ref``, ``fingerprint``…).

    Raises:
        UnhashableStepError: a step's code or parameters cannot be hashed.
    """
    canonical = pipeline.canonical()
    code = code_hashes(pipeline)
    libs = libraries(pipeline)
    payload = {
        "transform": TRANSFORM_VERSION,
        "inputs": [{"role": i["role"], "fingerprint": i["fingerprint"],
                    **({"ref": i["ref"]} if i["role"] != "source" else {})} for i in inputs],
        "pipeline": canonical, "code": code, "libraries": libs,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return TransformIdentity(fingerprint=hashlib.sha256(text.encode()).hexdigest(),
                             pipeline=canonical, code=code, libraries=libs, inputs=inputs)
