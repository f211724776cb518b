"""Browser fixtures: a real `stemtrace server` subprocess and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.server import ServerProcess, start_server
from tests.support.worker import WorkerProcess, start_worker

CHROMIUM = os.environ.get("STEMTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and the async tests collected after the browser tests need that thread free.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def run_server(args: list[str], log_path: Path) -> ServerProcess:
    """`stemtrace server <args>` as a user runs it; fails the test when it does not come up."""
    try:
        return start_server(args, log_path)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _run_server(redis_url: str, prefix: str, log_path: Path) -> ServerProcess:
    """`stemtrace server` as a user runs it, following `prefix`'s stream."""
    return run_server(["--transport-url", redis_url, "--prefix", prefix], log_path)


@pytest.fixture
def server(redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[str]:
    """`stemtrace server` as a user runs it, following this test's stream; yields its UI URL."""
    running = _run_server(redis_url, stream_prefix, tmp_path / "server.log")
    yield running.base
    running.stop()


@pytest.fixture(scope="module")
def module_prefix(redis_url: str) -> Iterator[str]:
    """A stream prefix shared by one test module (its server and worker), deleted after."""
    prefix = f"sttest-{uuid.uuid4().hex[:12]}"
    yield prefix
    redis.Redis.from_url(redis_url).delete(f"{prefix}:events")


@pytest.fixture(scope="module")
def module_server(redis_url: str, module_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `stemtrace server` for a whole test module; yields its UI URL."""
    running = _run_server(redis_url, module_prefix, tmp_path_factory.mktemp("server") / "server.log")
    yield running.base
    running.stop()


@pytest.fixture(scope="module")
def module_worker(
    redis_url: str, module_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One real prefork Celery worker (examples.celery_app) for a whole test module."""
    worker = start_worker(broker_url=redis_url, stemtrace_prefix=module_prefix, pool="prefork", concurrency=2,
                          log_dir=tmp_path_factory.mktemp("worker"))  # fmt: skip
    yield worker
    worker.stop()


@pytest.fixture
def ui_page(browser: Any) -> Iterator[Any]:
    """A fresh page that records JavaScript dialogs and errors (tests assert there were none)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))  # type: ignore[attr-defined]
    # The UI is served with a strict Content-Security-Policy: anything it blocks is a failure too.
    page.on("console", lambda m: page.errors.append(m.text) if "Content Security Policy" in m.text else None)  # type: ignore[attr-defined]
    yield page
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a PNG of the page into $STEMTRACE_SCREENSHOTS (e.g. docs/screenshots) when that is set."""
    folder = os.environ.get("STEMTRACE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
