"""A thin Label Studio client over ``label-studio-sdk`` 2.x with bounded retries.

Every call goes through :meth:`LabelStudioClient._call`: transport errors, 429 and 5xx answers
are retried with exponential backoff a bounded number of times, then raised as
:class:`curata.errors.LabelStudioError` naming the server URL (never the API key). Other 4xx
answers are not retried: they fail at once, also as ``LabelStudioError``.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import httpx
from curata.errors import LabelStudioError

T = TypeVar("T")

DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 0.5
DEFAULT_TIMEOUT_S = 120.0
LS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
#: Task ids per export call: Django answers 400 past 1,000 query fields (``ids[]`` and two more).
EXPORT_CHUNK = 900
#: Export calls made ahead of the caller (one at a time): the server serializes the next
#: chunk while the client compares the last one.
EXPORT_AHEAD = 2


def prefetched(calls: Sequence[Callable[[], T]], depth: int) -> Iterator[T]:
    """Results of ``calls`` in order, made one at a time on a background thread that runs up
    to ``depth`` calls ahead of the caller.

    The server sees one request at a time (Label Studio's dev server is one process: parallel
    requests only fight over its GIL), while the caller works on the previous answer. A failed
    call raises in the caller when its turn comes; calls not started yet are cancelled.
    """
    if depth <= 0 or len(calls) <= 1:
        for call in calls:
            yield call()
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curata-ls") as pool:
        pending: deque[Future[T]] = deque()
        todo = iter(calls)
        try:
            for call in itertools.islice(todo, depth):
                pending.append(pool.submit(call))
            while pending:
                result = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append(pool.submit(nxt))
                yield result
        finally:
            for fut in pending:
                fut.cancel()


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
        self.export_chunk, self.export_ahead = EXPORT_CHUNK, EXPORT_AHEAD
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

    def task_id_span(self, project_id: int) -> tuple[int, int, int] | None:
        """``(lowest id, highest id, task count)`` of a project, or ``None`` when it has none.

        Two one-row Data Manager requests (ordered by id) instead of listing every task.
        """
        ends = []
        for order in ("tasks:id", "-tasks:id"):
            query = json.dumps({"ordering": [order]})
            pager = self._call(
                "task id span",
                self._sdk.tasks.list,
                project=project_id,
                page=1,
                page_size=1,
                fields="task_only",
                include="id",
                query=query,
            )
            items = [plain(t) for t in (pager.items or [])]
            if not items:
                return None
            ends.append(int(items[0]["id"]))
        total = getattr(getattr(pager, "response", None), "total", None)
        lo, hi = min(ends), max(ends)
        return lo, hi, int(total) if total is not None else hi - lo + 1

    def export_tasks(
        self, project_id: int, task_ids: Sequence[int], *, chunk: int | None = None,
        ahead: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Tasks with their annotations and predictions, through the JSON export endpoint.

        ``chunk`` ids a call (Django refuses more than 1,000 query fields), made ``ahead`` calls
        ahead of the caller, results in id order. While the caller works on one chunk the
        server already serializes the next: the client's work hides behind the server's.

        The export serializer is several times faster than the Data Manager list with
        ``fields=all``. The SDK's ``exports.download_sync`` sends ``ids`` where the server
        reads ``ids[]``, so the request goes through the SDK's HTTP client directly.
        """
        chunk = chunk or self.export_chunk
        ahead = self.export_ahead if ahead is None else ahead
        ids = sorted(int(t) for t in task_ids)
        groups = [ids[s : s + chunk] for s in range(0, len(ids), chunk)]
        yield from prefetched([partial(self._export_ids, project_id, g) for g in groups], ahead)

    def export_id_range(
        self, project_id: int, lo: int, hi: int, *, chunk: int | None = None,
        ahead: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every task of the project whose id lies in ``[lo, hi]``, ``chunk`` ids a call.

        The export filters by project, so ids of other projects in the range cost nothing
        but a shorter answer; together the calls return every task of the project there.
        """
        chunk = chunk or self.export_chunk
        ahead = self.export_ahead if ahead is None else ahead
        groups = [list(range(s, min(s + chunk, hi + 1))) for s in range(lo, hi + 1, chunk)]
        yield from prefetched([partial(self._export_ids, project_id, g) for g in groups], ahead)

    def _export_ids(self, project_id: int, ids: Sequence[int]) -> list[dict[str, Any]]:
        params = {
            "exportType": "JSON",
            "download_all_tasks": "true",
            "ids[]": [str(i) for i in ids],
        }
        return self._call(
            "export tasks",
            self._export,
            http=self._sdk._client_wrapper.httpx_client,
            path=f"api/projects/{project_id}/export",
            params=params,
        )

    @staticmethod
    def _export(*, http: Any, path: str, params: dict[str, Any], request_options: Any) -> Any:
        from label_studio_sdk.core.api_error import ApiError

        response = http.request(path, method="GET", params=params, request_options=request_options)
        if not 200 <= response.status_code < 300:
            raise ApiError(
                status_code=response.status_code, headers=dict(response.headers), body=response.text
            )
        return response.json()

    def predicted_tasks(self, project_id: int, *, model_version: str | None) -> set[int]:
        """Ids of the project's tasks holding a prediction of ``model_version``."""
        preds = self._call("list predictions", self._sdk.predictions.list, project=project_id)
        return {
            int(p.task)
            for p in preds
            if p.task is not None and (model_version is None or p.model_version == model_version)
        }

    def predictions(self, project_id: int) -> dict[int, list[dict[str, Any]]]:
        """Every prediction of the project, by task id (one request)."""
        out: dict[int, list[dict[str, Any]]] = {}
        for p in self._call("list predictions", self._sdk.predictions.list, project=project_id):
            if p.task is not None:
                out.setdefault(int(p.task), []).append(plain(p))
        return out

    def import_predictions(self, project_id: int, predictions: Sequence[dict[str, Any]]) -> int:
        """Create predictions (each with its ``task`` id) in one request; return how many."""
        from label_studio_sdk import PredictionRequest

        self._call(
            "import predictions",
            self._sdk.projects.import_predictions,
            id=project_id,
            request=[PredictionRequest(**p) for p in predictions],
        )
        return len(predictions)

    def users(self) -> dict[int, str]:
        """User id → email (or username) of everyone the token can see."""
        users = self._call("list users", self._sdk.users.list)
        return {int(u.id): (u.email or u.username or str(u.id)) for u in users}
