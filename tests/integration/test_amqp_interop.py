"""RabbitMQ interop with stemtrace 0.4.x, both ways, on the shared exchange ``{prefix}.events``.

0.4.x publishes with kombu (``Producer.publish(payload, exchange=Exchange(name, "fanout", durable=True),
serializer="json", delivery_mode=2)``): the same call here, with the events a 0.4.5 worker recorded,
must reach our engine. A 0.4.x server reads its own classic queue bound to that exchange through a
kombu consumer accepting only JSON: our publisher's events must arrive there decoded.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import orjson
from kombu import Connection, Exchange, Queue

from stemtrace.engine import create_engine
from stemtrace.transport.amqp import AmqpTransport, exchange_name

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "compat" / "stemtrace-0.4.5"


def recorded() -> list[dict]:
    return [orjson.loads(line) for f in sorted(FIXTURES.glob("*.jsonl")) for line in f.read_bytes().splitlines()]


def test_engine_reads_what_04x_publishers_send(amqp_url: str, amqp_prefix: str) -> None:
    events = recorded()
    engine = create_engine(amqp_url, amqp_prefix, 10_000, 600)
    engine.start()  # declares our stream queue: from now on the exchange's messages are kept
    try:
        deadline = time.monotonic() + 10
        while not orjson.loads(engine.health())["consumer_connected"]:
            assert time.monotonic() < deadline, orjson.loads(engine.health())
            time.sleep(0.05)
        exchange = Exchange(exchange_name(amqp_prefix), type="fanout", durable=True)
        with Connection(amqp_url) as conn:
            producer = conn.Producer()
            for event in events:
                producer.publish(event, exchange=exchange, routing_key="", declare=[exchange],
                                 serializer="json", delivery_mode=2)  # fmt: skip
        tasks = {e["task_id"] for e in events if "task_id" in e}
        while orjson.loads(engine.list_tasks(limit=1))["total"] < len(tasks):
            assert time.monotonic() < deadline + 20, orjson.loads(engine.health())
            time.sleep(0.05)
        health = orjson.loads(engine.health())
        assert health["broker_mode"] == "rabbitmq-stream"
        assert sum(health["skipped"].values()) == 0
    finally:
        engine.stop()


def test_04x_servers_read_what_we_publish(amqp_url: str, amqp_prefix: str) -> None:
    exchange = Exchange(exchange_name(amqp_prefix), type="fanout", durable=True)
    # A 0.4.x server's queue, as it declares it: per host, message TTL, self-expiring.
    queue = Queue(f"{exchange_name(amqp_prefix)}.{socket.gethostname()}", exchange=exchange, routing_key="",
                  durable=True, queue_arguments={"x-message-ttl": 600_000, "x-expires": 660_000})  # fmt: skip
    received: list[dict] = []
    with Connection(amqp_url) as conn:
        queue(conn.default_channel).declare()
        transport = AmqpTransport(amqp_url, prefix=amqp_prefix)
        sent = recorded()
        for event in sent:
            transport.send(event)
        assert transport.close(timeout=10)
        with conn.Consumer(queue, accept=["json"], callbacks=[lambda body, msg: (received.append(body), msg.ack())]):
            deadline = time.monotonic() + 10
            while len(received) < len(sent) and time.monotonic() < deadline:
                conn.drain_events(timeout=1)
        queue(conn.default_channel).delete()
    assert received == sent
