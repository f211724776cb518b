"""The producer: ``stemtrace.init(app)`` makes a Celery app (worker or publisher) emit task-flow events.

Importing this package starts nothing and connects nothing; ``init`` connects the signal handlers and
builds a transport that opens its connection and sender thread lazily, per process, on the first event.

Modules, one job each:

- ``signals``   Celery signal → event → transport; the only module that knows Celery's signals.
- ``events``    wire-format event objects (DESIGN §3) from headers, requests and exceptions.
- ``serialize`` any value → bounded JSON-safe value; ``scrub`` which keys are secrets.
- ``context``   the trace id (``trace()``) and the task running in this thread.
- ``worker``    worker events, task definitions, the heartbeat thread.
- ``output``    optional capture of what tasks print.
- ``runtime``   the active configuration, transport and payload builder.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterable
from typing import Any

from stemtrace.celery import runtime, signals
from stemtrace.celery.context import trace
from stemtrace.config import StemtraceConfig, build_config
from stemtrace.errors import ConfigurationError
from stemtrace.transport import Transport

__all__ = ["get_config", "get_transport", "init", "init_worker", "is_initialized", "shutdown", "trace"]

_atexit_registered = False


def init(
    app: Any = None,
    *,
    transport_url: str | None = None,
    prefix: str | None = None,
    ttl: int | None = None,
    capture_args: bool | None = None,
    capture_result: bool | None = None,
    scrub_sensitive_data: bool | None = None,
    additional_sensitive_keys: Iterable[str] | None = None,
    safe_keys: Iterable[str] | None = None,
    max_data_size: int | None = None,
    capture_output: bool | None = None,
    buffer_size: int | None = None,
    **options: Any,
) -> StemtraceConfig:
    """Start capturing events for ``app``; returns the resolved configuration.

    The transport URL defaults to ``STEMTRACE_TRANSPORT_URL`` / ``STEMTRACE_BROKER_URL``, then Celery's
    ``broker_url``; every other argument left as ``None`` comes from ``STEMTRACE_<NAME>`` if set, else its
    default: prefix ``"stemtrace"``, ttl one day, capture args and results, scrub sensitive data,
    ``max_data_size`` 10 000 bytes per field, no output capture, ``buffer_size`` 10 000 events.
    Raises :class:`~stemtrace.errors.ConfigurationError` when the configuration cannot work.
    Calling it again replaces the previous configuration.
    """
    global _atexit_registered
    if app is not None and not hasattr(app, "conf"):
        raise ConfigurationError(f"stemtrace.init() expects a Celery app, got {type(app).__name__}")
    config = build_config(
        app,
        transport_url=transport_url,
        prefix=prefix,
        ttl=ttl,
        capture_args=capture_args,
        capture_result=capture_result,
        scrub_sensitive_data=scrub_sensitive_data,
        additional_sensitive_keys=additional_sensitive_keys,
        safe_keys=safe_keys,
        max_data_size=max_data_size,
        capture_output=capture_output,
        buffer_size=buffer_size,
        **options,
    )
    runtime.install(config, app)
    signals.connect()
    if not _atexit_registered:
        atexit.register(_flush_at_exit)
        _atexit_registered = True
    return config


init_worker = init


def shutdown() -> None:
    """Disconnect the handlers and flush what is buffered (with the configured deadline)."""
    signals.disconnect()
    runtime.uninstall()


def is_initialized() -> bool:
    return runtime.current() is not None


def get_config() -> StemtraceConfig | None:
    rt = runtime.current()
    return rt.config if rt else None


def get_transport() -> Transport | None:
    rt = runtime.current()
    return rt.transport if rt else None


def _flush_at_exit() -> None:
    rt = runtime.current()
    if rt is not None:
        rt.transport.flush(rt.config.flush_timeout)
