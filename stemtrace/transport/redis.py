"""Redis Streams sender: each event becomes ``XADD {prefix}:events MAXLEN ~ N * data <json>``.

The buffer and the sending thread are native (``stemtrace._engine.RedisSender``, rust/core/src/sender.rs):
a task thread only copies its event into the buffer, and the thread that writes batches (one pipeline of
XADDs each) never takes the GIL, so it does not compete with the tasks for it. One XADD cannot carry
both MAXLEN and MINID, so the length cap rides on every XADD and the age cap (``XTRIM MINID now-ttl``,
exact: ``~`` would keep whole part-old nodes of ~100 entries) is applied at most once every
``trim_interval`` seconds. Timeouts are short: a slow or dead Redis only ever stalls the sender thread,
never a task.
A ``sentinel://`` URL (Celery's spelling: ``sentinel://[:pw@]s1:26379;sentinel://s2:26379/0?master_name=x``)
writes to whichever server the sentinels name as the master, asked again after a failover.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from stemtrace.transport.base import Transport

_CERT_REQS = {"CERT_NONE": "none", "CERT_OPTIONAL": "optional", "CERT_REQUIRED": "required"}


def _normalize_url(url: str) -> str:
    """redis-py wants ``ssl_cert_reqs=none``; Celery users often write ``CERT_NONE``."""
    parts = urlsplit(url)
    if not parts.query or "ssl_cert_reqs" not in parts.query:
        return url
    query = [(k, _CERT_REQS.get(v, v) if k == "ssl_cert_reqs" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class SentinelUrl(NamedTuple):
    """A ``sentinel://`` URL, read as Celery reads it: the sentinels, then the master's name, credentials and
    database; ``sentinel_password`` (Celery: ``sentinel_kwargs={"password": …}``) authenticates to the
    sentinels themselves."""

    sentinels: list[tuple[str, int]]
    master_name: str | None
    username: str | None
    password: str | None
    db: int
    sentinel_password: str | None

    @classmethod
    def parse(cls, url: str) -> SentinelUrl:
        parts = [urlsplit(p.strip()) for p in url.split(";") if p.strip()]
        last = parts[-1]
        query = dict(parse_qsl(last.query))
        path = last.path.strip("/")
        return cls(
            sentinels=[(p.hostname or "localhost", p.port or 26379) for p in parts],
            master_name=query.get("master_name") or None,
            username=unquote(last.username) if last.username else None,
            password=unquote(last.password) if last.password else None,
            db=int(path) if path.isdigit() else 0,
            sentinel_password=query.get("sentinel_password") or None,
        )


class RedisTransport(Transport):
    """Events to a Redis stream through a native sender, one per process: made on the first event a process
    sends, and made anew in a forked child (a prefork worker's children), which must not use its parent's."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "stemtrace",
        ttl: int = 86_400,
        max_stream_length: int = 1_000_000,
        trim_interval: float = 60.0,
        socket_timeout: float = 2.0,
        buffer_size: int = 10_000,
        buffer_bytes: int = 64 * 1024 * 1024,
        batch_size: int = 500,
        batch_bytes: int = 1024 * 1024,
        linger: float = 0.05,
    ) -> None:
        super().__init__()
        self.url = _normalize_url(url)
        self.stream_key = f"{prefix}:events"
        self._settings = {
            "max_len": max_stream_length, "ttl": float(ttl), "trim_interval": trim_interval,
            "buffer_size": buffer_size, "buffer_bytes": buffer_bytes, "batch_size": batch_size,
            "batch_bytes": batch_bytes, "linger": linger, "timeout": socket_timeout,
        }  # fmt: skip
        self._sender: Any = None  # made on first use in each process; a forked child forgets its parent's
        self._closed = False

    def send_bytes(self, data: bytes) -> None:
        sender = self._sender
        if sender is None:
            if self._closed:
                return
            sender = self._start()
        sender.push(data)

    def _start(self) -> Any:
        from stemtrace._engine import RedisSender

        self._sender = RedisSender(self.url, self.stream_key, **self._settings)
        return self._sender

    def _after_fork(self) -> None:  # runs in every forked child (os.register_at_fork, base.py)
        self._sender = None  # the parent's: it has no thread here, and dropping it touches nothing

    def stats(self) -> dict[str, int]:
        sender = self._sender
        sent, dropped, errors, buffered = sender.stats() if sender is not None else (0, 0, 0, 0)
        return {"sent": sent, "dropped": dropped, "errors": errors, "buffered": buffered}

    def flush(self, timeout: float = 2.0) -> bool:
        sender = self._sender
        return True if sender is None else bool(sender.flush(timeout))

    def close(self, timeout: float = 2.0) -> bool:
        sender = self._sender
        ok = True if sender is None else bool(sender.close(timeout))
        self._closed = True
        self._sender = None
        return ok


def redis_client(url: str, **options: Any) -> Any:
    """A redis-py client for any of our Redis URLs: ``ssl_cert_reqs`` spelt as Celery does is understood, and a
    ``sentinel://`` URL gives a client of the master the sentinels name, asked again when it changes."""
    import redis

    url = _normalize_url(url)
    if not url.lower().startswith("sentinel://"):
        return redis.Redis.from_url(url, **options)
    from redis.sentinel import Sentinel

    parsed = SentinelUrl.parse(url)
    timeouts = {k: options[k] for k in ("socket_connect_timeout", "socket_timeout") if k in options}
    sentinel_kwargs = {"password": parsed.sentinel_password, **timeouts}
    sentinel = Sentinel(parsed.sentinels, sentinel_kwargs=sentinel_kwargs, **timeouts)
    return sentinel.master_for(
        parsed.master_name, username=parsed.username, password=parsed.password, db=parsed.db, **options
    )
