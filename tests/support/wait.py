"""Polling helpers for tests that watch something happen (never a sleep standing in for a condition)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson


def until(what: str, check: Callable[[], Any], timeout: float = 20) -> Any:
    """``check()``'s first truthy value; fails with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return value


def engine_task(engine: Any, task_id: str) -> dict[str, Any] | None:
    """A task's node as the engine (or a remote one) answers it, or None while it is unknown."""
    found = engine.get_task(task_id)
    return orjson.loads(found)["task"] if found else None


def engine_state(engine: Any, task_id: str) -> str | None:
    task = engine_task(engine, task_id)
    return task["state"] if task else None


def server_state(base: str, task_id: str) -> str | None:
    """A task's state as a running server's API answers it (``base`` ends in ``/stemtrace/``), None while unknown."""
    answer = httpx.get(f"{base}api/tasks/{task_id}", timeout=5)
    return answer.json()["task"]["state"] if answer.status_code == 200 else None
