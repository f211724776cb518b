"""RabbitMQ without a usable stream queue: the engine falls back to its own classic queue.

A queue named like our stream queue that already exists as a classic queue (left by an older setup, or
declared by hand) makes the broker refuse the stream declaration with "inequivalent arg 'x-queue-type'",
the same answer a broker without streams gives. The engine must then read a durable classic queue of its
host, say so in health, and lose none of the events published after it started; our publisher must keep
publishing to the exchange.
"""

from __future__ import annotations

import time

import orjson

from stemtrace.engine import create_engine
from stemtrace.transport.amqp import AmqpTransport, stream_queue_name
from tests.support.rabbitmq import connect


def test_engine_reads_a_classic_queue_when_the_stream_is_refused(amqp_url: str, amqp_prefix: str) -> None:
    conn = connect(amqp_url)
    conn.channel().queue_declare(stream_queue_name(amqp_prefix), durable=True, auto_delete=False)
    conn.close()
    engine = create_engine(amqp_url, amqp_prefix, 10_000, 600)
    engine.start()
    try:
        deadline = time.monotonic() + 20
        while not orjson.loads(engine.health())["consumer_connected"]:
            assert time.monotonic() < deadline, orjson.loads(engine.health())
            time.sleep(0.05)
        assert orjson.loads(engine.health())["broker_mode"] == "rabbitmq-classic"

        transport = AmqpTransport(amqp_url, prefix=amqp_prefix)
        sent = [
            {"task_id": f"fallback-{i}", "name": "app.step", "state": state, "timestamp": f"2026-01-01T00:00:{i:02d}Z"}
            for i in range(20)
            for state in ("PENDING", "SUCCESS")
        ]
        for event in sent:
            transport.send(event)
        assert transport.close(timeout=10)
        while orjson.loads(engine.list_tasks(limit=1))["total"] < 20:
            assert time.monotonic() < deadline + 20, orjson.loads(engine.health())
            time.sleep(0.05)
        health = orjson.loads(engine.health())
        assert health["events_ingested"] == len(sent) and sum(health["skipped"].values()) == 0
        assert orjson.loads(engine.list_tasks(limit=1, states=["SUCCESS"]))["total"] == 20
    finally:
        engine.stop()
