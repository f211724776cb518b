"""Redis restarts with its data lost: the consumer notices the reset, reads the new stream from its start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.faults.helpers import api, poll, task_states, wire_event, xadd_all
from tests.support.redis_server import RestartableRedis

pytestmark = pytest.mark.redis


def runs(prefix: str, count: int) -> list[bytes]:
    now = datetime.now(UTC)
    return [
        wire_event(f"{prefix}-{i}", state, now, name="app.job", hostname="celery@a")
        for i in range(count)
        for state in ("STARTED", "SUCCESS")
    ]


def test_a_restart_without_data_is_counted_and_the_new_stream_read_from_its_start(
    event_redis: RestartableRedis, stemtrace_server, stream_prefix: str
) -> None:
    key = f"{stream_prefix}:events"
    server = stemtrace_server(event_redis.url, stream_prefix)
    xadd_all(event_redis.client(), key, runs("before", 100))
    poll(lambda: api(server, "api/health")["node_count"], lambda n: n == 100, "first stream ingested")
    resets = api(server, "api/health")["stream_resets"]

    event_redis.stop(keep_data=False)
    event_redis.start()
    poll(lambda: api(server, "api/health"), lambda h: h["stream_resets"] > resets, "the reset noticed")
    xadd_all(event_redis.client(), key, runs("after", 50))

    health = poll(lambda: api(server, "api/health"), lambda h: h["node_count"] == 150, "new stream ingested")
    assert health["stream_resets"] == resets + 1
    assert health["consumer_connected"] is True
    shown = task_states(server)
    assert set(shown) == {f"before-{i}" for i in range(100)} | {f"after-{i}" for i in range(50)}
    assert set(shown.values()) == {"SUCCESS"}  # what was already shown stays; nothing read twice
    assert health["duplicates"] == 0
