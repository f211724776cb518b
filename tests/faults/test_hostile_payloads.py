"""Hostile task arguments and results through a real worker: nothing raises, every task succeeds, what
stemtrace stores is capped to ``max_data_size``, and the API hands it back as JSON text.

The producer's serialiser is unit-tested value by value (tests/unit/test_serialize.py) and the page's
rendering of markup as text by the browser test (tests/e2e/test_pages.py); this is the path between:
a real worker, the real stream, the real server. The worker's speed is bounded by the caps asserted
here (a 10 MB value is never serialised whole), not timed.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.faults import hostile_app
from tests.faults.helpers import poll
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
APP = "tests.faults.hostile_app"
MAX = 2_000  # STEMTRACE_MAX_DATA_SIZE for the worker: small, so every hostile value hits the cap
MARKER = 80  # "… [truncated N of M bytes]" after a cut


def stored_size(value: Any) -> int:
    """Characters of a cut value (args and kwargs wrap one in a list / ``_truncated``), else JSON bytes."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        value = value[0]
    if isinstance(value, dict) and list(value) == ["_truncated"]:
        value = value["_truncated"]
    return len(value) if isinstance(value, str) else len(orjson.dumps(value))


def detail(server: Any, task_id: str) -> httpx.Response:
    return httpx.get(f"{server.base}api/tasks/{task_id}", timeout=30)


def test_hostile_payloads_are_capped_and_served_as_json_text(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    worker = celery_worker_factory(APP, pool="solo", env={"STEMTRACE_MAX_DATA_SIZE": str(MAX)})
    app = worker.client_app()
    ids = {kind: app.signature(f"{APP}.produce", (kind,)).delay().id for kind in hostile_app.RESULTS}
    hostile_args = (hostile_app.HTML, hostile_app.CONTROL, b"\x00\xff", hostile_app.nested(400), "y" * 10_000_000)
    ids["args"] = (
        app.signature(f"{APP}.consume", hostile_args, {"html": hostile_app.HTML, "big": "z" * 1_000_000}).delay().id
    )

    def states() -> dict[str, str]:
        answers = {kind: detail(server, task_id) for kind, task_id in ids.items()}
        return {kind: a.json()["task"]["state"] if a.status_code == 200 else "-" for kind, a in answers.items()}

    poll(states, lambda s: set(s.values()) == {"SUCCESS"}, "every hostile task succeeded", timeout=120)
    assert worker.alive() and "Traceback" not in worker.logs()

    events = {}
    for kind, task_id in ids.items():
        answer = detail(server, task_id)
        assert answer.headers["content-type"].startswith("application/json")
        events[kind] = {e["state"]: e for e in answer.json()["task"]["events"]}
        for event in events[kind].values():
            for field in ("args", "kwargs", "result"):
                if event.get(field) is not None:
                    assert stored_size(event[field]) <= MAX + MARKER, (kind, field)

    result = {kind: evs["SUCCESS"]["result"] for kind, evs in events.items()}
    assert result["html"] == hostile_app.HTML  # markup kept as the exact text it was
    assert result["control"] == hostile_app.CONTROL  # control characters survive as JSON escapes
    assert result["huge_string"].startswith('"xxx') and "truncated" in result["huge_string"]
    assert result["binary"].startswith("<bytes len=256")
    assert result["huge_bytes"].startswith("<bytes len=10000000")
    assert b'"<list depth>"' in orjson.dumps(result["nested"])  # cut at the depth limit, no RecursionError
    assert result["cyclic"] == [{"name": "loop", "self": "<cycle dict>"}, "<cycle list>"]
    assert result["broken_repr"] == "<BrokenRepr>"
    assert result["mixed"]["html"] == hostile_app.HTML and result["mixed"]["loop"][1] == "<cycle list>"
    started = events["args"]["STARTED"]
    (args_head,) = started["args"]  # the whole list was over the cap: its JSON's head, as one string
    assert args_head.startswith('["<img src=x onerror=') and "<script>alert(2)</script>" in args_head
    assert started["kwargs"]["_truncated"].startswith('{"html":"<img src=x onerror=')
