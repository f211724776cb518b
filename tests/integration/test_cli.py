"""The `stemtrace` command as a user runs it: real subprocesses against real Redis."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from stemtrace._version import __version__
from tests.support.server import STEMTRACE, ServerProcess, start_server

WRITE_COMMANDS = set(
    [
        "xadd",
        "xtrim",
        "xdel",
        "set",
        "del",
        "unlink",
        "lpush",
        "rpush",
        "lpop",
        "rpop",
        "brpop",
        "blpop",
        "publish",
        "hset",
        "expire",
        "incr",
        "zadd",
        "sadd",
        "xgroup",
        "xack",
        "flushdb",
    ]
)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def poll(url: str, check, timeout: float = 20, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(url, timeout=2, **kwargs)
        if check(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never satisfied the check: {answer.status_code} {answer.text[:500]}")
        time.sleep(0.1)


def test_version() -> None:
    out = subprocess.run([str(STEMTRACE), "version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"stemtrace {__version__}"


def test_server_starts_without_redis_and_says_degraded(servers: list[ServerProcess], tmp_path: Path) -> None:
    servers.append(start_server(["--transport-url", "redis://127.0.0.1:1/0"], tmp_path / "server.log"))
    health = poll(servers[0].base + "api/health", lambda a: a.json().get("last_error") is not None).json()
    assert health["status"] == "degraded"
    assert health["consumer_running"] is True and health["consumer_connected"] is False
    assert httpx.get(servers[0].base + "api/tasks").json()["total"] == 0


def test_server_options_from_environment_with_login(
    servers: list[ServerProcess], tmp_path: Path, redis_url: str, stream_prefix: str
) -> None:
    env = dict(os.environ, STEMTRACE_LOGIN_USER="ops", STEMTRACE_LOGIN_PASSWORD="pw", STEMTRACE_PREFIX=stream_prefix,
               STEMTRACE_BROKER_URL=redis_url)  # fmt: skip
    servers.append(start_server([], tmp_path / "server.log", env=env))
    base = servers[0].base
    assert httpx.get(base + "api/tasks").status_code == 401
    assert httpx.get(base, headers={"Accept": "text/html"}).headers["location"].startswith("/stemtrace/login")
    health = httpx.get(base + "api/health", auth=("ops", "pw")).json()
    assert health["stream"] == f"{stream_prefix}:events"
    poll(base + "api/health", lambda a: a.json()["consumer_connected"], auth=("ops", "pw"))


def test_server_only_reads_from_redis(servers: list[ServerProcess], tmp_path: Path, private_redis: str) -> None:
    """Nothing in the server writes to Redis: not to Celery's queues, not to the result backend."""
    client = redis.Redis.from_url(private_redis)
    event = {"task_id": "t-1", "name": "app.add", "state": "SUCCESS", "timestamp": "2025-01-01T00:00:00Z"}
    client.xadd("stemtrace:events", {"data": orjson.dumps(event)})
    client.config_resetstat()
    keys_before = sorted(client.keys("*"))
    servers.append(start_server(["--transport-url", private_redis], tmp_path / "server.log"))
    poll(servers[0].base + "api/tasks", lambda a: a.json()["total"] == 1)
    for path in ["api/tasks/t-1", "api/graphs", "api/graphs/t-1", "api/workers", "api/overview", "api/health"]:
        assert httpx.get(servers[0].base + path).status_code == 200, path
    stats = client.info("commandstats")
    writes = {name: s["calls"] for name, s in stats.items() if name.split("_", 1)[1] in WRITE_COMMANDS}
    assert writes == {}
    assert sorted(client.keys("*")) == keys_before


@pytest.mark.parametrize("flag", [[], ["--access-log"]])
def test_access_log_only_when_asked(servers: list[ServerProcess], tmp_path: Path, flag: list[str]) -> None:
    log = tmp_path / "server.log"
    servers.append(start_server(["--transport-url", "redis://127.0.0.1:1/0", *flag], log))
    assert httpx.get(servers[0].base + "api/health/live").json() == {"status": "ok"}
    servers[0].stop()  # flushes the log
    logged = '"GET /stemtrace/api/health/live HTTP/1.1" 200' in log.read_text()
    assert logged is bool(flag)
