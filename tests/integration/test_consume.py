"""High-scale mode: one real `stemtrace consume`, two real `stemtrace server --shared`, one real Redis.

Also the read-only promise: every command the server, the consumer and the shared servers send to Redis
is watched with MONITOR, and none writes outside stemtrace's own prefix.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from tests.support.server import STEMTRACE, ServerProcess, start_server

GOLDEN = Path(__file__).parents[1] / "golden"
SHAPES = ("chain", "chord", "group_of_chains", "failure", "retry")


def publish_golden(url: str, prefix: str) -> set[str]:
    """Write recorded flows to ``{prefix}:events``; the task ids they hold."""
    client = redis.Redis.from_url(url)
    ids: set[str] = set()
    for shape in SHAPES:
        for line in (GOLDEN / f"{shape}.jsonl").read_bytes().splitlines():
            client.xadd(f"{prefix}:events", {"data": line})
            if task_id := orjson.loads(line).get("task_id"):
                ids.add(task_id)
    return ids


def get(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.get(server.base + path, timeout=10)


def wait_for_tasks(server: ServerProcess, count: int) -> bytes:
    """The full task list once it holds ``count`` tasks (polled; the consumer reads asynchronously)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = get(server, "api/tasks?limit=500&compact=1")
        if answer.status_code == 200 and answer.json()["total"] == count:
            return answer.content
        time.sleep(0.1)
    raise AssertionError(f"{server.base} never showed {count} tasks: {get(server, 'api/health').text}")


@pytest.fixture
def consumer(redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (tmp_path / "consume.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(STEMTRACE), "consume", "--transport-url", redis_url, "--prefix", stream_prefix],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield proc
    proc.terminate()
    proc.wait(10)


def test_two_shared_servers_show_one_consumers_data(
    redis_url: str, stream_prefix: str, tmp_path: Path, consumer: subprocess.Popen[bytes]
) -> None:
    args = ["--transport-url", redis_url, "--prefix", stream_prefix, "--shared"]
    first = start_server(args, tmp_path / "a.log")
    second = start_server(args, tmp_path / "b.log")
    try:
        ids = publish_golden(redis_url, stream_prefix)
        tasks = wait_for_tasks(first, len(ids))
        assert {t["task_id"] for t in orjson.loads(tasks)["tasks"]} == ids
        for path in ("api/tasks?limit=500&compact=1", "api/graphs?limit=100", "api/workers", "api/tasks/registry"):
            assert get(first, path).content == get(second, path).content, path
        health = get(second, "api/health").json()
        assert health["shared_consumer"] is True and health["embedded_consumer"] is False
        assert health["status"] == "ok" and health["events_ingested"] > 0

        # History outlives the stream: trimmed to nothing, every task is still shown...
        redis.Redis.from_url(redis_url).xtrim(f"{stream_prefix}:events", maxlen=0)
        assert redis.Redis.from_url(redis_url).xlen(f"{stream_prefix}:events") == 0
        # ...and a restarted server has nothing to read again: its first answer is the whole history.
        second.stop()
        second = start_server(args, tmp_path / "b2.log")
        assert get(second, "api/tasks?limit=500&compact=1").content == tasks
        assert get(first, "api/tasks?limit=500&compact=1").content == tasks

        # The consumer gone: health says so, data routes answer 503 with the reason, nothing hangs.
        consumer.terminate()
        consumer.wait(10)
        health = get(first, "api/health").json()
        assert health["status"] == "degraded" and "stemtrace consume" in health["last_error"]
        refused = get(first, "api/tasks")
        assert refused.status_code == 503 and "stemtrace consume" in refused.json()["detail"]
    finally:
        first.stop()
        second.stop()


def test_servers_never_write_outside_their_prefix(private_redis: str, tmp_path: Path) -> None:
    """Nothing stemtrace serves writes to Celery's queues or results: every write names the prefix."""
    prefix = "readonly"
    client = redis.Redis.from_url(private_redis)
    client.lpush("celery", b"a queued task message")  # what a Celery queue and a result look like
    client.set("celery-task-meta-1", b'{"status": "SUCCESS"}')
    commands: list[str] = []
    monitor_ready = threading.Event()

    def watch() -> None:
        with client.monitor() as m:
            monitor_ready.set()
            for command in m.listen():
                commands.append(command["command"])
                if command["command"].startswith("ECHO stop-watching"):
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    monitor_ready.wait(5)
    with (tmp_path / "consume.log").open("wb") as log:
        consume = subprocess.Popen([str(STEMTRACE), "consume", "--transport-url", private_redis, "--prefix", prefix],
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    plain = start_server(["--transport-url", private_redis, "--prefix", prefix], tmp_path / "plain.log")
    shared = start_server(["--transport-url", private_redis, "--prefix", prefix, "--shared"], tmp_path / "shared.log")
    try:
        ids = publish_golden(private_redis, prefix)
        for server in (plain, shared):
            wait_for_tasks(server, len(ids))
            for path in ("api/health", "api/graphs", "api/workers", "api/overview", "api/failures"):
                assert get(server, path).status_code == 200, path
    finally:
        plain.stop()
        shared.stop()
        consume.terminate()
        consume.wait(10)
    client.echo("stop-watching")
    watcher.join(10)

    writes = ("XADD", "XTRIM", "XDEL", "DEL", "UNLINK", "SET", "LPUSH", "RPUSH", "LREM", "EXPIRE", "HSET",
              "ZADD", "SADD", "PUBLISH", "EVAL", "EVALSHA", "RENAME", "FLUSHDB", "FLUSHALL")  # fmt: skip
    ours = [c for c in commands if c.split(" ", 1)[0].upper() in writes]
    assert any(c.startswith(f"LPUSH {prefix}:engine:calls") for c in ours), "the watch saw the shared server's calls"
    outside = [c for c in ours if not c.split(" ", 2)[1].strip('"').startswith(prefix)]
    assert not outside, f"writes outside {prefix}: {outside[:5]}"
    assert client.lrange("celery", 0, -1) == [b"a queued task message"]
    assert client.get("celery-task-meta-1") == b'{"status": "SUCCESS"}'
