"""High-scale mode at scale: restart a `stemtrace server --shared` beside a `stemtrace consume` holding N tasks.

    .venv/bin/python -m bench.shared.restart --tasks 1000000

N tasks of recorded flows (the comparison's generator, bench/compare/generator.py) are written to a fresh
stream; `stemtrace consume` reads them. Then a shared server is started `--rounds` times (stopped in
between) and timed from process start to its first full answer: the newest task page reporting all N tasks
and the 100-task chord's flow detail. For contrast, an embedded `stemtrace server` (which replays the raw
stream) is timed to the same answer once. Resident memory of each process is reported. Appends to
bench/shared/RESULTS.md. Needs Redis (`--redis`, default redis://127.0.0.1:6379/12) and `make build`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import redis

from bench.compare.generator import Stream, generate, write_stream
from bench.compare.systems import rss_bytes
from tests.support.server import STEMTRACE, ServerProcess, start_server

RESULTS = Path(__file__).with_name("RESULTS.md")


def rss_mib(pid: int) -> float:
    return rss_bytes(pid) / 2**20


def full_answer(server: ServerProcess, stream: Stream, timeout: float) -> None:
    """Poll until the task page counts every task and the chord's flow answers."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < deadline:
            page = client.get(server.base + "api/tasks?limit=50&compact=1")
            if page.status_code == 200 and page.json()["total"] == stream.tasks:
                flow = client.get(server.base + f"api/graphs/group:{stream.chord_group_id}")
                if flow.status_code == 200:
                    return
            time.sleep(0.02)
    raise TimeoutError(f"{server.base} did not show {stream.tasks} tasks in {timeout}s")


def timed_start(args: list[str], log: Path, stream: Stream, timeout: float) -> tuple[float, float, ServerProcess]:
    """Seconds from process start to listening (Python's own startup), and to the full answer."""
    start = time.perf_counter()
    server = start_server(args, log, timeout=timeout)
    listening = time.perf_counter() - start
    full_answer(server, stream, timeout)
    return listening, time.perf_counter() - start, server


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    p.add_argument("--no-embedded", action="store_true", help="skip the embedded server's replay")
    args = p.parse_args()
    prefix = f"shared-bench-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="stemtrace-shared-"))
    stream, lines = generate(args.tasks)
    write_stream(args.redis, f"{prefix}:events", lines)
    print(f"{stream.tasks:,} tasks, {stream.events:,} events in {prefix}:events", flush=True)
    source = ["--transport-url", args.redis, "--prefix", prefix, "--max-tasks", str(2 * args.tasks)]
    with (work / "consume.log").open("wb") as log:
        consume = subprocess.Popen([str(STEMTRACE), "consume", *source], stdout=log, stderr=subprocess.STDOUT)
    servers: list[ServerProcess] = []
    try:
        _, caught_up, first = timed_start([*source, "--shared"], work / "first.log", stream, timeout=1800)
        servers.append(first)
        print(f"consumer caught up: {caught_up:.1f} s after the first shared server started", flush=True)
        first.stop()
        restarts, listening = [], []
        for r in range(args.rounds):
            up, seconds, server = timed_start([*source, "--shared"], work / f"shared{r}.log", stream, timeout=60)
            servers.append(server)
            restarts.append(seconds)
            listening.append(up)
            shared_rss = rss_mib(server.proc.pid)
            print(f"  shared server restart {r + 1}: listening {up:.2f} s, full answer {seconds:.2f} s", flush=True)
            server.stop()
        embedded = None
        if not args.no_embedded:
            _, embedded, server = timed_start(source, work / "embedded.log", stream, timeout=1800)
            servers.append(server)
            embedded_rss = rss_mib(server.proc.pid)
            print(f"  embedded server (replays the stream): full answer after {embedded:.1f} s", flush=True)
        consumer_rss = rss_mib(consume.pid)
    finally:
        for server in servers:
            server.stop()
        consume.terminate()
        consume.wait(30)
        redis.Redis.from_url(args.redis).delete(f"{prefix}:events")
    command = f"python -m bench.shared.restart --tasks {args.tasks} --rounds {args.rounds}"
    entry = (
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n`{command}` — {stream.tasks:,} tasks, "
        f"{stream.events:,} events held by `stemtrace consume` ({consumer_rss:,.0f} MiB resident)\n\n"
        "| shared server restart → full history (median / worst of rounds) | of which: start → listening "
        "| shared server RSS | embedded server, replaying the stream → full history | embedded server RSS |\n"
        "|---|---|---|---|---|\n"
        f"| {statistics.median(restarts):.2f} s / {max(restarts):.2f} s | {statistics.median(listening):.2f} s "
        f"| {shared_rss:,.0f} MiB "
        + (f"| {embedded:.1f} s | {embedded_rss:,.0f} MiB |\n" if embedded is not None else "| not run | not run |\n")
    )
    if not RESULTS.exists():
        RESULTS.write_text("# High-scale mode: shared server restarts\n\nAppended by `bench/shared/restart.py`.\n")
    with RESULTS.open("a") as f:
        f.write(entry)
    print(entry)


if __name__ == "__main__":
    main()
