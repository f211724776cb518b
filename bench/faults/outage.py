"""Worker throughput while the event Redis is down, against the same worker with it up.

    .venv/bin/python -m bench.faults.outage --tasks 5000 --rounds 3

Each round starts a fresh solo worker per mode, in alternating order, with stemtrace sending to a
private ``redis-server``: ``up`` with that Redis running, ``down`` with it stopped for the whole run
(the worst case of an outage: every event goes to the bounded buffer, then is dropped). Celery's own
broker (``--broker``, default the local Redis) stays up. The time is from the first publish to the
last result; the publishing cost is the same in both modes. Results are appended to RESULTS.md beside
this file, with the command and date.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from celery import group

from tests.support.redis_server import RestartableRedis
from tests.support.worker import start_worker

RESULTS = Path(__file__).with_name("RESULTS.md")
MODES = ("up", "down")


def one_run(mode: str, tasks: int, broker: str, event_redis: RestartableRedis, logs: Path) -> tuple[float, dict]:
    """Seconds for ``tasks`` trivial tasks, and the worker's transport counters after them."""
    prefix = f"bench-outage-{uuid.uuid4().hex[:8]}"
    env = {"STEMTRACE_TRANSPORT_URL": event_redis.url}
    worker = start_worker(broker_url=broker, pool="solo", concurrency=1, stemtrace_prefix=prefix, env=env, log_dir=logs)
    try:
        if mode == "down":
            event_redis.stop(keep_data=False)
        app = worker.client_app()
        add = app.signature("examples.celery_app.add")
        start = time.perf_counter()
        results = group(add.clone((i, i)) for i in range(tasks)).delay().get(timeout=600)
        elapsed = time.perf_counter() - start
        assert results == [2 * i for i in range(tasks)]
        stats = app.signature("examples.celery_app.transport_stats").delay().get(timeout=30)
        return elapsed, stats
    finally:
        worker.stop()
        if mode == "down":
            event_redis.start()
        event_redis.client().delete(f"{prefix}:events")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-outage-"))
    event_redis = RestartableRedis(work)
    event_redis.start()
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    dropped: list[int] = []
    try:
        for round_no in range(args.rounds):
            for mode in MODES if round_no % 2 == 0 else reversed(MODES):
                elapsed, stats = one_run(mode, args.tasks, args.broker, event_redis, work)
                times[mode].append(elapsed)
                if mode == "down":
                    dropped.append(stats["dropped"])
                print(f"round {round_no + 1} {mode:>4}: {args.tasks / elapsed:7.0f} tasks/s  {stats}", file=sys.stderr)
    finally:
        event_redis.kill()

    rate = {mode: args.tasks / statistics.median(times[mode]) for mode in MODES}
    change = (rate["down"] - rate["up"]) / rate["up"] * 100
    report = [
        f"## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — `python -m bench.faults.outage --tasks {args.tasks} "
        f"--rounds {args.rounds}`",
        "",
        f"{platform.node()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        "solo worker, Celery broker up, stemtrace's event Redis up or stopped for the whole run.",
        "",
        "| event Redis | tasks/s (median) | runs (s) |",
        "|---|---|---|",
        *(f"| {mode} | {rate[mode]:.0f} | {', '.join(f'{t:.2f}' for t in times[mode])} |" for mode in MODES),
        "",
        f"Throughput with the event Redis down: {change:+.1f} % against up. Events dropped per run while down "
        f"(buffer 10,000): {', '.join(map(str, dropped))}.",
        "",
    ]
    with RESULTS.open("a") as out:
        out.write("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
