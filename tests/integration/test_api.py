"""The REST contract (API.md), app per test with the lifespan running the real engine.

Events enter through the engine's own ingest path (the memory transport's entry point), so these
tests need no broker; the Redis path has its own test (test_path.py)."""

from __future__ import annotations

import base64
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from stemtrace import StemtraceExtension, require_api_key, require_basic_auth

pytestmark = pytest.mark.anyio


def event(task_id: str, state: str, second: int, **fields: Any) -> bytes:
    body = {"task_id": task_id, "name": f"app.{task_id.split('-')[0]}", "state": state,
            "timestamp": f"2025-03-01T10:00:{second:02d}Z", **fields}  # fmt: skip
    return orjson.dumps(body)


def run(task_id: str, start: int, end_state: str = "SUCCESS", **fields: Any) -> list[bytes]:
    return [event(task_id, "PENDING", start, **fields), event(task_id, "STARTED", start + 1, **fields),
            event(task_id, end_state, start + 2, **fields)]  # fmt: skip


Client = Callable[..., Any]


@pytest.fixture
async def serve() -> AsyncIterator[Client]:
    """Build an app (options for StemtraceExtension), run its lifespan, feed events, return a client."""
    stack: list[Any] = []

    async def start(events: list[bytes] = (), **options: Any) -> AsyncClient:  # type: ignore[assignment]
        flow = StemtraceExtension(transport_url="memory://", **options)
        app = FastAPI(lifespan=flow.lifespan)
        app.include_router(flow.router, prefix="/st")
        manager = LifespanManager(app)
        await manager.__aenter__()
        stack.append(manager)
        flow.engine.ingest(list(events))
        client = AsyncClient(transport=ASGITransport(app=app), base_url="http://test")
        stack.append(client)
        return client

    yield start
    for item in reversed(stack):
        await item.__aexit__(None, None, None)


async def test_task_list_filters_and_errors(serve: Client) -> None:
    client = await serve(run("ok-1", 0) + run("bad-1", 5, "FAILURE", exception_type="ValueError", queue="q2"))
    body = (await client.get("/st/api/tasks")).json()
    assert [t["task_id"] for t in body["tasks"]] == ["bad-1", "ok-1"]  # newest first
    assert body["total"] == 2 and body["limit"] == 100 and body["offset"] == 0
    assert len(body["tasks"][0]["events"]) == 3

    assert (await client.get("/st/api/tasks?state=failure,retry")).json()["total"] == 1
    assert (await client.get("/st/api/tasks?exception_type=ValueError")).json()["tasks"][0]["task_id"] == "bad-1"
    assert (await client.get("/st/api/tasks?queue=q2&compact=1")).json()["tasks"][0]["events"] is None
    assert (await client.get("/st/api/tasks?name=OK")).json()["total"] == 1
    assert (await client.get("/st/api/tasks?from_date=2025-03-01T10:00:06Z")).json()["total"] == 1
    assert (await client.get("/st/api/tasks?to_date=2024-01-01")).json()["total"] == 0

    for query, param in [("state=RUNNING", "state"), ("within=5x", "within"), ("from_date=nope", "from_date"),
                         ("within=1h&from_date=2025-01-01", "within")]:  # fmt: skip
        answer = await client.get(f"/st/api/tasks?{query}")
        assert answer.status_code == 422, query
        assert param in str(answer.json()["detail"]), query
    assert (await client.get("/st/api/tasks?limit=501")).status_code == 422


async def test_search_reads_args_kwargs_result_and_exception_only(serve: Client) -> None:
    client = await serve(
        run("refund-1", 0, args=[1042, "Order-77"], kwargs={"currency": "EUR"}, result={"refunded": "yes"})
        + run("refund-2", 5, "FAILURE", args=[7], exception="ValueError: SKU-9 unknown")
        + run("refund-3", 9, args=["<img src=x onerror=alert(1)>"])
    )

    async def found(text: str) -> list[str]:
        answer = await client.get("/st/api/tasks", params={"search": text})
        return [t["task_id"] for t in answer.json()["tasks"]]

    assert await found("order-77") == ["refund-1"], "args, any case"
    assert await found('"currency"') == ["refund-1"], "kwargs, as JSON text"
    assert await found("REFUNDED") == ["refund-1"], "result"
    assert await found("sku-9") == ["refund-2"], "exception"
    assert await found("onerror=") == ["refund-3"]
    assert await found("SUCCESS") == [], "the state is not payload"
    assert await found("app.refund") == [], "nor the task name"
    assert await found("10") == ["refund-1"], "a needle too short for the signature is still found"


