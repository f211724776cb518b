"""``memory://``: an in-process worker (the demo's setup) feeding the in-process bus — no Redis at all."""

from __future__ import annotations

import threading
import time

import orjson
from celery import Celery, chord
from celery.contrib.testing.worker import start_worker

import stemtrace
from stemtrace.transport import memory


def test_in_process_worker_publishes_to_memory_bus() -> None:
    app = Celery("memdemo", broker="memory://", backend="cache+memory://", set_as_current=False)
    app.conf.broker_transport_options = {"polling_interval": 0.01}

    @app.task(name="memdemo.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="memdemo.xsum")
    def xsum(values: list[int]) -> int:
        return sum(values)

    received: list[dict] = []
    lock = threading.Lock()

    def ingest(batch: list[bytes]) -> None:
        with lock:
            received.extend(orjson.loads(b) for b in batch)

    unsubscribe = memory.subscribe(ingest)
    cfg = stemtrace.init(app)  # transport URL from Celery's broker_url: memory://
    assert cfg.transport_url == "memory://"
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = chord([add.s(i, i) for i in range(3)], xsum.s()).delay()
            assert result.get(timeout=10) == 6
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with lock:
                    if any(e.get("task_id") == result.id and e["state"] == "SUCCESS" for e in received):
                        break
                time.sleep(0.02)
        stemtrace.get_transport().flush(2)
    finally:
        unsubscribe()
        stemtrace.celery.shutdown()
    with lock:
        events = list(received)
    by_state = {(e.get("task_id"), e.get("state")) for e in events}
    assert (result.id, "SUCCESS") in by_state and (result.id, "PENDING") in by_state
    headers = [e for e in events if e.get("chord_callback_id") == result.id]
    assert {e["state"] for e in headers} >= {"PENDING", "RECEIVED", "STARTED", "SUCCESS"}
    assert any(e.get("event_type") == "worker_ready" for e in events)
