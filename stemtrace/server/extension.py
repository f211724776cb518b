"""``StemtraceExtension``: the engine inside a FastAPI app, as a router plus a lifespan.

flow = StemtraceExtension(broker_url="redis://localhost:6379/0", auth_dependency=Depends(require_admin))
app = FastAPI(lifespan=flow.lifespan)
app.include_router(flow.router, prefix="/stemtrace")
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.params import Depends as DependsParam

from stemtrace.config import DEFAULT_TTL, normalize_transport_url
from stemtrace.engine import create_engine
from stemtrace.errors import ConfigurationError
from stemtrace.server.routes import build_api_router
from stemtrace.server.shared import RemoteEngine
from stemtrace.server.static import DEFAULT_FRAME_ANCESTORS, add_ui_routes
from stemtrace.server.ws import Connections, add_websocket_route
from stemtrace.transport import is_redis_url

DEFAULT_BROKER_URL = "redis://localhost:6379/0"
DEFAULT_MAX_TASKS = 1_000_000

Lifespan = Callable[[Any], contextlib.AbstractAsyncContextManager[Any]]


class StemtraceExtension:
    """Everything stemtrace adds to a FastAPI app.

    ``transport_url`` (or ``broker_url``; env ``STEMTRACE_TRANSPORT_URL`` / ``STEMTRACE_BROKER_URL``) is
    the Redis whose stream ``{prefix}:events`` is followed, the RabbitMQ whose exchange ``{prefix}.events``
    is (docs/brokers.md; ``ttl``, env ``STEMTRACE_TTL``, is the retention of a queue the server creates),
    or ``memory://`` for events published in this process. ``prefix`` is the event prefix, independent of
    the mount path. With ``embedded_consumer=False`` this process only serves what the engine holds.
    With ``shared_consumer=True`` it holds nothing and asks a ``stemtrace consume`` process following the
    same Redis and prefix (high-scale mode, ``stemtrace/server/shared.py``). ``frame_ancestors`` is who
    may show the UI in a frame (CSP source list; default the same origin; None leaves it to your app).
    """

    def __init__(
        self,
        broker_url: str | None = None,
        *,
        transport_url: str | None = None,
        prefix: str | None = None,
        ttl: int | None = None,
        max_tasks: int = DEFAULT_MAX_TASKS,
        embedded_consumer: bool = True,
        shared_consumer: bool = False,
        serve_ui: bool = True,
        frame_ancestors: str | None = DEFAULT_FRAME_ANCESTORS,
        auth_dependency: Any = None,
    ) -> None:
        self.transport_url = normalize_transport_url(  # Celery's spellings, as the library reads them
            transport_url
            or broker_url
            or os.environ.get("STEMTRACE_TRANSPORT_URL")
            or os.environ.get("STEMTRACE_BROKER_URL")
            or DEFAULT_BROKER_URL
        )
        self.prefix = prefix or os.environ.get("STEMTRACE_PREFIX") or "stemtrace"
        self.ttl = ttl or int(os.environ.get("STEMTRACE_TTL") or DEFAULT_TTL)
        self.max_tasks = max_tasks
        self.embedded_consumer = embedded_consumer
        self.shared_consumer = shared_consumer
        self.engine: Any = None
        self.connections = Connections()
        # Built now so a bad URL fails at construction, not at the first request.
        self._new_engine = lambda: create_engine(self.transport_url, self.prefix, self.max_tasks, self.ttl)
        self._new_engine()
        if shared_consumer and not is_redis_url(self.transport_url):
            raise ConfigurationError("shared_consumer needs a Redis transport_url: consumers answer through Redis")
        self.frame_ancestors = frame_ancestors
        self.router = self._build_router(serve_ui, auth_dependency)

    def _build_router(self, serve_ui: bool, auth_dependency: Any) -> APIRouter:
        guard = [_as_depends(auth_dependency)] if auth_dependency is not None else []
        router = APIRouter()
        public = APIRouter()

        @public.get("/api/health/live", summary="Liveness probe (no auth)")
        async def live() -> Response:
            # async with constant bytes: a probe polled by load balancers costs no thread hop.
            return Response(b'{"status":"ok"}', media_type="application/json")

        router.include_router(public, tags=["stemtrace"])
        api = build_api_router(lambda: self.engine, self._health_extra)
        router.include_router(api, prefix="/api", dependencies=guard, tags=["stemtrace"])
        add_websocket_route(router, lambda: self.engine, guard, self.connections)
        if serve_ui:
            add_ui_routes(router, guard, frame_ancestors=self.frame_ancestors)
        return router

    def _health_extra(self) -> dict[str, Any]:
        return {
            "websocket_connections": self.connections.open,
            "embedded_consumer": self.embedded_consumer and not self.shared_consumer,
            "shared_consumer": self.shared_consumer,
        }

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        """Start the engine (and its consumer) for the app's life; stop it on shutdown."""
        unsubscribe = None
        if self.shared_consumer:  # the `stemtrace consume` process follows the stream
            engine: Any = RemoteEngine(self.transport_url, self.prefix)
        else:
            engine = self._new_engine()
            if engine.transport_url is None:
                from stemtrace.transport.memory import subscribe

                unsubscribe = subscribe(engine.ingest)
            elif self.embedded_consumer:
                engine.start()
        self.engine = engine
        try:
            yield
        finally:
            if unsubscribe is not None:
                unsubscribe()
            engine.stop()
            self.engine = None

    def compose(self, other: Lifespan) -> Lifespan:
        """A lifespan running ``other`` inside stemtrace's: ``FastAPI(lifespan=flow.compose(mine))``."""

        @contextlib.asynccontextmanager
        async def both(app: Any) -> AsyncIterator[Any]:
            async with self.lifespan(app), other(app) as state:
                yield state

        return both


def _as_depends(dependency: Any) -> Any:
    return dependency if isinstance(dependency, DependsParam) else Depends(dependency)


def init_app(app: FastAPI, prefix: str = "/stemtrace", **options: Any) -> StemtraceExtension:
    """stemtrace 0.4.x style: mount the router on ``app`` and chain the engine into its lifespan."""
    flow = StemtraceExtension(**options)
    app.include_router(flow.router, prefix=prefix)
    app.router.lifespan_context = flow.compose(app.router.lifespan_context)
    return flow


def create_router(**options: Any) -> APIRouter:
    """stemtrace 0.4.x name: a router whose engine starts with the router's own lifespan."""
    flow = StemtraceExtension(**options)
    flow.router.lifespan_context = flow.lifespan
    return flow.router
