"""License policy: may this mix of licensed records be used for a purpose, and on what terms.

:func:`evaluate` is the one evaluation that ``curata license``, the BOM writers and the export
gate share. It takes record counts per license expression (the ``_license`` column grouped),
evaluates each SPDX expression for the purpose (``OR`` picks the branch with the lightest
terms that permits it, ``AND`` needs every part, ``WITH`` keeps the base license's terms and
reports the exception), and aggregates violations, obligations and conflicts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from license_expression import LicenseSymbol, LicenseWithExceptionSymbol

from curata.errors import LicenseError, UsageError
from curata.governance.licenses import (
    LicenseInfo,
    Purpose,
    canonical_id,
    check_purpose,
    license_info,
    parse_expression,
    render,
)

ObligationKind = Literal[
    "attribution", "share-alike", "weak-copyleft", "no-derivatives", "notice", "use-restrictions"
]
_OBLIGATION_KINDS: tuple[ObligationKind, ...] = (
    "attribution",
    "share-alike",
    "weak-copyleft",
    "no-derivatives",
    "notice",
    "use-restrictions",
)
# How heavy each condition is when an `OR` lets us choose: share-alike binds the whole derived
# dataset, use restrictions bind every downstream user, weak copyleft binds changed records,
# the rest are per-record duties.
_WEIGHT = {
    "share-alike": 8,
    "use-restrictions": 4,
    "weak-copyleft": 3,
    "no-derivatives": 2,
    "attribution": 1,
    "notice": 1,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Obligation:
    """A duty that comes with using the records: credit, share-alike, notice, ...

    Attributes:
        kind: which duty.
        license: the canonical license id that imposes it.
        records: how many records carry it.
        url: the license text.
    """

    kind: ObligationKind
    license: str
    records: int
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseConflict:
    """Licenses whose records cannot be released together under one license.

    Attributes:
        kind: ``share-alike`` (two share-alike families each demand their own license) or
            ``non-commercial`` (a share-alike license that guarantees commercial reuse meets
            records whose license forbids it).
        licenses: the canonical ids involved.
        records: how many records carry those licenses.
        reason: one sentence for a reviewer.
    """

    kind: Literal["share-alike", "non-commercial"]
    licenses: tuple[str, ...]
    records: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpressionVerdict:
    """The evaluation of one license expression of the mix.

    Attributes:
        expression: the expression as given (the ``_license`` value).
        canonical: its canonical SPDX spelling (the given text if it does not parse).
        records: how many records carry it.
        permitted: whether the purpose is permitted (possibly by an override).
        overridden: permitted only because of an explicit ``allow`` entry.
        applied: license ids whose terms apply (the chosen branch of an ``OR``).
        blocking: license ids that forbid the purpose.
        exceptions: ``WITH`` exceptions (they add permissions; terms are the base license's).
        conditions: the conditions of the applied licenses.
        reason: why it is not permitted, or ``""``.
    """

    expression: str
    canonical: str
    records: int
    permitted: bool
    overridden: bool
    applied: tuple[str, ...]
    blocking: tuple[str, ...]
    exceptions: tuple[str, ...]
    conditions: tuple[str, ...]
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseVerdict:
    """May a mix of licensed records be used for a purpose, and on what terms.

    Attributes:
        purpose: ``commercial``, ``research`` or ``internal``.
        allowed: no record's license forbids the purpose (after overrides).
        total_records: records evaluated.
        expressions: one evaluation per distinct license expression, most records first.
        violations: expression -> records whose license forbids the purpose.
        overridden: expression -> records permitted only by an explicit ``allow`` entry.
        obligations: duties that come with the records (attribution, share-alike, ...).
        conflicts: license combinations that cannot be released under one license.
        binding_license: the share-alike license a derived dataset must carry, if any.
    """

    purpose: str
    allowed: bool
    total_records: int
    expressions: tuple[ExpressionVerdict, ...]
    violations: dict[str, int] = field(default_factory=dict)
    overridden: dict[str, int] = field(default_factory=dict)
    obligations: tuple[Obligation, ...] = ()
    conflicts: tuple[LicenseConflict, ...] = ()
    binding_license: str | None = None

    @property
    def releasable(self) -> bool:
        """Whether the records can be released together under one license."""
        return not self.conflicts

    @property
    def attribution(self) -> dict[str, int]:
        """License id -> records whose license requires crediting the source."""
        return self._by_kind("attribution")

    @property
    def share_alike(self) -> dict[str, int]:
        """License id -> records whose license binds the derived dataset."""
        return self._by_kind("share-alike")

    def _by_kind(self, kind: str) -> dict[str, int]:
        return {o.license: o.records for o in self.obligations if o.kind == kind}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["releasable"] = self.releasable
        return out


@dataclass(frozen=True, slots=True)
class _Terms:
    """The result of evaluating one (sub-)expression."""

    permitted: bool
    overridden: bool
    applied: tuple[LicenseInfo, ...]
    blocking: tuple[str, ...]
    exceptions: tuple[str, ...] = ()

    def cost(self) -> tuple[int, int]:
        weight = sum(_WEIGHT.get(c, 0) for info in self.applied for c in info.conditions())
        return (int(self.overridden), weight)


@dataclass(frozen=True, slots=True)
class _Allow:
    ids: frozenset[str]
    expressions: frozenset[str]


def evaluate(
    license_counts: Mapping[str, int] | Mapping[str | None, int],
    purpose: Purpose,
    *,
    allow: Sequence[str] = (),
) -> LicenseVerdict:
    """Evaluate a license mix for a purpose.

    Args:
        license_counts: record count per license expression (the ``_license`` column grouped;
            ``None`` counts as ``unknown``).
        purpose: ``commercial``, ``research`` or ``internal``.
        allow: license ids or whole expressions a person has cleared for this use; they turn
            violations into overrides (callers audit-log them).

    Returns:
        The verdict: ``allowed``, violations, obligations, conflicts.

    Raises:
        InvalidPurposeError: unknown purpose.
        LicenseError: an ``allow`` entry that is not a valid SPDX expression.
        UsageError: a negative count.

    Example:
        >>> v = evaluate({"CC-BY-4.0": 10, "CC-BY-NC-4.0": 2}, "commercial")
        >>> v.allowed, v.violations
        (False, {'CC-BY-NC-4.0': 2})
    """
    check_purpose(purpose)
    allowed = _parse_allow(allow)
    merged: dict[str, int] = defaultdict(int)
    for key, n in license_counts.items():
        # `None` (a null `_license`) is "unknown"; merge so no count is shadowed by another.
        merged["unknown" if key is None else key] += _count(key, n)
    items = sorted(((k, n) for k, n in merged.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))
    results = tuple(_evaluate_expression(k, n, purpose, allowed) for k, n in items)
    applied = [(r, tuple(license_info(i) for i in r.applied)) for r in results]
    return LicenseVerdict(
        purpose=purpose,
        allowed=all(r.permitted for r in results),
        total_records=sum(r.records for r in results),
        expressions=results,
        violations={r.expression: r.records for r in results if not r.permitted},
        overridden={r.expression: r.records for r in results if r.permitted and r.overridden},
        obligations=_obligations(applied),
        conflicts=_conflicts(applied),
        binding_license=_binding_license(applied),
    )


def _count(key: str | None, n: int) -> int:
    if n < 0:
        raise UsageError(f"Negative record count {n} for license {key!r}")
    return n


def _parse_allow(allow: Sequence[str]) -> _Allow:
    if isinstance(allow, str):  # a lone string is one entry, not its characters
        allow = [allow]
    ids, exprs = set(), set()
    for entry in allow:
        tree = parse_expression(entry)
        if isinstance(tree, LicenseSymbol) and not isinstance(tree, LicenseWithExceptionSymbol):
            ids.add(canonical_id(tree.key))
        else:
            exprs.add(render(tree))
    return _Allow(frozenset(ids), frozenset(exprs))


def _evaluate_expression(
    expression: str, records: int, purpose: str, allow: _Allow
) -> ExpressionVerdict:
    given = expression
    try:
        tree = parse_expression(expression)
    except LicenseError as exc:
        # A malformed value is refused, never guessed at: it blocks the purpose by itself.
        return ExpressionVerdict(
            expression=given,
            canonical=given,
            records=records,
            permitted=given in allow.ids,
            overridden=given in allow.ids,
            applied=(),
            blocking=(given,),
            exceptions=(),
            conditions=(),
            reason=f"invalid SPDX expression: {exc.reason}",
        )
    canonical = render(tree)
    terms = _evaluate_tree(tree, purpose, allow)
    if canonical in allow.expressions and not terms.permitted:
        terms = replace(terms, permitted=True, overridden=True)
    conditions = tuple(dict.fromkeys(c for info in terms.applied for c in info.conditions()))
    return ExpressionVerdict(
        expression=given,
        canonical=canonical,
        records=records,
        permitted=terms.permitted,
        overridden=terms.overridden,
        applied=tuple(i.id for i in terms.applied),
        blocking=() if terms.permitted else terms.blocking,
        exceptions=terms.exceptions,
        conditions=conditions,
        reason="" if terms.permitted else _reason(terms, purpose),
    )


def _reason(terms: _Terms, purpose: str) -> str:
    infos = [license_info(b) for b in terms.blocking]
    unknown = [i.id for i in infos if not i.known]
    if unknown:
        return f"needs review before {purpose} use (unknown or custom): {', '.join(unknown)}"
    return f"forbids {purpose} use: {', '.join(i.id for i in infos)}"


def _evaluate_tree(tree: object, purpose: str, allow: _Allow) -> _Terms:
    if isinstance(tree, LicenseWithExceptionSymbol):
        base = _evaluate_symbol(tree.license_symbol.key, purpose, allow)
        return replace(base, exceptions=(tree.exception_symbol.key,))
    if isinstance(tree, LicenseSymbol):
        return _evaluate_symbol(tree.key, purpose, allow)
    branches = [_evaluate_tree(arg, purpose, allow) for arg in tree.args]  # type: ignore[attr-defined]
    if type(tree).__name__ == "AND":
        return _Terms(
            permitted=all(b.permitted for b in branches),
            overridden=any(b.overridden for b in branches),
            applied=tuple(i for b in branches for i in b.applied),
            blocking=tuple(x for b in branches for x in b.blocking),
            exceptions=tuple(x for b in branches for x in b.exceptions),
        )
    permitted = [b for b in branches if b.permitted]
    if permitted:
        return min(permitted, key=_Terms.cost)
    lightest = min(branches, key=_Terms.cost)
    return replace(lightest, blocking=tuple(x for b in branches for x in b.blocking))


def _evaluate_symbol(key: str, purpose: str, allow: _Allow) -> _Terms:
    info = license_info(key)
    if purpose in info.permits:
        return _Terms(True, False, (info,), ())
    if info.id in allow.ids:
        return _Terms(True, True, (info,), ())
    return _Terms(False, False, (info,), (info.id,))


_Applied = list[tuple[ExpressionVerdict, tuple[LicenseInfo, ...]]]


def _obligations(applied: _Applied) -> tuple[Obligation, ...]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    infos: dict[str, LicenseInfo] = {}
    for verdict, licenses in applied:
        for info in dict.fromkeys(licenses):  # one record owes a duty once per license
            infos[info.id] = info
            for kind in info.conditions():
                if kind in _OBLIGATION_KINDS:
                    counts[(kind, info.id)] += verdict.records
    order: dict[str, int] = {k: i for i, k in enumerate(_OBLIGATION_KINDS)}
    return tuple(
        Obligation(kind=kind, license=lic, records=n, url=infos[lic].url)  # type: ignore[arg-type]
        for (kind, lic), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], -kv[1]))
    )


def _family_records(applied: _Applied) -> dict[str, dict[str, int]]:
    """Share-alike family -> license id -> records."""
    families: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for verdict, licenses in applied:
        for info in dict.fromkeys(licenses):
            if info.share_alike and info.family:
                families[info.family][info.id] += verdict.records
    return families


def _conflicts(applied: _Applied) -> tuple[LicenseConflict, ...]:
    families = _family_records(applied)
    conflicts: list[LicenseConflict] = []
    if len(families) > 1:
        ids = tuple(sorted(i for fam in families.values() for i in fam))
        conflicts.append(
            LicenseConflict(
                kind="share-alike",
                licenses=ids,
                records=sum(n for fam in families.values() for n in fam.values()),
                reason="each share-alike license requires derived data under itself: "
                + " vs ".join(sorted(families)),
            )
        )
    nc: dict[str, int] = defaultdict(int)
    for verdict, licenses in applied:
        for info in dict.fromkeys(licenses):
            if info.non_commercial and not info.share_alike:
                nc[info.id] += verdict.records
    for fam in families.values():
        sa_commercial = [i for i in fam if license_info(i).commercial]
        if sa_commercial and nc:
            conflicts.append(
                LicenseConflict(
                    kind="non-commercial",
                    licenses=tuple(sorted(sa_commercial) + sorted(nc)),
                    records=sum(fam[i] for i in sa_commercial) + sum(nc.values()),
                    reason=f"{', '.join(sorted(sa_commercial))} requires derived data to allow "
                    f"commercial reuse, which {', '.join(sorted(nc))} forbids",
                )
            )
    return tuple(conflicts)


def _binding_license(applied: _Applied) -> str | None:
    families = _family_records(applied)
    if len(families) != 1:
        return None
    (ids,) = families.values()
    return max(ids, key=_version_key)


def _version_key(license_id: str) -> tuple[tuple[int, ...], bool]:
    # Newest version wins (CC BY-SA 3.0 adaptations may use 4.0); "-only" beats "-or-later"
    # because a mix containing an "-only" license must stay on that version.
    numbers = tuple(int(x) for x in re.findall(r"\d+", license_id))
    return (numbers, license_id.endswith("-only"))
