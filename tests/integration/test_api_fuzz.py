"""The HTTP API fuzzed from its own OpenAPI schema: whatever the input, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from stemtrace import StemtraceExtension

flow = StemtraceExtension(transport_url="memory://", serve_ui=False)
app = FastAPI(lifespan=flow.lifespan)
app.include_router(flow.router, prefix="/stemtrace")
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module", autouse=True)
def running_engine() -> Iterator[None]:
    """Run the lifespan (engine started) for the whole module and give it tasks of every shape."""
    with TestClient(app):
        events = []
        for i, state in enumerate(["PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY"]):
            links = {"parent_id": "root", "group_id": "g", "chord_callback_id": "cb"} if i else {}
            event = {"task_id": f"t{i}" if i else "root", "name": "app.x", "state": state,
                     "timestamp": f"2025-01-01T00:00:0{i}Z", "args": ["<b>x</b>", i], **links}  # fmt: skip
            events.append(orjson.dumps(event))
        flow.engine.ingest(events)
        yield


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query}: {response.text[:300]}"
