"""Image folders: one record per image with its bytes, format and size.

Images directly under class sub-folders (``root/cat/1.png``) get the sub-folder as ``label``,
like ``torchvision.datasets.ImageFolder`` and HF's ``imagefolder``. Files that Pillow cannot
decode are rejected with their bytes, not skipped.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from PIL import Image, UnidentifiedImageError

from curata_ingest.sources._base import FileSource, ProgressFn, RejectSink, with_locator

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
_BATCH_BYTES = 64 << 20
_BATCH_IMAGES = 1024
SCHEMA = pa.schema(
    [
        ("image", pa.binary()),
        ("format", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("label", pa.string()),
    ]
)


class ImageFolderSource(FileSource):
    """One record per image file under a folder (or glob)."""

    format = "imagefolder"
    extensions = IMAGE_EXTENSIONS
    per_file = True

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        root = self.root()
        rows: list[dict[str, Any]] = []
        size = 0
        for path in self.files():
            with self.fs.open(path, "rb") as fh:
                data = fh.read()
            if progress:
                progress(len(data))
            row = self._row(path, data, root, rejects)
            if row is None:
                continue
            rows.append(row)
            size += len(data)
            if len(rows) >= _BATCH_IMAGES or size >= _BATCH_BYTES:
                yield self._batch(rows)
                rows, size = [], 0
        if rows:
            yield self._batch(rows)

    def _row(self, path: str, data: bytes, root: str, rejects: RejectSink) -> dict[str, Any] | None:
        uri = self.uri(path)
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # decode fully: truncated files fail here, not at training time
                fmt, (width, height) = img.format, img.size
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            reason = "empty_file" if not data else "undecodable_image"
            rejects.add(reason=reason, source=self.name, locator=uri, raw=data, detail=str(exc))
            return None
        rel = posixpath.relpath(path, root) if root else path
        parts = rel.split("/")
        label = parts[-2] if len(parts) >= 2 else None
        row = {"image": data, "format": fmt, "width": width, "height": height, "label": label,
               "_uri": uri}
        if self.path_column:
            row[self.path_column] = rel
        return row

    def _batch(self, rows: list[dict[str, Any]]) -> pa.RecordBatch:
        locators = pa.array([r.pop("_uri") for r in rows], pa.string())
        schema = SCHEMA
        if self.path_column:
            schema = schema.append(pa.field(self.path_column, pa.string()))
        return with_locator(pa.RecordBatch.from_pylist(rows, schema=schema), locators)
