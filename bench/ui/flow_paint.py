"""Flow page paint time: a 2,000-task flow, from opening its page to its first view painted, in headless Chromium.

    .venv/bin/python -m bench.ui.flow_paint --runs 5

A real `stemtrace server` follows a Redis stream that this script fills with the synthetic flow of
tests/support/large_flow.py: a root that spawns a chord of 400 header tasks whose callback starts a
608-step chain, and 33 tasks that each spawn 29 more.
Playwright drives Debian's Chromium (/usr/bin/chromium) to ``#/flows/<root>``; each run is a fresh page.

"Painted" is the page's opening view: a flow this large opens at reading zoom on its root (fitted whole,
its 2,000 cards would be specks a few pixels wide), with the minimap showing every node. The view is
painted when the root's card and every other card the canvas renders are in the DOM and visible, all
1,999 edges are drawn, the minimap holds a mark for each of the 2,001 nodes (2,000 tasks and the chord's
box), and a frame has been painted after that. Edges are counted in the DOM: xyflow's edge elements, or,
for a flow this large, the curves (one ``M`` each) in the few paths of the canvas's edge layer. Before
2026-11-29 14:20 UTC the page opened fitted whole and "painted" meant all 2,000 cards drawn; that is
still measured, as **whole flow**. Reported per run, in the page's own clock:

- **total**: navigation start → the opening view painted;
- **layout + paint**: the end of the ``api/graphs/<root>`` response → the same moment (the UI's part:
  JSON parse, dagre layout, React render, paint);
- **fetch**: the graph request itself (server time + transfer);
- **whole flow**: then a click on the canvas's fit-view control → all 2,000 task cards in the DOM and
  visible, all 1,999 edges drawn, and a frame painted (how long zooming out to the whole flow takes).

Appends the median and worst run to bench/ui/RESULTS.md. The target is layout + paint ≤ 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import redis

from tests.support.large_flow import EDGES, NODES, TASKS, ingest
from tests.support.server import start_server

RESULTS = Path(__file__).with_name("RESULTS.md")
CHROMIUM = os.environ.get("STEMTRACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

# Resolves once `ready()` holds, then waits for the frame that paints it; returns performance.now() then.
# A card counts as drawn once xyflow shows it (it hides a node it has not sized yet).
UNTIL_PAINTED = """
  const cards = () => document.querySelectorAll('[data-testid="flow-node"]');
  // xyflow's edge components (small flows), or one `M` per edge in the paths of a large flow's edge layer
  const curves = (path) => (path.getAttribute('d').match(/M/g) || []).length;
  const layer = () => [...document.querySelectorAll('.flow-edge-layer path')].reduce((n, p) => n + curves(p), 0);
  const edges = () => document.querySelectorAll('.react-flow__edge').length + layer();
  const shown = (card) => getComputedStyle(card.closest('.react-flow__node')).visibility !== 'hidden';
  while (!ready()) await new Promise((r) => requestAnimationFrame(r));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const painted = performance.now();
"""

# The opening view: the root's card, every rendered card shown, every edge, a minimap mark for every node.
OPENED_JS = f"""
async ([rootId, nodes, edgeCount]) => {{
  const ready = () => {{
    const all = [...cards()];
    return all.some((card) => card.dataset.taskId === rootId) && all.every(shown) && edges() >= edgeCount
      && document.querySelectorAll('.react-flow__minimap-node').length >= nodes;
  }};
  {UNTIL_PAINTED}
  const graph = performance.getEntriesByType('resource').find((e) => e.name.includes('api/graphs/' + rootId));
  const {{ startTime: fetchStart, responseEnd }} = graph;
  return {{ painted, fetchStart, responseEnd, cards: cards().length, edges: edges() }};
}}
"""

# The whole flow: fit the view to it with the canvas's own control, until every card and edge is drawn.
WHOLE_JS = f"""
async ([tasks, edgeCount]) => {{
  const ready = () => edges() >= edgeCount && cards().length >= tasks && [...cards()].every(shown);
  const started = performance.now();
  document.querySelector('.react-flow__controls-fitview').click();
  {UNTIL_PAINTED}
  return painted - started;
}}
"""


def measure(base: str, root: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}#/flows/{root}")
            t = page.evaluate(OPENED_JS, [root, NODES, EDGES])
            whole = page.evaluate(WHOLE_JS, [TASKS, EDGES])
            results.append({
                "total": t["painted"],
                "layout_paint": t["painted"] - t["responseEnd"],
                "fetch": t["responseEnd"] - t["fetchStart"],
                "whole": whole,
                "cards": t["cards"],
                "edges": t["edges"],
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
        print(
            f"total {r['total']:.0f} ms, layout + paint {r['layout_paint']:.0f} ms, fetch {r['fetch']:.0f} ms, "
            f"whole flow {r['whole']:.0f} ms; opening view: {r['cards']:.0f} cards, {r['edges']:.0f} edges"
        )

    def cell(field: str) -> str:
        values = [r[field] for r in runs]
        return f"{statistics.median(values):.0f} ms / {max(values):.0f} ms"

    text = (
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}\n"
        f"`python -m bench.ui.flow_paint {' '.join(sys.argv[1:])}` — 2,000-task flow, {args.runs} fresh pages, "
        "1400x900, headless /usr/bin/chromium; median / worst\n\n"
        "| layout + paint (target ≤ 1.5 s) | graph fetch | total from navigation | whole flow (fit, 2,000 cards) |\n"
        "|---|---|---|---|\n"
        f"| {cell('layout_paint')} | {cell('fetch')} | {cell('total')} | {cell('whole')} |\n"
    )
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Flow page paint results\n\nAppended by `bench/ui/flow_paint.py`; newest last. "
            "Layout + paint is the UI's share: graph response received → the opening view painted.\n"
        )
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
