"""stemtrace: see what happened in your Celery task flows.

The producer API (``init`` and friends) is all a worker imports. The server half
(``StemtraceExtension``, auth helpers) is loaded only on first access, so
``import stemtrace`` in a Celery worker never pulls in FastAPI or uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from stemtrace.errors import ConfigurationError, EngineError, StemtraceError

__all__ = [
    "ConfigurationError",
    "EngineError",
    "StemtraceConfig",
    "StemtraceError",
    "StemtraceExtension",
    "__version__",
    "create_router",
    "get_config",
    "get_transport",
    "init",
    "init_app",
    "init_worker",
    "is_initialized",
    "require_api_key",
    "require_basic_auth",
    "trace",
]

# name -> module that defines it; imported on first attribute access.
_LAZY = {
    "init": "stemtrace.celery",
    "init_worker": "stemtrace.celery",
    "is_initialized": "stemtrace.celery",
    "get_config": "stemtrace.celery",
    "get_transport": "stemtrace.celery",
    "trace": "stemtrace.celery",
    "StemtraceConfig": "stemtrace.config",
    "StemtraceExtension": "stemtrace.server.extension",
    "init_app": "stemtrace.server.extension",
    "create_router": "stemtrace.server.extension",
    "require_basic_auth": "stemtrace.server.auth",
    "require_api_key": "stemtrace.server.auth",
    "__version__": "stemtrace._version",
}

if TYPE_CHECKING:
    from stemtrace._version import __version__
    from stemtrace.celery import get_config, get_transport, init, init_worker, is_initialized, trace
    from stemtrace.config import StemtraceConfig
    from stemtrace.server.auth import require_api_key, require_basic_auth
    from stemtrace.server.extension import StemtraceExtension, create_router, init_app


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'stemtrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
