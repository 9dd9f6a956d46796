"""Snapshot refs: ``NAME``, ``NAME@TAG``, ``NAME@VERSION`` and ``NAME@fp:HEXPREFIX``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from curata.errors import InvalidRefError

_HEX = re.compile(r"[0-9a-f]{4,64}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Ref:
    dataset: str
    kind: Literal["latest", "tag", "version", "fingerprint"]
    value: str = ""

    @property
    def version(self) -> int:
        return int(self.value)

    def __str__(self) -> str:
        if self.kind == "latest":
            return self.dataset
        if self.kind == "fingerprint":
            return f"{self.dataset}@fp:{self.value}"
        return f"{self.dataset}@{self.value}"


def parse_ref(ref: str) -> Ref:
    """Parse a ref string.

    Example:
        >>> parse_ref("reviews@v3")
        Ref(dataset='reviews', kind='tag', value='v3')
    """
    if not ref or ref.count("@") > 1:
        raise InvalidRefError(ref, reason="expected at most one '@'")
    name, _, selector = ref.partition("@")
    if not name:
        raise InvalidRefError(ref, reason="the dataset name is empty")
    if "@" not in ref:
        return Ref(dataset=name, kind="latest")
    if not selector:
        raise InvalidRefError(ref, reason="nothing after '@'")
    if selector.startswith("fp:"):
        prefix = selector[3:].lower()
        if not _HEX.fullmatch(prefix):
            raise InvalidRefError(ref, reason="a fingerprint prefix is 4 to 64 hex digits")
        return Ref(dataset=name, kind="fingerprint", value=prefix)
    if selector.isdigit():
        return Ref(dataset=name, kind="version", value=str(int(selector)))
    return Ref(dataset=name, kind="tag", value=selector)
