"""One task through a transport: a real worker sends its events to a URL, an engine reads them from it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from stemtrace.engine import create_engine
from tests.support.wait import engine_task, until


def task_through(url: str, start_worker: Callable[..., Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``add(2, 3)`` on a solo worker whose events go to ``url`` (``celery_worker_factory``); returns the task
    as an engine following ``url`` shows it once it succeeded, and that engine's health."""
    worker = start_worker(pool="solo", env={"STEMTRACE_TRANSPORT_URL": url})
    engine = create_engine(url, prefix, 1000)
    engine.start()
    try:
        result = worker.client_app().signature("examples.celery_app.add", (2, 3)).delay()
        assert result.get(timeout=20) == 5
        task = until(
            f"its SUCCESS through {url}",
            lambda: (t := engine_task(engine, result.id)) and t["state"] == "SUCCESS" and t,
            timeout=30,
        )
        return task, orjson.loads(engine.health())
    finally:
        engine.stop()
