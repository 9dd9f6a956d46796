"""Warehouse layout and file access for local folders and object stores."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from curata._util import first_line
from curata.errors import CurataError, StorageError, UsageError

# Every Delta table of a dataset folder (gc vacuums each).
TABLE_KINDS = ("records", "rejects", "annotations", "predictions", "near_duplicates")


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def is_local(uri: str) -> bool:
    return "://" not in uri or uri.startswith("file://")


def filesystem(uri: str, storage_options: dict[str, str] | None = None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path inside it for ``uri``.

    Object-store credentials come from ``storage_options`` or the environment (``AWS_*``),
    never from the catalog.
    """
    opts = {k.lower(): v for k, v in (storage_options or {}).items()}
    if is_local(uri):
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        return pafs.LocalFileSystem(), os.path.abspath(path)
    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a"):
        endpoint = opts.get("aws_endpoint_url") or opts.get("endpoint_url") or os.environ.get(
            "AWS_ENDPOINT_URL"
        )
        kwargs: dict[str, object] = {
            "access_key": opts.get("aws_access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID"),
            "secret_key": opts.get("aws_secret_access_key")
            or os.environ.get("AWS_SECRET_ACCESS_KEY"),
            "region": opts.get("aws_region") or os.environ.get("AWS_REGION") or "us-east-1",
        }
        if endpoint:
            ep = urlparse(endpoint)
            kwargs["endpoint_override"] = ep.netloc or endpoint
            kwargs["scheme"] = ep.scheme or "https"
        return pafs.S3FileSystem(**{k: v for k, v in kwargs.items() if v}), parsed.netloc + parsed.path
    try:  # gs:// (GcsFileSystem), abfs[s]:// (AzureFileSystem), hdfs://; credentials: env
        fs, path = pafs.FileSystem.from_uri(uri)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Schemes pyarrow does not know (az://, gcs://…) go through fsspec (adlfs, gcsfs).
        import fsspec

        fspec, path = fsspec.core.url_to_fs(uri, **(storage_options or {}))
        return pafs.PyFileSystem(pafs.FSSpecHandler(fspec)), path
    return fs, path


# Words in an option's name that mark a credential: deltalake's AWS_SECRET_ACCESS_KEY and
# AZURE_STORAGE_ACCOUNT_KEY, fsspec's key/secret/token, SAS tokens, session tokens. Such options
# never leave the process that read them (no Ray task payload, no catalog row): workers get
# the others and read credentials from their own environment or the provider chain.
SECRET_WORDS = ("key", "secret", "token", "password", "credential", "session", "sas",
                "signature")


def is_secret_option(name: str) -> bool:
    """Whether a storage option of this name may hold a credential."""
    return any(w in str(name).lower() for w in SECRET_WORDS)


def secret_options(options: Mapping[str, Any] | None, prefix: str = "") -> list[str]:
    """Names of the options (``client_kwargs.aws_secret_access_key`` when nested) that may
    hold credentials."""
    out = []
    for k, v in (options or {}).items():
        if is_secret_option(k):
            out.append(prefix + str(k))
        elif isinstance(v, Mapping):
            out += secret_options(v, prefix=f"{prefix}{k}.")
    return out


def public_options(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``options`` without those that may hold credentials (nested mappings too): what may
    travel to Ray workers (endpoint, region, allow-http, addressing style...)."""
    out: dict[str, Any] = {}
    for k, v in (options or {}).items():
        if is_secret_option(k):
            continue
        out[k] = (public_options(v) or {}) if isinstance(v, Mapping) else v
    return out or None


def worker_options(public: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Storage options inside a Ray task: the non-secret ones the driver sent, then this
    worker's own ``CURATA_STORAGE_OPTIONS`` on top (credentials given to the cluster through
    ``runtime_env.env_vars`` or the worker image). ``AWS_*`` and the other providers' variables
    are read from the worker's environment by the file systems themselves."""
    raw = os.environ.get("CURATA_STORAGE_OPTIONS") or "{}"
    try:
        own = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"CURATA_STORAGE_OPTIONS on this worker is not JSON ({exc})",
                         hint="Fix it in the cluster's runtime_env env_vars") from None
    merged = {**(public or {}), **(own if isinstance(own, dict) else {})}
    return merged or None


def delta_storage_options(uri: str, storage_options: dict[str, str] | None) -> dict[str, str] | None:
    """Options for deltalake: plain-HTTP endpoints (e.g. a local S3 server) need AWS_ALLOW_HTTP."""
    opts = dict(storage_options or {})
    if not is_local(uri):
        endpoint = opts.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL", "")
        if endpoint.startswith("http://"):
            opts.setdefault("AWS_ALLOW_HTTP", "true")
    return opts or None


def delta_dataset(dt: object, table_uri: str, storage_options: dict[str, str] | None = None,
                  *, only: set[str] | None = None) -> object:
    """A ``pyarrow.dataset.Dataset`` over the files of a loaded ``DeltaTable`` version.

    Read through pyarrow's own filesystems rather than ``DeltaTable.to_pyarrow_dataset()``:
    delta-rs's Python filesystem handler leaves threads that abort the interpreter at exit
    ("terminate called without an active exception", exit 134; delta-rs #2184, polars
    #24169), which turned successful CLI commands into failures. Curata's tables are
    unpartitioned and never use deletion vectors or column mapping, so the file list and the
    table schema describe a version fully; files written before a column was added are read
    with that column null. ``only``: just these files (paths as the Delta log spells them).
    """
    import pyarrow.dataset as pads

    protocol = dt.protocol()  # type: ignore[attr-defined]
    unsupported = {"deletionVectors", "columnMapping"} & set(protocol.reader_features or ())
    if unsupported or dt.metadata().partition_columns:  # type: ignore[attr-defined]
        return dt.to_pyarrow_dataset()  # type: ignore[attr-defined]  # written by another engine
    schema = pa.schema(dt.schema().to_arrow())  # type: ignore[attr-defined]
    fs, root = filesystem(table_uri, storage_options)
    actions = pa.table(dt.get_add_actions(flatten=False))  # type: ignore[attr-defined]
    paths = [join_uri(root, _unquote(p)) for p in actions.column("path").to_pylist()
             if only is None or p in only]
    return pads.dataset(paths, schema=schema, format="parquet", filesystem=fs)


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


@contextmanager
def storage_errors(uri: str) -> Iterator[None]:
    """Report a storage failure while writing or reading ``uri`` (no permission, a read-only
    or full disk, an unreachable endpoint) as one ``StorageError`` naming it, exit 7: never a
    raw ``OSError`` or a Rust error with its backtrace."""
    from deltalake.exceptions import DeltaError

    try:
        yield
    except CurataError:
        raise
    except (DeltaError, OSError) as exc:
        raise StorageError(uri, reason=first_line(exc) + endpoint_note(uri)) from None


def endpoint_note(uri: str, storage_options: dict[str, str] | None = None) -> str:
    """`` (endpoint URL)`` for an object-store URI with a custom endpoint, else ``""``: the
    place a user must check when the store cannot be reached."""
    if is_local(uri):
        return ""
    opts = {k.lower(): v for k, v in (storage_options or {}).items()}
    endpoint = (opts.get("aws_endpoint_url") or opts.get("endpoint_url")
                or os.environ.get("AWS_ENDPOINT_URL"))
    return f" (endpoint {endpoint})" if endpoint else ""


def fsspec_options(uri: str, options: Mapping[str, Any] | None = None, *,
                   secrets: bool = True) -> dict[str, Any] | None:
    """fsspec (s3fs) options for an ``s3://`` URI from Curata's storage options
    (``CURATA_STORAGE_OPTIONS``, delta-rs' names such as ``aws_endpoint_url``), so that files
    Curata writes outside the warehouse (export shards) go to the same endpoint. Without
    ``secrets``, credentials are left to the environment (``AWS_*``), as on a Ray worker."""
    if urlparse(uri).scheme not in ("s3", "s3a"):
        return None
    opts = {k.lower(): v for k, v in (options or {}).items()}
    endpoint = opts.get("aws_endpoint_url") or opts.get("endpoint_url")
    region = opts.get("aws_region") or opts.get("region")
    out: dict[str, Any] = {}
    client: dict[str, Any] = {}
    if endpoint:
        client["endpoint_url"] = endpoint
    if region:
        client["region_name"] = region
    if client:
        out["client_kwargs"] = client
    if secrets and opts.get("aws_access_key_id"):
        out["key"] = opts["aws_access_key_id"]
        out["secret"] = opts.get("aws_secret_access_key")
        if opts.get("aws_session_token"):
            out["token"] = opts["aws_session_token"]
    return out or None
