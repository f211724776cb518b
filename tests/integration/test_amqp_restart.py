"""RabbitMQ restarted mid-run (a private node, stopped and started on the same data): tasks never notice,
the worker's publisher and the engine's consumer reconnect by themselves, and everything the stream kept
is there — for the running engine and for one started afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from celery import group

from stemtrace.engine import create_engine
from tests.support.rabbitmq import PrivateRabbit, start_private_rabbitmq
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

ADD = "examples.celery_app.add"


@pytest.fixture
def rabbit(tmp_path: Path) -> Iterator[PrivateRabbit]:
    workdir = tmp_path / "rabbitmq"
    workdir.mkdir()
    node = start_private_rabbitmq(workdir)
    yield node
    node.stop()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)
    return value


def health(engine: Any) -> dict[str, Any]:
    return orjson.loads(engine.health())


def succeeded(engine: Any) -> int:
    return orjson.loads(engine.list_tasks(states=["SUCCESS"], name_exact=ADD, limit=1))["total"]


def test_restart_mid_run(rabbit: PrivateRabbit, celery_worker_factory, stream_prefix: str) -> None:  # noqa: F811
    # Celery's own broker stays Redis: only the events travel through the node we restart.
    worker = celery_worker_factory(pool="solo", env={"STEMTRACE_TRANSPORT_URL": rabbit.url})
    app = worker.client_app()
    engine = create_engine(rabbit.url, stream_prefix, 10_000, 600)
    engine.start()
    try:
        assert group(app.signature(ADD, (i, i)) for i in range(5)).delay().get(timeout=30) == [0, 2, 4, 6, 8]
        wait_until(lambda: succeeded(engine) == 5, "the engine saw the first five tasks")
        assert health(engine)["broker_mode"] == "rabbitmq-stream"

        rabbit.stop()
        started = time.monotonic()
        during = group(app.signature(ADD, (i, i)) for i in range(5, 10)).delay().get(timeout=30)
        assert during == [10, 12, 14, 16, 18]
        assert time.monotonic() - started < 10, "tasks were slowed down by the missing event broker"
        down = wait_until(lambda: (h := health(engine))["last_error"] and not h["consumer_connected"] and h,
                          "the consumer noticed the outage")  # fmt: skip
        assert down["consumer_running"]

        rabbit.start()
        wait_until(lambda: succeeded(engine) == 10, "the engine saw the tasks run during the outage")
        after = health(engine)
        assert after["consumer_connected"] and after["last_error"] is None
        assert after["duplicates"] == 0, "a reconnect read the stream again from its start"
    finally:
        engine.stop()

    # Nothing the stream kept is lost: a server started now replays all of it.
    replay = create_engine(rabbit.url, stream_prefix, 10_000, 600)
    replay.start()
    try:
        wait_until(lambda: succeeded(replay) == 10, "a new engine replayed both halves from the stream")
    finally:
        replay.stop()
