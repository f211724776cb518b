"""Redis for events unreachable: tasks still run at full speed, the buffer stays bounded, drops are counted."""

from __future__ import annotations

import socket
import time

import pytest
from celery import group

from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
TASKS = "examples.celery_app"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_tasks_unaffected_when_event_redis_is_down(celery_worker_factory, pool: str) -> None:  # noqa: F811
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    worker = celery_worker_factory(
        pool=pool,
        concurrency=1,
        env={"STEMTRACE_TRANSPORT_URL": dead, "STEMTRACE_BUFFER_SIZE": "50"},
    )
    app = worker.client_app()
    add = app.signature(f"{TASKS}.add")

    start = time.perf_counter()
    results = group(add.clone((i, i)) for i in range(300)).delay().get(timeout=60)
    elapsed = time.perf_counter() - start
    assert results == [i * 2 for i in range(300)]
    assert elapsed < 20, elapsed  # without a working event Redis a task still takes milliseconds

    stats = app.signature(f"{TASKS}.transport_stats").delay().get(timeout=10)
    assert stats["sent"] == 0 and stats["errors"] >= 1
    assert stats["dropped"] > 0 and stats["buffered"] <= 50
    assert "could not send" in worker.logs()
    assert worker.stop() is not None  # shutdown is not held up by the unsendable buffer
