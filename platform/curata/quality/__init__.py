"""Curation quality toolkit: language, heuristic quality rules, personal data, benchmark
decontamination, image near-duplicates, split leakage and snapshot statistics.

The steps plug into ``curata derive`` pipelines (``language``, ``quality``, ``pii``,
``decontaminate``, ``near_dedup`` with ``method: phash``); ``leakage`` and ``stats`` read a
pinned snapshot. Needs the ``quality`` extra (``pip install 'curata[quality]'``).

Example:
    >>> from curata.transforms import Pipeline
    >>> from curata.quality import Language, Quality, Pii
    >>> cat.derive("web@v1", Pipeline([Language(keep=["en"]), Quality(drop=True),
    ...                                Pii(action="redact")]), into="web-clean")
"""

from __future__ import annotations

from curata.quality.decontaminate import Decontaminate
from curata.quality.images import ImageNearDedup
from curata.quality.leakage import LeakagePair, LeakageReport, find_leakage
from curata.quality.stats import SnapshotStats, snapshot_stats
from curata.quality.steps import QUALITY_VERSION, Language, Pii, Quality

__all__ = [
    "QUALITY_VERSION",
    "Decontaminate",
    "ImageNearDedup",
    "Language",
    "LeakagePair",
    "LeakageReport",
    "Pii",
    "Quality",
    "SnapshotStats",
    "find_leakage",
    "snapshot_stats",
]
