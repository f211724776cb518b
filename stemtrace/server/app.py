"""The standalone app behind ``stemtrace server`` and ``stemtrace demo``, configured from the environment.

uvicorn imports ``create_app`` as a factory, so ``--reload`` and plain runs share one path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from stemtrace._version import __version__
from stemtrace.server.auth import require_api_key, require_basic_auth
from stemtrace.server.extension import DEFAULT_MAX_TASKS, StemtraceExtension

MOUNT = "/stemtrace"


def _auth_from_env() -> Any:
    user, password = os.environ.get("STEMTRACE_LOGIN_USER"), os.environ.get("STEMTRACE_LOGIN_PASSWORD")
    if user and password:
        return require_basic_auth(user, password)
    key = os.environ.get("STEMTRACE_API_KEY")
    return require_api_key(key) if key else None


def create_app() -> FastAPI:
    """Read ``STEMTRACE_*`` settings (the CLI sets them from its flags) and build the app."""
    flow = StemtraceExtension(
        transport_url=os.environ.get("STEMTRACE_TRANSPORT_URL"),
        broker_url=os.environ.get("STEMTRACE_BROKER_URL"),
        prefix=os.environ.get("STEMTRACE_PREFIX"),
        max_tasks=int(os.environ.get("STEMTRACE_MAX_TASKS", DEFAULT_MAX_TASKS)),
        auth_dependency=_auth_from_env(),
    )
    lifespan = flow.lifespan
    if os.environ.get("STEMTRACE_DEMO") == "1":
        from stemtrace.server.demo import demo_lifespan

        lifespan = flow.compose(demo_lifespan)

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            app.state.stemtrace = flow
            yield

    app = FastAPI(
        title="stemtrace",
        version=__version__,
        lifespan=run,
        root_path=os.environ.get("STEMTRACE_ROOT_PATH", ""),
        docs_url=f"{MOUNT}/docs",
        openapi_url=f"{MOUNT}/openapi.json",
        redoc_url=None,
    )
    app.include_router(flow.router, prefix=MOUNT)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{MOUNT}/")

    return app
