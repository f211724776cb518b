"""A Celery app instrumented with the pure-Python stemtrace 0.4.5 (the "peer"), used to record its wire format.

Runs ONLY in the peer virtualenv (``bench/peers/setup.sh``), never in ours: ``import stemtrace`` here is
0.4.5. Configuration comes from the environment so the recorder can isolate each run:

- ``CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``), also the result backend and the event transport;
- ``STEMTRACE_PREFIX``: stream prefix, the stream key is ``{prefix}:events`` (default ``stemtrace``);
- ``CELERY_TASK_DEFAULT_QUEUE``: the queue the worker consumes (chain steps and chord callbacks land there).

0.4.5 is initialised with ``stemtrace.init_worker(app, ...)`` in every process: in the worker it publishes
STARTED/SUCCESS/FAILURE/RETRY (+ RECEIVED with ``publish_received=True``) and the worker lifecycle
events; in the sending process its ``after_task_publish`` handler publishes PENDING.
"""

from __future__ import annotations

import os

from celery import Celery, chain, chord, group

import stemtrace

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("STEMTRACE_PREFIX", "stemtrace")

app = Celery("peer04x", broker=BROKER_URL, backend=BROKER_URL)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
)

# The options that make 0.4.5 write every field it can: RECEIVED events and captured output.
stemtrace.init_worker(app, transport_url=BROKER_URL, prefix=PREFIX, publish_received=True, capture_output=True)


@app.task
def add(x: int, y: int) -> int:
    """Add two numbers."""
    return x + y


@app.task
def mul(x: int, y: int) -> int:
    """Multiply two numbers."""
    return x * y


@app.task
def xsum(numbers: list[int]) -> int:
    """Sum a list (a chord callback)."""
    print(f"summing {len(numbers)} numbers")
    return sum(numbers)


@app.task
def fail(message: str = "boom") -> None:
    """Always raises ValueError."""
    raise ValueError(message)


@app.task(bind=True, max_retries=5, default_retry_delay=0)
def flaky(self, succeed_after: int = 2) -> str:
    """Retries ``succeed_after`` times (ConnectionError), then succeeds."""
    if self.request.retries < succeed_after:
        raise self.retry(exc=ConnectionError(f"attempt {self.request.retries} failed"), countdown=0)
    return f"ok after {self.request.retries} retries"


@app.task
def login(username: str, password: str, api_key: str | None = None) -> dict[str, str]:
    """Takes secrets in kwargs: 0.4.5 scrubs their values to "[Filtered]"."""
    return {"user": username}


# One entry per fixture file: tests/fixtures/compat/stemtrace-0.4.5/<flow>.jsonl
FLOWS = {
    "chain": lambda: chain(add.s(1, 2), mul.s(3), add.s(4)).delay(),
    "group": lambda: group(add.s(i, i) for i in range(3)).delay(),
    "chord": lambda: chord([add.s(i, i) for i in range(3)], xsum.s()).delay(),
    "retry": lambda: flaky.delay(2),
    "failure": lambda: fail.delay("expected failure"),
    "secrets": lambda: login.apply_async(kwargs={"username": "ada", "password": "hunter2", "api_key": "abc"}),
}
