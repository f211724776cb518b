"""The REST API (API.md). Every answer's bytes come from the engine; this module only validates."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from stemtrace._version import __version__
from stemtrace.server import params

JSON = "application/json"
SCAN_THREADS = 4  # at least the cores of a typical host; a shared server's calls wait on Redis meanwhile
MAX_OFFSET = 2**31 - 1  # beyond any store; also keeps the value a machine integer for the engine
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Answer = TypeVar("Answer")


def json_response(body: bytes) -> Response:
    return Response(content=body, media_type=JSON)


def found(body: bytes | None, what: str) -> Response:
    """The engine's answer, or 404 ``"<what> not found"`` when it had none."""
    if body is None:
        raise HTTPException(status_code=404, detail=f"{what} not found")
    return json_response(body)


def read_route(router: APIRouter, path: str, *, summary: str) -> Callable[[Endpoint], Endpoint]:
    """Serve ``path`` on GET, documented, and on HEAD (the same answer, its body dropped by the server).

    Two routes, not one with both methods: OpenAPI would give that one's two operations a single id.
    """

    def register(endpoint: Endpoint) -> Endpoint:
        router.get(path, summary=summary)(endpoint)
        router.head(path, include_in_schema=False)(endpoint)
        return endpoint

    return register


def build_api_router(get_engine: Callable[[], Any], health_extra: Callable[[], dict[str, Any]]) -> APIRouter:
    """Routes under ``/api``; ``get_engine`` returns the running engine (503 before the lifespan starts it).

    Routes whose engine call is bounded (one task, an index-backed page, the workers) answer on the
    event loop: they take microseconds, and a hop to a thread would cost more than the work. Those that
    can scan many tasks (a payload search, whole-window statistics, a flow of any size) run on a few
    threads of their own, with the GIL released inside the engine, so they never hold up the loop.
    A few, not Starlette's pool of 40: 32 requests on 32 threads fight over the GIL around each short
    engine call, while on four they queue (a 100-task chord at 32 connections, 100k tasks: p99 49-52 ms
    on the pool, 39-40 ms on four threads, alternating runs of bench/compare).
    """
    router = APIRouter()
    scans = ThreadPoolExecutor(max_workers=SCAN_THREADS, thread_name_prefix="stemtrace-scan")

    async def off_loop(call: Callable[[], Answer]) -> Answer:
        return await asyncio.get_running_loop().run_in_executor(scans, call)

    def engine() -> Any:
        current = get_engine()
        if current is None:
            raise HTTPException(status_code=503, detail="stemtrace is not started: add flow.lifespan to your app")
        return current

    @read_route(router, "/health", summary="Engine and consumer health")
    async def health() -> Response:
        report = orjson.loads(engine().health())
        report.update(health_extra())
        report["version"] = __version__
        report["status"] = "ok" if report.get("consumer_connected") or report.get("broker") is None else "degraded"
        return json_response(orjson.dumps(report))

    @read_route(router, "/tasks", summary="Tasks, newest first, filtered and paged")
    async def list_tasks(
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        state: Annotated[str | None, Query(description="Comma-separated states, any case")] = None,
        name: Annotated[str | None, Query(description="Case-insensitive substring of the task name")] = None,
        name_exact: str | None = None,
        hostname: str | None = None,
        queue: str | None = None,
        exception_type: str | None = None,
        trace_id: str | None = None,
        search: Annotated[str | None, Query(description="Case-insensitive text inside args, kwargs, result")] = None,
        from_date: str | None = None,
        to_date: str | None = None,
        within: Annotated[str | None, Query(description="Relative window: 30s, 15m, 6h, 7d")] = None,
        compact: bool = False,
    ) -> Response:
        start, end = params.window(from_date, to_date, within)
        query = functools.partial(
            engine().list_tasks,
            limit=limit,
            offset=offset,
            states=params.parse_states(state),
            name=name or None,
            name_exact=name_exact or None,
            hostname=hostname or None,
            queue=queue or None,
            exception_type=exception_type or None,
            trace_id=trace_id or None,
            search=search or None,
            from_ts=start,
            to_ts=end,
            compact=compact,
        )
        # Index-backed pages answer at once; substring filters may read every task, so they leave the loop.
        return json_response(await off_loop(query) if search or name else query())

    @read_route(router, "/tasks/registry", summary="Every task name seen or registered")
    async def registry(query: str | None = None, status: str | None = None) -> Response:
        if status not in (None, "", "active", "never_run", "not_registered"):
            raise params.bad("status", "use active, never_run or not_registered")
        return json_response(engine().registry(query or None, status or None))

    @read_route(router, "/tasks/{task_id}", summary="One task with its events and children")
    async def get_task(task_id: str) -> Response:
        return found(engine().get_task(task_id), f"Task {task_id}")

    @read_route(router, "/tasks/{task_id}/children", summary="A task's children")
    async def task_children(task_id: str, compact: bool = False) -> Response:
        return found(engine().task_children(task_id, compact), f"Task {task_id}")

    @read_route(router, "/graphs", summary="Root flows, newest first")
    async def list_graphs(
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        from_date: str | None = None,
        to_date: str | None = None,
        within: str | None = None,
    ) -> Response:
        start, end = params.window(from_date, to_date, within)
        return json_response(engine().list_graphs(limit=limit, offset=offset, from_ts=start, to_ts=end))

    @read_route(router, "/graphs/{root_id}", summary="A flow: the node and all below it")
    async def get_graph(root_id: str) -> Response:
        return found(await off_loop(functools.partial(engine().get_graph, root_id)), f"Graph {root_id}")

    @read_route(router, "/overview", summary="Runs, failures and rates vs the window before")
    async def overview(within: Annotated[str, Query(description="Window: 30s, 15m, 6h, 7d")] = "1h") -> Response:
        start, end = params.recent(within)
        return json_response(await off_loop(functools.partial(engine().overview, start, end)))

    @read_route(router, "/stats/timeseries", summary="Tasks per time bucket by state")
    async def timeseries(
        within: str = "1h",
        bucket: Annotated[str | None, Query(description="Bucket size 1m…7d; chosen from the window if absent")] = None,
    ) -> Response:
        start, end = params.recent(within)
        bucket_seconds = params.bucket_seconds(bucket, end - start)
        answer = await off_loop(functools.partial(engine().timeseries, start, end, bucket_seconds))
        return json_response(answer)

    @read_route(router, "/failures", summary="Failures grouped by exception type")
    async def failures(group_by: str = "exception", within: str = "1h") -> Response:
        if group_by != "exception":
            raise params.bad("group_by", "only 'exception' is supported")
        start, end = params.recent(within)
        return json_response(await off_loop(functools.partial(engine().failures, start, end)))

    @read_route(router, "/workers", summary="Workers seen")
    async def workers() -> Response:
        return json_response(engine().workers())

    @read_route(router, "/workers/{hostname}", summary="One worker (empty list if unknown)")
    async def worker(hostname: str) -> Response:
        return json_response(engine().workers(hostname))

    return router
