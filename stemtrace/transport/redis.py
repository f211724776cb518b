"""Redis Streams sender: batches of ``XADD {prefix}:events MAXLEN ~ N * data <json>`` in one pipeline.

One XADD cannot carry both MAXLEN and MINID, so the length cap rides on every XADD and the age cap
(``XTRIM MINID now-ttl``, exact: ``~`` would keep whole part-old nodes of ~100 entries) is added to a
pipeline at most once every ``trim_interval`` seconds.
Timeouts are short: a slow or dead Redis only ever stalls the sender thread, never a task.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from stemtrace.transport.base import BufferedTransport, DropBatch

_CERT_REQS = {"CERT_NONE": "none", "CERT_OPTIONAL": "optional", "CERT_REQUIRED": "required"}


def _normalize_url(url: str) -> str:
    """redis-py wants ``ssl_cert_reqs=none``; Celery users often write ``CERT_NONE``."""
    parts = urlsplit(url)
    if not parts.query or "ssl_cert_reqs" not in parts.query:
        return url
    query = [(k, _CERT_REQS.get(v, v) if k == "ssl_cert_reqs" else v) for k, v in parse_qsl(parts.query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


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
        self._last_trim = 0.0

    def _connect(self) -> Any:
        import redis  # imported here: a publisher that never sends does not pay for it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis.from_url(
            self.url,
            retry=Retry(NoBackoff(), 0),  # one attempt per call: the sender thread does its own back-off
            socket_connect_timeout=min(self.socket_timeout, 1.0),
            socket_timeout=self.socket_timeout,
            retry_on_timeout=False,
            health_check_interval=30,
        )

    def _reset(self) -> None:
        self._client = None
        self._last_trim = 0.0

    def _write(self, batch: list[bytes]) -> None:
        import redis

        if self._client is None:
            self._client = self._connect()
        pipe = self._client.pipeline(transaction=False)
        for data in batch:
            pipe.xadd(self.stream_key, {"data": data}, maxlen=self.max_stream_length, approximate=True)
        now = time.time()
        if now - self._last_trim >= self.trim_interval:
            min_id = f"{int((now - self.ttl) * 1000)}-0"
            pipe.xtrim(self.stream_key, minid=min_id, approximate=False)  # exact: "~" keeps whole nodes
        try:
            pipe.execute()
        except redis.ResponseError as exc:
            # Redis answered but refused (wrong key type, ...): resending the same batch cannot help.
            raise DropBatch(str(exc)) from exc
        except Exception:
            # A half-dead connection is not worth keeping: the next attempt reconnects from scratch.
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                client.close()
            raise
        if now - self._last_trim >= self.trim_interval:
            self._last_trim = now
