"""Every Curata error pickles round-trip with its fields and message (Ray ships errors between
processes), and has an exit code of its family."""

from __future__ import annotations

import inspect
import pickle
import typing
from collections.abc import Iterator

import curata.errors as errors

# Members that define more errors register them on import.
import curata.export.errors  # noqa: F401
import curata.transforms.errors  # noqa: F401
import curata_ingest  # noqa: F401
import curata_labeling  # noqa: F401
import pytest


def _all(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all(sub)


def _sample(annotation: object, name: str) -> object:
    text = str(annotation)
    if text.startswith(("list", "typing.Sequence", "collections.abc.Sequence", "Sequence")):
        return [1, 2] if "int" in text else ["a", "b"]
    if "int" in text and "str" not in text:
        return 3
    if "float" in text:
        return 0.25
    if "bool" in text:
        return True
    if "dict" in text or "Mapping" in text:
        if "list" in text or "Sequence" in text:
            return {"choice": ["old", "older"]}
        return {"CC-BY-NC-4.0": 2} if "int" in text else {"key": "value"}
    if "Sequence" in text or "list" in text or "Iterable" in text:
        return ["a", "b"]
    return f"{name}-value"


def _make(cls: type) -> object:
    sig = inspect.signature(cls.__init__)
    hints = typing.get_type_hints(cls.__init__) if cls.__init__ is not object.__init__ else {}
    args, kwargs = [], {}
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        value = _sample(hints.get(p.name, p.annotation), p.name)
        if p.kind == p.KEYWORD_ONLY:
            if p.default is p.empty or p.name in ("reason", "hint"):
                kwargs[p.name] = value
        else:
            args.append(value)
    return cls(*args, **kwargs)


ERRORS = sorted({c for c in _all(errors.CurataError)}, key=lambda c: c.__qualname__)


def test_the_hierarchy_is_found() -> None:
    names = {c.__name__ for c in ERRORS}
    assert {"TagExistsError", "LicenseViolationError", "CommitConflictError",
            "StepFailedError", "SourceLicenseChangedError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_error_pickles_round_trip(cls: type) -> None:
    exc = _make(cls)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc)
    assert back.to_dict() == exc.to_dict()  # type: ignore[attr-defined]
    assert back.exit_code == exc.exit_code in (1, 2, 3, 4, 5, 6, 7)  # type: ignore[attr-defined]
