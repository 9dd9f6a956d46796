"""Re-fingerprint versions recorded under an older fingerprint scheme (``curata db upgrade``).

A scheme change (``curata.fingerprint.SCHEMES``) never rewrites a record behind the user's
back: old records keep verifying under the scheme they name. ``curata db upgrade`` calls
:func:`refingerprint` after the schema migrations; it rescans each such version's files, stores
the fingerprint under the current scheme, moves the tags that pin the version to the new value
and writes one ``fingerprint.rescheme`` audit entry per version with the old and new values, so
a script holding an old fingerprint can map it. Versions whose files are gone (vacuumed) stay
under their old scheme and are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyarrow as pa

from curata import fingerprint as fp
from curata.store import Store
from curata.verify import scan_files


@dataclass(frozen=True, slots=True, kw_only=True)
class Refingerprinted:
    dataset: str
    version: int
    scheme_from: str
    scheme_to: str
    fingerprint_from: str
    fingerprint_to: str | None  # None: the version's files could not be read (kept as it was)
    problem: str = ""


def refingerprint(store: Store) -> list[Refingerprinted]:
    """Re-fingerprint every version recorded under an older scheme; returns what changed."""
    return [_one(store, name, version)
            for name, version in store.versions_under_scheme_other_than(fp.FINGERPRINT_VERSION)]


def _one(store: Store, dataset: str, version: int) -> Refingerprinted:
    rec = store.version_record(dataset, version)
    assert rec is not None
    before = Refingerprinted(dataset=dataset, version=version, scheme_from=rec.fp_scheme,
                             scheme_to=fp.FINGERPRINT_VERSION,
                             fingerprint_from=rec.fingerprint, fingerprint_to=None)
    dt = store.delta(dataset, version)
    scan = scan_files(store.table_uri(dataset), dt, store.storage_options)
    if scan.problems:
        return replace(before, problem="; ".join(scan.problems[:3]))
    new = fp.combine(pa.schema(dt.schema().to_arrow()), scan.total)
    store.rescheme(dataset, version, fingerprint=new, row_sum=scan.total.to_json(),
                   scheme=fp.FINGERPRINT_VERSION)
    return replace(before, fingerprint_to=new)
