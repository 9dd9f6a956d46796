"""PyTorch adapters (optional extra ``curata[torch]``).

``TorchWebDataset`` makes a :class:`~curata.export.loader.WebDatasetLoader` an
``IterableDataset``; each DataLoader worker reads its own shards. ``StatefulDataLoader`` is a
``DataLoader`` that checkpoints: its ``state_dict()`` records, per worker stream, how many
samples the training loop has actually received (samples prefetched by workers but not yet
yielded are not counted), so ``load_state_dict()`` resumes with exactly the unseen samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch.utils.data import DataLoader, IterableDataset

from curata.export.loader import WebDatasetLoader


class TorchWebDataset(IterableDataset):
    """A ``torch.utils.data.IterableDataset`` over an export's samples.

    Args:
        loader: what ``snapshot.webdataset(...)`` or ``open_webdataset(path)`` returns.
    """

    def __init__(self, loader: WebDatasetLoader) -> None:
        super().__init__()
        self.loader = loader

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.loader)

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loader.load_state_dict(state)


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Batch sample dicts: numbers become tensors, equal-shape tensors are stacked, anything
    else (text, bytes, dicts, images, ``None``) stays a list."""
    batch: dict[str, Any] = {}
    for key in samples[0]:
        values = [s.get(key) for s in samples]
        first = values[0]
        if all(isinstance(v, bool) for v in values):
            batch[key] = torch.tensor(values, dtype=torch.bool)
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            batch[key] = torch.tensor(values, dtype=torch.int64)
        elif all(isinstance(v, float) for v in values):
            batch[key] = torch.tensor(values, dtype=torch.float64)
        elif isinstance(first, torch.Tensor) and all(
            isinstance(v, torch.Tensor) and v.shape == first.shape for v in values
        ):
            batch[key] = torch.stack(cast(list[torch.Tensor], values))
        else:
            batch[key] = values
    return batch


class StatefulDataLoader(DataLoader):
    """A ``DataLoader`` over a :class:`TorchWebDataset` with ``state_dict``/``load_state_dict``.

    Batches must keep the ``__stream__`` and ``__pos__`` entries of the samples (the default
    :func:`collate` does). Resume with the same ``num_workers``, seed and world size.

    Example:
        >>> ds = curata.load("images@v2").webdataset(shard_count=32, shuffle=True).torch()
        >>> dl = StatefulDataLoader(ds, batch_size=64, num_workers=4)
        >>> for step, batch in enumerate(dl):
        ...     if step == 100:
        ...         torch.save(dl.state_dict(), "ckpt.pt")
    """

    def __init__(self, dataset: TorchWebDataset, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("collate_fn", collate)
        super().__init__(dataset, *args, **kwargs)
        self._source = dataset
        self._consumed: dict[str, int] = {}

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]  # a generator over batches
        loader = self._source.loader
        self._consumed = dict(loader._resume)  # positions resumed from
        batches = super().__iter__()  # workers (or the in-process iterator) take the positions
        loader._resume = {}  # ... once: the next epoch starts from the beginning
        for batch in batches:
            self._track(batch)
            yield batch
        # a finished epoch: nothing left to resume
        self._consumed = {}

    def _track(self, batch: Any) -> None:
        streams, positions = batch["__stream__"], batch["__pos__"]
        if isinstance(streams, str):  # batch_size=None: one sample per batch
            streams, positions = [streams], [positions]
        for stream, pos in zip(streams, positions, strict=True):
            pos = int(pos) + 1
            if pos > self._consumed.get(stream, 0):
                self._consumed[stream] = pos

    def state_dict(self) -> dict[str, Any]:
        state = self._source.state_dict()
        state["positions"] = dict(self._consumed)
        state["num_workers"] = self.num_workers
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._source.load_state_dict(state)
        self._consumed = dict(state["positions"])
