"""RabbitMQ sender: batches published to the fanout exchange ``{prefix}.events`` with publisher confirms.

Topology (docs/brokers.md): the exchange is the one stemtrace 0.4.x workers publish to (fanout, durable,
JSON bodies), so either generation's events reach every queue bound to it. On connecting, the sender
also makes sure the stream queue ``{prefix}.events.stream`` exists and is bound, so events are kept
(``x-max-age`` = ttl) even before any server ran. An existing queue is used as it is (passive declare
first): its retention was set by whoever created it. Where the broker has no streams, events only go
to the exchange and each server's classic queue keeps them from the moment it was declared.

A batch counts as sent once the broker confirmed every message of it; unconfirmed batches are sent
again (at least once: the engine ignores duplicates). All I/O happens in the sender thread with short
timeouts, so a slow or dead RabbitMQ never reaches a task.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from stemtrace.transport.base import BufferedTransport

DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671}
# Streams drop whole segments only: smaller segments make age retention closer to ``ttl``.
SEGMENT_BYTES = 100_000_000
# Stream size cap per event of ``max_stream_length`` (streams cannot cap a message count).
BYTES_PER_EVENT = 1024


def exchange_name(prefix: str) -> str:
    return f"{prefix}.events"


def stream_queue_name(prefix: str) -> str:
    return f"{prefix}.events.stream"


def stream_arguments(ttl: int, max_stream_length: int) -> dict[str, Any]:
    """Arguments of the stream queue; the Rust engine declares the same ones (rust/core/src/amqp.rs)."""
    return {
        "x-queue-type": "stream",
        "x-max-age": f"{ttl}s",
        "x-max-length-bytes": max_stream_length * BYTES_PER_EVENT,
        "x-stream-max-segment-size-bytes": SEGMENT_BYTES,
    }


def declare_topology(connection: Any, prefix: str, arguments: dict[str, Any]) -> tuple[Any, bool]:
    """Declare the exchange and, when missing, the stream queue with ``arguments``, bound to it.

    Returns a usable channel and whether the stream queue exists. An existing queue is used as it is
    (passive declare first). A refused declare closes its channel: then a new one is returned.
    """
    import amqp

    exchange, queue = exchange_name(prefix), stream_queue_name(prefix)
    channel = connection.channel()
    channel.exchange_declare(exchange, "fanout", durable=True, auto_delete=False)
    try:
        channel.queue_declare(queue, passive=True)
    except amqp.NotFound:
        channel = connection.channel()
        try:
            channel.queue_declare(queue, durable=True, auto_delete=False, arguments=arguments)
        except amqp.ChannelError:
            # A racing declarer may have just created it: use it. Otherwise this broker has no streams.
            channel = connection.channel()
            try:
                channel.queue_declare(queue, passive=True)
            except amqp.ChannelError:
                return connection.channel(), False
    channel.queue_bind(queue, exchange, routing_key="")
    return channel, True


def connection_parameters(url: str) -> dict[str, Any]:
    """py-amqp ``Connection`` keyword arguments for an ``amqp://``, ``amqps://`` or ``pyamqp://`` URL.

    The vhost follows Celery's reading: ``amqp://h//`` and ``amqp://h/`` are ``/``, ``amqp://h/v`` is ``v``.
    """
    parts = urlsplit(url)
    scheme = "amqps" if parts.scheme.lower() == "amqps" else "amqp"
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    host = parts.hostname or "localhost"
    return {
        "host": f"{host}:{parts.port or DEFAULT_PORTS[scheme]}",
        "userid": unquote(parts.username) if parts.username else "guest",
        "password": unquote(parts.password) if parts.password else "guest",
        "virtual_host": unquote(path) or "/",
        "ssl": _tls_options(dict(parse_qsl(parts.query)), host) if scheme == "amqps" else False,
    }


_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def _tls_options(query: dict[str, str], host: str) -> dict[str, Any]:
    """py-amqp's TLS options from the URL's query, named as for Redis (``ssl_cert_reqs``, ``ssl_ca_certs``,
    ``ssl_certfile``, ``ssl_keyfile``): the server's certificate is verified, its name too, unless
    ``ssl_cert_reqs=none``."""
    reqs = _CERT_REQS.get(query.get("ssl_cert_reqs", "required").lower().removeprefix("cert_"), ssl.CERT_REQUIRED)
    options: dict[str, Any] = {"cert_reqs": reqs}
    if reqs != ssl.CERT_NONE:  # the name is checked only where the certificate is
        options["server_hostname"] = host
    for ours, theirs in (("ssl_ca_certs", "ca_certs"), ("ssl_certfile", "certfile"), ("ssl_keyfile", "keyfile")):
        if query.get(ours):
            options[theirs] = query[ours]
    return options


class AmqpTransport(BufferedTransport):
    name = "amqp"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stemtrace",
        ttl: int = 86_400,
        max_stream_length: int = 1_000_000,
        socket_timeout: float = 2.0,
        confirm_timeout: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.prefix = prefix
        self.exchange = exchange_name(prefix)
        self.stream_arguments = stream_arguments(ttl, max_stream_length)
        self.socket_timeout = socket_timeout
        self.confirm_timeout = confirm_timeout
        self._connection: Any = None
        self._channel: Any = None
        self._published = 0  # delivery tags are per channel: 1, 2, 3, ...
        self._acked = 0
        self._nacked = False

    def _reset(self) -> None:
        # Only forget: closing would shut down a socket a forked parent still uses.
        self._connection = self._channel = None

    def _write(self, batch: list[bytes]) -> None:
        import amqp

        try:
            if self._channel is None:
                self._open()
            for data in batch:
                message = amqp.Message(data, content_type="application/json", delivery_mode=2)
                self._channel.basic_publish(message, exchange=self.exchange, routing_key="")
                self._published += 1
            self._wait_for_confirms()
        except Exception:
            # Whatever failed (socket, channel closed by the broker, missing confirm), the next attempt
            # starts on a fresh connection and redeclares the topology.
            self._discard()
            raise

    def _open(self) -> None:
        import amqp

        connection = amqp.Connection(
            **connection_parameters(self.url),
            connect_timeout=min(self.socket_timeout, 1.0),
            read_timeout=self.socket_timeout,
            write_timeout=self.socket_timeout,
            heartbeat=0,  # nothing would send them between batches; a dead socket shows at the next write
            client_properties={"connection_name": f"stemtrace publisher {socket.gethostname()}:{os.getpid()}"},
        )
        self._connection = connection
        connection.connect()
        channel, _ = declare_topology(connection, self.prefix, self.stream_arguments)
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._channel, self._published, self._acked, self._nacked = channel, 0, 0, False

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._acked = max(self._acked, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._nacked = True

    def _wait_for_confirms(self) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while self._acked < self._published:
            if self._nacked:
                raise RuntimeError("RabbitMQ refused to store a batch (basic.nack)")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"RabbitMQ confirmed {self._acked} of {self._published} message(s)")
            with contextlib.suppress(socket.timeout):
                self._connection.drain_events(timeout=min(remaining, self.socket_timeout))

    def _discard(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.collect()  # drops the socket without the close handshake a dead broker never answers
