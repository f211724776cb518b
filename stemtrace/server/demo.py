"""``stemtrace demo``: an in-process Celery worker on the memory transport, running sample flows
(a chain, a group, a chord, a retry, a failure) over and over, so a newcomer sees live flows
without Redis."""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import AsyncIterator
from typing import Any

from celery import Celery, chain, chord, group

ROUND_SECONDS = 3.0


def make_app() -> Celery:
    app = Celery("demo", broker="memory://", backend="cache+memory://")
    # The memory transport polls once a second per hop by default; make flows move briskly.
    app.conf.broker_transport_options = {"polling_interval": 0.01}
    app.conf.worker_hijack_root_logger = False

    @app.task(name="demo.fetch")
    def fetch(url: str) -> dict[str, Any]:
        _work()
        return {"url": url, "bytes": random.randint(1_000, 90_000)}

    @app.task(name="demo.parse")
    def parse(page: dict[str, Any]) -> int:
        _work()
        return int(page["bytes"]) // 100

    @app.task(name="demo.store")
    def store(count: int) -> str:
        _work()
        return f"stored {count} records"

    @app.task(name="demo.resize")
    def resize(image: str, width: int) -> str:
        _work()
        return f"{image}@{width}w"

    @app.task(name="demo.summarize")
    def summarize(results: list[Any]) -> dict[str, int]:
        _work()
        return {"items": len(results)}

    @app.task(name="demo.charge_card", bind=True, max_retries=3, default_retry_delay=0.3)
    def charge_card(self: Any, order_id: int, api_key: str) -> str:
        _work()
        if self.request.retries < 2:
            raise self.retry(exc=TimeoutError(f"payment gateway timed out for order {order_id}"))
        return f"order {order_id} charged"

    @app.task(name="demo.send_report")
    def send_report(recipient: str) -> None:
        _work()
        raise ConnectionRefusedError(f"SMTP server refused the connection for {recipient}")

    return app


def _work() -> None:
    threading.Event().wait(random.uniform(0.05, 0.4))


def run_round(app: Celery) -> None:
    """Publish one of each sample flow."""
    t = app.tasks
    n = random.randint(100, 999)
    chain(t["demo.fetch"].s(f"https://example.com/page/{n}"), t["demo.parse"].s(), t["demo.store"].s()).delay()
    group(t["demo.resize"].s(f"photo-{n}.jpg", w) for w in (320, 640, 1280)).delay()
    chord((t["demo.fetch"].s(f"https://example.com/feed/{n}/{i}") for i in range(3)), t["demo.summarize"].s()).delay()
    t["demo.charge_card"].delay(n, api_key="sk_live_demo_not_a_real_key")
    t["demo.send_report"].delay(f"ops-{n}@example.com")


@contextlib.asynccontextmanager
async def demo_lifespan(_app: Any) -> AsyncIterator[None]:
    """Run the worker and the flow generator beside the server for its whole life."""
    from celery.contrib.testing.worker import start_worker

    import stemtrace

    app = make_app()
    stemtrace.init(app, transport_url="memory://")
    stop = threading.Event()
    ready = threading.Event()

    def worker() -> None:
        with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, loglevel="WARNING"):
            ready.set()
            while not stop.is_set():
                run_round(app)
                stop.wait(ROUND_SECONDS)

    thread = threading.Thread(target=worker, name="stemtrace-demo", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
