"""Ingest rate of the engine's consumer from Redis and from RabbitMQ, same events, same run.

The N events are real recorded flows (``tests/golden/*.jsonl`` and the 0.4.5 fixtures) with fresh ids
(``bench/compare/generator.py``). Each broker is filled first — Redis with pipelined ``XADD``, RabbitMQ
through the library's own ``AmqpTransport`` into the stream queue — then a fresh engine is started on a
fresh prefix and timed until it has handled all N (ingested, duplicate, worker or skipped), i.e. a
replay of a retained stream, connection set-up included. The prefix's stream, exchange and queue are
deleted afterwards.

    .venv/bin/python -m bench.brokers.ingest --events 100000 \\
        --redis redis://127.0.0.1:6379/0 --amqp amqp://guest:guest@127.0.0.1:5672//

Results: bench/brokers/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import time
import uuid
from collections.abc import Callable

import orjson

from bench.compare.generator import generate, write_stream
from stemtrace.engine import create_engine
from stemtrace.transport.amqp import AmqpTransport, exchange_name, stream_queue_name


def handled(engine: object) -> int:
    h = orjson.loads(engine.health())  # type: ignore[attr-defined]
    return h["events_ingested"] + h["duplicates"] + h["worker_events"] + sum(h["skipped"].values())


def time_ingest(url: str, prefix: str, n: int, timeout: float = 600) -> float:
    """Seconds from ``start()`` until a new engine has handled ``n`` events of ``prefix``."""
    engine = create_engine(url, prefix, 10_000_000)
    started = time.perf_counter()
    engine.start()
    try:
        while handled(engine) < n:
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"{url}: only {handled(engine)} of {n} events after {timeout}s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        engine.stop()


def fill_redis(url: str, prefix: str, lines: list[bytes]) -> float:
    started = time.perf_counter()
    write_stream(url, f"{prefix}:events", (line.decode() for line in lines))
    return time.perf_counter() - started


def fill_rabbitmq(url: str, prefix: str, lines: list[bytes]) -> float:
    transport = AmqpTransport(url, prefix=prefix, buffer_size=len(lines), buffer_bytes=2**31)
    started = time.perf_counter()
    for line in lines:
        transport.send_bytes(line)
    if not transport.close(timeout=600) or transport.stats()["dropped"]:
        raise SystemExit(f"RabbitMQ did not take every event: {transport.stats()}")
    return time.perf_counter() - started


def clean_redis(url: str, prefix: str) -> None:
    import redis

    redis.Redis.from_url(url).delete(f"{prefix}:events")


def clean_rabbitmq(url: str, prefix: str) -> None:
    import amqp

    from stemtrace.transport.amqp import connection_parameters

    conn = amqp.Connection(**connection_parameters(url))
    conn.connect()
    conn.channel().queue_delete(stream_queue_name(prefix))
    conn.channel().exchange_delete(exchange_name(prefix))
    conn.close()


def measure(name: str, url: str, lines: list[bytes], fill: Callable[..., float], clean: Callable[..., None]) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        filled = fill(url, prefix, lines)
        spent = time_ingest(url, prefix, len(lines))
    finally:
        clean(url, prefix)
    n = len(lines)
    print(f"{name:9} fill {n / filled:>10,.0f} events/s   ingest {n / spent:>10,.0f} events/s  ({spent:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
    args = parser.parse_args()
    _, stream = generate(args.events)  # about 4 events per task: enough tasks for N events
    lines = [line.encode() for line in itertools.islice(stream, args.events)]
    print(f"{len(lines):,} events, {sum(map(len, lines)) / len(lines):.0f} bytes each on average")
    measure("redis", args.redis, lines, fill_redis, clean_redis)
    measure("rabbitmq", args.amqp, lines, fill_rabbitmq, clean_rabbitmq)


if __name__ == "__main__":
    main()
