"""Record every canvas shape through a real Celery worker as golden inputs for the engine's tests.

Each shape of ``examples.celery_app.FLOWS`` (plus a few the engine must also draw: chords in chord
bodies, nested groups, a chord whose header fails) is sent once, through a real prefork worker and
Redis, and the stream entries it produced are written, one JSON object per line and byte for byte as
the capture library wrote them, to ``tests/golden/<shape>.jsonl``. ``rust/core/tests/golden.rs``
loads these files. Re-record after upgrading Celery or the capture library::

    .venv/bin/python bench/engine/record_flows.py [--redis redis://127.0.0.1:6379/0] [shape ...]

Shapes run one at a time; a shape is done when its stream has been quiet for ``--quiet`` seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"


def extra_shapes(tasks: Any) -> dict[str, Callable[[], Any]]:
    """Shapes the engine draws that ``FLOWS`` does not send."""
    from celery import chord, group

    return {
        "chord_in_chord_body": lambda: chord(
            [tasks.add.s(1, 1), tasks.add.s(2, 2)], chord([tasks.add.si(3, 3), tasks.add.si(4, 4)], tasks.xsum.s())
        ).delay(),
        "nested_group": lambda: group(tasks.add.s(1, 1), group(tasks.add.s(2, 2), tasks.add.s(3, 3))).delay(),
        "chord_header_failed": lambda: chord(
            [tasks.add.s(1, 1), tasks.fail.si("header broke")], tasks.xsum.s()
        ).delay(),
    }


def record(redis_url: str, shapes: list[str], quiet: float, timeout: float) -> None:
    prefix = f"golden-{uuid.uuid4().hex[:8]}"
    queue = f"q-golden-{uuid.uuid4().hex[:8]}"
    # The example app reads its broker, queue and stemtrace prefix at import: set them first.
    os.environ.update(CELERY_BROKER_URL=redis_url, CELERY_TASK_DEFAULT_QUEUE=queue, STEMTRACE_PREFIX=prefix)
    sys.path.insert(0, str(REPO))
    import redis

    from examples import celery_app as tasks
    from tests.support.worker import start_worker

    flows = {**tasks.FLOWS, **extra_shapes(tasks)}
    unknown = set(shapes) - set(flows)
    if unknown:
        raise SystemExit(f"unknown shapes: {sorted(unknown)}; known: {sorted(flows)}")
    client = redis.Redis.from_url(redis_url)
    key = f"{prefix}:events"
    worker = start_worker("examples.celery_app", broker_url=redis_url, queue=queue, stemtrace_prefix=prefix)
    try:
        for shape in shapes or list(flows):
            last = client.xrevrange(key, count=1)
            since = last[0][0].decode() if last else "0-0"
            flows[shape]()
            entries = wait_quiet(client, key, since, quiet, timeout)
            lines = [fields[b"data"] for _, fields in entries if b"task_id" in fields[b"data"]]
            (GOLDEN / f"{shape}.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))
            print(f"{shape}: {len(lines)} events")
    finally:
        worker.stop()
        client.delete(key)


def wait_quiet(client: Any, key: str, since: str, quiet: float, timeout: float) -> list[Any]:
    """Entries after ``since`` once none has arrived for ``quiet`` seconds (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    entries: list[Any] = []
    changed = time.monotonic()
    while time.monotonic() < deadline:
        now = client.xrange(key, min=f"({since}")
        if len(now) != len(entries):
            entries, changed = now, time.monotonic()
        elif entries and time.monotonic() - changed >= quiet:
            break
        time.sleep(0.1)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shapes", nargs="*", help="shapes to record (default: all)")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--quiet", type=float, default=2.0, help="seconds without new events that end a shape")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    record(args.redis, args.shapes, args.quiet, args.timeout)


if __name__ == "__main__":
    main()
