"""Flow page paint time: a 2,000-task flow, from opening its page to every node painted, in headless Chromium.

    .venv/bin/python -m bench.ui.flow_paint --runs 5

A real `stemtrace server` follows a Redis stream that this script fills with one synthetic flow in the wire
format of tests/golden/*.jsonl (PENDING → RECEIVED → STARTED → SUCCESS per task): a root that spawns a
chord of 400 header tasks whose callback starts a 608-step chain, and 33 tasks that each spawn 29 more.
Playwright drives Debian's Chromium (/usr/bin/chromium) to ``#/flows/<root>``; each run is a fresh page.
Reported per run, in the page's own clock:

- **total**: navigation start → every task card in the DOM, visible, edges drawn, and a frame painted;
- **layout + paint**: the end of the ``api/graphs/<root>`` response → the same moment (the UI's part:
  JSON parse, dagre layout, React render, paint);
- **fetch**: the graph request itself (server time + transfer).

Appends the median and worst run to bench/ui/RESULTS.md. The target is layout + paint ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis

from tests.support.server import start_server

RESULTS = Path(__file__).with_name("RESULTS.md")
CHROMIUM = os.environ.get("STEMTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
NAME = "bench.flow"
HEADER, CHAIN, FANS, LEAVES = 400, 608, 33, 29  # 1 + 400 + 1 + 608 + 33 × (1 + 29) = 2,000 tasks

# Resolves once every task card is in the DOM and visible and the edges are drawn, then waits for the
# frame that paints them; returns performance.now() at that point and the graph response's end.
PAINTED_JS = """
async ([count, rootId]) => {
  const ready = () => {
    const cards = document.querySelectorAll('[data-testid="flow-node"]');
    if (cards.length < count || document.querySelectorAll('.react-flow__edge').length === 0) return false;
    for (const card of cards) if (getComputedStyle(card.closest('.react-flow__node')).visibility === 'hidden') return false;
    return true;
  };
  while (!ready()) await new Promise((r) => requestAnimationFrame(r));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const painted = performance.now();
  const graph = performance.getEntriesByType('resource').find((e) => e.name.includes('api/graphs/' + rootId));
  return { painted, fetchStart: graph.startTime, responseEnd: graph.responseEnd };
}
"""


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _task_events(task_id: str, start: datetime, **fields: Any) -> Iterator[bytes]:
    """The four lifecycle events of one successful task, 5 ms queued and 20 ms running."""
    common = {"task_id": task_id, "name": NAME, "retries": 0, "queue": "celery", "hostname": "bench@vm", **fields}
    steps = [("PENDING", 0), ("RECEIVED", 2), ("STARTED", 5), ("SUCCESS", 25)]
    for state, ms in steps:
        event = {**common, "state": state, "timestamp": _iso(start + timedelta(milliseconds=ms))}
        if state == "PENDING":
            event |= {"args": [1, 2], "kwargs": {}}
        if state == "SUCCESS":
            event["result"] = 3
        yield orjson.dumps(event)


def flow_events(root: str, start: datetime) -> Iterator[bytes]:
    """Every event of the synthetic flow; ids are fresh uuids, children start after their parent."""
    new = lambda: str(uuid.uuid4())  # noqa: E731
    at = lambda i: start + timedelta(milliseconds=30 * i)  # noqa: E731
    yield from _task_events(root, at(0), parent_id=None, root_id=root)
    group_id, callback = new(), new()
    header = [new() for _ in range(HEADER)]
    for task_id in header:
        yield from _task_events(task_id, at(1), parent_id=root, root_id=root, group_id=group_id, chord_id=group_id,
                                chord_callback_id=callback)  # fmt: skip
    yield from _task_events(callback, at(2), parent_id=header[-1], root_id=root, group_id=group_id)
    previous = callback
    for step in range(CHAIN):
        task_id = new()
        yield from _task_events(task_id, at(3 + step), parent_id=previous, root_id=root)
        previous = task_id
    for _ in range(FANS):
        fan = new()
        yield from _task_events(fan, at(1), parent_id=root, root_id=root)
        for _ in range(LEAVES):
            yield from _task_events(new(), at(2), parent_id=fan, root_id=root)


def ingest(redis_url: str, key: str, base: str) -> str:
    """Writes the flow to the stream and waits until the server serves all of it; returns the root id."""
    client = redis.Redis.from_url(redis_url)
    root = str(uuid.uuid4())
    pipe = client.pipeline(transaction=False)
    for data in flow_events(root, datetime.now(timezone.utc) - timedelta(minutes=5)):
        pipe.xadd(key, {"data": data})
    pipe.execute()
    expected = 1 + HEADER + 1 + CHAIN + FANS * (1 + LEAVES)
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{base}api/graphs/{root}", timeout=10)
        nodes = response.json().get("nodes", {}) if response.status_code == 200 else {}
        tasks = [n for n in nodes.values() if n.get("node_type") == "TASK" and n.get("state") == "SUCCESS"]
        if len(tasks) == expected:
            return root
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server holds {len(tasks)} of {expected} finished tasks of the flow")
        time.sleep(0.5)


def measure(base: str, root: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    count = 1 + HEADER + 1 + CHAIN + FANS * (1 + LEAVES)
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}#/flows/{root}")
            t = page.evaluate(PAINTED_JS, [count, root])
            results.append({
                "total": t["painted"],
                "layout_paint": t["painted"] - t["responseEnd"],
                "fetch": t["responseEnd"] - t["fetchStart"],
            })  # fmt: skip
            page.close()
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"uibench-{uuid.uuid4().hex[:8]}"
    key = f"{prefix}:events"
    server = start_server(["--transport-url", args.redis, "--prefix", prefix], Path(f"/tmp/{prefix}.log"))
    try:
        root = ingest(args.redis, key, server.base)
        runs = measure(server.base, root, args.runs)
    finally:
        server.stop()
        redis.Redis.from_url(args.redis).delete(key)
    for r in runs:
        print(f"total {r['total']:.0f} ms, layout + paint {r['layout_paint']:.0f} ms, fetch {r['fetch']:.0f} ms")

    def cell(field: str) -> str:
        values = [r[field] for r in runs]
        return f"{statistics.median(values):.0f} ms / {max(values):.0f} ms"

    text = (
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}\n"
        f"`python -m bench.ui.flow_paint {' '.join(sys.argv[1:])}` — 2,000-task flow, {args.runs} fresh pages, "
        "1400×900, headless /usr/bin/chromium; median / worst\n\n"
        "| layout + paint (target ≤ 1.5 s) | graph fetch | total from navigation |\n"
        "|---|---|---|\n"
        f"| {cell('layout_paint')} | {cell('fetch')} | {cell('total')} |\n"
    )
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Flow page paint results\n\nAppended by `bench/ui/flow_paint.py`; newest last. "
            "Layout + paint is the UI's share: graph response received → all 2,000 nodes painted.\n"
        )
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
