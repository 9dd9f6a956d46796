"""Adapters from pinned snapshots to distributed engines (``Snapshot.to_ray()``)."""
