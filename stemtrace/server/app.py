"""The standalone app behind ``stemtrace server`` and ``stemtrace demo``, configured from the environment.

uvicorn imports ``create_app`` as a factory, so ``--reload`` and plain runs share one path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from stemtrace._version import __version__
from stemtrace.server.auth import require_api_key
from stemtrace.server.extension import DEFAULT_MAX_TASKS, StemtraceExtension
from stemtrace.server.login import FormLogin

MOUNT = "/stemtrace"


def _login_from_env() -> FormLogin | None:
    user, password = os.environ.get("STEMTRACE_LOGIN_USER"), os.environ.get("STEMTRACE_LOGIN_PASSWORD")
    if not (user and password):
        return None
    return FormLogin(user, password, MOUNT, secret=os.environ.get("STEMTRACE_SECRET_KEY"))


def _docs_router(app: FastAPI, auth: Callable[..., None] | None) -> APIRouter:
    """OpenAPI schema and Swagger UI at ``{MOUNT}/openapi.json`` and ``{MOUNT}/docs``."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(auth)] if auth else [])

    @router.get("/openapi.json")
    def schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{MOUNT}/openapi.json", title="stemtrace API")

    return router


def create_app() -> FastAPI:
    """Read ``STEMTRACE_*`` settings (the CLI sets them from its flags) and build the app."""
    login = _login_from_env()
    key = os.environ.get("STEMTRACE_API_KEY")
    auth = login.dependency if login else require_api_key(key) if key else None
    flow = StemtraceExtension(
        transport_url=os.environ.get("STEMTRACE_TRANSPORT_URL"),
        broker_url=os.environ.get("STEMTRACE_BROKER_URL"),
        prefix=os.environ.get("STEMTRACE_PREFIX"),
        max_tasks=int(os.environ.get("STEMTRACE_MAX_TASKS", DEFAULT_MAX_TASKS)),
        shared_consumer=os.environ.get("STEMTRACE_SHARED") == "1",
        auth_dependency=auth,
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
        # Served below, behind the same auth as everything else.
        docs_url=None,
        openapi_url=None,
        redoc_url=None,
    )
    if login:
        app.include_router(login.router(), prefix=MOUNT)
    app.include_router(_docs_router(app, auth), prefix=MOUNT)  # before the UI's catch-all route
    app.include_router(flow.router, prefix=MOUNT)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{MOUNT}/")

    return app
