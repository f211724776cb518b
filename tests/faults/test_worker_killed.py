"""Worker processes killed mid-task: the task never shows as running forever, the worker's state is right.

What Celery itself reports (found by these tests): a SIGKILLed prefork child makes the main process
fail the task with ``WorkerLostError``; a cold shutdown (SIGQUIT) cancels the running task as a RETRY
(it is requeued) and exits without ``worker_shutdown``; a SIGKILLed worker says nothing at all. The
last two are covered by stemtrace: a cold shutdown sends ``worker_terminating``, and the server flags
a task received or started on a worker that is gone (``interrupted``).
"""

from __future__ import annotations

import os
import signal
from typing import Any

import httpx
import pytest

from tests.faults.helpers import api, poll
from tests.support.worker import WorkerProcess, celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
SLEEPY = "examples.celery_app.sleepy"
FAST_HEARTBEAT = {"STEMTRACE_HEARTBEAT_INTERVAL": "1"}  # stale after 3 s instead of 90 s


def start_long_task(server: Any, worker: WorkerProcess) -> tuple[str, dict[str, Any]]:
    """Send a task that sleeps a minute; return its id and its node once the server shows it STARTED."""
    task_id = worker.client_app().signature(SLEEPY, (60,)).delay().id
    node = poll(lambda: task(server, task_id), lambda t: t is not None and t["state"] == "STARTED", "task started")
    return task_id, node


def task(server: Any, task_id: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{server.base}api/tasks/{task_id}", timeout=10)
    return answer.json()["task"] if answer.status_code == 200 else None


def worker_status(server: Any, worker: WorkerProcess) -> str | None:
    workers = api(server, f"api/workers/{worker.hostname}")["workers"]
    return workers[0]["status"] if workers else None


def test_a_killed_prefork_child_fails_its_task_and_the_worker_stays_online(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    worker = celery_worker_factory(pool="prefork", concurrency=2, env=FAST_HEARTBEAT)
    task_id, node = start_long_task(server, worker)
    child = next(e["pid"] for e in node["events"] if e["state"] == "STARTED")
    assert child != worker.pid

    os.kill(child, signal.SIGKILL)
    failed = poll(lambda: task(server, task_id), lambda t: t["state"] == "FAILURE", "the task failed")
    assert failed["exception_type"] == "WorkerLostError"
    assert failed["interrupted"] is None  # a final state needs no flag
    assert worker_status(server, worker) == "online"  # the pool replaced its child
    # Each prefork child reports its own transport counters; the worker's sum covers them.
    transport = poll(
        lambda: api(server, f"api/workers/{worker.hostname}")["workers"][0]["transport"],
        lambda t: t["sent"] >= 3,  # worker_ready, RECEIVED and FAILURE from the main process at least
        "the worker's counters reported",
    )
    assert transport["dropped"] == 0


def test_a_cold_shutdown_requeues_the_task_and_takes_the_worker_offline(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    worker = celery_worker_factory(pool="prefork", concurrency=2, env=FAST_HEARTBEAT)
    task_id, _ = start_long_task(server, worker)

    os.kill(worker.pid, signal.SIGQUIT)
    poll(lambda: worker_status(server, worker), lambda s: s == "offline", "the worker offline")
    cancelled = poll(lambda: task(server, task_id), lambda t: t["state"] != "STARTED", "the task no longer running")
    assert cancelled["state"] == "RETRY"  # Celery cancels it for redelivery
    assert worker.proc.wait(30) is not None


def test_a_killed_worker_leaves_its_task_interrupted_not_running(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    worker = celery_worker_factory(pool="prefork", concurrency=2, env=FAST_HEARTBEAT)
    task_id, node = start_long_task(server, worker)
    assert node["interrupted"] is None

    os.killpg(worker.pid, signal.SIGKILL)  # the main process and its children: nothing is sent
    lost = poll(lambda: task(server, task_id), lambda t: t["interrupted"] is not None, "the task flagged")
    assert (lost["state"], lost["interrupted"]) == ("STARTED", "worker_stale")
    assert worker_status(server, worker) == "stale"
    graph = api(server, f"api/graphs/{task_id}")["nodes"][task_id]
    assert graph["interrupted"] == "worker_stale"

    # The same worker started again: the old task still cannot be running.
    celery_worker_factory(pool="solo", hostname=worker.hostname, queue=worker.queue, env=FAST_HEARTBEAT)
    poll(lambda: worker_status(server, worker), lambda s: s == "online", "the worker back")
    assert task(server, task_id)["interrupted"] == "worker_restarted"
