"""The producer's process-wide state: configuration, transport, payload builder. Set by ``init``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from stemtrace.celery.events import Payloads
from stemtrace.config import StemtraceConfig
from stemtrace.transport import Transport, transport_for_url

log = logging.getLogger("stemtrace")


@dataclass(frozen=True)
class Runtime:
    config: StemtraceConfig
    transport: Transport
    payloads: Payloads
    app: Any


_current: Runtime | None = None


def install(config: StemtraceConfig, app: Any, transport: Transport | None = None) -> Runtime:
    """Make ``config`` the active one; the transport is built now but starts nothing until first send."""
    global _current
    if transport is None:
        transport = transport_for_url(
            config.transport_url,
            config.prefix,
            config.ttl,
            buffer_size=config.buffer_size,
            max_stream_length=config.max_stream_length,
        )
    old = _current
    _current = Runtime(config, transport, Payloads(config), app)
    if old is not None and old.transport is not transport:
        old.transport.close(timeout=config.flush_timeout)
    return _current


def uninstall() -> None:
    global _current
    old, _current = _current, None
    if old is not None:
        old.transport.close(timeout=old.config.flush_timeout)


def current() -> Runtime | None:
    return _current


def emit(event: dict[str, Any] | bytes | None) -> None:
    """Hand one event to the transport: an object, or one already encoded as JSON bytes. Never raises."""
    rt = _current
    if rt is None or event is None:
        return
    try:
        if isinstance(event, bytes):
            rt.transport.send_bytes(event)
        else:
            rt.transport.send(event)
    except Exception:  # pragma: no cover - send() and send_bytes() never raise
        log.debug("stemtrace: event dropped", exc_info=True)
