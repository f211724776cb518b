"""Redis Streams sender: each batch becomes ``XADD {prefix}:events MAXLEN ~ N * data <json>`` per event.

The batch goes as one small Lua script call (``EVALSHA``) that runs the XADDs inside Redis: building
and parsing one command per event in Python was most of the library's cost in a busy worker. The events
travel end to end in one argument with their byte lengths beside them, so the client packs five
arguments per batch instead of one per event. Where scripting is refused (ACLs, managed services), it
falls back to a pipeline of XADDs for good.
One XADD cannot carry both MAXLEN and MINID, so the length cap rides on every XADD and the age cap
(``XTRIM MINID now-ttl``, exact: ``~`` would keep whole part-old nodes of ~100 entries) is applied at
most once every ``trim_interval`` seconds.
Timeouts are short: a slow or dead Redis only ever stalls the sender thread, never a task.
A ``sentinel://`` URL (Celery's spelling: ``sentinel://[:pw@]s1:26379;sentinel://s2:26379/0?master_name=x``)
writes to whichever server the sentinels name as the master, asked again after a failover.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from stemtrace.transport.base import BufferedTransport, DropBatch

# KEYS[1] the stream; ARGV[1] MAXLEN, ARGV[2] the MINID to trim to ("" for none), ARGV[3] the events'
# byte lengths, comma-separated, ARGV[4] the events end to end.
_XADD_BATCH = """
local events, start, n = ARGV[4], 1, 0
for size in string.gmatch(ARGV[3], '%d+') do
    local stop = start + tonumber(size)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', string.sub(events, start, stop - 1))
    start, n = stop, n + 1
end
if ARGV[2] ~= '' then
    redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
end
return n
"""

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


class RedisTransport(BufferedTransport):
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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = _normalize_url(url)
        self.stream_key = f"{prefix}:events"
        self.ttl = ttl
        self.max_stream_length = max_stream_length
        self.trim_interval = trim_interval
        self.socket_timeout = socket_timeout
        self._client: Any = None
        self._script: Any = None  # the batch script, or None once Redis refused scripting
        self._scripting = True
        self._last_trim = 0.0

    def _connect(self) -> Any:
        # redis is imported here and in redis_client: a publisher that never sends does not pay for it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis_client(
            self.url,
            retry=Retry(NoBackoff(), 0),  # one attempt per call: the sender thread does its own back-off
            socket_connect_timeout=min(self.socket_timeout, 1.0),
            socket_timeout=self.socket_timeout,
            retry_on_timeout=False,
            health_check_interval=30,
        )

    def _reset(self) -> None:
        self._client = None
        self._script = None
        self._last_trim = 0.0

    def _write(self, batch: list[bytes]) -> None:
        import redis

        if self._client is None:
            self._client = self._connect()
            self._script = self._client.register_script(_XADD_BATCH)
        now = time.time()
        trim = now - self._last_trim >= self.trim_interval
        min_id = f"{int((now - self.ttl) * 1000)}-0" if trim else ""
        try:
            if self._scripting:
                try:
                    sizes = ",".join(map(str, map(len, batch)))
                    self._script(keys=[self.stream_key], args=[self.max_stream_length, min_id, sizes, b"".join(batch)])
                except redis.ResponseError as exc:
                    if not _scripting_refused(exc):
                        raise
                    self._scripting = False
            if not self._scripting:
                self._pipeline(batch, min_id)
        except redis.ResponseError as exc:
            # Redis answered but refused (wrong key type, ...): resending the same batch cannot help.
            raise DropBatch(str(exc)) from exc
        except Exception:
            # A half-dead connection is not worth keeping: the next attempt reconnects from scratch.
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                client.close()
            raise
        if trim:
            self._last_trim = now

    def _pipeline(self, batch: list[bytes], min_id: str) -> None:
        pipe = self._client.pipeline(transaction=False)
        for data in batch:
            pipe.xadd(self.stream_key, {"data": data}, maxlen=self.max_stream_length, approximate=True)
        if min_id:
            pipe.xtrim(self.stream_key, minid=min_id, approximate=False)  # exact: "~" keeps whole nodes
        pipe.execute()


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


def _scripting_refused(exc: Exception) -> bool:
    """Errors that mean this Redis will not run scripts for us (as opposed to a bad batch)."""
    message = str(exc).lower()
    return any(s in message for s in ("noperm", "unknown command", "no permissions", "scripting is disabled"))
