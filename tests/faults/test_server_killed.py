"""The server SIGKILLed while ingesting 1,000,000 events, then started again, shows exactly what a
reference engine fed the same events shows: same tasks, same states, same counts.

The server keeps its state in memory and rebuilds it from the retained stream on start, so this
proves that a kill at any point leaves nothing behind that changes the replay (no partial state, no
double counting). The stream is made of the recorded golden flows with fresh ids (the comparison
benchmark's generator), written with pipelined XADDs while the first server follows it.
"""

from __future__ import annotations

import itertools

import orjson
import pytest
import redis

from bench.compare.generator import generate
from stemtrace._engine import Engine
from tests.faults.helpers import api, poll
from tests.support.server import ServerProcess

pytestmark = pytest.mark.redis
N_EVENTS = 1_000_000
STATES = ("PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED")


def state_totals(fetch) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {state: fetch(state)["total"] for state in STATES}


def server_totals(server: ServerProcess) -> dict[str, int]:
    return state_totals(lambda state: api(server, f"api/tasks?state={state}&limit=1&compact=1"))


def test_a_server_killed_mid_ingest_replays_to_the_same_state(
    redis_url: str, stream_prefix: str, stemtrace_server
) -> None:
    key = f"{stream_prefix}:events"
    client = redis.Redis.from_url(redis_url)
    reference = Engine(None, "reference")
    _, lines = generate(N_EVENTS // 4)  # ~4.25 events per task: more than enough lines
    last_id = b""
    events = itertools.islice(lines, N_EVENTS)
    while data := [line.encode() for line in itertools.islice(events, 10_000)]:
        pipe = client.pipeline(transaction=False)
        for entry in data:
            pipe.xadd(key, {"data": entry})
        last_id = pipe.execute()[-1]
        reference.ingest(data)
    assert client.xlen(key) == N_EVENTS
    expected = orjson.loads(reference.health())

    first = stemtrace_server(redis_url, stream_prefix)
    at_kill = poll(
        lambda: api(first, "api/health")["events_ingested"], lambda n: n >= 50_000, "ingest begun", timeout=120
    )
    first.proc.kill()  # SIGKILL: no lifespan shutdown, nothing flushed
    first.proc.wait(10)
    assert at_kill < expected["events_ingested"]  # it died mid-ingest

    second = stemtrace_server(redis_url, stream_prefix)
    health = poll(
        lambda: api(second, "api/health"),
        lambda h: h["last_event_id"] == last_id.decode() and h["lag"] == 0,
        "the restarted server caught up",
        timeout=120,
    )
    for field in ("node_count", "flow_count", "events_ingested", "duplicates", "skipped"):
        assert health[field] == expected[field], field
    assert health["node_count"] > 200_000

    by_state = lambda state: orjson.loads(reference.list_tasks(states=[state], limit=1, compact=True))  # noqa: E731
    assert server_totals(second) == state_totals(by_state)

    # A sample across the whole stream: the newest 500 tasks and 500 from the middle.
    sample = orjson.loads(reference.list_tasks(limit=500, offset=0, compact=True))["tasks"]
    sample += orjson.loads(reference.list_tasks(limit=500, offset=100_000, compact=True))["tasks"]
    for task in sample:
        shown = api(second, f"api/tasks/{task['task_id']}")["task"]
        assert (shown["state"], shown["parent_id"], shown["root_id"]) == (
            task["state"], task["parent_id"], task["root_id"]
        ), task["task_id"]  # fmt: skip
