"""A Celery app whose broker is found through a Redis Sentinel, configured as Celery documents it: a
``sentinel://`` URL and ``broker_transport_options={"master_name": …}``. ``stemtrace.init(app)`` is told
nothing else."""

from __future__ import annotations

import os

from celery import Celery

import stemtrace

app = Celery("sentinel_app", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    broker_transport_options={"master_name": os.environ["STEMTRACE_TEST_MASTER"]},
    task_ignore_result=True,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
stemtrace.init(app)


@app.task(name="sentinel_app.add")
def add(x: int, y: int) -> int:
    return x + y
