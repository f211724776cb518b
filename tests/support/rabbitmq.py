"""RabbitMQ for the tests: a private node we can start, stop and restart, and a reader of what a prefix's
stream queue holds (py-amqp, from the first retained message)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import amqp
import orjson
import pytest

from stemtrace.transport.amqp import (
    connection_parameters,
    declare_topology,
    exchange_name,
    stream_arguments,
    stream_queue_name,
)
from tests.support.certs import make_certificates

# Debian's /usr/sbin wrapper switches to the rabbitmq user when run as root; the real script does not.
_SERVER = next((p for p in ("/usr/lib/rabbitmq/bin/rabbitmq-server",) if os.access(p, os.X_OK)), None)
_CTL = next((p for p in ("/usr/lib/rabbitmq/bin/rabbitmqctl",) if os.access(p, os.X_OK)), None)


def connect(url: str, timeout: float = 2.0) -> amqp.Connection:
    conn = amqp.Connection(**connection_parameters(url), connect_timeout=timeout)
    conn.connect()
    return conn


def amqp_answers(url: str) -> bool:
    try:
        connect(url, timeout=0.5).close()
    except (OSError, amqp.AMQPError):
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PrivateRabbit:
    """A RabbitMQ node of our own (data in ``workdir``, kept across :meth:`restart`)."""

    workdir: Path
    node: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    tls_port: int | None = None  # also a TLS listener, with a certificate our own CA signs (``workdir``/ca.pem)
    client_certificates: bool = False  # the TLS listener wants a client certificate our CA signed

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def tls_url(self, query: str) -> str:
        return f"amqps://guest:guest@localhost:{self.tls_port}//?{query}"

    def _env(self) -> dict[str, str]:
        w = self.workdir
        return {
            **os.environ,
            "HOME": str(w),  # the Erlang cookie shared by the node and rabbitmqctl
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(_free_port()),
            "RABBITMQ_MNESIA_BASE": str(w / "mnesia"),
            "RABBITMQ_LOG_BASE": str(w / "log"),
            "RABBITMQ_PID_FILE": str(w / "pid"),
            "RABBITMQ_CONFIG_FILE": str(w / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(w / "enabled_plugins"),
        }

    def start(self, timeout: float = 60.0) -> None:
        (self.workdir / "enabled_plugins").write_text("[].\n")
        if self.tls_port is not None and not (self.workdir / "rabbitmq.conf").exists():
            certs = make_certificates(self.workdir)
            (self.workdir / "rabbitmq.conf").write_text(
                f"listeners.ssl.default = {self.tls_port}\nssl_options.cacertfile = {certs.ca}\n"
                f"ssl_options.certfile = {certs.cert}\nssl_options.keyfile = {certs.key}\n"
                + (
                    "ssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = true\n"
                    if self.client_certificates
                    else "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n"
                )
            )
        with open(self.workdir / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [_SERVER or "rabbitmq-server"], env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not amqp_answers(self.url):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.fail(f"started RabbitMQ node {self.node} but it never answered:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        # AMQP answers before the node has finished booting (feature flags, the stream coordinator).
        subprocess.run([_CTL or "rabbitmqctl", "-n", self.node, "await_startup"], env=self._env(),
                       capture_output=True, timeout=timeout, check=False)  # fmt: skip

    def stop(self) -> None:
        if self.proc is None:
            return
        subprocess.run([_CTL or "rabbitmqctl", "-n", self.node, "shutdown"], env=self._env(), capture_output=True,
                       timeout=60, check=False)  # fmt: skip
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")


def start_private_rabbitmq(workdir: Path, *, tls: bool = False, client_certificates: bool = False) -> PrivateRabbit:
    """A fresh node on a free port (and a TLS one with ``tls``, that wants client certificates with
    ``client_certificates``); fails the test (never skips) when RabbitMQ is not installed."""
    if _SERVER is None and shutil.which("rabbitmq-server") is None:
        pytest.fail(
            "no RabbitMQ answers on 127.0.0.1:5672 and rabbitmq-server is not installed: run `make test` "
            "(it installs Debian's rabbitmq-server) or set STEMTRACE_TEST_AMQP_URL"
        )
    rabbit = PrivateRabbit(workdir, f"sttest-{uuid.uuid4().hex[:8]}@localhost", _free_port(),
                           tls_port=_free_port() if tls else None, client_certificates=client_certificates)  # fmt: skip
    rabbit.start()
    return rabbit


def delete_topology(url: str, prefix: str) -> None:
    """Remove what stemtrace declared for ``prefix``: the exchange and every queue named after it."""
    conn = connect(url)
    try:
        for queue in (stream_queue_name(prefix), f"{exchange_name(prefix)}.classic.{socket.gethostname()}"):
            conn.channel().queue_delete(queue)
        conn.channel().exchange_delete(exchange_name(prefix))
    finally:
        conn.close()


class StreamReader:
    """Everything a prefix's stream queue held and receives, decoded; :meth:`read` returns all so far."""

    def __init__(self, url: str, prefix: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.conn = connect(url)
        # The publisher's topology, in case this reader comes first.
        channel, has_stream = declare_topology(self.conn, prefix, stream_arguments(600, 10_000))
        assert has_stream, "this RabbitMQ has no stream queues: the tests need RabbitMQ >= 3.9"
        channel.basic_qos(0, 1000, False)
        channel.basic_consume(
            stream_queue_name(prefix), callback=self._on_message, arguments={"x-stream-offset": "first"}
        )

    def _on_message(self, message: amqp.Message) -> None:
        self.events.append(orjson.loads(message.body))
        message.channel.basic_ack(message.delivery_tag)

    def read(self) -> list[dict[str, Any]]:
        with contextlib.suppress(TimeoutError):
            while True:
                self.conn.drain_events(timeout=0.2)
        return list(self.events)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
