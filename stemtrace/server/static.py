"""Serving the built UI from inside the package, under whatever prefix the router is mounted at.

Vite builds with ``base: "./"`` so every asset URL is relative to ``index.html``; hashed assets are
cached forever, ``index.html`` never. Only files inside the bundle can be read. Every UI response
carries a Content-Security-Policy that lets the page load and connect to its own origin only (the
bundle holds its fonts and icons), ``nosniff``, and frame protection the embedding app can change.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

UI_DIST = Path(__file__).resolve().parent / "ui_dist"

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>stemtrace</title>
<h1>The stemtrace UI was not built</h1>
<p>The API works (see <a href="api/health">api/health</a>). To build the UI run <code>make build</code>
(or <code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</code>) and restart.</p>"""


DEFAULT_FRAME_ANCESTORS = "'self'"


def security_headers(frame_ancestors: str | None = DEFAULT_FRAME_ANCESTORS) -> dict[str, str]:
    """Headers for UI responses. ``frame_ancestors``: who may frame the UI (a CSP source list, e.g.
    ``"'self' https://admin.example.com"``), or None to leave framing to the embedding app."""
    policy = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
              "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")  # fmt: skip
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    if frame_ancestors is not None:
        policy += f"; frame-ancestors {frame_ancestors}"
        if frame_ancestors == DEFAULT_FRAME_ANCESTORS:
            headers["X-Frame-Options"] = "SAMEORIGIN"  # for browsers that predate frame-ancestors
    headers["Content-Security-Policy"] = policy
    return headers


def resolve_asset(dist: Path, relative: str) -> Path | None:
    """The file inside ``dist`` named by ``relative``, or None when it is missing or outside the bundle."""
    if "\\" in relative or "\x00" in relative or any(part in ("..", "") for part in relative.split("/")):
        return None
    candidate = (dist / relative).resolve()
    root = dist.resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def add_ui_routes(
    router: APIRouter,
    dependencies: Sequence[Any] = (),
    dist: Path = UI_DIST,
    frame_ancestors: str | None = DEFAULT_FRAME_ANCESTORS,
) -> None:
    """Serve the UI at the router's root. Added to the mounted router itself (not included as a
    sub-router) because its bare-prefix route has an empty path, valid only under a prefix."""
    route = partial(router.api_route, methods=["GET", "HEAD"], include_in_schema=False, dependencies=list(dependencies))
    secure = security_headers(frame_ancestors)

    def index() -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store", **secure})
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache", **secure})

    @route("")
    def without_slash(request: Request) -> Response:
        # Relative asset URLs need the trailing slash.
        return RedirectResponse(request.url.path + "/", status_code=307)

    @route("/")
    def root() -> Response:
        return index()

    @route("/{path:path}")
    def asset(path: str) -> Response:
        if path.startswith("api/") or path == "api":
            raise HTTPException(status_code=404, detail="Not Found")
        found = resolve_asset(dist, path)
        if found is None:
            raise HTTPException(status_code=404, detail="Not Found")
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache, **secure})
