"""Do the events OUR library writes load in stemtrace 0.4.5's own event model?

Run with the PEER virtualenv (``bash bench/peers/setup.sh`` first)::

    /work/peers-venv/bin/python bench/peers/check_ours_in_04x.py [--redis URL] [--keep FILE]

Two halves, each in its own virtualenv:

1. *produce* (re-runs this file under ``/work/main/.venv/bin/python``): starts a real Celery worker with
   OUR ``stemtrace.init`` (``tests/support/worker.py`` ``start_worker`` on ``examples/celery_app.py``) on a
   queue and stream prefix of its own (``compat-ours-<uuid>``), sends every flow of ``examples.celery_app.FLOWS``
   from an instrumented client, waits until the stream settles, stops the worker (so ``worker_shutdown`` is
   written) and prints the stream entries' ``data`` values as JSON lines.
2. *validate* (this process, 0.4.5 installed): parses each entry the way 0.4.5's Redis consumer does
   (``RedisTransport._parse_event``: ``event_type`` → ``WorkerEvent``, ``task_id`` → ``TaskEvent``) with
   0.4.5's pydantic models, and reports every entry or field that fails, plus the fields 0.4.5 silently
   ignores. Then it replays all events into 0.4.5's own graph store as a smoke test.

Exit status 0 when every entry validates. The stream is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUR_PYTHON = REPO / ".venv" / "bin" / "python"
TERMINAL = {"SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"}


# ---------------------------------------------------------------------------------------------- produce (our venv)
def produce(redis_url: str, prefix: str, settle_timeout: float) -> None:
    """Run our instrumented worker and every example flow; print the stream's data values as JSON lines."""
    import redis

    queue = f"{prefix}-q"
    os.environ.update(CELERY_BROKER_URL=redis_url, CELERY_RESULT_BACKEND=redis_url, STEMTRACE_PREFIX=prefix,
                      CELERY_TASK_DEFAULT_QUEUE=queue)  # fmt: skip
    sys.path.insert(0, str(REPO))
    from examples import celery_app  # our stemtrace.init(app), prefix from STEMTRACE_PREFIX
    from tests.support.worker import start_worker

    client = redis.Redis.from_url(redis_url)
    key = f"{prefix}:events"
    worker = start_worker("examples.celery_app", broker_url=redis_url, pool="prefork", concurrency=2, queue=queue,
                          stemtrace_prefix=prefix)  # fmt: skip
    try:
        for name, start in celery_app.FLOWS.items():
            start()
            print(f"sent {name}", file=sys.stderr)
        deadline = time.monotonic() + settle_timeout
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            events = [json.loads(f[b"data"]) for _, f in client.xrange(key)]
            states: dict[str, set[str]] = {}
            for e in events:
                if "task_id" in e:
                    states.setdefault(e["task_id"], set()).add(e.get("state"))
            if len(events) != seen:
                seen, quiet_since = len(events), time.monotonic()
            if states and all(s & TERMINAL for s in states.values()) and time.monotonic() - quiet_since > 2:
                break
            time.sleep(0.2)
    finally:
        worker.stop()
        time.sleep(0.5)  # worker_shutdown is written during the warm shutdown
    entries = [fields[b"data"].decode() for _, fields in client.xrange(key)]
    sys.stdout.write("".join(e + "\n" for e in entries))
    # Delete what this run left in Redis besides the stream (the caller deletes that): results, chord
    # counters and group results, our queue and kombu's bindings of it.
    events = [json.loads(e) for e in entries]
    doomed = [f"celery-task-meta-{e['task_id']}" for e in events if "task_id" in e]
    for pattern in {e["group_id"] for e in events if e.get("group_id")} | {queue}:
        doomed += [k.decode() for k in client.scan_iter(match=f"*{pattern}*")]
    client.delete(*set(doomed))


