"""Auth on every route of every mode (enumerated from the app, so a new route cannot slip through),
session cookie flags behind an HTTPS proxy, and no way out of the UI bundle through the static route.

Complements tests/integration/test_login.py (throttling, safe ``next``, token expiry) and
test_api.py (the basic traversal probes).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from stemtrace import StemtraceExtension, require_api_key, require_basic_auth
from stemtrace.server.app import create_app
from stemtrace.server.static import add_ui_routes
from tests.support.server import start_server

BASIC = {"Authorization": "Basic " + base64.b64encode(b"ops:s3cret").decode()}
KEY = {"X-API-Key": "k-123"}
# Routes anyone may call, relative to the mount: liveness, signing in and out, the bare redirects.
PUBLIC = {"/api/health/live", "/login", "/logout"}


def embedded(auth: Callable[..., None]) -> FastAPI:
    flow = StemtraceExtension(transport_url="memory://", auth_dependency=auth)
    app = FastAPI(lifespan=flow.lifespan)
    app.include_router(flow.router, prefix="/st")
    return app


def standalone(monkeypatch: pytest.MonkeyPatch, **env: str) -> FastAPI:
    monkeypatch.setenv("STEMTRACE_TRANSPORT_URL", "memory://")
    for name in ("LOGIN_USER", "LOGIN_PASSWORD", "API_KEY"):
        monkeypatch.delenv(f"STEMTRACE_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"STEMTRACE_{name}", value)
    return create_app()


# mode -> (app factory, mount, credentials that open everything)
MODES: dict[str, tuple[Callable[[pytest.MonkeyPatch], FastAPI], str, dict[str, str]]] = {
    "embedded-basic": (lambda mp: embedded(require_basic_auth("ops", "s3cret")), "/st", BASIC),
    "embedded-api-key": (lambda mp: embedded(require_api_key("k-123")), "/st", KEY),
    "standalone-login": (lambda mp: standalone(mp, LOGIN_USER="ops", LOGIN_PASSWORD="s3cret"), "/stemtrace", BASIC),
    "standalone-api-key": (lambda mp: standalone(mp, API_KEY="k-123"), "/stemtrace", KEY),
}


def concrete(path: str) -> str:
    """A request path for a route template: ``{task_id}`` → ``x``, ``{path:path}`` → ``index.html``."""
    return re.sub(r"\{[^}]+\}", lambda m: "index.html" if m.group(0).endswith(":path}") else "x", path)


def our_routes(app: FastAPI, mount: str) -> Iterator[tuple[str, str]]:
    """``(method, path)`` of every route stemtrace added (``WS`` for WebSockets); unknown kinds fail.

    FastAPI keeps included routers as lazy entries of ``app.routes``; ``iter_route_contexts`` flattens them.
    """
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path or ""
        if path != mount and not path.startswith(mount + "/"):
            continue  # the embedding app's own routes are its business
        if isinstance(route, (APIWebSocketRoute, WebSocketRoute)):
            yield "WS", concrete(path)
        elif isinstance(route, (APIRoute, Route)):
            yield from ((method, concrete(path)) for method in sorted(context.methods or ()))
        else:
            pytest.fail(f"a route of a kind this test does not know how to probe: {route!r}")


@pytest.mark.parametrize("mode", MODES)
def test_every_route_of_every_mode_requires_auth(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    factory, mount, credentials = MODES[mode]
    app = factory(monkeypatch)
    routes = sorted(set(our_routes(app, mount)))
    paths = {path for _, path in routes}
    assert {f"{mount}/api/tasks", f"{mount}/ws", f"{mount}/index.html"} <= paths  # API, WebSocket, UI
    if mode.startswith("standalone"):
        assert {f"{mount}/openapi.json", f"{mount}/docs"} <= paths
    with TestClient(app, follow_redirects=False) as client:
        for method, path in routes:
            public = path.removeprefix(mount) in PUBLIC
            if method == "WS":
                with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path):
                    pass
                assert refused.value.code == 1008, path
                with client.websocket_connect(path, headers=credentials):
                    pass
                continue
            anonymous = client.request(method, path)
            assert (anonymous.status_code != 401) if public else (anonymous.status_code == 401), (method, path)
            signed = client.request(method, path, headers=credentials)
            assert signed.status_code not in (401, 403) and signed.status_code < 500, (method, path)


def test_session_cookie_is_secure_behind_an_https_proxy(tmp_path: Path) -> None:
    """uvicorn trusts X-Forwarded-Proto from the local proxy: the cookie then carries ``Secure``."""
    server = start_server(
        ["server", "--transport-url", "memory://", "--login-user", "ops", "--login-password", "s3cret"],
        tmp_path / "server.log",
    )
    try:
        form = {"username": "ops", "password": "s3cret", "next": "/stemtrace/"}
        behind_tls = httpx.post(server.base + "login", data=form, headers={"X-Forwarded-Proto": "https"})
        plain = httpx.post(server.base + "login", data=form)
    finally:
        server.stop()
    for answer in (behind_tls, plain):
        cookie = answer.headers["set-cookie"]
        assert answer.status_code == 303 and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" in behind_tls.headers["set-cookie"]
    assert "Secure" not in plain.headers["set-cookie"]


@pytest.fixture
def bundle(tmp_path: Path) -> Iterator[TestClient]:
    """A UI bundle with symlinks pointing out of it, next to a secret it must never serve."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>ok</html>")
    (dist / "assets" / "app.js").write_text("ok()")
    (dist / "assets" / "leak.txt").symlink_to(secret)
    (dist / "assets" / "up").symlink_to(tmp_path, target_is_directory=True)
    router = APIRouter()
    add_ui_routes(router, dist=dist)
    app = FastAPI()
    app.include_router(router, prefix="/st")
    with TestClient(app) as client:
        yield client


TRAVERSALS = [
    "assets/leak.txt",  # a symlinked file
    "assets/up/secret.txt",  # through a symlinked directory
    "../secret.txt",
    "%2e%2e/secret.txt",
    "assets/%2e%2e/%2e%2e/secret.txt",
    "%252e%252e%252fsecret.txt",  # double-encoded
    "assets%2f..%2f..%2fsecret.txt",
    "..%5csecret.txt",  # encoded backslash
    "assets\\..\\..\\secret.txt",
    "assets/..%00/secret.txt",
    "%2fsecret.txt",
    "assets//../../secret.txt",
]


@pytest.mark.parametrize("probe", TRAVERSALS)
def test_static_route_never_leaves_the_bundle(bundle: TestClient, probe: str) -> None:
    answer = bundle.get(f"/st/{probe}")
    assert answer.status_code == 404, probe
    assert "TOP-SECRET" not in answer.text


def test_static_route_serves_the_bundle(bundle: TestClient) -> None:
    assert bundle.get("/st/assets/app.js").text == "ok()"
    assert bundle.get("/st/").text == "<html>ok</html>"
