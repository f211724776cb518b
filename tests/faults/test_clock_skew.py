"""Workers whose clocks are 5 minutes ahead and behind: flows, states and worker liveness stay right,
and no duration is negative. Events are written as each host would stamp them, in a shuffled order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis

from tests.faults.helpers import api, poll, task_states, wire_event, xadd_all

pytestmark = pytest.mark.redis
SKEW = {"web": timedelta(0), "celery@ahead": timedelta(minutes=5), "celery@behind": timedelta(minutes=-5)}
DURATIONS = ("duration_ms", "queue_wait_ms", "runtime_ms", "total_runtime_ms")


def stamped(host: str, real: datetime, task_id: str, state: str, **fields: object) -> bytes:
    """An event as ``host`` writes it: its own clock's idea of the real time ``real``."""
    return wire_event(task_id, state, real + SKEW[host], name=f"app.{task_id}", hostname=host, **fields)


def skewed_events(t0: datetime) -> list[bytes]:
    s = lambda seconds: t0 + timedelta(seconds=seconds)  # noqa: E731  (real time, seconds after t0)
    tree = {"root_id": "parent"}
    return [
        # parent: sent by the web app, run on the host that is ahead; it sends child, run behind,
        # which sends grandchild, run ahead again and failing.
        stamped("web", s(0), "parent", "PENDING", **tree),
        stamped("celery@ahead", s(0.1), "parent", "RECEIVED", **tree),
        stamped("celery@ahead", s(0.2), "parent", "STARTED", **tree),
        stamped("celery@ahead", s(0.5), "child", "PENDING", parent_id="parent", **tree),
        stamped("celery@ahead", s(1.0), "parent", "SUCCESS", **tree),
        stamped("celery@behind", s(0.6), "child", "RECEIVED", parent_id="parent", **tree),
        stamped("celery@behind", s(0.7), "child", "STARTED", parent_id="parent", **tree),
        stamped("celery@behind", s(0.9), "grandchild", "PENDING", parent_id="child", **tree),
        stamped("celery@behind", s(1.7), "child", "SUCCESS", parent_id="parent", **tree),
        stamped("celery@ahead", s(1.2), "grandchild", "STARTED", parent_id="child", **tree),
        stamped(
            "celery@ahead", s(1.3), "grandchild", "FAILURE", parent_id="child", exception_type="ValueError", **tree
        ),
        # a retry: the first attempt ahead, the second behind (its events look 10 minutes older)
        stamped("celery@ahead", s(0), "retried", "STARTED", retries=0),
        stamped("celery@ahead", s(0.5), "retried", "RETRY", retries=0),
        stamped("celery@behind", s(0.6), "retried", "RECEIVED", retries=1),
        stamped("celery@behind", s(0.7), "retried", "STARTED", retries=1),
        stamped("celery@behind", s(1.0), "retried", "SUCCESS", retries=1),
        # still running on the host that is behind
        stamped("web", s(0), "running", "PENDING"),
        stamped("celery@behind", s(0.1), "running", "STARTED"),
    ]


def worker_events(t0: datetime) -> list[bytes]:
    return [
        orjson.dumps({"event_type": kind, "hostname": host, "pid": 1, "heartbeat_interval": 30,
                      "timestamp": (t0 + SKEW[host]).strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        for host in ("celery@ahead", "celery@behind")
        for kind in ("worker_ready", "worker_heartbeat")
    ]  # fmt: skip


def test_skewed_clocks_keep_flows_states_and_durations_right(
    redis_url: str, stream_prefix: str, stemtrace_server
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    t0 = datetime.now(UTC)
    events = skewed_events(t0)
    random.Random(5).shuffle(events)
    xadd_all(redis.Redis.from_url(redis_url), f"{stream_prefix}:events", [*worker_events(t0), *events])

    states = poll(lambda: task_states(server), lambda s: len(s) == 5, "every task ingested")
    assert states == {"parent": "SUCCESS", "child": "SUCCESS", "grandchild": "FAILURE", "retried": "SUCCESS",
                      "running": "STARTED"}  # fmt: skip

    nodes = api(server, "api/graphs/parent")["nodes"]
    assert set(nodes) == {"parent", "child", "grandchild"}
    assert nodes["child"]["parent_id"] == "parent" and nodes["grandchild"]["parent_id"] == "child"
    assert nodes["parent"]["children"] == ["child"] and nodes["child"]["children"] == ["grandchild"]

    tasks = api(server, "api/tasks?compact=1")["tasks"]
    for task in tasks:
        for field in DURATIONS:
            assert task[field] is None or task[field] >= 0, (task["task_id"], field, task[field])
    retried = next(t for t in tasks if t["task_id"] == "retried")
    assert retried["retries"] == 1 and retried["hostname"] == "celery@behind"

    # The worker whose clock is 5 minutes behind is alive: its task is not flagged as interrupted.
    workers = {w["hostname"]: w["status"] for w in api(server, "api/workers")["workers"]}
    assert workers == {"celery@ahead": "online", "celery@behind": "online"}
    assert next(t for t in tasks if t["task_id"] == "running")["interrupted"] is None
