"""Fixtures of the fault tests: an event Redis to stop and restart on the same port, servers to kill."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import RestartableRedis
from tests.support.server import ServerProcess, start_server


@pytest.fixture
def event_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    """The Redis stemtrace's events go to, apart from Celery's broker so the broker stays up."""
    server = RestartableRedis(tmp_path / "event-redis")
    server.workdir.mkdir()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def stemtrace_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``stemtrace server --transport-url URL --prefix PREFIX``; every one started is stopped after."""
    started: list[ServerProcess] = []

    def start(transport_url: str, prefix: str, *extra: str) -> ServerProcess:
        log = tmp_path / f"server-{len(started)}.log"
        server = start_server(["server", "--transport-url", transport_url, "--prefix", prefix, *extra], log)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop()
