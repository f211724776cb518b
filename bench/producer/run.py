"""Producer overhead: worker CPU per task and tasks/s with and without stemtrace, runs interleaved.

    .venv/bin/python -m bench.producer.run --tasks 20000 --rounds 5

Modes: plain Celery, with our ``stemtrace.init``, with stemtrace 0.4.5's library (run from the peers'
virtualenv, ``PEERS_VENV``, default /work/peers-venv, made by bench/peers/setup.sh; never ours), and
plain Celery with its own events on (``-E``, what Flower needs). Each round starts a fresh prefork
worker (one child) per mode, in a rotating order, queues N trivial tasks plus a final marker task, and
measures the worker's CPU time (main process and children, from /proc) and the wall time until the
marker ran. The worker starts on a warm-up queue of its own and is pointed at the queued tasks
(``add_consumer``) only then, so it drains them at full speed: its CPU per task does not depend on how
fast this process publishes, nor on idle polling between two messages (until 2026-12-06 it consumed
while the tasks were being published, and plain Celery's figure moved by ±25 % between rounds). The
overhead is the median of each round's ratio to plain Celery in that round. It also measures the CPU
the *publishing* process spends per task with stemtrace.init active. Results go to
bench/producer/RESULTS.md (appended, with the command and date).
``--modes plain,stemtrace`` runs a subset (quicker iterations; plain always runs: overheads are against it).
``--baseline REV`` adds our library as of git revision REV (exported with ``git archive``, the checkout is
not touched), so before/after figures come from one run under the same load.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/work/peers-venv"))
MODES = ("plain", "stemtrace", "baseline", "peer045", "events")  # "baseline" only with --baseline REV
LABELS = {
    "plain": "plain Celery",
    "stemtrace": "with stemtrace.init (ours)",
    "baseline": "with stemtrace.init (ours at {rev})",
    "peer045": "with stemtrace 0.4.5",
    "events": "plain Celery with -E (Flower)",
}
RESULTS = Path(__file__).with_name("RESULTS.md")
CLK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its live children."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK
    return total


def export_revision(rev: str, into: Path) -> Path:
    """Our library and bench as of git revision ``rev``, unpacked into ``into``; the checkout is not touched."""
    archive = subprocess.run(["git", "archive", rev, "stemtrace", "bench"], cwd=REPO, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def start_worker(
    mode: str, broker: str, queue: str, prefix: str, baseline: Path | None, name: str
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, BENCH_MODE=mode, BENCH_BROKER_URL=broker, BENCH_QUEUE=queue, BENCH_PREFIX=prefix)
    if mode == "baseline":  # our library from the exported older tree, in our virtualenv
        assert baseline is not None
        env["BENCH_MODE"], env["PYTHONPATH"] = "stemtrace", str(baseline)
        celery, app_module, cwd = str(Path(sys.executable).with_name("celery")), "bench.producer.app", baseline
    elif mode == "peer045":
        # Import app.py by itself, from its own folder: with the repo on the path, `import stemtrace`
        # would find ours instead of the peers' 0.4.5.
        celery, app_module, cwd = str(PEERS_VENV / "bin" / "celery"), "app", REPO / "bench" / "producer"
        env["PYTHONPATH"] = str(cwd)
    else:
        celery, app_module, cwd = str(Path(sys.executable).with_name("celery")), "bench.producer.app", REPO
        env["PYTHONPATH"] = str(REPO)
    cmd = [celery, "-A", app_module, "worker", "--pool", "prefork", "-c", "1", "-Q", queue, "-n", name,
           "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]  # fmt: skip
    if mode == "events":
        cmd.append("-E")
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_run(mode: str, n: int, broker: str, baseline: Path | None) -> tuple[float, float]:
    """(worker CPU ms per task, tasks per second) for one fresh worker."""
    from bench.producer.app import app

    run = uuid.uuid4().hex[:8]
    queue, warm_queue, prefix = f"bench-{run}", f"bench-{run}-warm", f"bench-{run}"
    name = f"bench-{run}@{socket.gethostname()}"
    client = redis.Redis.from_url(broker)
    worker = start_worker(mode, broker, warm_queue, prefix, baseline, name)
    try:
        warm = f"warm-{uuid.uuid4().hex}"
        app.send_task("bench.done", (warm,), queue=warm_queue)
        deadline = time.monotonic() + 60
        while not client.get(warm):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError(f"{mode} worker did not start")
            time.sleep(0.02)
        marker = f"done-{uuid.uuid4().hex}"
        with app.producer_or_acquire() as producer:
            for i in range(n):
                app.send_task("bench.noop", (i,), queue=queue, producer=producer)
            app.send_task("bench.done", (marker,), queue=queue, producer=producer)
        cpu0, t0 = tree_cpu(worker.pid), time.monotonic()
        if not app.control.add_consumer(queue, destination=[name], reply=True, timeout=10):
            raise RuntimeError(f"{mode} worker did not answer add_consumer")
        while not client.get(marker):
            time.sleep(0.005)
        wall, cpu = time.monotonic() - t0, tree_cpu(worker.pid) - cpu0
        return cpu / n * 1000, n / wall
    finally:
        worker.terminate()
        worker.wait(30)
        client.delete(f"{prefix}:events", queue, warm_queue)


# Runs in a fresh process: blocks of publishes alternate between our handlers connected and disconnected,
# so a change of machine load during the run weighs on both sides alike. An "on" block ends with a
# flush, so the sender thread's CPU for its events is counted in that block.
_PUBLISHER = """
import sys, time
from bench.producer.app import app
from stemtrace.celery import runtime, signals
n, block, queue = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
transport = runtime.current().transport
cpu = {True: 0.0, False: 0.0}
with app.producer_or_acquire() as p:
    def publish(k):
        for i in range(k): app.send_task('bench.noop', (i,), queue=queue, producer=p)
    publish(200)
    transport.flush(5)
    for b in range(2 * (n // block)):
        on = b % 2 == 0
        signals.connect() if on else signals.disconnect()
        c0 = time.process_time()
        publish(block)
        if on: transport.flush(5)
        cpu[on] += time.process_time() - c0
print((cpu[True] - cpu[False]) / (n // block * block) * 1e6)
"""


def publisher_cost(n: int, broker: str, root: Path = REPO, block: int = 250) -> float:
    """CPU µs per task a publishing process spends with stemtrace.init active (our library as found in
    ``root``), beyond plain Celery's."""
    queue, prefix = f"bench-pub-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, BENCH_MODE="stemtrace", BENCH_BROKER_URL=broker, BENCH_PREFIX=prefix, PYTHONPATH=str(root))
    cmd = [sys.executable, "-c", _PUBLISHER, str(n), str(block), queue]
    out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, check=True)
    redis.Redis.from_url(broker).delete(queue, f"{prefix}:events")
    return float(out.stdout.strip().splitlines()[-1])


def _modes(text: str) -> tuple[str, ...]:
    chosen = {m.strip() for m in text.split(",") if m.strip()} | {"plain"}
    unknown = chosen - set(MODES) | (chosen & {"baseline"})
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown mode(s): {', '.join(sorted(unknown))}")
    return tuple(m for m in MODES if m in chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument(
        "--modes", type=_modes, default=None, help="comma-separated subset of plain,stemtrace,peer045,events "
        "(plain always runs; default all)"
    )  # fmt: skip
    parser.add_argument(
        "--baseline", metavar="REV", help="also run our library as of git revision REV (before/after in one run)"
    )
    args = parser.parse_args()
    modes: tuple[str, ...] = args.modes or tuple(m for m in MODES if m != "baseline")
    if args.baseline:
        modes = tuple(m for m in MODES if m in modes or m == "baseline")
    if "peer045" in modes and not (PEERS_VENV / "bin" / "celery").exists():
        sys.exit(f"stemtrace 0.4.5 is not installed in {PEERS_VENV}: run `bash bench/peers/setup.sh` first")
    with tempfile.TemporaryDirectory(prefix="stemtrace-baseline-") as tmp:
        baseline = export_revision(args.baseline, Path(tmp)) if args.baseline else None
        results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        for r in range(args.rounds):
            for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:
                results[mode].append(one_run(mode, args.tasks, args.broker, baseline))
                cpu_ms, rate = results[mode][-1]
                print(f"round {r + 1} {mode}: {cpu_ms:.3f} ms CPU/task, {rate:.0f} tasks/s")
        publish_us = publisher_cost(args.tasks, args.broker)
        publish_base_us = publisher_cost(args.tasks, args.broker, baseline) if baseline else None

    def summary(mode: str) -> tuple[float, float, float, float]:
        cpu = [c for c, _ in results[mode]]
        rate = [t for _, t in results[mode]]
        return statistics.median(cpu), max(cpu) - min(cpu), statistics.median(rate), max(rate) - min(rate)

    def overhead(mode: str) -> tuple[float, float]:
        """Median and spread of the mode's CPU over plain's in the same round: rounds pair runs made a minute
        apart, so a drift of the machine between rounds weighs on both sides of each ratio alike."""
        ratios = [(c / p - 1) * 100 for (c, _), (p, _) in zip(results[mode], results["plain"], strict=True)]
        return statistics.median(ratios), max(ratios) - min(ratios)

    stats = {mode: summary(mode) for mode in modes}
    plain = stats["plain"][0]
    rows = [
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end",
        f"`{' '.join([Path(sys.executable).name, '-m', 'bench.producer.run', *sys.argv[1:]])}` "
        f"— {args.tasks} tasks x {args.rounds} rounds (order rotating), prefork worker with one child\n",
        "| worker | CPU per task (median, spread) | overhead vs plain, same round (median, spread) "
        "| tasks/s (median, spread) |",
        "|---|---|---|---|",
    ]
    for mode in modes:
        cpu, cpu_spread, rate, rate_spread = stats[mode]
        label = LABELS[mode].format(rev=args.baseline)
        added, added_spread = overhead(mode)
        rows.append(
            f"| {label} | {cpu:.3f} ms (±{cpu_spread / 2:.3f}) | {added:+.1f} % (±{added_spread / 2:.1f}) "
            f"| {rate:.0f} (±{rate_spread / 2:.0f}) |"
        )
    if "stemtrace" in stats and "peer045" in stats:
        ours, peer = stats["stemtrace"][0] - plain, stats["peer045"][0] - plain
        ratio = f"{ours / peer:.2f}" if peer > 0 else "n/a (0.4.5 measured no overhead)"
        rows.append(f"\nOur added worker CPU per task is **{ratio} times** stemtrace 0.4.5's.")
    rows.append(
        f"\nPublishing process: **{publish_us:.1f} µs** more CPU per published task with our library "
        "(one PENDING event each; blocks with and without it alternating in one process)"
        + (f"; {publish_base_us:.1f} µs at {args.baseline}." if publish_base_us is not None else ".")
    )
    text = "\n".join(rows) + "\n"
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Producer overhead results\n\nAppended by `bench/producer/run.py`; newest last.\n")
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