async def test_detail_children_404_and_head(serve: Client) -> None:
    client = await serve(run("parent-1", 0) + run("child-1", 2, parent_id="parent-1", root_id="parent-1"))
    detail = (await client.get("/st/api/tasks/parent-1")).json()
    assert detail["task"]["children"] == ["child-1"]
    assert [c["task_id"] for c in detail["children"]] == ["child-1"]
    assert [e["state"] for e in detail["task"]["events"]] == ["PENDING", "STARTED", "SUCCESS"]
    assert detail["task"]["runtime_ms"] == 1000 and detail["task"]["queue_wait_ms"] == 1000

    kids = (await client.get("/st/api/tasks/parent-1/children?compact=true")).json()
    assert kids[0]["task_id"] == "child-1" and kids[0]["events"] is None

    missing = await client.get("/st/api/tasks/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Task nope not found"}
    assert (await client.get("/st/api/graphs/nope")).json() == {"detail": "Graph nope not found"}
    head = await client.head("/st/api/tasks/parent-1")
    assert head.status_code == 200 and head.content == b""
    assert (await client.post("/st/api/tasks")).status_code == 405


async def test_chord_graph_has_container_callback_and_reason(serve: Client) -> None:
    headers = {"group_id": "g-1", "chord_callback_id": "cb-1", "parent_id": "start-1", "root_id": "start-1"}
    events = run("start-1", 0) + run("h-1", 3, **headers) + run("h-2", 3, "FAILURE", **headers)
    client = await serve(events)
    graph = (await client.get("/st/api/graphs/start-1")).json()
    nodes = graph["nodes"]
    chord = nodes["group:g-1"]
    assert chord["node_type"] == "CHORD" and chord["chord_id"] == "cb-1"
    assert sorted(chord["children"]) == ["h-1", "h-2"]
    assert chord["not_run_reason"] == "header_failed"
    assert chord["state"] == "FAILURE"
    assert nodes["start-1"]["children"] == ["group:g-1"]
    assert nodes["h-1"]["parent_id"] == "group:g-1" and nodes["h-1"]["reported_parent_id"] == "start-1"

    listing = (await client.get("/st/api/graphs")).json()
    assert listing["total"] == 1 and listing["graphs"][0]["task_id"] == "start-1"
    assert listing["graphs"][0]["task_count"] == 3


async def test_orphan_moves_under_its_parent(serve: Client) -> None:
    client = await serve(run("late-child", 5, parent_id="early-parent"))
    assert (await client.get("/st/api/graphs")).json()["graphs"][0]["task_id"] == "late-child"


async def test_health_reports_memory_mode(serve: Client) -> None:
    client = await serve([b"not json", b'{"task_id": "x"}'])
    health = (await client.get("/st/api/health")).json()
    assert health["status"] == "ok" and health["broker"] is None
    assert health["skipped"]["malformed"] == 1 and health["skipped"]["unknown_state"] == 1
    assert (await client.get("/st/api/health/live")).json() == {"status": "ok"}


async def test_basic_auth_guards_api_and_ui_but_not_liveness(serve: Client) -> None:
    client = await serve(auth_dependency=require_basic_auth("admin", "s3cret"))
    denied = await client.get("/st/api/tasks")
    assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
    assert (await client.get("/st/")).status_code == 401
    good = base64.b64encode(b"admin:s3cret").decode()
    assert (await client.get("/st/api/tasks", headers={"Authorization": f"Basic {good}"})).status_code == 200
    wrong = base64.b64encode(b"admin:nope").decode()
    assert (await client.get("/st/api/tasks", headers={"Authorization": f"Basic {wrong}"})).status_code == 401
    assert (await client.get("/st/api/health/live")).status_code == 200


