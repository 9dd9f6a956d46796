"""The shards of one export: their names, and the set that rotates them per split by size or
by count (``ShardSet``). Shared by the local engine (``curata.export.writer``) and the Ray
engine's write tasks (``curata.export.ray``), so both cut shards the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from curata.export.manifest import ShardInfo
from curata.export.options import ExportOptions
from curata.export.publish import Staging
from curata.export.samples import EncodedBatch, Field, KeyState, encode_batch
from curata.export.selection import Census
from curata.export.tar import BLOCK, RECORD, TarShardWriter


def shard_name(options: ExportOptions, split: str, index: int) -> str:
    """``NAME-000000.tar``, or ``NAME-<split>-000000.tar`` with ``split_by``."""
    middle = f"-{split}" if options.split_by is not None else ""
    return f"{options.name}{middle}-{index:06d}.tar"


@dataclass(slots=True, kw_only=True)
class OpenShard:
    """The shard being written for one split."""

    index: int
    name: str
    stream: Any
    writer: TarShardWriter
    limit: int | None  # samples this shard takes (shard_count mode), else None


@dataclass(slots=True, kw_only=True)
class ShardSet:
    """Rotates shards per split by size or by count and collects their ShardInfo.

    With ``planned`` (the Ray engine's tasks) every shard takes the number of samples the
    driver planned for it; ``next_index`` and ``last_key`` then start where the plan says.
    """

    options: ExportOptions
    census: Census | None
    staging: Staging
    open: dict[str, OpenShard] = field(default_factory=dict)
    done: list[ShardInfo] = field(default_factory=list)
    next_index: dict[str, int] = field(default_factory=dict)
    last_key: dict[str, KeyState | None] = field(default_factory=dict)
    planned: dict[tuple[str, int], int] | None = None  # (split, index) -> samples

    def shard_name(self, split: str, index: int) -> str:
        return shard_name(self.options, split, index)

    def _count_limit(self, split: str, index: int) -> int | None:
        if self.planned is not None:
            return self.planned[(split, index)]
        if self.options.shard_count is None or self.census is None:
            return None
        n = self.census.splits[split]
        count = max(1, min(self.options.shard_count, n))
        return (index + 1) * n // count - index * n // count

    def _start(self, split: str) -> OpenShard:
        index = self.next_index.get(split, 0)
        self.next_index[split] = index + 1
        name = self.shard_name(split, index)
        stream = self.staging.open(name)
        shard = OpenShard(index=index, name=name, stream=stream, writer=TarShardWriter(stream),
                      limit=self._count_limit(split, index))
        self.open[split] = shard
        return shard

    def add(self, split: str, batch: pa.RecordBatch, fields: Sequence[Field]) -> None:
        """Write the rows of ``batch`` (all of ``split``), rotating shards as they fill."""
        enc = encode_batch(batch, fields, self.last_key.get(split))
        row = 0
        while row < enc.num_rows:
            shard = self.open.get(split) or self._start(split)
            take = self._fits(shard, enc, row)
            if take == 0:
                self._finish(split)
                continue
            a, b = int(enc.member_start[row]), int(enc.member_start[row + take])
            shard.writer.add_members(enc.names[a:b], enc.payloads[a:b], enc.sizes[a:b], take)
            row += take
        self.last_key[split] = enc.last

    def _fits(self, shard: OpenShard, enc: EncodedBatch, row: int) -> int:
        """How many rows from ``row`` on still go into ``shard``."""
        w = shard.writer
        if shard.limit is not None:
            return min(enc.num_rows - row, shard.limit - w.samples)
        ends = w.size + np.cumsum(enc.row_bytes[row:])
        ends += 2 * BLOCK  # end-of-archive blocks, then padding to whole records
        ends += -ends % RECORD
        take = int(np.count_nonzero(ends <= self.options.shard_size))  # ends only grow
        return take if take or w.samples else 1  # a sample bigger than a shard gets its own

    def _finish(self, split: str) -> None:
        shard = self.open.pop(split)
        sha = shard.writer.close()
        shard.stream.close()
        self.done.append(ShardInfo(name=shard.name, split=split, samples=shard.writer.samples,
                                   bytes=shard.writer.size, sha256=sha))

    def abort(self) -> None:
        """Stop every open shard after an error; their temp files are discarded next."""
        for shard in self.open.values():
            try:
                shard.writer.abort()
            finally:
                shard.stream.close()
        self.open = {}

    def close(self) -> tuple[ShardInfo, ...]:
        for split in sorted(self.open):
            self._finish(split)
        return tuple(sorted(self.done, key=lambda s: (s.split, s.name)))


__all__ = ["OpenShard", "ShardSet", "shard_name"]
