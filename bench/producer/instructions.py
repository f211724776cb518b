"""Instructions stemtrace adds per task, counted by callgrind: in a publishing process, and in a worker.

CPU time on a shared 2-core VM moves by several µs per publish and by ±10 % per worker round between identical
runs; instruction counts do not.

- Publisher: two processes publish the same N tasks through the bench's Redis broker, one with our signal
  handlers connected and one without; the difference of their totals over N is what our capture adds (both
  signal dispatches, the handlers, buffering and the sending thread). Both also publish 300 tasks with the
  handlers connected first, so start-up and first-use costs are the same on both sides.
- Worker (``--worker``): a ``--pool solo`` worker (RECEIVED, STARTED and SUCCESS all in one process), plain
  Celery and with ``stemtrace.init``, runs N and then 2N queued trivial tasks and exits; the difference of
  the two totals over N is the worker's instructions per task, start-up excluded.

    python -m bench.producer.instructions [--tasks 3000] [--worker] [--root PATH]

``--root`` runs the library found there (a checkout of another revision) against the same Celery.
Needs valgrind (Debian: ``apt-get install valgrind``) and the bench's Redis.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]

_PUBLISHER = """
import sys
from bench.producer.app import app
from stemtrace.celery import runtime, signals
on, n, queue = sys.argv[1] == "on", int(sys.argv[2]), sys.argv[3]
transport = runtime.current().transport
with app.producer_or_acquire() as p:
    for i in range(300): app.send_task("bench.noop", (i,), queue=queue, producer=p)
    transport.flush(5)
    if not on: signals.disconnect()
    for i in range(n): app.send_task("bench.noop", (i,), queue=queue, producer=p)
    transport.flush(5)
"""


def instructions(on: bool, n: int, broker: str, root: Path) -> int:
    """Instructions the whole publishing process executed, all threads."""
    queue, prefix = f"bench-ir-{uuid.uuid4().hex[:8]}", f"bench-ir-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, BENCH_MODE="stemtrace", BENCH_BROKER_URL=broker, BENCH_PREFIX=prefix, PYTHONPATH=str(root))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, "-c", _PUBLISHER]
        out = subprocess.run([*cmd, "on" if on else "off", str(n), queue], env=env, cwd=root, capture_output=True,
                             text=True, check=True)  # fmt: skip
    redis.Redis.from_url(broker).delete(queue, f"{prefix}:events")
    return _total(out.stderr)


def worker_instructions(mode: str, n: int, broker: str, root: Path) -> int:
    """Instructions a solo worker in ``mode`` (plain or stemtrace) executes to start, run ``n`` tasks and exit."""
    from bench.producer.app import app

    queue, prefix = f"bench-irw-{uuid.uuid4().hex[:8]}", f"bench-irw-{uuid.uuid4().hex[:8]}"
    with app.producer_or_acquire() as producer:
        for i in range(n):
            app.send_task("bench.noop", (i,), queue=queue, producer=producer)
        app.send_task("bench.exit", queue=queue, producer=producer)
    env = dict(os.environ, BENCH_MODE=mode, BENCH_BROKER_URL=broker, BENCH_PREFIX=prefix, PYTHONPATH=str(root))
    celery = str(Path(sys.executable).with_name("celery"))
    worker = [celery, "-A", "bench.producer.app", "worker", "--pool", "solo", "-Q", queue, "--without-gossip",
              "--without-mingle", "--without-heartbeat", "-l", "WARNING"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *worker]
        out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=3600)
    redis.Redis.from_url(broker).delete(queue, f"{prefix}:events")
    return _total(out.stderr)


def _total(valgrind_output: str) -> int:
    found = re.search(r"Collected : (\d+)", valgrind_output)
    if not found:
        raise RuntimeError(f"no callgrind total in:\n{valgrind_output[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--root", type=Path, default=REPO, help="where the library to measure lives")
    parser.add_argument("--worker", action="store_true", help="count a solo worker's instructions per task instead")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    if args.worker:
        n = args.tasks
        per_task = {}
        for mode in ("plain", "stemtrace"):
            once, twice = (worker_instructions(mode, k, args.broker, args.root) for k in (n, 2 * n))
            per_task[mode] = (twice - once) / n
        plain, ours = per_task["plain"], per_task["stemtrace"]
        print(f"worker: {plain / 1000:.1f}k instructions per task plain, {ours / 1000:.1f}k with stemtrace.init "
              f"({(ours - plain) / 1000:+.1f}k, {(ours / plain - 1) * 100:+.1f} %)")  # fmt: skip
        return
    on, off = (instructions(flag, args.tasks, args.broker, args.root) for flag in (True, False))
    print(f"{(on - off) / args.tasks / 1000:.1f}k instructions per published task ({on:,} with, {off:,} without)")


if __name__ == "__main__":
    main()
