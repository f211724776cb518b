"""Serving the built UI from inside the package, under whatever prefix the router is mounted at.

Vite builds with ``base: "./"`` so every asset URL is relative to ``index.html``; hashed assets are
cached forever, ``index.html`` never. Only files inside the bundle can be read.
"""

from __future__ import annotations

from pathlib import Path

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


def build_ui_router(dist: Path = UI_DIST) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def index() -> Response:
        page = dist / "index.html"
        if not page.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @router.api_route("", methods=["GET", "HEAD"])
    def without_slash(request: Request) -> Response:
        # Relative asset URLs need the trailing slash.
        return RedirectResponse(request.url.path + "/", status_code=307)

    @router.api_route("/", methods=["GET", "HEAD"])
    def root() -> Response:
        return index()

    @router.api_route("/{path:path}", methods=["GET", "HEAD"])
    def asset(path: str) -> Response:
        if path.startswith("api/") or path == "api":
            raise HTTPException(status_code=404, detail="Not Found")
        found = resolve_asset(dist, path)
        if found is None:
            raise HTTPException(status_code=404, detail="Not Found")
        immutable = path.startswith("assets/")
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return FileResponse(found, headers={"Cache-Control": cache})

    return router
