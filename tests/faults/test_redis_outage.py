"""The event Redis stops for 30 s while a worker runs 5,000 tasks; Celery's own broker stays up.

Throughput during the outage is a speed claim, measured by ``bench/faults/outage.py``, not here.
"""

from __future__ import annotations

import time

import orjson
import pytest
from celery import group

from tests.faults.helpers import api, poll, task_states
from tests.support.redis_server import RestartableRedis
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
TASKS = "examples.celery_app"
ADD = f"{TASKS}.add"
N = 5_000
EVENTS_PER_TASK = 3  # RECEIVED, STARTED, SUCCESS: the solo worker emits all three itself
OUTAGE = 30.0
BUFFER = 2_000  # smaller than what the outage produces, so the bounded buffer really drops


def test_tasks_succeed_and_drops_are_counted_through_a_30s_outage(
    event_redis: RestartableRedis,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
) -> None:
    server = stemtrace_server(event_redis.url, stream_prefix)
    # solo: one process emits every event, so its transport counters are the worker's whole story.
    worker = celery_worker_factory(
        pool="solo",
        env={
            "STEMTRACE_TRANSPORT_URL": event_redis.url,
            "STEMTRACE_BUFFER_SIZE": str(BUFFER),
            "STEMTRACE_HEARTBEAT_INTERVAL": "1",
        },
    )
    app = worker.client_app()
    add = app.signature(ADD)
    # A fifth of the tasks before the outage, the rest sent as it starts: they run while Redis is down.
    before = group(add.clone((i, i)) for i in range(N // 5)).delay()
    assert before.get(timeout=120) == [2 * i for i in range(N // 5)]
    event_redis.stop(keep_data=True)
    during = group(add.clone((i, i)) for i in range(N // 5, N)).delay()
    time.sleep(OUTAGE)  # the fault itself, not a wait for a result
    event_redis.start()
    assert during.get(timeout=300) == [2 * i for i in range(N // 5, N)]  # every task succeeded

    stats_task = app.signature(f"{TASKS}.transport_stats")
    # At most the stats task's own RECEIVED and STARTED can still wait for the sender thread.
    stats = poll(lambda: stats_task.delay().get(timeout=30), lambda s: s["buffered"] <= 2, "the buffer drained")
    assert stats["dropped"] > 0, "the outage produced more events than the buffer holds"

    # Every event the library did not count as dropped reached Redis, and only those.
    entries = [orjson.loads(data[b"data"]) for _, data in event_redis.client().xrange(f"{stream_prefix}:events")]
    task_events = [e for e in entries if e.get("name") == ADD]
    lost = N * EVENTS_PER_TASK - len(task_events)
    heartbeats_in_outage = OUTAGE + 10  # one a second, plus margin: they are dropped like any event
    assert 0 < lost <= stats["dropped"] <= lost + heartbeats_in_outage

    # The server shows exactly the tasks with at least one event in Redis, each in its latest state.
    in_stream = {e["task_id"] for e in task_events}
    assert len(in_stream) < N  # some tasks lost every event in the outage...
    poll(lambda: api(server, f"api/tasks?name_exact={ADD}")["total"], lambda n: n == len(in_stream), "all ingested")
    shown = task_states(server, name_exact=ADD)
    assert set(shown) == in_stream
    finished = {e["task_id"] for e in task_events if e["state"] == "SUCCESS"}
    assert {t for t, s in shown.items() if s == "SUCCESS"} == finished

    # ...and the drops are visible in the server: per worker and summed in health.
    health = poll(
        lambda: api(server, "api/health"),
        lambda h: h["producer"]["dropped"] == stats["dropped"],
        "the worker's heartbeat carried its drop count",
    )
    assert health["producer"]["errors"] >= 1
    (reported,) = api(server, f"api/workers/{worker.hostname}")["workers"]
    assert reported["transport"]["dropped"] == stats["dropped"]
