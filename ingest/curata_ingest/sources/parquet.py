"""Parquet files, read row group by row group (never a whole file in memory)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from curata_ingest.sources._base import (
    BATCH_ROWS,
    FileSource,
    ProgressFn,
    RejectSink,
    rows_locators,
    with_locator,
)


class ParquetSource(FileSource):
    """One record per Parquet row; a file that is not Parquet is rejected whole."""

    format = "parquet"
    extensions = (".parquet", ".pq")

    def batches(
        self, rejects: RejectSink, progress: ProgressFn | None = None
    ) -> Iterator[pa.RecordBatch]:
        for path in self.files():
            uri = self.uri(path)
            with self.fs.open(path, "rb") as fh:
                try:
                    pf = pq.ParquetFile(fh)
                except (pa.ArrowInvalid, OSError) as exc:
                    fh.seek(0)
                    rejects.add(
                        reason="corrupt_file",
                        source=self.name,
                        locator=uri,
                        raw=fh.read(1024),
                        detail=str(exc),
                    )
                    continue
                if pf.metadata.num_rows == 0:
                    rejects.add(reason="empty_file", source=self.name, locator=uri)
                    continue
                done = 0
                for batch in pf.iter_batches(batch_size=BATCH_ROWS * 8):
                    locators = rows_locators(
                        f"{uri}#row=", range(done + 1, done + 1 + batch.num_rows)
                    )
                    done += batch.num_rows
                    if progress:
                        progress(batch.nbytes)
                    yield with_locator(batch, locators)
