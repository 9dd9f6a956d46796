"""License reports for a snapshot, and the license gate that exports go through.

:func:`license_report` answers "may we use this snapshot for this purpose, and whom must we
credit": the mix of licenses and sources with record counts (one lazy Polars group-by over the
pinned version), the policy verdict (:func:`curata.governance.evaluate`) and the credits.
:func:`check_license` is the gate: it raises ``LicenseViolationError`` or, for overrides,
demands a reason and records it in the audit log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from curata.errors import LicenseViolationError, UsageError
from curata.governance.licenses import Purpose, check_purpose, license_info
from curata.governance.policy import LicenseVerdict, evaluate
from curata.license_mix import license_mix as mix

if TYPE_CHECKING:
    from curata.snapshot import Snapshot
    from curata.store import Store


class OverrideReasonRequiredError(UsageError):
    """A license override without the reason the audit log must hold."""

    def __init__(self, ref: str, *, licenses: Sequence[str]) -> None:
        self.ref = ref
        self.licenses = list(licenses)
        super().__init__(
            f"Overriding the license policy for {ref!r} ({', '.join(self.licenses)}) needs a "
            "reason",
            hint="Pass --reason TEXT (it is recorded in the audit log)",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MixEntry:
    """Records of one license from one source."""

    license: str
    source: str
    source_name: str
    records: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRow:
    """What the catalog records about one source."""

    id: str
    name: str
    uri: str | None
    license: str
    attribution: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """A source whose license requires crediting it.

    Attributes:
        source: the source id.
        name: its name.
        attribution: the credit line recorded at ingest, or ``None`` when none was given
            (a gap to fix before release).
        uri: where the data came from.
        licenses: the licenses (of its records) that require attribution.
        records: how many of its records carry them.
    """

    source: str
    name: str
    attribution: str | None
    uri: str | None
    licenses: tuple[str, ...]
    records: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseReport:
    """License mix, credits and the verdict for one snapshot and purpose."""

    ref: str
    dataset: str
    version: int
    fingerprint: str
    purpose: str
    total_records: int
    mix: tuple[MixEntry, ...]
    credits: tuple[Credit, ...]
    verdict: LicenseVerdict

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "verdict"}
        out["allowed"] = self.allowed
        out["verdict"] = self.verdict.to_dict()
        return out


def license_mix(snap: Snapshot) -> list[tuple[str | None, str | None, int]]:
    """``(license, source id, records)`` per license and source, most records first.

    Reads the ``_license`` and ``_source`` columns of every file and no other: a verdict
    releases data, so a missing or corrupt file fails it (``SnapshotDataError``, exit 4)
    rather than being counted from the Delta log as previews do (:mod:`curata.license_mix`).
    """
    return mix(snap, from_log=False)


def source_rows(store: Store, ids: Sequence[str]) -> dict[str, SourceRow]:
    """The catalog's source records for these ids (missing ids are simply absent)."""
    return {
        sid: SourceRow(id=sid, name=r.name, uri=r.uri or None, license=r.license,
                       attribution=r.attribution or None)
        for sid, r in store.sources(ids).items()
    }


def license_report(
    store: Store,
    snap: Snapshot,
    purpose: Purpose = "commercial",
    *,
    allow: Sequence[str] = (),
) -> LicenseReport:
    """The license mix of a snapshot with obligations, conflicts, credits and the verdict.

    Args:
        store: the catalog's store (``Catalog.store``): source records.
        snap: the pinned snapshot (``Catalog.snapshot("reviews@v3")``).
        purpose: ``commercial``, ``research`` or ``internal``.
        allow: license ids or expressions cleared for this use (nothing is recorded here:
            a report releases nothing; :func:`check_license` audits overrides).

    Example:
        >>> report = license_report(cat.store, cat.snapshot("reviews@v3"), "commercial")  # doctest: +SKIP
        >>> report.allowed, report.verdict.violations
    """
    check_purpose(purpose)
    raw = license_mix(snap)
    sources = source_rows(store, sorted({s for _, s, _ in raw if s is not None}))
    mix = tuple(
        MixEntry(
            license=lic or "unknown",
            source=src or "unknown",
            source_name=sources[src].name if src in sources else (src or "unknown"),
            records=n,
        )
        for lic, src, n in raw
    )
    counts: dict[str, int] = defaultdict(int)
    for entry in mix:
        counts[entry.license] += entry.records
    verdict = evaluate(counts, purpose, allow=allow)
    return LicenseReport(
        ref=snap.ref,
        dataset=snap.dataset,
        version=snap.version,
        fingerprint=snap.fingerprint,
        purpose=purpose,
        total_records=sum(counts.values()),
        mix=mix,
        credits=_credits(mix, sources, verdict),
        verdict=verdict,
    )


def _credits(
    mix: Sequence[MixEntry], sources: Mapping[str, SourceRow], verdict: LicenseVerdict
) -> tuple[Credit, ...]:
    needs = {
        e.expression: tuple(a for a in e.applied if license_info(a).attribution)
        for e in verdict.expressions
    }
    by_source: dict[str, tuple[set[str], int]] = {}
    for entry in mix:
        licenses = needs.get(entry.license, ())
        if not licenses:
            continue
        held, n = by_source.get(entry.source, (set(), 0))
        by_source[entry.source] = (held | set(licenses), n + entry.records)
    out = []
    for sid, (held_licenses, n) in by_source.items():
        row = sources.get(sid)
        out.append(
            Credit(
                source=sid,
                name=row.name if row else sid,
                attribution=row.attribution if row else None,
                uri=row.uri if row else None,
                licenses=tuple(sorted(held_licenses)),
                records=n,
            )
        )
    return tuple(sorted(out, key=lambda c: (-c.records, c.source)))


def check_license(
    store: Store,
    snap: Snapshot,
    purpose: Purpose,
    *,
    allow: Sequence[str] = (),
    reason: str | None = None,
    action: str = "export",
) -> LicenseReport:
    """The license gate: pass, refuse, or pass with an audited override.

    Args:
        store: the catalog's store (the override is audited there).
        snap: the snapshot about to be used or released.
        purpose: the purpose declared for it.
        allow: license ids or expressions a person clears for this use.
        reason: why; required when ``allow`` actually overrides something.
        action: what the gate guards (recorded with the override), e.g. ``export``.

    Returns:
        The report (``allowed`` is true).

    Raises:
        LicenseViolationError: records whose license forbids the purpose remain.
        OverrideReasonRequiredError: an override without a reason.
    """
    report = license_report(store, snap, purpose, allow=allow)
    verdict = report.verdict
    if not verdict.allowed:
        bad = set(verdict.violations)
        names = sorted({m.source_name for m in report.mix if m.license in bad})
        raise LicenseViolationError(
            report.ref, purpose=purpose, violations=verdict.violations, sources=names
        )
    if verdict.overridden:
        if not (reason and reason.strip()):
            raise OverrideReasonRequiredError(report.ref, licenses=list(verdict.overridden))
        store.audit(
            "license.override",
            dataset=report.dataset,
            details={
                "ref": report.ref,
                "version": report.version,
                "fingerprint": report.fingerprint,
                "purpose": purpose,
                "for": action,
                "allow": list(allow),
                "overridden": dict(verdict.overridden),
                "reason": reason.strip(),
            },
        )
    return report
