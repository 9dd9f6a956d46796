"""One error hierarchy for Curata, rooted at :class:`CurataError`.

Every error carries structured fields and builds its own message: what failed, the offending
value, what is valid, and the command to run next. Library code raises these; only the CLI
and the UI turn them into exit codes and friendly text (see ``curata_ingest.cli._errors``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar


def preview_items(items: Iterable[Any], limit: int = 10) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:limit])
    if len(items) > limit:
        shown += f", … ({len(items) - limit} more)"
    return shown or "none"


class CurataError(Exception):
    """Root of all Curata errors.

    Attributes:
        hint: the next command or action that helps, or ``None``.
        exit_code: the CLI exit status for this family (documented in ``curata --help``).
    """

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}. {hint}")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every error records the arguments it was made with, so that it pickles (Ray ships
        errors between processes; an exception with keyword-only fields does not pickle by
        itself: ``BaseException.__reduce__`` replays only ``args``)."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def recording(self: CurataError, *args: Any, **kw: Any) -> None:
            if "_made_with" not in vars(self):  # the outermost __init__ is the one to replay
                self._made_with = (args, kw)
            init(self, *args, **kw)

        cls.__init__ = recording  # type: ignore[method-assign]

    def __reduce__(self) -> tuple[Any, ...]:
        args, kw = vars(self).get("_made_with", ((self.message,), {"hint": self.hint}))
        return (_rebuild, (type(self), args, kw), None)

    def to_dict(self) -> dict[str, Any]:
        fields = {
            k: v for k, v in vars(self).items()
            if k not in {"message", "hint"} and not k.startswith("_") and _jsonable(v)
        }
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint, **fields}


def _rebuild(cls: type[CurataError], args: tuple[Any, ...], kw: dict[str, Any]) -> CurataError:
    return cls(*args, **kw)


def _jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None), list, tuple, dict))


# --- not found (exit 3) -------------------------------------------------------------------------


class NotFoundError(CurataError):
    exit_code = 3


class DatasetNotFoundError(NotFoundError):
    def __init__(self, dataset: str, *, available: Sequence[str] = ()) -> None:
        self.dataset = dataset
        self.available = list(available)
        super().__init__(
            f"Dataset {dataset!r} not found (available: {preview_items(self.available)})",
            hint="Run `curata datasets` to list datasets",
        )


class SnapshotNotFoundError(NotFoundError):
    def __init__(self, ref: str, *, reason: str = "", available: Sequence[str] = ()) -> None:
        self.ref = ref
        self.reason = reason
        self.available = list(available)
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"Snapshot {ref!r} not found{detail} (available: {preview_items(self.available)})",
            hint=f"Run `curata versions {ref.split('@', 1)[0]}` to list versions and tags",
        )


# --- bad input from the user (exit 2) ------------------------------------------------------------


class UsageError(CurataError):
    exit_code = 2


class InvalidRefError(UsageError):
    def __init__(self, ref: str, *, reason: str) -> None:
        self.ref = ref
        self.reason = reason
        super().__init__(
            f"Invalid ref {ref!r}: {reason}",
            hint="Refs look like NAME, NAME@TAG, NAME@VERSION or NAME@fp:HEXPREFIX",
        )


class InvalidNameError(UsageError):
    def __init__(self, kind: str, name: str, *, rule: str) -> None:
        self.kind = kind
        self.name = name
        self.rule = rule
        super().__init__(f"Invalid {kind} name {name!r}: {rule}")


class AmbiguousColumnError(UsageError):
    """An option needs one column and the data has several candidates: name one."""

    def __init__(self, what: str, *, columns: Sequence[str], option: str) -> None:
        self.what = what
        self.columns = list(columns)
        self.option = option
        super().__init__(
            f"{what} needs one column and the data has several: {preview_items(self.columns)}",
            hint=f"Pass {option} NAME with one of them",
        )


class LicenseError(UsageError):
    """An SPDX license expression that is invalid or unknown."""

    def __init__(self, license: str, *, reason: str, suggestions: Sequence[str] = ()) -> None:
        self.license = license
        self.reason = reason
        self.suggestions = list(suggestions)
        hint = (
            f"Did you mean {' or '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else "Use an SPDX expression such as 'CC-BY-4.0', 'LicenseRef-…' or, explicitly, 'unknown'"
        )
        super().__init__(f"Invalid license {license!r}: {reason}", hint=hint)


class SchemaMismatchError(UsageError):
    def __init__(self, dataset: str, *, reason: str, columns: Sequence[str] = ()) -> None:
        self.dataset = dataset
        self.reason = reason
        self.columns = list(columns)
        super().__init__(
            f"Data does not match the schema of dataset {dataset!r}: {reason}",
            hint="Pass schema_evolution='merge' (CLI: --schema-evolution merge) to add new columns",
        )


# --- integrity (exit 4) --------------------------------------------------------------------------


class IntegrityError(CurataError):
    exit_code = 4


class FingerprintMismatchError(IntegrityError):
    def __init__(self, ref: str, *, expected: str, actual: str) -> None:
        self.ref = ref
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Snapshot {ref!r} has fingerprint {actual} but {expected} was expected",
            hint=f"Run `curata verify {ref}` to check its files, or load the ref that was pinned",
        )


class FingerprintError(IntegrityError):
    """A value that cannot be fingerprinted (never replaced by something random)."""

    def __init__(self, column: str, *, type: str, reason: str) -> None:
        self.column = column
        self.type = type
        self.reason = reason
        super().__init__(f"Cannot fingerprint column {column!r} of type {type}: {reason}")


class SnapshotDataError(IntegrityError):
    """A data file of a pinned snapshot is missing or unreadable (moved, deleted, corrupted)."""

    def __init__(self, ref: str, *, reason: str, path: str | None = None) -> None:
        self.ref = ref
        self.reason = reason
        self.path = path
        where = f" ({path})" if path else ""
        super().__init__(
            f"Snapshot {ref!r} cannot be read{where}: {reason}",
            hint=f"Run `curata verify {ref}` to check every file",
        )


class VerifyError(IntegrityError):
    """A snapshot failed ``verify()``; ``report`` is its ``VerifyReport.to_dict()`` (``curata
    verify --json`` prints it with the error's fields)."""

    def __init__(self, ref: str, *, problems: Sequence[str],
                 report: dict[str, Any] | None = None) -> None:
        self.ref = ref
        self.problems = list(problems)
        self.report = dict(report or {})
        super().__init__(
            f"Snapshot {ref!r} failed verification: {preview_items(self.problems, 5)}",
            hint=f"Run `curata verify {ref} --json` for details",
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        return {**out.pop("report"), **out}


# --- conflicts (exit 5) --------------------------------------------------------------------------


class ConflictError(CurataError):
    exit_code = 5


class TagExistsError(ConflictError):
    def __init__(self, dataset: str, tag: str, *, version: int, requested: int) -> None:
        self.dataset = dataset
        self.tag = tag
        self.version = version
        self.requested = requested
        super().__init__(
            f"Tag {dataset}@{tag} already points to version {version}; tags are immutable",
            hint=f"Run `curata tag {dataset} {tag} --version {requested} --force` to move it "
            "(audit-logged)",
        )


class CommitConflictError(ConflictError):
    def __init__(self, dataset: str, *, attempts: int, reason: str) -> None:
        self.dataset = dataset
        self.attempts = attempts
        self.reason = reason
        super().__init__(
            f"Could not commit to dataset {dataset!r} after {attempts} attempts: {reason}",
            hint="Nothing was committed; run the command again",
        )


class CatalogTooNewError(ConflictError):
    """The catalog was migrated by a newer Curata than this one."""

    def __init__(self, url: str, *, current: str, known: Sequence[str]) -> None:
        self.url = url
        self.current = current
        self.known = list(known)
        super().__init__(
            f"Catalog at {url} is at schema revision {current!r}, newer than this Curata knows "
            f"(up to {self.known[-1] if self.known else 'none'})",
            hint="Upgrade Curata (pip install -U curata) to use this catalog")


class SourceLicenseChangedError(ConflictError):
    """A source is ingested again under another license than the one its records carry."""

    def __init__(self, dataset: str, source: str, *, recorded: str, requested: str) -> None:
        self.dataset = dataset
        self.source = source
        self.recorded = recorded
        self.requested = requested
        super().__init__(
            f"Source {source!r} of dataset {dataset!r} is licensed {recorded}, this run says "
            f"{requested}; nothing was written",
            hint="Run it again with --relicense (Python: relicense=True) to give its records "
            "the new license as a new version (audit-logged), or with --source-name NAME to "
            "ingest it as another source",
        )


class CatalogSchemaError(ConflictError):
    """The catalog database schema is older (or newer) than this version of Curata."""

    def __init__(self, url: str, *, current: str | None, expected: str) -> None:
        self.url = url
        self.current = current
        self.expected = expected
        super().__init__(
            f"Catalog at {url} is at schema revision {current or 'none'}, "
            f"this Curata needs {expected}",
            hint="Run `curata db upgrade` to migrate it",
        )


# --- policy (exit 6) -----------------------------------------------------------------------------


class PolicyError(CurataError):
    exit_code = 6


class LicenseViolationError(PolicyError):
    def __init__(
        self, ref: str, *, purpose: str, violations: dict[str, int], sources: Sequence[str] = ()
    ) -> None:
        self.ref = ref
        self.purpose = purpose
        self.violations = dict(violations)
        self.sources = list(sources)
        listed = ", ".join(f"{lic} ({n} records)" for lic, n in self.violations.items())
        super().__init__(
            f"Snapshot {ref!r} holds records whose license forbids {purpose} use: {listed}"
            + (f" from sources {preview_items(self.sources)}" if self.sources else ""),
            hint="Filter them out, or override with --allow-license ID --reason TEXT (audit-logged)",
        )


class RejectRatioError(PolicyError):
    def __init__(self, dataset: str, *, ratio: float, limit: float, rejected: int,
                 reasons: dict[str, int] | None = None) -> None:
        self.dataset = dataset
        self.ratio = ratio
        self.limit = limit
        self.rejected = rejected
        self.reasons = dict(reasons or {})
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        super().__init__(
            f"Ingest into {dataset!r} rejected {rejected} rows ({ratio:.1%}"
            + (f": {why}" if why else "") + f"), above the limit {limit:.1%}; nothing was "
            "committed",
            hint=f"Run `curata rejects {dataset}` to inspect (a wrong --format, --delimiter or "
            "--encoding?), or pass --max-reject-ratio 1 to keep what parses",
        )


# --- external systems (exit 7) -------------------------------------------------------------------


class ExternalError(CurataError):
    exit_code = 7


class SourceError(ExternalError):
    def __init__(self, source: str, *, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"Cannot read source {source!r}: {reason}")


class CatalogUnavailableError(ExternalError):
    """The catalog database cannot be reached or read (down, unreachable, not a database)."""

    def __init__(self, url: str, *, reason: str, hint: str | None = None) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"Catalog {url} cannot be used: {reason}",
            hint=hint or "Check CURATA_CATALOG_URL (or CURATA_HOME) and that the database is up")


class StorageError(ExternalError):
    def __init__(self, uri: str, *, reason: str) -> None:
        self.uri = uri
        self.reason = reason
        super().__init__(f"Storage error at {uri}: {reason}")


# Input that is missing or in a format Curata cannot read is a source problem too: code that
# catches `SourceError` keeps working, while the CLI exits 3 (not found) or 2 (bad input).


class SourceNotFoundError(NotFoundError, SourceError):
    """An input path, file or table that does not exist (also a ``SourceError``)."""

    def __init__(self, source: str, *, reason: str = "no such file or directory") -> None:
        self.source = source
        self.reason = reason
        CurataError.__init__(
            self, f"Source {source!r} not found: {reason}",
            hint="Check the path (quote globs so the shell does not expand them)")


class CorruptInputError(UsageError, SourceError):
    """An input file that cannot be decoded whole: a truncated or corrupt .gz or .zst."""

    def __init__(self, source: str, *, reason: str, offset: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.offset = offset
        at = f" at compressed byte {offset}" if offset is not None else ""
        CurataError.__init__(
            self, f"Cannot read {source!r}{at}: {reason}; nothing was committed",
            hint="Fetch the file again (or leave it out) and run the command again")


class UnsupportedFormatError(UsageError, SourceError):
    """Input whose format Curata cannot detect or does not read (also a ``SourceError``)."""

    def __init__(self, source: str, *, reason: str, valid: Sequence[str] = ()) -> None:
        self.source = source
        self.reason = reason
        self.valid = list(valid)
        CurataError.__init__(
            self, f"Cannot read {source!r}: {reason}",
            hint=f"Pass --format ({', '.join(self.valid)})" if self.valid else None)


class LabelStudioError(ExternalError):
    def __init__(self, url: str, *, reason: str, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(
            f"Label Studio at {url} failed: {reason}",
            hint="Check LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, then run the command again",
        )
