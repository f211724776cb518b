"""The engine reads the stream through a Redis connection of its own (``rust/core/src/resp.rs``): it must
authenticate (password, ACL user), select the URL's database, speak over a unix socket, read entries
of any size and say why it cannot connect, like the ``redis`` crate it replaces for this one command."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from stemtrace.engine import create_engine
from tests.support.server import free_port
from tests.support.wait import until

pytestmark = pytest.mark.redis

PASSWORD = "pw with spaces:and@signs"
ENCODED = PASSWORD.replace(" ", "%20").replace(":", "%3A").replace("@", "%40")  # as it goes in a URL


@pytest.fixture
def guarded_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A private redis-server that wants a password, on a TCP port and a unix socket."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make system-deps`")
    port, socket = free_port(), tmp_path / "redis.sock"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--unixsocket", str(socket), "--save", "",
         "--appendonly", "no", "--requirepass", PASSWORD, "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    admin = redis.Redis(port=port, password=PASSWORD)
    deadline = time.monotonic() + 10
    while True:
        try:
            admin.ping()
            break
        except redis.RedisError:
            assert time.monotonic() < deadline and proc.poll() is None, "redis-server never answered"
            time.sleep(0.05)
    admin.execute_command("ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+@all")
    yield port, socket
    proc.terminate()
    proc.wait(10)


def event(i: int, size: int = 0) -> bytes:
    return orjson.dumps({
        "task_id": f"t-{i}", "name": "app.step", "state": "SUCCESS",
        "timestamp": "2026-01-01T00:00:00Z", "args": ["x" * size],
    })  # fmt: skip


def read_all(url: str, prefix: str, writer: redis.Redis, events: list[bytes]) -> dict[str, Any]:
    engine = create_engine(url, prefix, 100_000)
    engine.start()
    try:
        until("connected", lambda: orjson.loads(engine.health())["consumer_connected"])
        pipe = writer.pipeline(transaction=False)
        for data in events:
            pipe.xadd(f"{prefix}:events", {"data": data, "extra": b"ignored"})
        pipe.execute()
        until(f"every event read from {url}", lambda: orjson.loads(engine.list_tasks(limit=1))["total"] == len(events))
        # Health counts a batch just after the store shows it: wait for the count too.
        return until(
            "every event counted", lambda: (h := orjson.loads(engine.health()))["events_ingested"] >= len(events) and h
        )
    finally:
        engine.stop()


def test_password_user_database_and_unix_socket(guarded_redis: tuple[int, Path]) -> None:
    port, socket = guarded_redis
    cases = [
        (f"redis://:{ENCODED}@127.0.0.1:{port}/3", redis.Redis(port=port, password=PASSWORD, db=3)),
        (f"redis://reader:reader-pw@127.0.0.1:{port}/5", redis.Redis(port=port, password=PASSWORD, db=5)),
        (f"unix://{socket}?db=7&pass={ENCODED}", redis.Redis(unix_socket_path=str(socket), password=PASSWORD, db=7)),
    ]
    for n, (url, writer) in enumerate(cases):
        events = [event(i) for i in range(2_500)]
        health = read_all(url, f"reader{n}", writer, events)
        assert health["events_ingested"] == len(events) and sum(health["skipped"].values()) == 0, (url, health)
        # The events went to the URL's database and nowhere else.
        for other in (0, 3, 5, 7):
            if other != writer.connection_pool.connection_kwargs["db"]:
                assert not redis.Redis(port=port, password=PASSWORD, db=other).exists(f"reader{n}:events")


def test_entries_larger_than_any_read_buffer(guarded_redis: tuple[int, Path]) -> None:
    port, _ = guarded_redis
    writer = redis.Redis(port=port, password=PASSWORD)
    events = [event(i, size) for i, size in enumerate([0, 1, 65_535, 65_536, 3_000_000, 10, 200_000] * 3)]
    health = read_all(f"redis://:{ENCODED}@127.0.0.1:{port}/0", "big", writer, events)
    assert health["events_ingested"] == len(events)


def test_a_wrong_password_is_reported_and_the_consumer_keeps_trying(guarded_redis: tuple[int, Path]) -> None:
    port, _ = guarded_redis
    engine = create_engine(f"redis://:wrong@127.0.0.1:{port}/0", "denied", 1_000)
    engine.start()
    try:
        health = until("the refusal reported", lambda: (h := orjson.loads(engine.health()))["last_error"] and h)
        assert not health["consumer_connected"] and health["consumer_running"]
        assert "authentication failed" in health["last_error"].lower(), health["last_error"]
    finally:
        engine.stop()
