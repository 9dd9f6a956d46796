"""A thin Label Studio client over ``label-studio-sdk`` 2.x with bounded retries.

Every call goes through :meth:`LabelStudioClient._call`: transport errors, 429 and 5xx answers
are retried with exponential backoff a bounded number of times, then raised as
:class:`curata.errors.LabelStudioError` naming the server URL (never the API key). Other 4xx
answers are not retried: they fail at once, also as ``LabelStudioError``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from curata.errors import LabelStudioError

T = TypeVar("T")

DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 0.5
DEFAULT_TIMEOUT_S = 120.0
LS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def plain(obj: Any) -> Any:
    """An SDK model (pydantic) or dict as plain JSON-compatible Python data."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", by_alias=False)
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def parse_time(value: Any) -> datetime | None:
    """Label Studio timestamps come as datetimes or ISO strings (with ``Z``); make them UTC."""
    if value is None or value == "":
        return None
    ts = (
        value
        if isinstance(value, datetime)
        else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


class LabelStudioClient:
    """The calls Curata makes to one Label Studio server.

    Args:
        url: server base URL; defaults to ``LABEL_STUDIO_URL``.
        api_key: API token; defaults to ``LABEL_STUDIO_API_KEY``. Never stored or printed.
        retries: attempts after the first one for transient failures.
        backoff_s: first backoff; doubles on each retry.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        from label_studio_sdk import LabelStudio

        self.url = (url or os.environ.get("LABEL_STUDIO_URL") or "").rstrip("/")
        key = api_key or os.environ.get("LABEL_STUDIO_API_KEY")
        if not self.url or not key:
            raise LabelStudioError(
                self.url or "<unset>",
                reason="LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are required",
            )
        self.retries, self.backoff_s = retries, backoff_s
        self._options = {"max_retries": 0, "timeout": timeout_s}
        self._sdk = LabelStudio(base_url=self.url, api_key=key, timeout=timeout_s)

    def __repr__(self) -> str:
        return f"LabelStudioClient(url={self.url!r})"

    # --- retry core ------------------------------------------------------------------------

    def _call(self, what: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
        from label_studio_sdk.core.api_error import ApiError

        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return fn(**kwargs, request_options=self._options)
            except ApiError as exc:
                status = exc.status_code
                transient = status is None or status == 429 or status >= 500
                if not transient or attempt == self.retries:
                    raise LabelStudioError(
                        self.url,
                        reason=f"{what}: HTTP {status} after {attempt + 1} attempt(s)",
                        status=status,
                    ) from exc
            except (httpx.TransportError, json.JSONDecodeError) as exc:
                if attempt == self.retries:
                    raise LabelStudioError(
                        self.url,
                        reason=f"{what}: {type(exc).__name__} after {attempt + 1} attempt(s)",
                    ) from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    # --- projects ----------------------------------------------------------------------------

    def get_project(self, project_id: int) -> dict[str, Any] | None:
        from curata.errors import LabelStudioError as _E

        try:
            return plain(self._call("get project", self._sdk.projects.get, id=project_id))
        except _E as exc:
            if exc.status == 404:
                return None
            raise

    def create_project(self, *, title: str, label_config: str, overlap: int) -> dict[str, Any]:
        return plain(
            self._call(
                "create project",
                self._sdk.projects.create,
                title=title,
                label_config=label_config,
                maximum_annotations=overlap,
            )
        )

    def update_project(self, project_id: int, **fields: Any) -> dict[str, Any]:
        return plain(
            self._call("update project", self._sdk.projects.update, id=project_id, **fields)
        )

    def delete_project(self, project_id: int) -> None:
        self._call("delete project", self._sdk.projects.delete, id=project_id)

    # --- tasks ---------------------------------------------------------------------------------

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> list[int]:
        """Create tasks in one request; return their ids."""
        resp = self._call(
            "import tasks",
            self._sdk.projects.import_tasks,
            id=project_id,
            request=list(tasks),
            return_task_ids=True,
        )
        return list(resp.task_ids or [])

    def _pages(self, what: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        """Page through ``tasks.list`` one retried request per page."""
        page = 1
        while True:
            try:
                pager = self._call(what, self._sdk.tasks.list, page=page, **kwargs)
            except LabelStudioError as exc:
                if exc.status == 404:  # DRF answers 404 past the last page
                    return
                raise
            items = [plain(t) for t in (pager.items or [])]
            if items:
                yield items
            # A short page is the last one (saves the request DRF would answer with 404).
            if len(items) < kwargs.get("page_size", 1) or not getattr(pager, "has_next", False):
                return
            page += 1

    def task_keys(self, project_id: int, key: str, *, page_size: int = 1000) -> dict[str, int]:
        """Map ``data[key]`` → task id for every task of the project."""
        out: dict[str, int] = {}
        for page in self._pages(
            "list tasks",
            project=project_id,
            page_size=page_size,
            fields="task_only",
            include="id,data",
        ):
            for t in page:
                k = (t.get("data") or {}).get(key)
                if k is not None:
                    out[str(k)] = int(t["id"])
        return out

    def task_ids(self, project_id: int, *, page_size: int = 1000) -> set[int]:
        ids: set[int] = set()
        for page in self._pages(
            "list tasks", project=project_id, page_size=page_size, fields="task_only", include="id"
        ):
            ids.update(int(t["id"]) for t in page)
        return ids

    def task_versions(
        self, project_id: int, *, page_size: int = 1000
    ) -> dict[int, datetime | None]:
        """``updated_at`` of every task of the project (a cheap listing without annotations)."""
        out: dict[int, datetime | None] = {}
        for page in self._pages(
            "list tasks",
            project=project_id,
            page_size=page_size,
            fields="task_only",
            include="id,updated_at",
        ):
            out.update({int(t["id"]): parse_time(t.get("updated_at")) for t in page})
        return out

    def export_tasks(
        self, project_id: int, task_ids: Sequence[int], *, chunk: int = 500
    ) -> Iterator[list[dict[str, Any]]]:
        """Tasks with their annotations, through the JSON export endpoint, ``chunk`` ids a call.

        The export serializer is several times faster than the Data Manager list with
        ``fields=all``. The SDK's ``exports.download_sync`` sends ``ids`` where the server
        reads ``ids[]``, so the request goes through the SDK's HTTP client directly.
        """
        http = self._sdk._client_wrapper.httpx_client
        ids = sorted(int(t) for t in task_ids)
        for start in range(0, len(ids), chunk):
            params = {
                "exportType": "JSON",
                "download_all_tasks": "true",
                "ids[]": [str(i) for i in ids[start : start + chunk]],
            }
            resp = self._call(
                "export tasks",
                self._export,
                http=http,
                path=f"api/projects/{project_id}/export",
                params=params,
            )
            yield resp

    @staticmethod
    def _export(*, http: Any, path: str, params: dict[str, Any], request_options: Any) -> Any:
        from label_studio_sdk.core.api_error import ApiError

        response = http.request(path, method="GET", params=params, request_options=request_options)
        if not 200 <= response.status_code < 300:
            raise ApiError(
                status_code=response.status_code, headers=dict(response.headers), body=response.text
            )
        return response.json()

    def users(self) -> dict[int, str]:
        """User id → email (or username) of everyone the token can see."""
        users = self._call("list users", self._sdk.users.list)
        return {int(u.id): (u.email or u.username or str(u.id)) for u in users}
