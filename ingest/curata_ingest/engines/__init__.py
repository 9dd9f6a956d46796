"""Execution engines for ingest: ``local`` (in process, the default) and ``ray`` (Ray Data).

Both produce the same snapshot (same fingerprint) from the same input; pick with
``ingest --engine ray`` or ``curata_ingest.ingest(..., engine="ray")``.
"""
