"""Transports: where serialised events go. ``transport_for_url`` picks one by URL scheme.

Every transport has ``send(event_dict)``, ``send_bytes(json_bytes)``, ``flush(timeout)``, ``close(timeout)``
and ``stats()``; none of them ever blocks or raises in the caller's thread.
"""

from __future__ import annotations

from typing import Any

from stemtrace.config import SUPPORTED_SCHEMES, normalize_transport_url, redact_url
from stemtrace.errors import ConfigurationError
from stemtrace.transport.base import BufferedTransport, Transport

__all__ = ["BufferedTransport", "Transport", "is_redis_url", "transport_for_url"]


REDIS_SCHEMES = ("redis", "rediss", "unix", "sentinel")


def is_redis_url(url: str) -> bool:
    return url.partition("://")[0].lower() in REDIS_SCHEMES


def transport_for_url(
    url: str,
    prefix: str = "stemtrace",
    ttl: int = 86_400,
    *,
    buffer_size: int = 10_000,
    max_stream_length: int = 1_000_000,
    **kwargs: Any,
) -> Transport:
    """A transport for ``redis://``, ``rediss://``, ``unix://``, ``sentinel://``, ``amqp://``, ``amqps://``,
    ``pyamqp://`` or ``memory://``; nothing connects yet."""
    url = normalize_transport_url(url or "")
    scheme = url.partition("://")[0].lower()
    if scheme == "memory":
        from stemtrace.transport.memory import MemoryTransport

        return MemoryTransport(url, buffer_size=buffer_size, **kwargs)
    if scheme in REDIS_SCHEMES:
        from stemtrace.transport.redis import RedisTransport

        return RedisTransport(
            url, prefix=prefix, ttl=ttl, max_stream_length=max_stream_length, buffer_size=buffer_size, **kwargs
        )
    if scheme in ("amqp", "amqps"):
        from stemtrace.transport.amqp import AmqpTransport

        return AmqpTransport(
            url, prefix=prefix, ttl=ttl, max_stream_length=max_stream_length, buffer_size=buffer_size, **kwargs
        )
    raise ConfigurationError(
        f"no stemtrace transport for {redact_url(url)!r}: use one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
    )