async def test_api_key_in_header_or_bearer(serve: Client) -> None:
    client = await serve(auth_dependency=require_api_key("k-123"))
    assert (await client.get("/st/api/tasks")).status_code == 401
    assert (await client.get("/st/api/tasks", headers={"X-API-Key": "k-123"})).status_code == 200
    assert (await client.get("/st/api/tasks", headers={"Authorization": "Bearer k-123"})).status_code == 200


async def test_ui_is_served_safely(serve: Client) -> None:
    client = await serve()
    assert (await client.get("/st")).status_code == 307
    index = await client.get("/st/")
    assert index.status_code == 200 and "<html" in index.text.lower()
    assert index.headers["cache-control"] == "no-cache"
    asset = next(p for p in index.text.split('"') if p.startswith("./assets/"))
    cached = await client.get(f"/st/{asset[2:]}")
    assert cached.status_code == 200 and "immutable" in cached.headers["cache-control"]
    for probe in ["..%2f..%2fpyproject.toml", "assets/..%2f..%2fextension.py", "%2e%2e/routes.py", "a\\..\\b"]:
        assert (await client.get(f"/st/{probe}")).status_code == 404, probe
    for page in (index, cached):
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy and "frame-ancestors 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "SAMEORIGIN"


async def test_embedding_app_decides_who_frames_the_ui(serve: Client) -> None:
    client = await serve(frame_ancestors="'self' https://admin.example.com")
    index = await client.get("/st/")
    assert "frame-ancestors 'self' https://admin.example.com" in index.headers["content-security-policy"]
    assert "x-frame-options" not in index.headers, "X-Frame-Options cannot name another origin"
    client = await serve(frame_ancestors=None)
    index = await client.get("/st/")
    assert "frame-ancestors" not in index.headers["content-security-policy"] and "x-frame-options" not in index.headers


def recent_event(task_id: str, state: str, seconds_ago: float, **fields: Any) -> bytes:
    from datetime import datetime, timedelta, timezone

    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return orjson.dumps({"task_id": task_id, "name": "app.pay", "state": state, "timestamp": stamp, **fields})


async def test_overview_timeseries_and_failures(serve: Client) -> None:
    client = await serve(
        [
            recent_event("now-ok", "SUCCESS", 60),
            recent_event("now-bad", "FAILURE", 120, exception_type="TimeoutError"),
            recent_event("earlier-ok", "SUCCESS", 3600 + 600),
        ]
    )
    overview = (await client.get("/st/api/overview?within=1h")).json()
    assert overview["runs"] == {"value": 2, "baseline": 1}
    assert overview["failures"]["value"] == 1 and overview["failure_rate"]["value"] == 0.5
    series = (await client.get("/st/api/stats/timeseries?within=1h")).json()
    assert series["bucket_seconds"] == 60 and len(series["starts"]) == len(series["counts"]["SUCCESS"])
    assert sum(series["counts"]["FAILURE"]) == 1
    failures = (await client.get("/st/api/failures?within=1h")).json()
    assert failures["groups"][0]["exception_type"] == "TimeoutError"
    assert failures["groups"][0]["sample_task_ids"] == ["now-bad"]
    assert (await client.get("/st/api/failures?group_by=name")).status_code == 422
    assert (await client.get("/st/api/stats/timeseries?bucket=5s")).status_code == 422


async def test_openapi_documents_each_read_route_once_and_head_answers(serve: Client) -> None:
    client = await serve(run("t-1", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id, e.g. one route for GET and HEAD
        paths = (await client.get("/openapi.json")).json()["paths"]
    api = {path: ops for path, ops in paths.items() if path.startswith("/st/api/")}
    assert len(api) >= 12 and all(list(ops) == ["get"] for ops in api.values()), api
    for path in ("/st/api/tasks", "/st/api/graphs/t-1", "/st/api/workers", "/st/api/health"):
        head = await client.head(path)
        assert head.status_code == 200 and head.content == b"", path
