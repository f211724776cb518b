"""Instructions a publishing process executes per published task because of stemtrace, counted by callgrind.

CPU time on a shared 2-core VM moves by several µs per publish between identical runs; instruction counts do
not. Two processes publish the same N tasks through the bench's Redis broker, one with our signal handlers
connected and one without; the difference of their totals over N is what our capture adds (both signal
dispatches, the handlers, buffering and the sending thread). Both processes also publish 300 tasks with the
handlers connected first, so start-up and first-use costs are the same on both sides.

    python -m bench.producer.instructions [--tasks 3000] [--root PATH]

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
    found = re.search(r"Collected : (\d+)", out.stderr)
    if not found:
        raise RuntimeError(f"no callgrind total in:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--root", type=Path, default=REPO, help="where the library to measure lives")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    on, off = (instructions(flag, args.tasks, args.broker, args.root) for flag in (True, False))
    print(f"{(on - off) / args.tasks / 1000:.1f}k instructions per published task ({on:,} with, {off:,} without)")


if __name__ == "__main__":
    main()
