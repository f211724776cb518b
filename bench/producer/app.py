"""The Celery app of the producer-overhead benchmark: one trivial task.

``BENCH_MODE`` picks what the worker carries: ``plain`` (Celery alone), ``stemtrace`` (our library) or
``peer045`` (stemtrace 0.4.5's library: this module is then imported by the peers' virtualenv, where
``import stemtrace`` is 0.4.5). Celery's own events (``-E``, what Flower needs) are a worker flag.
"""

from __future__ import annotations

import os

from celery import Celery

BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")

app = Celery("bench_producer", broker=BROKER_URL)
app.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=64,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=os.environ.get("BENCH_QUEUE", "bench"),
)

MODE = os.environ.get("BENCH_MODE")
if MODE == "stemtrace":
    import stemtrace

    stemtrace.init(app, transport_url=BROKER_URL, prefix=os.environ.get("BENCH_PREFIX", "bench"))
elif MODE == "peer045":
    import stemtrace

    stemtrace.init_worker(app, transport_url=BROKER_URL, prefix=os.environ.get("BENCH_PREFIX", "bench"))


@app.task(name="bench.noop")
def noop(i: int) -> int:
    return i


@app.task(name="bench.done")
def done(marker: str) -> None:
    import redis

    redis.Redis.from_url(BROKER_URL).set(marker, "1", ex=600)


@app.task(name="bench.exit")
def exit_worker() -> None:
    """Ends a ``--pool solo`` worker at once, so a profiler sees exactly the tasks queued before it."""
    os._exit(0)
