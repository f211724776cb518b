"""A Celery app with a task for every canvas shape stemtrace draws.

Run a worker::

    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 celery -A examples.celery_app worker --loglevel=info

then send flows from a shell: ``python -m examples.celery_app`` (all shapes once), or
``from examples.celery_app import FLOWS; FLOWS["chord"]()``.
"""

from __future__ import annotations

import os
import time

from celery import Celery, chain, chord, group
from celery.exceptions import Ignore, Reject

import stemtrace

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL)

app = Celery("stemtrace_examples", broker=BROKER_URL, backend=RESULT_BACKEND)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
)
if BROKER_URL.startswith("memory://"):
    app.conf.broker_transport_options = {"polling_interval": 0.01}

stemtrace.init(app)


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
    return sum(numbers)


@app.task
def fail(message: str = "boom") -> None:
    """Always raises."""
    raise ValueError(message)


@app.task(bind=True, max_retries=5, default_retry_delay=0)
def flaky(self, succeed_after: int = 2) -> str:
    """Retries ``succeed_after`` times, then succeeds."""
    if self.request.retries < succeed_after:
        raise self.retry(exc=ConnectionError(f"attempt {self.request.retries} failed"), countdown=0)
    return f"ok after {self.request.retries} retries"


@app.task(bind=True)
def replaced(self, x: int) -> None:
    """Replaces itself with a chain of add and mul."""
    raise self.replace(chain(add.s(x, 1), mul.s(10)))


@app.task(bind=True)
def spawn(self, n: int = 3) -> list[str]:
    """Sends ``n`` independent children (parent → child edges without a canvas)."""
    return [add.delay(i, i).id for i in range(n)]


@app.task
def login(username: str, password: str, api_key: str | None = None) -> dict[str, str]:
    """Takes secrets: their values must show as [Filtered]."""
    return {"user": username, "session_token": "s3cr3t"}


@app.task
def sleepy(seconds: float = 1.0) -> float:
    """Sleeps (for revoke and timing demos)."""
    time.sleep(seconds)
    return seconds


@app.task
def chatty(lines: int = 3) -> int:
    """Prints (shows in ``output`` with capture_output=True)."""
    for i in range(lines):
        print(f"line {i}")
    return lines


@app.task
def rejected() -> None:
    """Rejects its message."""
    raise Reject("not for us", requeue=False)


@app.task
def ignored() -> None:
    """Ignores itself (no result stored)."""
    raise Ignore()


@app.task
def transport_stats() -> dict[str, int]:
    """This worker process's stemtrace counters: sent, dropped, errors, buffered."""
    transport = stemtrace.get_transport()
    return transport.stats() if transport else {}


FLOWS = {
    "single": lambda: add.delay(2, 3),
    "chain": lambda: chain(add.s(1, 2), mul.s(3), add.s(4)).delay(),
    "group": lambda: group(add.s(i, i) for i in range(4)).delay(),
    "chord": lambda: chord([add.s(i, i) for i in range(3)], xsum.s()).delay(),
    "chord_chain_body": lambda: chord([add.s(i, 1) for i in range(3)], chain(xsum.s(), mul.s(2))).delay(),
    "group_of_chains": lambda: group(chain(add.s(i, 1), mul.s(2)) for i in range(3)).delay(),
    "chain_with_chord": lambda: chain(add.s(1, 1), chord([mul.s(i) for i in range(1, 3)], xsum.s())).delay(),
    "failure": lambda: fail.delay("expected failure"),
    "failed_chain": lambda: chain(add.s(1, 1), fail.si("chain broke"), add.s(1)).delay(),
    "retry": lambda: flaky.delay(2),
    "replace": lambda: replaced.delay(5),
    "spawn": lambda: spawn.delay(3),
    "secrets": lambda: login.delay("ada", "hunter2", api_key="abc"),
    "reject": lambda: rejected.delay(),
    "ignore": lambda: ignored.delay(),
}


if __name__ == "__main__":
    for flow_name, start in FLOWS.items():
        print(f"{flow_name}: {start().id}")
