"""Loading the native engine, with a clear message when the extension was never built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stemtrace.errors import EngineError

if TYPE_CHECKING:
    from stemtrace._engine import Engine

STATES = ("PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED")


def create_engine(transport_url: str | None, prefix: str, max_tasks: int, ttl: int = 86_400) -> Engine:
    """Build an engine; a bad URL or prefix raises ``ConfigurationError``.

    ``ttl`` is the retention (seconds) of a RabbitMQ queue the engine creates; Redis ignores it.
    """
    try:
        from stemtrace._engine import Engine
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            "stemtrace's native engine is not built: run `make build` (or `maturin develop --release`)"
        ) from exc
    from stemtrace.errors import ConfigurationError

    try:
        return Engine(transport_url, prefix, max_tasks, ttl)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
