"""A 2,000-task flow written straight to a Redis stream, for the flow paint bench and the browser tests.

The events are in the wire format of tests/golden/*.jsonl (PENDING → RECEIVED → STARTED → SUCCESS per
task): a root that spawns a chord of 400 header tasks whose callback starts a 608-step chain, and 33
tasks that each spawn 29 more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import orjson
import redis

NAME = "bench.flow"
HEADER, CHAIN, FANS, LEAVES = 400, 608, 33, 29  # 1 + 400 + 1 + 608 + 33 * (1 + 29) = 2,000 tasks
TASKS = 1 + HEADER + 1 + CHAIN + FANS * (1 + LEAVES)
NODES = TASKS + 1  # and the chord's box
# root → chord box and fans, fan → leaves, header → callback, callback → chain, chain steps
EDGES = 1 + FANS + FANS * LEAVES + HEADER + 1 + (CHAIN - 1)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def task_events(task_id: str, start: datetime, **fields: Any) -> Iterator[bytes]:
    """The four lifecycle events of one successful task, 5 ms queued and 20 ms running."""
    common = {"task_id": task_id, "name": NAME, "retries": 0, "queue": "celery", "hostname": "bench@vm", **fields}
    steps = [("PENDING", 0), ("RECEIVED", 2), ("STARTED", 5), ("SUCCESS", 25)]
    for state, ms in steps:
        event = {**common, "state": state, "timestamp": _iso(start + timedelta(milliseconds=ms))}
        if state == "PENDING":
            event |= {"args": [1, 2], "kwargs": {}}
        if state == "SUCCESS":
            event["result"] = 3
        yield orjson.dumps(event)


def flow_events(root: str, start: datetime) -> Iterator[bytes]:
    """Every event of the synthetic flow; ids are fresh uuids, children start after their parent."""
    new = lambda: str(uuid.uuid4())  # noqa: E731
    at = lambda i: start + timedelta(milliseconds=30 * i)  # noqa: E731
    yield from task_events(root, at(0), parent_id=None, root_id=root)
    group_id, callback = new(), new()
    header = [new() for _ in range(HEADER)]
    for task_id in header:
        yield from task_events(task_id, at(1), parent_id=root, root_id=root, group_id=group_id, chord_id=group_id,
                               chord_callback_id=callback)  # fmt: skip
    yield from task_events(callback, at(2), parent_id=header[-1], root_id=root, group_id=group_id)
    previous = callback
    for step in range(CHAIN):
        task_id = new()
        yield from task_events(task_id, at(3 + step), parent_id=previous, root_id=root)
        previous = task_id
    for _ in range(FANS):
        fan = new()
        yield from task_events(fan, at(1), parent_id=root, root_id=root)
        for _ in range(LEAVES):
            yield from task_events(new(), at(2), parent_id=fan, root_id=root)


def ingest(redis_url: str, key: str, base: str) -> str:
    """Writes the flow to the stream and waits until the server serves all of it; returns the root id."""
    client = redis.Redis.from_url(redis_url)
    root = str(uuid.uuid4())
    pipe = client.pipeline(transaction=False)
    for data in flow_events(root, datetime.now(timezone.utc) - timedelta(minutes=5)):
        pipe.xadd(key, {"data": data})
    pipe.execute()
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{base}api/graphs/{root}", timeout=10)
        nodes = response.json().get("nodes", {}) if response.status_code == 200 else {}
        tasks = [n for n in nodes.values() if n.get("node_type") == "TASK" and n.get("state") == "SUCCESS"]
        if len(tasks) == TASKS:
            return root
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server holds {len(tasks)} of {TASKS} finished tasks of the flow")
        time.sleep(0.5)
