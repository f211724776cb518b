"""Drive flows against a worker started by :mod:`tests.support.worker` and read the events back from the
broker they travelled through: the Redis Stream, or the RabbitMQ stream queue."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import redis

import stemtrace
from tests.support.rabbitmq import StreamReader
from tests.support.worker import WorkerProcess

TASKS = "examples.celery_app"
Tasks = dict[str, list[dict[str, Any]]]


class Flows:
    """A client app bound to one worker, publishing with stemtrace on, and the events read back."""

    def __init__(self, worker: WorkerProcess, transport_url: str, prefix: str) -> None:
        self.app = worker.client_app()
        self.events = _reader(transport_url, prefix)
        stemtrace.init(self.app, transport_url=transport_url, prefix=prefix)

    def s(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self.app.signature(f"{TASKS}.{name}", args=args, kwargs=kwargs)

    def by_task(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in self.events():
            if "task_id" in e:
                out[e["task_id"]].append(e)
        return out

    def wait_for(self, check: Callable[[dict[str, list[dict[str, Any]]]], bool], timeout: float = 15) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.by_task()
            if check(tasks):
                return tasks
            if time.monotonic() > deadline:
                pytest.fail(f"events never matched; got {dict(tasks)}")
            time.sleep(0.1)


def _reader(transport_url: str, prefix: str) -> Callable[[], list[dict[str, Any]]]:
    """A function returning every event of ``prefix`` so far, in the order the broker keeps them."""
    if transport_url.startswith("amqp"):
        return StreamReader(transport_url, prefix).read
    client, key = redis.Redis.from_url(transport_url), f"{prefix}:events"
    return lambda: [orjson.loads(f[b"data"]) for _, f in client.xrange(key)]


def states(evts: list[dict[str, Any]]) -> list[str]:
    return [e["state"] for e in evts]


def done(*ids: str, state: str = "SUCCESS") -> Callable[[Tasks], bool]:
    """A check for :meth:`Flows.wait_for`: every task in ``ids`` has an event in ``state``."""
    return lambda tasks: all(state in states(tasks.get(i, [])) for i in ids)
