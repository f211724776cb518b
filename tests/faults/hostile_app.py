"""A Celery app (for ``celery -A tests.faults.hostile_app worker``) whose tasks take and return hostile values,
and take passwords in every way (one even puts its password in its own error)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery

import stemtrace

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
app = Celery("hostile", broker=BROKER_URL, backend=os.environ.get("CELERY_RESULT_BACKEND", BROKER_URL))
app.conf.update(
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
stemtrace.init(app)

HTML = '<img src=x onerror="alert(1)"><script>alert(2)</script></pre>'
CONTROL = "".join(map(chr, range(32))) + "\x7f\u2028\u2029\ufeff"


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def cyclic() -> list[Any]:
    record: dict[str, Any] = {"name": "loop"}
    record["self"] = record
    items: list[Any] = [record]
    items.append(items)
    return items


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


RESULTS: dict[str, Callable[[], Any]] = {
    "huge_string": lambda: "x" * 10_000_000,
    "huge_bytes": lambda: b"\x00\xff" * 5_000_000,
    "huge_list": lambda: list(range(2_000_000)),
    "nested": lambda: nested(10_000),
    "cyclic": cyclic,
    "binary": lambda: bytes(range(256)),
    "control": lambda: CONTROL,
    "html": lambda: HTML,
    "broken_repr": BrokenRepr,
    "mixed": lambda: {"html": HTML, "control": CONTROL, "bytes": b"\x00\xff", "deep": nested(2_000), "loop": cyclic()},
}


# ignore_result: Celery's own JSON result backend cannot store a cycle or bytes; stemtrace must cope.
@app.task(ignore_result=True)
def produce(kind: str) -> Any:
    """Return one of the hostile values above."""
    return RESULTS[kind]()


@app.task(ignore_result=True)
def consume(*args: Any, **kwargs: Any) -> int:
    """Take hostile arguments (sent by the test through the broker)."""
    return len(args) + len(kwargs)


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
