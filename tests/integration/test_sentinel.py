"""Redis behind a Sentinel (``sentinel://``): workers write events to whichever server the sentinel names as
the master, the engine reads them from it, and both follow a failover."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from stemtrace.engine import create_engine
from tests.support.redis_server import SentinelRedis
from tests.support.server import start_server
from tests.support.wait import engine_state, server_state, until
from tests.support.worker import celery_worker_factory  # noqa: F401  (a fixture)

pytestmark = pytest.mark.redis


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[SentinelRedis]:
    server = SentinelRedis(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def test_events_go_through_the_master_the_sentinel_names_and_follow_a_failover(
    sentinel: SentinelRedis,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
) -> None:
    worker = celery_worker_factory(pool="solo", env={"STEMTRACE_TRANSPORT_URL": sentinel.url()})
    engine = create_engine(sentinel.url(), stream_prefix, 1000)
    engine.start()
    try:
        app = worker.client_app()
        first = app.signature("examples.celery_app.add", (1, 2)).delay()
        assert first.get(timeout=20) == 3
        until("the first task, through the sentinel's master", lambda: engine_state(engine, first.id) == "SUCCESS")

        sentinel.add_replica()
        new_master = sentinel.fail_over()
        second = app.signature("examples.celery_app.add", (3, 4)).delay()
        assert second.get(timeout=20) == 7  # the task never waits on stemtrace
        until("the second task, after the failover", lambda: engine_state(engine, second.id) == "SUCCESS", timeout=60)
        assert orjson.loads(engine.health())["consumer_connected"] is True
        assert sentinel.master_port() == new_master
    finally:
        engine.stop()


def test_a_worker_and_the_server_on_a_sentinel_broker_find_the_master_unasked(
    sentinel: SentinelRedis,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """Celery's ``sentinel://`` broker URL and its ``master_name`` are what ``stemtrace.init(app)`` and
    ``stemtrace server --app`` go by: neither is given an event URL of its own."""
    broker = f"sentinel://127.0.0.1:{sentinel.sentinel_port}/0"
    env = {"STEMTRACE_TEST_MASTER": sentinel.master}
    worker = celery_worker_factory(
        "tests.integration.broker_app",
        broker_url=broker,
        result_backend=redis_url,  # results are not the point here: a plain Redis keeps them
        pool="solo",
        env=env,
    )
    server_env = {**worker.env, "STEMTRACE_PREFIX": stream_prefix}
    server = start_server(["--app", "tests.integration.broker_app:app"], tmp_path / "server.log", env=server_env)
    try:
        client = worker.client_app(broker_transport_options={"master_name": sentinel.master})
        sent = client.send_task("broker_app.add", (2, 3))

        until("the task's SUCCESS, in the server", lambda: server_state(server.base, sent.id) == "SUCCESS")
        health = httpx.get(f"{server.base}api/health", timeout=5).json()
        assert health["broker"] == f"{broker}?master_name={sentinel.master}"
    finally:
        server.stop()


def test_web_servers_reach_a_shared_consumer_through_the_sentinel(sentinel: SentinelRedis, stream_prefix: str) -> None:
    """High-scale mode (``stemtrace consume`` + ``server --shared``) passes engine calls through the master too."""
    import threading

    from stemtrace.server.shared import RemoteEngine, serve_engine

    engine = create_engine(None, stream_prefix, 1000)
    engine.ingest([b'{"task_id":"t-1","name":"demo.add","state":"SUCCESS","timestamp":"2026-12-06T10:00:00Z"}'])
    stop = threading.Event()
    consumer = threading.Thread(target=serve_engine, args=(engine, sentinel.url(), stream_prefix, stop, 1))
    consumer.start()
    remote = RemoteEngine(sentinel.url(), stream_prefix)
    try:
        assert engine_state(remote, "t-1") == "SUCCESS"
    finally:
        stop.set()
        consumer.join(10)
        remote.stop()
