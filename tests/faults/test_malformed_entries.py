"""10,000 malformed stream entries mixed into a real worker's run: each skipped and counted by reason."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest
import redis
from celery import group

from tests.faults.helpers import api, poll, task_states, wire_event, xadd_all
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
ADD = "examples.celery_app.add"
TASKS = 300
BAD = 10_000
NOW = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (reason the engine must count, entry): a data payload, or a whole field dict (an entry without `data`).
SHAPES: list[tuple[str, bytes | dict[str, bytes]]] = [
    ("malformed", b"not json at all"),
    ("malformed", b'{"task_id": "bad-utf8-\xff\xfe", "state": "SUCCESS"}'),  # invalid UTF-8 inside a string
    ("malformed", b"\xc3\x28\xa0\xa1"),
    # invalid UTF-8 in a field the engine does not index (found by the `ingest` fuzz target)
    ("malformed", b'{"task_id": "bad-tb", "state": "SUCCESS", "timestamp": "%s", "traceback": "\xea"}' % NOW.encode()),
    ("malformed", b'{"task_id": "cut", "sta'),  # truncated
    ("malformed", b"[1, 2, 3]"),
    ("malformed", b'"a string"'),
    ("malformed", b"42"),
    ("malformed", b"null"),
    ("malformed", b""),
    ("malformed", {"payload": b'{"task_id": "no-data-field"}'}),  # no `data` field at all
    ("malformed", nested(10_000)),  # a document nested deeper than the decoder's recursion limit
    ("malformed", b'{"task_id": "deep-and-cut", "args": ' + b"[" * 10_000),
    ("no_task_id", b"{}"),
    ("no_task_id", b'{"task_id": 123, "state": "SUCCESS", "timestamp": "%s"}' % NOW.encode()),
    ("no_task_id", b'{"task_id": "", "state": "SUCCESS", "timestamp": "%s"}' % NOW.encode()),
    ("no_task_id", b'{"task_id": ["x"], "state": "SUCCESS"}'),
    ("no_task_id", b'{"name": "only-a-name", "hostname": "h"}'),
    ("unknown_state", b'{"task_id": "bad-state-1", "state": "RUNNING", "timestamp": "%s"}' % NOW.encode()),
    ("unknown_state", b'{"task_id": "bad-state-2", "state": 5, "timestamp": "%s"}' % NOW.encode()),
    ("unknown_state", b'{"task_id": "bad-state-3", "timestamp": "%s"}' % NOW.encode()),
    ("no_timestamp", b'{"task_id": "bad-ts-1", "state": "SUCCESS"}'),
    ("no_timestamp", b'{"task_id": "bad-ts-2", "state": "SUCCESS", "timestamp": "yesterday"}'),
    ("no_timestamp", b'{"task_id": "bad-ts-3", "state": "SUCCESS", "timestamp": {"s": 1}}'),
    ("no_timestamp", b'{"task_id": "bad-ts-4", "state": "SUCCESS", "timestamp": true}'),
]
# A few huge ones (1 MB each): a string that never ends, and a valid-looking event of the wrong shape.
HUGE: list[tuple[str, bytes]] = [
    ("malformed", b'"' + b"x" * 1_000_000),
    ("no_task_id", orjson.dumps({"task_id": None, "name": "n" * 1_000_000})),
    ("unknown_state", orjson.dumps({"task_id": "huge-state", "state": "S" * 1_000_000, "timestamp": NOW})),
]


# Nesting in a field the engine does not index is skipped without recursion: the event is good.
DEEP_ARGS = b'{"task_id": "deep-args", "state": "SUCCESS", "timestamp": "%s", "args": %s}' % (
    NOW.encode(),
    nested(10_000),
)


def bad_entries() -> list[tuple[str, bytes | dict[str, bytes]]]:
    huge = [HUGE[i % len(HUGE)] for i in range(9)]
    return [*huge, *itertools.islice(itertools.cycle(SHAPES), BAD - len(huge))]


def test_malformed_entries_are_counted_by_reason_and_every_good_event_shown(
    redis_url: str,
    stream_prefix: str,
    stemtrace_server,
    celery_worker_factory,  # noqa: F811
) -> None:
    server = stemtrace_server(redis_url, stream_prefix)
    worker = celery_worker_factory(pool="solo")
    add = worker.client_app().signature(ADD)
    pending = group(add.clone((i, i)) for i in range(TASKS)).delay()

    bad = bad_entries()
    client = redis.Redis.from_url(redis_url)
    key = f"{stream_prefix}:events"
    for start in range(0, len(bad), 500):  # in slices, so they interleave with the worker's events
        xadd_all(client, key, [entry for _, entry in bad[start : start + 500]])
    xadd_all(client, key, [DEEP_ARGS])
    assert pending.get(timeout=120) == [2 * i for i in range(TASKS)]

    expected = Counter(reason for reason, _ in bad)
    assert sum(expected.values()) == BAD
    health = poll(lambda: api(server, "api/health"), lambda h: h["skipped"] == dict(expected), "every entry counted")
    shown = poll(lambda: task_states(server), lambda s: len(s) == TASKS + 1, "every good task shown")
    assert set(shown.values()) == {"SUCCESS"} and "deep-args" in shown
    assert health["node_count"] == TASKS + 1  # no skipped entry created a task
    assert health["duplicates"] == 0
    assert health["consumer_connected"] is True
    assert sum(health["skipped"].values()) == BAD


def test_a_good_event_next_to_a_bad_one_is_unharmed(redis_url: str, stream_prefix: str, stemtrace_server) -> None:
    """Bad bytes in one entry never leak into its neighbours (entries are decoded one by one)."""
    server = stemtrace_server(redis_url, stream_prefix)
    now = datetime.now(UTC)
    good = [wire_event(f"good-{i}", "SUCCESS", now, name="app.ok") for i in range(len(SHAPES))]
    mixed = [entry for pair in zip(good, (e for _, e in SHAPES), strict=True) for entry in pair]
    xadd_all(redis.Redis.from_url(redis_url), f"{stream_prefix}:events", mixed)
    shown = poll(lambda: task_states(server), lambda s: len(s) == len(good), "the good neighbours")
    assert shown == {f"good-{i}": "SUCCESS" for i in range(len(SHAPES))}
