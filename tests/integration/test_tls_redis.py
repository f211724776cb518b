"""Events over TLS (``rediss://``): a real worker writes them and the engine reads them from a Redis that speaks
only TLS, with one URL for both, written as Celery and redis-py users write it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from stemtrace.engine import create_engine
from tests.support.redis_server import TlsRedis
from tests.support.roundtrip import task_through
from tests.support.wait import engine_task, until
from tests.support.worker import celery_worker_factory  # noqa: F401  (a fixture)

pytestmark = pytest.mark.redis


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[TlsRedis]:
    server = TlsRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.mark.parametrize("verify", ["ca", "none", "mutual"])
def test_a_worker_and_the_engine_share_a_tls_redis(
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
    verify: str,
    tmp_path: Path,
) -> None:
    # Verified against the server's CA, not verified at all (in the ssl module's spelling Celery documents), or
    # verified both ways: the server wants a client certificate too.
    tls_redis = TlsRedis(tmp_path, client_certificates=verify == "mutual")
    tls_redis.start()
    try:
        url = tls_redis.url("ssl_cert_reqs=CERT_NONE" if verify == "none" else tls_redis.verified_query())
        task, health = task_through(url, celery_worker_factory, stream_prefix)
    finally:
        tls_redis.kill()
    # The worker's events (this process publishes without stemtrace: no PENDING).
    assert [e["state"] for e in task["events"]] == ["RECEIVED", "STARTED", "SUCCESS"]
    assert task["events"][-1]["result"] == 5
    assert health["consumer_connected"] is True


def test_a_worker_on_a_tls_broker_sends_its_events_over_tls_unasked(
    tls_redis: TlsRedis,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
) -> None:
    """Celery's TLS settings (``broker_use_ssl``) are what ``stemtrace.init(app)`` goes by."""
    ca = str(tls_redis.ca)
    worker = celery_worker_factory(
        "tests.integration.broker_app",
        broker_url=tls_redis.url(""),
        result_backend=tls_redis.url(f"ssl_cert_reqs=CERT_REQUIRED&ssl_ca_certs={ca}"),  # Celery's own spelling
        pool="solo",
        env={"STEMTRACE_TEST_CA": ca},
    )
    engine = create_engine(tls_redis.url(f"ssl_ca_certs={ca}"), stream_prefix, 1000)
    engine.start()
    try:
        client = worker.client_app(broker_use_ssl={"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": ca})
        sent = client.send_task("broker_app.add", (2, 3))
        done = until(
            "the task's SUCCESS", lambda: (t := engine_task(engine, sent.id)) and t["state"] == "SUCCESS" and t
        )
        assert done["events"][-1]["result"] == 5
    finally:
        engine.stop()


def test_an_untrusted_server_is_a_clear_error_not_a_crash(tls_redis: TlsRedis, stream_prefix: str) -> None:
    engine = create_engine(tls_redis.url("ssl_cert_reqs=required"), stream_prefix, 1000)  # the system's CAs
    engine.start()
    try:
        health = until("the reason in health", lambda: (h := orjson.loads(engine.health()))["last_error"] and h)
        assert "certificate" in health["last_error"]
        assert health["consumer_running"] is True and health["consumer_connected"] is False
    finally:
        engine.stop()


def test_an_unreadable_ca_file_is_named(tls_redis: TlsRedis, stream_prefix: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    engine = create_engine(tls_redis.url(f"ssl_ca_certs={missing}"), stream_prefix, 1000)
    engine.start()
    try:
        health = until("the reason in health", lambda: (h := orjson.loads(engine.health()))["last_error"] and h)
        assert f"cannot read {missing}" in health["last_error"]
    finally:
        engine.stop()
