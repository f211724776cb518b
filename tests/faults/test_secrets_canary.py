"""A canary password, passed in every shape, never appears in the stream, the API, the WebSocket or the page.

Shapes: a top-level kwarg, nested in a dict, inside a list, a positional parameter named ``password``,
in every header of a chord and in its callback, and in the message and traceback of a retry and a
failure (a task that puts the password in its own error).
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import redis
from celery import chord
from websockets.sync.client import connect

from tests.faults.helpers import poll
from tests.support.flows import Flows
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
APP = "tests.faults.hostile_app"
CANARY = "canary-Pa55w0rd-7f3a"


def test_canary_password_is_scrubbed_everywhere(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server: Any,
    celery_worker_factory: Any,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)

    worker = celery_worker_factory(APP, pool="solo")
    flows = Flows(worker, redis_url, stream_prefix)  # the publishing side captures PENDING too
    s = lambda name, *a, **kw: flows.app.signature(f"{APP}.{name}", args=a, kwargs=kw)  # noqa: E731

    # The publisher knows the task's parameters, as a web app that imports its tasks does: a positional
    # argument is known to be a password by its parameter's name (docs/security.md).
    @flows.app.task(name=f"{APP}.sign_in")
    def sign_in(username: str, password: str) -> None: ...

    ids = [
        s("keep", password=CANARY).delay().id,
        s("keep", config={"db": {"password": CANARY}, "host": "db1"}).delay().id,
        s("keep", accounts=[{"user": "ada", "api_key": CANARY}]).delay().id,
        s("sign_in", "ada", CANARY).delay().id,
    ]
    ids.append(chord([s("keep", i, password=CANARY) for i in range(3)], s("collect", password=CANARY)).delay().id)

    def answered() -> list[str]:
        return [httpx.get(f"{server.base}api/tasks/{i}", timeout=30).json().get("task", {}).get("state") for i in ids]

    poll(answered, lambda states: states.count("SUCCESS") == 4 and "FAILURE" in states, "every task finished")
    everything = httpx.get(f"{server.base}api/tasks?limit=500", timeout=30)
    assert everything.json()["total"] == 8  # four tasks, three chord headers, the callback
    retried = httpx.get(f"{server.base}api/tasks/{ids[3]}", timeout=30).json()["task"]
    messages = [e.get("exception") or "" for e in retried["events"]]
    assert any("ada was refused with [Filtered]" in m for m in messages), messages
    assert any("[Filtered]" in (e.get("traceback") or "") for e in retried["events"])

    # Every update the server's feed holds, from the start: the subscription's first batch.
    with connect(server.base.replace("http://", "ws://") + "ws", subprotocols=["stemtrace.v1"]) as socket:  # type: ignore[list-item]
        socket.send('{"type": "subscribe", "topic": "tasks", "since": 0}')
        frames = [str(socket.recv(timeout=10)) for _ in range(2)]  # "subscribed", then the batch
    assert len(orjson.loads(frames[1])["changes"]) == 8, frames[1][:500]
    stream = [f[b"data"] for _, f in redis.Redis.from_url(redis_url).xrange(f"{stream_prefix}:events")]
    assert stream and not [e for e in stream if CANARY.encode() in e], "the stream holds the canary"
    assert CANARY not in everything.text, "the task list holds the canary"
    for task_id in ids:
        assert CANARY not in httpx.get(f"{server.base}api/graphs/{task_id}", timeout=30).text
    assert frames and not [f for f in frames if CANARY in f], "a WebSocket frame holds the canary"

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        for route in ("#/tasks", f"#/tasks/{ids[3]}", f"#/flows/{ids[4]}"):
            page.goto(server.base + route)
            page.wait_for_selector("main", timeout=15_000)
            page.wait_for_timeout(1_000)
            assert CANARY not in page.content(), route
        browser.close()
