"""Shared fixtures: a real Redis and a real RabbitMQ (the machine's, or ones we start), unique stream prefixes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.rabbitmq import amqp_answers, delete_topology, start_private_rabbitmq

REPO = Path(__file__).resolve().parent.parent

# The real-Celery-worker fixture (celery_worker_factory) for every test.
pytest_plugins = ["tests.support.worker"]


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free port (keeps nothing on disk); fails the test if impossible."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail(
            "no Redis answers on 127.0.0.1:6379 and redis-server is not installed: run `make test` "
            "(it installs Debian's redis-server) or set STEMTRACE_TEST_REDIS_URL"
        )
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"started redis-server on port {port} but it never answered")
        time.sleep(0.05)
    return proc, url


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis that answers: STEMTRACE_TEST_REDIS_URL, else 127.0.0.1:6379, else our own redis-server.

    `make test` installs redis-server when it is missing; if it still is not there we fail loudly
    rather than skip, so a green run always means the Redis tests ran.
    """
    for url in (os.environ.get("STEMTRACE_TEST_REDIS_URL"), "redis://127.0.0.1:6379/0"):
        if url and _answers(url):
            yield url
            return
    proc, url = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def stream_prefix(redis_url: str) -> Iterator[str]:
    """A prefix of our own per test so tests never read each other's events; its stream is deleted after."""
    prefix = f"sttest-{uuid.uuid4().hex[:12]}"
    yield prefix
    redis.Redis.from_url(redis_url).delete(f"{prefix}:events")


@pytest.fixture(scope="session")
def amqp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A RabbitMQ that answers: STEMTRACE_TEST_AMQP_URL, else 127.0.0.1:5672, else a node of our own.

    `make test` installs rabbitmq-server when nothing answers; if it still is not there we fail loudly.
    """
    for url in (os.environ.get("STEMTRACE_TEST_AMQP_URL"), "amqp://guest:guest@127.0.0.1:5672//"):
        if url and amqp_answers(url):
            yield url
            return
    rabbit = start_private_rabbitmq(tmp_path_factory.mktemp("rabbitmq"))
    yield rabbit.url
    rabbit.stop()


@pytest.fixture
def amqp_prefix(amqp_url: str, stream_prefix: str) -> Iterator[str]:
    """``stream_prefix`` for a RabbitMQ test: the prefix's exchange and queues are deleted afterwards."""
    yield stream_prefix
    delete_topology(amqp_url, stream_prefix)


@pytest.fixture(params=["redis", "amqp"])
def event_url(request: pytest.FixtureRequest, stream_prefix: str) -> Iterator[str]:
    """The URL events travel through, once per broker; the test prefix's RabbitMQ exchange and queues
    are deleted afterwards (its Redis stream by ``stream_prefix``)."""
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    url = request.getfixturevalue("amqp_url")
    yield url
    delete_topology(url, stream_prefix)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis of this test alone, for tests that assert on everything the server sends to Redis."""
    proc, url = start_redis_server(tmp_path)
    yield url
    proc.terminate()
    proc.wait(5)