# -------------------------------------------------------------------------------------------- validate (peer venv)
def validate(entries: list[str]) -> dict[str, Any]:
    """Validate every entry with 0.4.5's models; return a report."""
    from pydantic import ValidationError
    from stemtrace.core.events import TaskEvent, WorkerEvent

    import stemtrace

    assert stemtrace.__version__ == "0.4.5", f"validate with the peer venv (found stemtrace {stemtrace.__version__})"
    known = {"task": set(TaskEvent.model_fields), "worker": set(WorkerEvent.model_fields)}
    report: dict[str, Any] = {"entries": len(entries), "ok": 0, "failures": [], "ignored_fields": Counter(),
                              "kinds": Counter(), "parsed": []}  # fmt: skip
    for raw in entries:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            report["failures"].append({"entry": raw[:200], "error": f"not JSON: {exc}"})
            continue
        if not isinstance(data, dict):
            report["failures"].append({"entry": raw[:200], "error": "not a JSON object"})
            continue
        if "event_type" in data:
            kind, model = "worker", WorkerEvent
        elif "task_id" in data:
            kind, model = "task", TaskEvent
        else:
            report["failures"].append({"entry": raw[:200], "error": "neither event_type nor task_id"})
            continue
        label = f"{kind}:{data.get('event_type') or data.get('state')}"
        report["kinds"][label] += 1
        for extra in sorted(set(data) - known[kind]):
            report["ignored_fields"][f"{kind}.{extra}"] += 1
        try:
            report["parsed"].append(model.model_validate(data))
            report["ok"] += 1
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                value = data
                for part in err["loc"]:
                    value = value.get(part) if isinstance(value, dict) else None
                report["failures"].append({"kind": label, "field": field, "value": value, "error": err["msg"],
                                           "task_id": data.get("task_id") or data.get("hostname")})  # fmt: skip
    return report


def replay_in_04x(parsed: list[Any]) -> str:
    """Feed the validated events to 0.4.5's own server store: a smoke test that its graph accepts them."""
    try:
        from stemtrace.core.events import TaskEvent
        from stemtrace.server.store import GraphStore
    except ImportError as exc:  # the store's name is 0.4.5's business; report rather than fail
        return f"not run ({exc})"
    store = GraphStore()
    applied = 0
    for event in parsed:
        if isinstance(event, TaskEvent):
            store.add_event(event)
            applied += 1
    return f"{applied} task events replayed into 0.4.5's GraphStore without error"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--produce", metavar="PREFIX", help=argparse.SUPPRESS)
    parser.add_argument("--from-file", type=Path, help="validate these JSON lines instead of producing new ones")
    parser.add_argument("--keep", type=Path, help="also write the produced entries to this file")
    parser.add_argument("--timeout", type=float, default=60.0)
    opts = parser.parse_args()

    if opts.produce:
        produce(opts.redis, opts.produce, opts.timeout)
        return 0

    if opts.from_file:
        entries = [line for line in opts.from_file.read_text().splitlines() if line.strip()]
    else:
        prefix = f"compat-ours-{uuid.uuid4().hex[:12]}"
        try:
            run = subprocess.run([str(OUR_PYTHON), __file__, "--redis", opts.redis, "--produce", prefix,
                                  "--timeout", str(opts.timeout)], cwd=REPO, capture_output=True, text=True,
                                 timeout=opts.timeout + 120)  # fmt: skip
        finally:
            import redis

            redis.Redis.from_url(opts.redis).delete(f"{prefix}:events")
        if run.returncode != 0:
            sys.stderr.write(run.stderr[-5000:])
            return 2
        entries = [line for line in run.stdout.splitlines() if line.strip()]
        if opts.keep:
            opts.keep.write_text("".join(e + "\n" for e in entries))

    report = validate(entries)
    print(f"entries: {report['entries']}, valid in 0.4.5: {report['ok']}, failures: {len(report['failures'])}")
    print("by kind: " + ", ".join(f"{k}={n}" for k, n in sorted(report["kinds"].items())))
    if report["ignored_fields"]:
        print("fields 0.4.5's models ignore: " + ", ".join(f"{k} ({n})" for k, n in report["ignored_fields"].items()))
    for failure in report["failures"]:
        print(f"FAIL {json.dumps(failure, default=str)}")
    print(f"replay: {replay_in_04x(report['parsed'])}")
    return 0 if not report["failures"] and report["ok"] == report["entries"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
