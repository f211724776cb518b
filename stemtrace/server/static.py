"""Serving the built UI from inside the package, under whatever prefix the router is mounted at.

Vite builds with ``base: "./"`` so every asset URL is relative to ``index.html``; hashed assets are
cached forever, ``index.html`` never. Only files inside the bundle can be read.
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


def resolve_asset(dist: Path, relative: str) -> Path | None:
    """The file inside ``dist`` named by ``relative``, or None when it is missing or outside the bundle."""
    if "\\" in relative or "\x00" in relative or any(part in ("..", "") for part in relative.split("/")):
        return None
    candidate = (dist / relative).resolve()
    root = dist.resolve()
    if root not in candidate.parents or not candidate.is_file():
        return None
    return candidate


def add_ui_routes(router: APIRouter, dependencies: Sequence[Any] = (), dist: Path = UI_DIST) -> None:
    """Serve the UI at the router's root. Added to the mounted router itself (not included as a
    sub-router) because its bare-prefix route has an empty path, valid only under a prefix."""
    route = partial(router.api_route, methods=["GET", "HEAD"], include_in_schema=False, dependencies=list(dependencies))

    def index() -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

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
        return FileResponse(found, headers={"Cache-Control": cache})
