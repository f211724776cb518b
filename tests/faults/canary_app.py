"""A Celery app (``celery -A tests.faults.canary_app worker``) whose tasks take a password in every way."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

import stemtrace

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
app = Celery("canary", broker=BROKER_URL, backend=os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL))
app.conf.update(
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
stemtrace.init(app)


@app.task
def keep(*args: Any, **kwargs: Any) -> str:
    return "kept"


@app.task
def collect(results: list[str], password: str | None = None) -> int:
    return len(results)


@app.task(bind=True, max_retries=1, default_retry_delay=0)
def sign_in(self: Any, username: str, password: str) -> str:
    """Careless on purpose: its first failure names the password, in the message and the traceback."""
    if self.request.retries == 0:
        raise self.retry(exc=PermissionError(f"{username} was refused with {password}"), countdown=0)
    raise PermissionError(f"{username} was refused again with {password}")
