"""``bench/compare/run``: ingest, memory and API latency of ours vs stemtrace 0.4.5 and Flower, as ratios."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import redis

from bench.compare import generator, report
from bench.compare.measure import loadavg, measure_empty, measure_system
from bench.compare.systems import SYSTEMS, Config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/compare/run", description=__doc__)
    p.add_argument("--tasks", type=int, default=100_000, help="tasks in the retained stream (default 100000)")
    p.add_argument("--million", action="store_true", help="shorthand for --tasks 1000000")
    p.add_argument("--systems", default="ours,peer045,flower", help="comma list of: " + ",".join(SYSTEMS))
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    p.add_argument("--repeat", type=int, default=1, help="interleaved rounds (the order rotates each round)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of wrk per latency probe")
    p.add_argument("--timeout", type=float, default=1800.0, help="max seconds for one system to ingest")
    p.add_argument("--no-latency", action="store_true")
    p.add_argument("--force", action="store_true", help="run systems even when their expected RSS is too large")
    p.add_argument("--no-report", action="store_true", help="print only; do not write RESULTS.md / docs")
    p.add_argument("--json", type=Path, default=Path(__file__).parent / "last-run.json")
    return p.parse_args(argv)


# Resident bytes per task measured at 100k tasks (bench/compare/RESULTS.md), with headroom.
BYTES_PER_TASK = {"ours": 5_000, "peer045": 20_000, "flower": 9_000}


def memory_guard(systems: list, n_tasks: int, force: bool) -> tuple[list, list[str]]:
    """Skip a system whose expected RSS would take over half of the shared machine's available memory.

    Returns the systems kept and, for the report, why each other one was left out.
    """
    with open("/proc/meminfo") as f:
        avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    kept, skipped = [], []
    for system in systems:
        need = BYTES_PER_TASK.get(system.key, 10_000) * n_tasks
        if need > avail / 2 and not force:
            why = (
                f"{system.label}: not run — it needs ~{need / 2**30:.0f} GiB resident for {n_tasks:,} tasks "
                f"(~{BYTES_PER_TASK[system.key]:,} bytes per task measured at 100k), over half of the "
                f"{avail / 2**30:.0f} GiB available (`--force` runs it anyway)"
            )
            print("skipping " + why)
            skipped.append(why)
            continue
        kept.append(system)
    return kept, skipped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n_tasks = 1_000_000 if args.million else args.tasks
    systems = [SYSTEMS[k.strip()] for k in args.systems.split(",") if k.strip()]
    systems, skipped = memory_guard(systems, n_tasks, args.force)
    workdir = Path(tempfile.mkdtemp(prefix="stemtrace-compare-"))
    tag = f"stbench-{os.getpid()}-{int(time.time())}"
    cfg = Config(args.redis, tag, max_tasks=max(2 * n_tasks, 20_000), workdir=workdir)
    empty_cfg = Config(args.redis, tag + "-empty", cfg.max_tasks, workdir, events_file=workdir / "empty.jsonl")
    empty_cfg.events_file.write_bytes(b"")
    client = redis.Redis.from_url(args.redis)
    started = datetime.now(timezone.utc)
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "bench/compare/run " + " ".join(os.sys.argv[1:]),
        "tasks": n_tasks,
        "load_start": loadavg(),
        "code": report.revision(),
        "skipped": skipped,
    }
    try:
        t0 = time.perf_counter()
        stream, lines = generator.generate(n_tasks)
        want_flower = any(s.key == "flower" for s in systems)
        cfg.events_file = workdir / "celery-events.jsonl" if want_flower else None
        write_s = generator.write_stream(args.redis, f"{tag}:events", lines, cfg.events_file)
        meta.update(
            generate_seconds=time.perf_counter() - t0,
            xadd_seconds=write_s,
            stream=dict(stream.__dict__),
            stream_entries=client.xlen(f"{tag}:events"),
        )
        print(
            f"stream {tag}:events: {stream.tasks} tasks, {stream.events} events, {stream.bytes / 1e6:.0f} MB "
            f"in {meta['generate_seconds']:.1f}s (XADD {write_s:.1f}s); load {loadavg()}",
            flush=True,
        )

        baselines = {}
        for system in systems:
            up, rss = baselines[system.key] = measure_empty(system, empty_cfg)
            print(f"  {system.key}: empty start {up:.2f}s rss {rss >> 20} MiB", flush=True)

        rounds: list[dict] = []
        for r in range(args.repeat):
            order = systems[r % len(systems) :] + systems[: r % len(systems)]
            results = {}
            for system in order:
                res = measure_system(
                    system, cfg, stream, timeout=args.timeout, duration=args.duration, latency=not args.no_latency
                )
                res.empty_up_seconds, res.rss_empty_bytes = baselines[system.key]
                results[system.key] = res.to_dict()
                print(
                    f"  round {r + 1} {system.key}: ingest {res.ingest_seconds:.2f}s "
                    f"({res.events_per_s:,.0f} ev/s), visible {res.tasks_visible}, rss {res.rss_bytes >> 20} MiB, "
                    f"load {res.load_before} → {res.load_after}",
                    flush=True,
                )
                for name, lats in res.latency.items():
                    for lat in lats:
                        print(
                            f"      {name:30} c={lat.concurrency:<3} p50 {lat.p50_ms} ms  p99 {lat.p99_ms} ms  "
                            f"n={lat.requests} status={lat.status} {lat.errors}{lat.note}",
                            flush=True,
                        )
            rounds.append(results)
        meta["load_end"] = loadavg()
        data = {"meta": meta, "rounds": rounds}
        args.json.write_text(json.dumps(data, indent=1, default=str))
        summary = report.summarize(data)
        print(report.console(summary))
        if not args.no_report:
            report.write_all(summary)
    finally:
        for key in client.scan_iter(match=f"{tag}*", count=1000):
            client.delete(key)
        client.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
