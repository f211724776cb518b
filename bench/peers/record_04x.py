"""Record what stemtrace 0.4.5 writes to Redis, as test fixtures for our engine.

Run with the PEER virtualenv (``bash bench/peers/setup.sh`` first)::

    /work/peers-venv/bin/python bench/peers/record_04x.py [--redis redis://127.0.0.1:6379/0] [--out DIR]

It starts a real 0.4.5-instrumented Celery worker (``celery -A app_04x worker``, prefork, 2 processes) from
the peer venv, on a queue and stream prefix of its own (``compat-<uuid>``), runs each flow of
``app_04x.FLOWS`` from this process (also instrumented: PENDING is published by the sender), waits until
every task of the flow has a terminal event and the stream has been quiet for a moment, and writes the
stream entries' ``data`` values verbatim, one per line, to ``<out>/<flow>.jsonl``. The worker lifecycle
events (worker_ready, worker_shutdown) go to ``<out>/worker.jsonl``. Every key it created is deleted at
the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "compat" / "stemtrace-0.4.5"
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"}
QUIET_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each flow")
    opts = parser.parse_args()

    run = f"compat-{uuid.uuid4().hex[:12]}"
    queue = f"{run}-q"
    os.environ.update(CELERY_BROKER_URL=opts.redis, STEMTRACE_PREFIX=run, CELERY_TASK_DEFAULT_QUEUE=queue)
    sys.path.insert(0, str(HERE))
    import redis

    import stemtrace

    assert stemtrace.__version__ == "0.4.5", f"run me with the peer venv (found stemtrace {stemtrace.__version__})"
    import app_04x  # needs the environment above

    client = redis.Redis.from_url(opts.redis)
    key = f"{run}:events"
    celery = Path(sys.executable).with_name("celery")
    log_path = Path(tempfile.mkdtemp(prefix="peer04x-")) / "worker.log"
    env = dict(os.environ, PYTHONPATH=str(HERE), PYTHONUNBUFFERED="1")
    cmd = [str(celery), "-A", "app_04x", "worker", "--pool", "prefork", "-c", "2",
           "-n", f"peer04x-{run[-6:]}@%h", "-Q", queue,
           "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]  # fmt: skip
    task_ids: set[str] = set()
    group_ids: set[str] = set()
    opts.out.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(cmd, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: " ready." in log_path.read_text(errors="replace"), 30, "worker ready", log_path, worker)
        for flow, start in app_04x.FLOWS.items():
            last = last_id(client, key)
            result = start()
            collect_result(result)
            entries = wait_flow(client, key, last, opts.timeout, flow)
            tasks = [e for e in entries if "task_id" in json.loads(e)]
            for line in tasks:
                event = json.loads(line)
                task_ids.add(event["task_id"])
                if event.get("group_id"):
                    group_ids.add(event["group_id"])
            write(opts.out / f"{flow}.jsonl", tasks)
            print(f"{flow}: {len(tasks)} events, {len({json.loads(t)['task_id'] for t in tasks})} tasks")
    finally:
        stop(worker)
        # worker_shutdown is published during the warm shutdown; give the stream a moment.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            json.loads(e).get("event_type") == "worker_shutdown" for e in entries_after(client, key, "0-0")
        ):
            time.sleep(0.1)
        workers = [e for e in entries_after(client, key, "0-0") if "event_type" in json.loads(e)]
        write(opts.out / "worker.jsonl", workers)
        print(f"worker: {len(workers)} events ({', '.join(json.loads(e)['event_type'] for e in workers)})")
        cleanup(client, key, queue, task_ids, group_ids)
    print(f"fixtures in {opts.out} (worker log: {log_path})")
    return 0


def collect_result(result: Any) -> None:
    """Wait for the flow's final result (errors are expected for the failure flow)."""
    try:
        result.get(timeout=30, propagate=False, disable_sync_subtasks=False)
    except TypeError:  # GroupResult.get has no disable_sync_subtasks on some versions
        result.get(timeout=30, propagate=False)


def wait_flow(client: Any, key: str, after: str, timeout: float, flow: str) -> list[str]:
    """Entries after ``after`` once every task seen has a terminal event and nothing new came for QUIET_S."""
    deadline = time.monotonic() + timeout
    seen, quiet_since = -1, time.monotonic()
    while True:
        entries = entries_after(client, key, after)
        events = [json.loads(e) for e in entries]
        tasks: dict[str, set[str]] = {}
        for e in events:
            if "task_id" in e:
                tasks.setdefault(e["task_id"], set()).add(e["state"])
        if len(entries) != seen:
            seen, quiet_since = len(entries), time.monotonic()
        settled = tasks and all(states & TERMINAL for states in tasks.values())
        if settled and time.monotonic() - quiet_since >= QUIET_S:
            return entries
        if time.monotonic() > deadline:
            raise TimeoutError(f"flow {flow} did not settle: {tasks}")
        time.sleep(0.1)


def entries_after(client: Any, key: str, after: str) -> list[str]:
    start = "-" if after == "0-0" else f"({after}"
    return [fields[b"data"].decode() for _, fields in client.xrange(key, min=start)]


def last_id(client: Any, key: str) -> str:
    last = client.xrevrange(key, count=1)
    return last[0][0].decode() if last else "0-0"


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def wait_until(check: Any, timeout: float, what: str, log_path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} failed:\n{log_path.read_text(errors='replace')[-4000:]}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Warm shutdown (so worker_shutdown is published), SIGKILL of our own process group if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def cleanup(client: Any, key: str, queue: str, task_ids: set[str], group_ids: set[str]) -> None:
    """Delete the stream and the Celery keys this run created (results, chord counters, our queue)."""
    doomed = [key, queue]
    doomed += [f"celery-task-meta-{t}" for t in task_ids]
    for g in (*group_ids, queue):  # chord counters / taskset results; kombu's bindings of our queue
        doomed += [k.decode() for k in client.scan_iter(match=f"*{g}*")]
    client.delete(*doomed)


if __name__ == "__main__":
    raise SystemExit(main())
