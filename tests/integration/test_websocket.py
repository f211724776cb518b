"""Live updates over the WebSocket: 0.4.x-style frames, subscriptions, coalescing, resync and auth."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from stemtrace import StemtraceExtension, require_basic_auth
from stemtrace.server.ws import PROTOCOL


def event(task_id: str, state: str, second: int = 0, **fields: Any) -> bytes:
    return orjson.dumps(
        {
            "task_id": task_id,
            "name": "app.work",
            "state": state,
            "timestamp": f"2025-03-01T10:00:{second:02d}Z",
            **fields,
        }
    )


def make_client(**options: Any) -> tuple[StemtraceExtension, TestClient]:
    flow = StemtraceExtension(transport_url="memory://", serve_ui=False, **options)
    app = FastAPI(lifespan=flow.lifespan)
    app.include_router(flow.router, prefix="/st")
    return flow, TestClient(app)


@pytest.fixture
def served() -> Iterator[tuple[StemtraceExtension, TestClient]]:
    flow, client = make_client()
    with client:
        yield flow, client


def test_legacy_client_gets_one_frame_per_update(served: tuple[StemtraceExtension, TestClient]) -> None:
    flow, client = served
    with client.websocket_connect("/st/ws") as ws:
        flow.engine.ingest([event("a", "PENDING", 1), event("a", "STARTED", 2)])
        frames = [orjson.loads(ws.receive_text()) for _ in range(2)]
    assert [(f["task_id"], f["name"], f["state"]) for f in frames] == [("a", "app.work", "PENDING"),
                                                                         ("a", "app.work", "STARTED")]  # fmt: skip
    assert frames[1]["timestamp"] == "2025-03-01T10:00:02.000000Z"


def test_subscription_batches_are_coalesced(served: tuple[StemtraceExtension, TestClient]) -> None:
    flow, client = served
    with client.websocket_connect("/st/ws", subprotocols=[PROTOCOL]) as ws:
        ws.send_text('{"type": "subscribe", "topic": "tasks"}')
        subscribed = orjson.loads(ws.receive_text())
        assert subscribed["type"] == "subscribed" and subscribed["topic"] == "tasks"
        flow.engine.ingest([event("a", "PENDING", 1), event("b", "PENDING", 1), event("a", "SUCCESS", 3)])
        batch = orjson.loads(ws.receive_text())
        assert batch["type"] == "batch" and batch["seq"] == subscribed["seq"] + 3
        assert {c["task_id"]: c["state"] for c in batch["changes"]} == {"a": "SUCCESS", "b": "PENDING"}
        ws.send_text('{"type": "ping"}')
        assert orjson.loads(ws.receive_text()) == {"type": "pong"}
        ws.send_text("not json")
        assert orjson.loads(ws.receive_text())["type"] == "error"


def test_flow_subscription_sees_only_its_flow(served: tuple[StemtraceExtension, TestClient]) -> None:
    flow, client = served
    flow.engine.ingest([event("root", "STARTED", 1)])
    with client.websocket_connect("/st/ws", subprotocols=[PROTOCOL]) as ws:
        ws.send_text('{"type": "subscribe", "topic": "flow", "id": "root"}')
        ws.receive_text()
        flow.engine.ingest([event("other", "SUCCESS", 2), event("kid", "STARTED", 3, parent_id="root")])
        batch = orjson.loads(ws.receive_text())
    assert [c["task_id"] for c in batch["changes"]] == ["kid"]


def test_client_behind_the_ring_is_told_to_resync(served: tuple[StemtraceExtension, TestClient]) -> None:
    flow, client = served
    flow.engine.ingest([event(f"t{i}", "PENDING", 1) for i in range(25_000)])
    with client.websocket_connect("/st/ws", subprotocols=[PROTOCOL]) as ws:
        ws.send_text('{"type": "subscribe", "topic": "tasks", "since": 1}')
        ws.receive_text()
        flow.engine.ingest([event("late", "PENDING", 2)])
        assert orjson.loads(ws.receive_text())["type"] == "resync"


def test_websocket_obeys_auth() -> None:
    flow, client = make_client(auth_dependency=require_basic_auth("admin", "pw"))
    with client:
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/st/ws"):
            pass
        assert refused.value.code == 1008
        token = base64.b64encode(b"admin:pw").decode()
        with client.websocket_connect("/st/ws", headers={"Authorization": f"Basic {token}"}) as ws:
            flow.engine.ingest([event("a", "PENDING")])
            assert orjson.loads(ws.receive_text())["task_id"] == "a"
            assert (
                client.get("/st/api/health", headers={"Authorization": f"Basic {token}"}).json()[
                    "websocket_connections"
                ]
                == 1
            )
