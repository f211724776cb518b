"""The foundation path end to end: a real prefork worker publishes to real Redis or RabbitMQ, the Rust
engine consumes the stream inside this process, and the HTTP API shows the chain linked and finished."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from stemtrace import StemtraceExtension


async def wait_for(client: httpx.AsyncClient, path: str, check: Callable[[Any], bool], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        body = (await client.get(path)).json()
        if check(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never satisfied the check; last answer: {body}")
        await _sleep(0.1)


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


@pytest.mark.anyio
async def test_chain_through_real_worker_broker_and_engine(
    event_url: str,  # before the worker factory: its clean-up then runs after the worker stopped publishing
    celery_worker_factory,
    stream_prefix: str,
) -> None:
    worker = celery_worker_factory(pool="prefork", concurrency=2, env={"STEMTRACE_TRANSPORT_URL": event_url})
    flow = StemtraceExtension(transport_url=event_url, prefix=stream_prefix, serve_ui=False)
    app = FastAPI(lifespan=flow.lifespan)
    app.include_router(flow.router, prefix="/stemtrace")

    client_app = worker.client_app()
    add = "examples.celery_app.add"
    result = (client_app.signature(add, (1, 2)) | client_app.signature(add, (3,)) | client_app.signature(add, (4,)))()
    assert result.get(timeout=30) == 10

    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        health = (await client.get("/stemtrace/api/health")).json()
        redis = event_url.startswith("redis")
        assert health["stream"] == f"{stream_prefix}:events" if redis else f"{stream_prefix}.events"

        listing = await wait_for(
            client,
            "/stemtrace/api/tasks?name=add&state=SUCCESS",
            lambda body: body["total"] >= 3,
        )
        tasks = {t["task_id"]: t for t in listing["tasks"]}
        assert len(tasks) == 3
        assert all(t["name"] == add and t["state"] == "SUCCESS" for t in tasks.values())

        # The chain is linked: exactly one root, each other step's parent is the step before.
        roots = [t for t in tasks.values() if t["parent_id"] not in tasks]
        assert len(roots) == 1
        steps = [roots[0]]
        while steps[-1]["children"]:
            steps.append(tasks[steps[-1]["children"][0]])
        assert len(steps) == 3

        detail = (await client.get(f"/stemtrace/api/tasks/{steps[1]['task_id']}")).json()
        states = [e["state"] for e in detail["task"]["events"]]
        assert states[-1] == "SUCCESS" and "STARTED" in states
        assert detail["task"]["hostname"] == worker.hostname
        assert [c["task_id"] for c in detail["children"]] == [steps[2]["task_id"]]

        graph = (await client.get(f"/stemtrace/api/graphs/{steps[0]['task_id']}")).json()
        assert set(graph["nodes"]) == set(tasks)

        graphs = (await client.get("/stemtrace/api/graphs")).json()
        assert graphs["graphs"][0]["task_id"] == steps[0]["task_id"]
        assert graphs["graphs"][0]["task_count"] == 3

        # The events were all sent before the server started: the stream replayed them.
        health = (await client.get("/stemtrace/api/health")).json()
        assert health["broker_mode"] == ("redis-stream" if redis else "rabbitmq-stream")
        assert health["consumer_connected"] and health["last_event_id"]
