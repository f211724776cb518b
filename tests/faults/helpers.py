"""What the fault tests share: polling the server's API, and writing events straight into a stream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import redis

from tests.support.server import ServerProcess

T = TypeVar("T")


def api(server: ServerProcess, path: str) -> Any:
    answer = httpx.get(server.base + path, timeout=30)
    answer.raise_for_status()
    return answer.json()


def poll(fetch: Callable[[], T], check: Callable[[T], bool], what: str, timeout: float = 60) -> T:
    """``fetch()`` until ``check`` accepts its answer; fails with the last answer after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still not true after {timeout}s; last answer: {str(value)[:2000]}")
        time.sleep(0.2)


def task_states(server: ServerProcess, **filters: str) -> dict[str, str]:
    """Every task the server shows, ``{task_id: state}``, read page by page (call it once ingest is idle)."""
    states: dict[str, str] = {}
    query = "".join(f"&{k}={v}" for k, v in filters.items())
    while True:
        page = api(server, f"api/tasks?compact=1&limit=500&offset={len(states)}{query}")
        states.update((t["task_id"], t["state"]) for t in page["tasks"])
        if not page["tasks"] or len(states) >= page["total"]:
            return states


def wire_event(task_id: str, state: str, at: datetime, **fields: Any) -> bytes:
    """One task event as a worker writes it (DESIGN §3): ISO-8601 UTC timestamp with ``Z``."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return orjson.dumps({"task_id": task_id, "state": state, "timestamp": stamp, **fields})


def xadd_all(client: redis.Redis, key: str, entries: Iterable[bytes | dict[str, bytes]], chunk: int = 5_000) -> int:
    """XADD each entry (a ``data`` payload, or a whole field dict) in pipelined chunks; returns how many."""
    count = 0
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        pipe.xadd(key, entry if isinstance(entry, dict) else {"data": entry})
        count += 1
        if count % chunk == 0:
            pipe.execute()
    pipe.execute()
    return count
