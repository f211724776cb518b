"""Redis for events unreachable: tasks still run at full speed, the buffer stays bounded, drops are counted."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis
from celery import group

from stemtrace.transport.redis import RedisTransport
from tests.support.worker import celery_worker_factory  # noqa: F401  (fixture)

pytestmark = pytest.mark.redis
TASKS = "examples.celery_app"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_tasks_unaffected_when_event_redis_is_down(celery_worker_factory, pool: str) -> None:  # noqa: F811
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    worker = celery_worker_factory(
        pool=pool,
        concurrency=1,
        env={"STEMTRACE_TRANSPORT_URL": dead, "STEMTRACE_BUFFER_SIZE": "50"},
    )
    app = worker.client_app()
    add = app.signature(f"{TASKS}.add")

    start = time.perf_counter()
    results = group(add.clone((i, i)) for i in range(300)).delay().get(timeout=60)
    elapsed = time.perf_counter() - start
    assert results == [i * 2 for i in range(300)]
    assert elapsed < 20, elapsed  # without a working event Redis a task still takes milliseconds

    stats = app.signature(f"{TASKS}.transport_stats").delay().get(timeout=10)
    assert stats["sent"] == 0 and stats["errors"] >= 1
    assert stats["dropped"] > 0 and stats["buffered"] <= 50
    assert "could not send" in worker.logs()
    assert worker.stop() is not None  # shutdown is not held up by the unsendable buffer


def _start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: run `make test` (it installs Debian's redis-server)")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis.from_url(url, socket_connect_timeout=0.2).ping():
                return proc
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)


def test_sending_resumes_by_itself_after_a_redis_restart(tmp_path) -> None:
    port = closed_port()
    url = f"redis://127.0.0.1:{port}/0"
    proc = _start_redis(port, str(tmp_path))
    t = RedisTransport(url, prefix="restart", buffer_size=1000)
    try:
        t.send({"task_id": "before"})
        assert t.flush(5)
        proc.terminate()
        proc.wait(10)
        start = time.perf_counter()
        for i in range(100):
            t.send({"task_id": f"during-{i}"})
        assert time.perf_counter() - start < 0.5  # the caller never waits for the dead server
        assert not t.flush(1)
        assert t.stats()["buffered"] == 100 and t.stats()["errors"] >= 1
        proc = _start_redis(port, str(tmp_path))  # nobody tells the transport: it must notice by itself
        deadline = time.monotonic() + 15
        client = redis.Redis.from_url(url)
        while client.xlen("restart:events") < 100 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.xlen("restart:events") == 100  # restarted without persistence: the outage's events
        assert t.stats()["dropped"] == 0 and t.stats()["buffered"] == 0
    finally:
        t.close(0.5)
        proc.terminate()
        proc.wait(10)


def test_a_redis_that_never_answers_only_stalls_the_sender() -> None:
    with socket.socket() as blackhole:  # accepts connections (backlog), never replies
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        t = RedisTransport(f"redis://127.0.0.1:{blackhole.getsockname()[1]}/0", buffer_size=100, socket_timeout=0.5)
        start = time.perf_counter()
        for i in range(5000):
            t.send({"task_id": str(i)})
        assert time.perf_counter() - start < 1.0
        assert not t.flush(0.3)
        assert t.stats()["dropped"] >= 4900
        t.close(0.1)
