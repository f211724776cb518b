"""High-scale mode: one ``stemtrace consume`` process holds the engine; web servers ask it through Redis.

The consumer follows the event stream as an embedded server would, and answers engine calls that web
servers push onto the list ``{prefix}:engine:calls``; each answer goes to a reply list of its own that
expires. A web server started with ``--shared`` (``StemtraceExtension(shared_consumer=True)``) keeps no
state: any number of them show the same data, and a restarted one answers at once, without reading
the stream again. Only what the routes need crosses the broker (``CALLS``); nothing is ever written to
Celery's queues. Design and trade-offs: docs/architecture.md, "High-scale mode".
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import orjson
from fastapi import HTTPException

from stemtrace.transport.redis import redis_client

log = logging.getLogger("stemtrace.shared")

# The engine calls the API and the WebSocket make; each answers JSON bytes except as noted.
CALLS = frozenset({"health", "list_tasks", "get_task", "task_children", "list_graphs", "get_graph", "overview",
                   "timeseries", "failures", "workers", "registry", "changes", "version"})  # fmt: skip
REPLY_TTL_SECONDS = 30
WAIT_SECONDS = 2.0
# After a call went unanswered, fail fast for this long instead of blocking every request on the wait.
BACKOFF_SECONDS = 5.0


def calls_key(prefix: str) -> str:
    return f"{prefix}:engine:calls"


class ConsumerUnavailable(HTTPException):
    """No ``stemtrace consume`` answered in time: the API answers 503 with this message."""

    def __init__(self, detail: str) -> None:
        super().__init__(status_code=503, detail=detail)


# ------------------------------------------------------------------------------------------ consumer side


def answer(engine: Any, request: bytes) -> tuple[str, bytes]:
    """Run one call on the engine: (reply key, encoded result). Unknown calls get an error, not a crash."""
    call = orjson.loads(request)
    method, args, kwargs = call["method"], call.get("args", []), call.get("kwargs", {})
    if method not in CALLS:
        return call["reply"], b"E" + f"unknown call {method!r}".encode()
    if method == "version":
        return call["reply"], b"J" + orjson.dumps(engine.version)
    result = getattr(engine, method)(*args, **kwargs)
    if method == "changes":  # (next, gap, [json bytes]): the updates travel as one JSON array
        nxt, gap, items = result
        return call["reply"], b"C" + orjson.dumps([nxt, gap]) + b"\n[" + b",".join(items) + b"]"
    return call["reply"], b"N" if result is None else b"B" + result


def serve_engine(engine: Any, redis_url: str, prefix: str, stop: threading.Event, threads: int = 4) -> None:
    """Answer web servers' calls until ``stop`` is set, on ``threads`` threads (the engine releases the GIL)."""
    import redis

    def loop() -> None:
        client = redis_client(redis_url, socket_timeout=5, socket_connect_timeout=2)
        while not stop.is_set():
            try:
                item = client.brpop([calls_key(prefix)], timeout=1)
                if item is None:
                    continue
                try:
                    reply, data = answer(engine, item[1])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    log.warning("stemtrace consume: bad call skipped (%s)", exc)
                    continue
                client.pipeline(transaction=False).lpush(reply, data).expire(reply, REPLY_TTL_SECONDS).execute()
            except redis.RedisError as exc:
                log.warning("stemtrace consume: Redis error (%s); retrying", exc)
                stop.wait(1.0)

    workers = [threading.Thread(target=loop, name=f"stemtrace-calls-{i}", daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


# ---------------------------------------------------------------------------------------- web server side


class RemoteEngine:
    """Stands in for the engine in a web server: the same calls, answered by ``stemtrace consume``."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.transport_url = redis_url
        self.prefix = prefix
        self._client = redis_client(redis_url, socket_timeout=WAIT_SECONDS + 1, socket_connect_timeout=1)
        self._unavailable_until = 0.0

    def start(self) -> None:
        """Nothing to start: the consumer follows the stream."""

    def stop(self) -> None:
        self._client.close()

    @property
    def version(self) -> int:
        return int(self._call("version"))

    def health(self) -> bytes:
        try:
            return bytes(self._call("health"))
        except ConsumerUnavailable as exc:
            return orjson.dumps({"consumer_running": False, "consumer_connected": False, "broker": self.transport_url,
                                 "last_error": exc.detail, "shared_consumer": True})  # fmt: skip

    def __getattr__(self, method: str) -> Any:
        if method not in CALLS:
            raise AttributeError(method)
        return lambda *args, **kwargs: self._call(method, *args, **kwargs)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        import redis

        if time.monotonic() < self._unavailable_until:
            raise ConsumerUnavailable(f"no `stemtrace consume` answered on {calls_key(self.prefix)} recently")
        reply = f"{self.prefix}:engine:reply:{uuid.uuid4().hex}"
        request = orjson.dumps({"method": method, "args": args, "kwargs": kwargs, "reply": reply})
        try:
            self._client.lpush(calls_key(self.prefix), request)
            item = self._client.brpop([reply], timeout=WAIT_SECONDS)
        except redis.RedisError as exc:
            raise ConsumerUnavailable(f"Redis did not answer: {exc}") from exc
        if item is None:
            self._unavailable_until = time.monotonic() + BACKOFF_SECONDS
            self._client.lrem(calls_key(self.prefix), 1, request)  # nobody took it: do not leave it queued
            waited = f"within {WAIT_SECONDS:g} s"
            raise ConsumerUnavailable(f"no `stemtrace consume` answered on {calls_key(self.prefix)} {waited}")
        return _decode(item[1])


def _decode(data: bytes) -> Any:
    tag, body = data[:1], data[1:]
    if tag == b"B":
        return body
    if tag == b"N":
        return None
    if tag == b"J":
        return orjson.loads(body)
    if tag == b"C":
        head, _, items = body.partition(b"\n")
        nxt, gap = orjson.loads(head)
        return nxt, gap, [orjson.dumps(item) for item in orjson.loads(items)]
    raise ConsumerUnavailable(body.decode(errors="replace"))
