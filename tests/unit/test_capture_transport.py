"""The buffered sender: batching, bounded buffer, recovery, fork safety, and the Redis and memory transports."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest
import redis

from stemtrace.errors import ConfigurationError
from stemtrace.transport import transport_for_url
from stemtrace.transport.amqp import AmqpTransport, connection_parameters
from stemtrace.transport.base import BufferedTransport
from stemtrace.transport.memory import MemoryBus, MemoryTransport
from stemtrace.transport.redis import RedisTransport
from tests.support.redis_server import RestartableRedis
from tests.support.wait import until


class Recorder(BufferedTransport):
    name = "recorder"

    def __init__(self, fail: bool = False, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.fail = fail
        self.batches: list[list[bytes]] = []
        self.gate = threading.Event()
        self.gate.set()

    def _write(self, batch: list[bytes]) -> None:
        self.gate.wait()
        if self.fail:
            raise ConnectionError("down")
        self.batches.append(batch)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheme_selection() -> None:
    assert isinstance(transport_for_url("memory://"), MemoryTransport)
    for url in ("redis://h/0", "rediss://h/0", "unix:///tmp/r.sock", "redis+socket:///tmp/r.sock"):
        assert isinstance(transport_for_url(url), RedisTransport)
    for url in ("amqp://h//", "amqps://h/v", "pyamqp://guest@h//"):
        assert isinstance(transport_for_url(url), AmqpTransport)
    with pytest.raises(ConfigurationError):
        transport_for_url("sqs://x")


def test_amqp_urls_read_as_celery_reads_them() -> None:
    assert connection_parameters("amqp://u:p%40ss@rabbit//") == {
        "host": "rabbit:5672", "userid": "u", "password": "p@ss", "virtual_host": "/", "ssl": False,
    }  # fmt: skip
    assert connection_parameters("amqps://rabbit:5999/shop")["host"] == "rabbit:5999"
    assert connection_parameters("amqps://rabbit/shop")["virtual_host"] == "shop"
    assert connection_parameters("amqp://rabbit")["virtual_host"] == "/"
    assert connection_parameters("amqp://rabbit/%2f")["virtual_host"] == "/"


def test_events_are_batched_and_flushed() -> None:
    t = Recorder(batch_size=50)
    for i in range(120):
        t.send({"i": i})
    assert t.flush(2)
    flat = [orjson.loads(b)["i"] for batch in t.batches for b in batch]
    assert flat == list(range(120)) and max(len(b) for b in t.batches) <= 50
    assert t.stats() == {"sent": 120, "dropped": 0, "errors": 0, "buffered": 0}
    t.close()


def test_full_buffer_drops_oldest_and_counts() -> None:
    t = Recorder(buffer_size=10, batch_size=5)
    t.gate.clear()  # the sender blocks inside its first write
    for i in range(100):
        t.send({"i": i})
    stats = t.stats()
    assert stats["dropped"] >= 80 and stats["buffered"] <= 10
    t.gate.set()
    assert t.flush(2)
    flat = [orjson.loads(b)["i"] for batch in t.batches for b in batch]
    assert flat[-1] == 99  # the newest survive
    t.close()


def test_failing_writes_keep_events_and_recover() -> None:
    t = Recorder(fail=True, buffer_size=1000)
    for i in range(10):
        t.send({"i": i})
    deadline = time.monotonic() + 2
    while t.stats()["errors"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert t.stats()["errors"] >= 2 and t.stats()["buffered"] == 10
    t.fail = False
    assert t.flush(8)
    assert [orjson.loads(b)["i"] for batch in t.batches for b in batch] == list(range(10))
    t.close()


def test_unserialisable_event_is_not_an_error_for_the_caller() -> None:
    t = Recorder()
    t.send({"x": object()})  # falls back to repr
    t.send({1: "int key"})
    assert t.flush(2) and len([b for batch in t.batches for b in batch]) == 2


def test_redis_unreachable_never_slows_the_caller() -> None:
    t = RedisTransport(f"redis://127.0.0.1:{closed_port()}/0", buffer_size=100)
    start = time.perf_counter()
    for i in range(20_000):
        t.send({"task_id": str(i), "state": "SUCCESS"})
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, elapsed  # ~µs per event: no network in the caller's thread
    stats = t.stats()
    assert stats["dropped"] >= 19_000 and stats["buffered"] <= 100 and stats["sent"] == 0
    assert not t.flush(0.2)
    t.close(0.1)


@pytest.mark.redis
def test_redis_xadd_one_data_field_and_trim_by_age(redis_url: str, stream_prefix: str) -> None:
    r = redis.Redis.from_url(redis_url)
    key = f"{stream_prefix}:events"
    r.xadd(key, {"data": b"{}"}, id="1-1")  # an entry from 1970: older than any ttl
    t = RedisTransport(redis_url, prefix=stream_prefix, ttl=3600, max_stream_length=1000)
    for i in range(5):
        t.send({"task_id": f"t{i}", "state": "PENDING"})
    assert t.flush(5), t.stats()
    entries = r.xrange(key)
    assert [orjson.loads(f[b"data"])["task_id"] for _, f in entries] == [f"t{i}" for i in range(5)]
    assert all(list(f) == [b"data"] for _, f in entries)
    t.close()


@pytest.mark.redis
def test_redis_batch_entries_are_the_exact_bytes_sent(redis_url: str, stream_prefix: str) -> None:
    """A batch travels as one blob plus byte lengths: every entry must come out byte for byte, in order,
    whatever the event holds (multi-byte text, commas, digits, newlines of pretty-printed JSON)."""
    t = RedisTransport(redis_url, prefix=stream_prefix, batch_size=300)
    sent = [b'{"a":"\xc3\xa9\xe2\x82\xac,1,2"}', b'{\n  "pretty": true\n}', b"{}", b'{"big":"' + b"9" * 70_000 + b'"}']
    sent += [orjson.dumps({"task_id": f"t{i}", "n": i}) for i in range(700)]
    for data in sent:
        t.send_bytes(data)
    assert t.flush(5), t.stats()
    entries = redis.Redis.from_url(redis_url).xrange(f"{stream_prefix}:events")
    assert [f[b"data"] for _, f in entries] == sent
    t.close()


@pytest.mark.redis
def test_redis_without_scripting_gets_every_event(redis_url: str, stream_prefix: str) -> None:
    """A Redis whose ACL forbids EVAL (as managed services may) still gets every event, in order: the
    sender needs nothing beyond XADD and XTRIM."""
    admin = redis.Redis.from_url(redis_url)
    user = f"noscript-{stream_prefix}"
    admin.acl_setuser(user, enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-@scripting"])
    parts = urlsplit(redis_url)
    url = urlunsplit(parts._replace(netloc=f"{user}:pw@{parts.hostname}:{parts.port}"))
    t = RedisTransport(url, prefix=stream_prefix)
    try:
        for i in range(3):
            t.send({"task_id": f"t{i}", "state": "PENDING"})
        assert t.flush(5), t.stats()
        entries = admin.xrange(f"{stream_prefix}:events")
        assert [orjson.loads(f[b"data"])["task_id"] for _, f in entries] == ["t0", "t1", "t2"]
        assert t.stats()["dropped"] == 0
    finally:
        t.close()
        admin.acl_deluser(user)


@pytest.mark.redis
def test_events_redis_refuses_are_dropped_counted_and_logged(
    redis_url: str, stream_prefix: str, caplog, monkeypatch
) -> None:  # fmt: skip
    """A key of the wrong type makes Redis refuse each XADD: resending cannot help, so the events are dropped and
    counted, a warning says why, and sending goes on once the key is usable again."""
    # Earlier tests' Celery workers and servers may have changed the logging tree: listen on the logger itself.
    logger = logging.getLogger("stemtrace.transport")
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    caplog.set_level(logging.WARNING, logger="stemtrace.transport")
    r = redis.Redis.from_url(redis_url)
    key = f"{stream_prefix}:events"
    r.set(key, "not a stream")
    t = RedisTransport(redis_url, prefix=stream_prefix)
    try:
        for i in range(3):
            t.send({"task_id": f"t{i}"})
        assert t.flush(5)
        stats = t.stats()
        assert (stats["sent"], stats["dropped"], stats["buffered"]) == (0, 3, 0) and stats["errors"] >= 1
        until("the refusal logged", lambda: "Redis refused (WRONGTYPE" in caplog.text)
        r.delete(key)
        t.send({"task_id": "after"})
        assert t.flush(5)
        assert [orjson.loads(f[b"data"])["task_id"] for _, f in r.xrange(key)] == ["after"]
    finally:
        t.close()


@pytest.mark.redis
def test_redis_sending_starts_once_a_redis_appears(tmp_path) -> None:
    """Events sent before any Redis answers are kept and written once one does, without being asked."""
    server = RestartableRedis(tmp_path)
    t = RedisTransport(server.url, prefix="appears", buffer_size=1000)
    try:
        t.send({"task_id": "during-outage"})
        time.sleep(0.3)
        assert t.stats()["errors"] >= 1 and t.stats()["buffered"] == 1
        server.start()
        assert t.flush(8), t.stats()
        assert [orjson.loads(f[b"data"])["task_id"] for _, f in server.client().xrange("appears:events")] == [
            "during-outage"
        ]
    finally:
        t.close(0.5)
        server.kill()


@pytest.mark.redis
def test_fork_child_gets_its_own_sender(redis_url: str, stream_prefix: str) -> None:
    t = RedisTransport(redis_url, prefix=stream_prefix)
    t.send({"task_id": "parent"})
    assert t.flush(5)
    pid = os.fork()
    if pid == 0:  # child: the parent's thread and lock are gone; a fresh sender must appear
        code = 1
        try:
            t.send({"task_id": "child"})
            code = 0 if t.flush(5) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    t.send({"task_id": "parent-again"})
    assert t.flush(5)
    ids = [
        orjson.loads(f[b"data"])["task_id"]
        for _, f in redis.Redis.from_url(redis_url).xrange(f"{stream_prefix}:events")
    ]
    assert sorted(ids) == ["child", "parent", "parent-again"]
    t.close()


def test_memory_bus_backlog_then_live_delivery_from_a_thread() -> None:
    bus = MemoryBus(backlog=3)
    bus.publish([b"1", b"2"])
    bus.publish([b"3", b"4"])  # backlog keeps the newest 3
    got: list[bytes] = []
    threads: set[str] = set()

    def callback(batch: list[bytes]) -> None:
        threads.add(threading.current_thread().name)
        got.extend(batch)

    unsubscribe = bus.subscribe(callback)
    bus.publish([b"5"])
    assert bus.wait_idle(2)
    assert got == [b"2", b"3", b"4", b"5"] and threads == {"stemtrace-memory-bus"}
    unsubscribe()
    bus.publish([b"6"])
    assert bus.wait_idle(2) and got[-1] == b"5"


def test_memory_transport_delivers_to_global_subscribers() -> None:
    from stemtrace.transport import memory

    got: list[bytes] = []
    unsubscribe = memory.subscribe(got.extend)
    try:
        t = MemoryTransport()
        t.send({"task_id": "m1"})
        assert t.flush(2)
        assert orjson.loads(got[-1]) == {"task_id": "m1"}
    finally:
        unsubscribe()
        t.close()


def test_send_failures_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    t = Recorder(fail=True)
    with caplog.at_level("WARNING", logger="stemtrace.transport"):
        for i in range(5):
            t.send({"i": i})
            t.flush(0.5)
        deadline = time.monotonic() + 2
        while t.stats()["errors"] < 3 and time.monotonic() < deadline:
            t.flush(0.2)
    assert t.stats()["errors"] >= 3
    assert len([r for r in caplog.records if "could not send" in r.getMessage()]) == 1
    t.close(0.1)


def test_buffer_is_bounded_in_bytes_too_and_batches_by_size() -> None:
    t = Recorder(buffer_size=10_000, buffer_bytes=100_000, batch_bytes=20_000)
    t.gate.clear()
    big = {"blob": "x" * 9_990}  # ~10 KB each
    for _ in range(100):
        t.send(big)
    stats = t.stats()
    assert stats["buffered"] <= 11 and stats["dropped"] >= 85
    t.gate.set()
    assert t.flush(2)
    assert max(sum(map(len, b)) for b in t.batches) <= 30_000  # a batch stops once it passes batch_bytes
    t.close()


def test_ssl_cert_reqs_spelling_is_normalised() -> None:
    from stemtrace.transport.redis import _normalize_url

    assert _normalize_url("rediss://h:6380/0?ssl_cert_reqs=CERT_NONE") == "rediss://h:6380/0?ssl_cert_reqs=none"
    assert _normalize_url("redis://h/0") == "redis://h/0"


@pytest.mark.redis
def test_unix_socket_url(tmp_path) -> None:
    import shutil
    import subprocess

    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed: run `make test`")
    sock = tmp_path / "r.sock"
    proc = subprocess.Popen(
        [server, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        t = transport_for_url(f"redis+socket://{sock}", "unixtest")
        t.send({"task_id": "via-socket"})
        assert t.flush(5), t.stats()
        entries = redis.Redis(unix_socket_path=str(sock)).xrange("unixtest:events")
        assert orjson.loads(entries[0][1][b"data"]) == {"task_id": "via-socket"}
        t.close()
    finally:
        proc.terminate()
        proc.wait(10)
