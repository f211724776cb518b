"""Events over TLS to RabbitMQ (``amqps://``): a real worker publishes them and the engine reads them from a
private RabbitMQ node with a TLS listener whose certificate our own CA signs, one URL for both."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from stemtrace.engine import create_engine
from tests.support.rabbitmq import PrivateRabbit, start_private_rabbitmq
from tests.support.roundtrip import task_through
from tests.support.server import start_server
from tests.support.wait import server_state, until
from tests.support.worker import celery_worker_factory  # noqa: F401  (a fixture)

pytestmark = pytest.mark.redis  # the worker's own broker; RabbitMQ is a private node


@pytest.fixture(scope="module")
def tls_rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbit]:
    rabbit = start_private_rabbitmq(tmp_path_factory.mktemp("tls-rabbitmq"), tls=True)
    yield rabbit
    rabbit.stop()


def test_a_worker_and_the_engine_share_a_verified_amqps_broker(
    tls_rabbit: PrivateRabbit,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
) -> None:
    url = tls_rabbit.tls_url(f"ssl_ca_certs={tls_rabbit.workdir / 'ca.pem'}")
    task, health = task_through(url, celery_worker_factory, stream_prefix)
    assert task["events"][-1]["result"] == 5
    assert health["broker_mode"] == "rabbitmq-stream"


def test_a_worker_and_the_server_on_an_amqps_broker_go_by_celerys_settings(
    tls_rabbit: PrivateRabbit,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    """Celery's ``broker_use_ssl`` (py-amqp's names) is what ``stemtrace.init(app)`` and ``stemtrace server -A``
    go by: neither is given an event URL of its own."""
    ca = str(tls_rabbit.workdir / "ca.pem")
    worker = celery_worker_factory(
        "tests.integration.broker_app",
        broker_url=f"amqps://guest:guest@localhost:{tls_rabbit.tls_port}//",
        result_backend=redis_url,
        pool="solo",
        env={"STEMTRACE_TEST_CA": ca},
    )
    server_env = {**worker.env, "STEMTRACE_PREFIX": stream_prefix}
    server = start_server(["-A", "tests.integration.broker_app:app"], tmp_path / "server.log", env=server_env)
    try:
        client = worker.client_app(broker_use_ssl={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": ca})
        sent = client.send_task("broker_app.add", (2, 3))

        until("the task's SUCCESS, in the server", lambda: server_state(server.base, sent.id) == "SUCCESS", timeout=30)
    finally:
        server.stop()


def test_mutual_tls_both_present_a_certificate(
    tmp_path_factory: pytest.TempPathFactory,
    celery_worker_factory,  # noqa: F811
    stream_prefix: str,
) -> None:
    """A listener that wants a client certificate: the library (py-amqp) and the engine (lapin) present one."""
    rabbit = start_private_rabbitmq(tmp_path_factory.mktemp("mtls-rabbitmq"), tls=True, client_certificates=True)
    try:
        d = rabbit.workdir  # the server's certificate serves as the client's: our CA signed it
        certs = f"ssl_ca_certs={d / 'ca.pem'}&ssl_certfile={d / 'server.pem'}&ssl_keyfile={d / 'server.key'}"
        task, health = task_through(rabbit.tls_url(certs), celery_worker_factory, stream_prefix)
        assert task["events"][-1]["result"] == 5 and health["consumer_connected"] is True
        refused = create_engine(rabbit.tls_url(f"ssl_ca_certs={d / 'ca.pem'}"), stream_prefix, 1000)
        refused.start()
        try:
            until("no certificate, no connection", lambda: orjson.loads(refused.health())["last_error"])
            assert orjson.loads(refused.health())["consumer_connected"] is False
        finally:
            refused.stop()
    finally:
        rabbit.stop()


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("ssl_cert_reqs=required", "certificate"),  # the system's CAs do not know ours
        ("ssl_cert_reqs=none", "give its CA as ssl_ca_certs"),
        ("ssl_ca_certs=/nonexistent/ca.pem", "cannot read /nonexistent/ca.pem"),
    ],
)
def test_what_the_engine_cannot_verify_is_a_clear_error(
    tls_rabbit: PrivateRabbit, stream_prefix: str, query: str, reason: str
) -> None:
    engine = create_engine(tls_rabbit.tls_url(query), stream_prefix, 1000)
    engine.start()
    try:
        health = until("the reason in health", lambda: (h := orjson.loads(engine.health()))["last_error"] and h)
        assert reason in health["last_error"].lower() if reason == "certificate" else reason in health["last_error"]
        assert health["consumer_running"] is True and health["consumer_connected"] is False
    finally:
        engine.stop()


def test_the_library_verifies_the_server_name_too(tls_rabbit: PrivateRabbit, tmp_path: Path) -> None:
    """A certificate for localhost does not pass for 127.0.0.1's other names: the library checks the name."""
    from stemtrace.transport.amqp import connection_parameters

    ca = tls_rabbit.workdir / "ca.pem"
    assert connection_parameters(tls_rabbit.tls_url(f"ssl_ca_certs={ca}"))["ssl"]["server_hostname"] == "localhost"
    assert "server_hostname" not in connection_parameters(tls_rabbit.tls_url("ssl_cert_reqs=CERT_NONE"))["ssl"]
