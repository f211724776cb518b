"""Summaries (medians over rounds, ratios, target hit/miss), RESULTS.md, docs/performance.md and the chart."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

from bench.compare.generator import REPO
from bench.compare.systems import FLOOR_PROBE

RESULTS_MD = REPO / "bench/compare/RESULTS.md"
PERF_MD = REPO / "docs/performance.md"
CHART = REPO / "docs/performance-ingest-memory.png"
PRODUCER_MD = REPO / "bench/producer/RESULTS.md"
TARGET_PROBES = ("task list page", "filtered page (FAILURE)", "flow detail (100-task chord)", "task detail")
PROBES = (*TARGET_PROBES, FLOOR_PROBE)
TIMES, DASH = "\u00d7", "\u2013"  # multiplication sign, en dash
LABELS = {"ours": "stemtrace (ours)", "peer045": "stemtrace 0.4.5", "flower": "Flower 2.2"}


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    except OSError:
        mem = 0
    py = platform.python_version()
    return f"{cpu}, {os.cpu_count()} vCPU, {mem} GiB RAM, Linux {platform.release()}, Python {py}"


def revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        head = "?"
    so = next(iter(sorted(REPO.glob("stemtrace/_engine*.so"))), None)
    built = ""
    if so is not None:
        import datetime as dt

        built = dt.datetime.fromtimestamp(so.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"git {head} (uncommitted work may be present), engine built {built}"


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def summarize(data: dict) -> dict:
    """Medians over rounds per system, then ratios and targets."""
    meta, rounds = data["meta"], data["rounds"]
    n = meta["tasks"]
    systems: dict[str, dict] = {}
    for key in rounds[0]:
        rs = [r[key] for r in rounds if key in r]
        s = {
            "label": LABELS.get(key, key),
            "rounds": len(rs),
            "events": rs[0]["events"],
            "ingest_s": _median([r["ingest_seconds"] for r in rs]),
            "up_s": _median([r["up_seconds"] for r in rs]),
            "empty_up_s": rs[0]["empty_up_seconds"],
            "tasks_visible": rs[0]["tasks_visible"],
            "rss": _median([r["rss_bytes"] for r in rs]),
            "rss_empty": rs[0]["rss_empty_bytes"],
            "load": "; ".join(f"{r['load_before']} → {r['load_after']}" for r in rs),
            "code": sorted({r.get("extra", {}).get("code", "") for r in rs} - {""}),
        }
        s["ev_s_wall"] = s["events"] / s["ingest_s"]
        if key == "flower":
            s["feed_s"] = _median([r["feed_seconds"] for r in rs])
            s["ev_s_net"] = s["events"] / s["feed_s"]
            s["net_basis"] = "in-process feed of EventsState"
        else:
            busy = s["ingest_s"] - s["up_s"]
            s["ev_s_net"] = s["events"] / busy if busy > 0 else None
            s["net_basis"] = "API up → all visible"
        s["ev_s_steady"] = _median([r.get("steady_events_per_s") for r in rs])
        s["rss_per_task"] = s["rss"] / n
        s["rss_net_per_task"] = (s["rss"] - s["rss_empty"]) / n
        s["rss_beyond_payload"] = s["rss_net_per_task"] - meta["stream"]["bytes"] / n
        lat: dict[str, dict[int, dict]] = {}
        for probe in PROBES:
            for i, first in enumerate(rs[0]["latency"].get(probe, [])):
                per = [r["latency"][probe][i] for r in rs if probe in r["latency"]]
                lat.setdefault(probe, {})[first["concurrency"]] = {
                    "p50": _median([p["p50_ms"] for p in per]),
                    "p99": _median([p["p99_ms"] for p in per]),
                    "requests": sum(p["requests"] for p in per),
                    "status": first["status"],
                    "errors": first["errors"],
                    "note": first["note"],
                }
        s["latency"] = lat
        systems[key] = s
    return {"meta": meta, "systems": systems, "targets": targets(systems, n)}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def targets(systems: dict, n: int) -> list[dict]:
    ours = systems.get("ours")
    out: list[dict] = []
    if ours is None:
        return out
    peer, flower = systems.get("peer045"), systems.get("flower")
    if peer:
        r = _ratio(ours["ev_s_wall"], peer["ev_s_wall"])
        out.append(_target(f"ingest ≥ 50{TIMES} stemtrace 0.4.5 (start → all visible)", r, 50, higher=True))
        r = _ratio(ours["ev_s_net"], peer["ev_s_net"])
        out.append(_target(f"ingest ≥ 50{TIMES} stemtrace 0.4.5 (API up → all visible)", r, 50, higher=True))
    if flower:
        r = _ratio(ours["ev_s_net"], flower["ev_s_net"])
        out.append(_target(f"ingest ≥ 50{TIMES} Flower (ours API up → visible vs its in-process feed)", r, 50, True))
        r = _ratio(ours["ev_s_wall"], flower["ev_s_wall"])
        out.append(_target(f"ingest ≥ 50{TIMES} Flower (start → all visible, both)", r, 50, higher=True))
        r = _ratio(ours["rss_net_per_task"], flower["rss_net_per_task"])
        out.append(_target("memory per task ≤ 1/5 of Flower's (RSS growth / tasks)", r, 0.2, higher=False))
        r = _ratio(ours["rss_per_task"], flower["rss_per_task"])
        out.append(_target("memory per task ≤ 1/5 of Flower's (total RSS / tasks)", r, 0.2, higher=False))
    if peer:
        for probe in TARGET_PROBES:
            for c in (1, 32):
                a = ours["latency"].get(probe, {}).get(c, {}).get("p99")
                b = peer["latency"].get(probe, {}).get(c, {}).get("p99")
                if a is not None and b is not None:
                    out.append(_target(f"p99 ≤ 1/20 of 0.4.5: {probe}, c={c} (at {n:,} tasks)", a / b, 0.05, False))
    return out


def _target(name: str, ratio: float | None, goal: float, higher: bool) -> dict:
    if ratio is None:
        return {"name": name, "ratio": None, "goal": goal, "hit": None, "by": "n/a"}
    hit = ratio >= goal if higher else ratio <= goal
    by = ratio / goal if higher else goal / ratio  # > 1: hit by that factor; < 1: missed by 1/that
    return {"name": name, "ratio": ratio, "goal": goal, "hit": hit, "by": by, "higher": higher}


# --- formatting ----------------------------------------------------------------------------------------------


def _num(v: float | None, digits: int = 0) -> str:
    if v is None:
        return DASH
    return f"{v:,.{digits}f}"


def _ms(v: float | None) -> str:
    if v is None:
        return DASH
    return f"{v:.2f}" if v < 10 else f"{v:,.0f}"


def _x(r: float | None) -> str:
    if r is None:
        return DASH
    if r < 0:
        return "n/a (ours below 0)"  # e.g. memory beyond the JSON, once ours keeps less than the JSON
    return f"{r:,.1f}{TIMES}" if r >= 1 else f"1/{1 / r:,.1f}" if r > 0 else "0"


def tables(summary: dict) -> str:
    meta, systems = summary["meta"], summary["systems"]
    keys = list(systems)
    ours = systems.get("ours")
    head = "| figure | " + " | ".join(systems[k]["label"] for k in keys)
    peers = [k for k in keys if k != "ours"]
    head += "".join(f" | ours vs {systems[k]['label']}" for k in peers) + " |"
    sep = "|" + "---|" * (1 + len(keys) + len(peers))
    rows = [head, sep]

    def row(name: str, field: str, fmt) -> None:
        vals = [systems[k].get(field) for k in keys]
        line = f"| {name} | " + " | ".join(fmt(v) for v in vals)
        for k in peers:
            a, b = (ours or {}).get(field), systems[k].get(field)
            r = None if a is None or not b else a / b
            line += f" | {_x(r)}"
        rows.append(line + " |")

    rows_spec = [
        ("ingest: start → all tasks visible (s)", "ingest_s", lambda v: _num(v, 2)),
        ("ingest: events/s, start → visible", "ev_s_wall", _num),
        ("ingest: events/s, net of startup ¹", "ev_s_net", _num),
        ("ingest: events/s, steady (10% → 90% of tasks) ²", "ev_s_steady", _num),
        ("startup on an empty stream (s)", "empty_up_s", lambda v: _num(v, 2)),
        ("RSS after ingest (MiB)", "rss", lambda v: _num(v / 2**20 if v else None, 0)),
        ("RSS on an empty stream (MiB)", "rss_empty", lambda v: _num(v / 2**20 if v else None, 0)),
        ("RSS / task (bytes)", "rss_per_task", _num),
        ("RSS growth / task (bytes)", "rss_net_per_task", _num),
        ("RSS growth / task beyond the stream's JSON bytes ³", "rss_beyond_payload", _num),
        ("tasks visible in the API", "tasks_visible", _num),
    ]
    for spec in rows_spec:
        row(*spec)
    lat_rows = [
        "| API latency (ms) | "
        + " | ".join(f"{systems[k]['label']} p50 / p99" for k in keys)
        + "".join(f" | p99 ours vs {systems[k]['label']}" for k in peers)
        + " |",
        "|" + "---|" * (1 + len(keys) + len(peers)),
    ]
    for probe in PROBES:
        for c in (1, 32):
            cells = []
            for k in keys:
                v = systems[k]["latency"].get(probe, {}).get(c)
                cells.append("n/a" if v is None else f"{_ms(v['p50'])} / {_ms(v['p99'])} (n={v['requests']:,})")
            line = f"| {probe}, c={c} | " + " | ".join(cells)
            for k in peers:
                a = (ours or {}).get("latency", {}).get(probe, {}).get(c)
                b = systems[k]["latency"].get(probe, {}).get(c)
                line += " | " + (_x(a["p99"] / b["p99"]) if a and b and a["p99"] and b["p99"] else "n/a")
            lat_rows.append(line + " |")
    tgt = ["| target | measured | goal | result |", "|---|---|---|---|"]
    for t in summary["targets"]:
        goal = f"≥ {t['goal']:g}{TIMES}" if t.get("higher") else f"≤ {_x(t['goal'])}"
        if t["hit"] is None:
            res = "n/a"
        elif t["hit"]:
            res = f"**hit** (by {t['by']:.2f}{TIMES})"
        else:
            res = f"**miss** (short by {1 / t['by']:.2f}{TIMES})"
        tgt.append(f"| {t['name']} | {_x(t['ratio'])} | {goal} | {res} |")
    notes = (
        "¹ net: ours and 0.4.5 — from the API answering to every task visible (their consumers start with the "
        "app); Flower — its in-process feed of `EventsState.event` alone, timed inside the process.  \n"
        "² from `/api/health` `node_count` sampled every ~0.3 s during ingest (not available for Flower).  \n"
        f"³ growth minus the JSON the stream carried per task ({meta['stream']['bytes'] / meta['tasks']:,.0f} "
        "bytes): DESIGN §7 budgets ≤ 1 KB per task beyond payload.  \n"
        f"Every ratio is ours ÷ theirs: for events/s above 1 is better (5{TIMES} = five times the rate); for seconds, "
        "bytes and milliseconds below 1 is better (1/8 = an eighth of theirs).  \n"
        f"Stream: {meta['tasks']:,} tasks, {meta['stream']['events']:,} events, "
        f"{meta['stream']['bytes'] / 1e6:,.0f} MB of JSON, {meta['stream']['flows']:,} flows from "
        f"{len(meta['stream']['templates'])} recorded templates (plus one 100-task chord)."
    )
    return "\n".join(rows) + "\n\n" + "\n".join(lat_rows) + "\n\n" + "\n".join(tgt) + "\n\n" + notes + "\n"


def console(summary: dict) -> str:
    return "\n" + tables(summary)


def header(summary: dict) -> str:
    meta = summary["meta"]
    loads = "\n".join(f"  - {s['label']}: {s['load']}" for s in summary["systems"].values())
    builds = summary["systems"].get("ours", {}).get("code") or []
    if len(builds) > 1:
        loads += "\n- WARNING: the engine was rebuilt between rounds: " + "; ".join(builds)
    for why in meta.get("skipped", []):
        loads += f"\n- {why}"
    return (
        f"- date: {meta['date']}\n- machine: {machine()}\n- code: {meta.get('code') or revision()}\n"
        f"- command: `{meta['command']}`\n"
        f"- load average (1/5/15 min) at start {meta['load_start']}, at end {meta.get('load_end', '?')}; "
        f"per system (before → after):\n{loads}\n"
    )


def chart(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = summary["systems"]
    labels = [s["label"] for s in systems.values()]
    colors = ["#2b7a78" if k == "ours" else "#9aa5b1" for k in systems]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    wall = [s["ev_s_wall"] for s in systems.values()]
    net = [s["ev_s_net"] or 0 for s in systems.values()]
    x = range(len(labels))
    a.bar([i - 0.2 for i in x], wall, 0.4, color=colors, label="start → all visible")
    a.bar([i + 0.2 for i in x], net, 0.4, color=colors, alpha=0.55, hatch="//", label="net of startup")
    a.set_yscale("log")
    a.set_ylim(bottom=min(v for v in wall + net if v) / 3)
    a.set_xticks(list(x), labels)
    a.set_ylabel("events / s (log)")
    a.set_title(f"Ingest of {summary['meta']['tasks']:,} retained tasks")
    a.legend(fontsize=8)
    for i, v in enumerate(wall):
        a.annotate(f"{v:,.0f}", (i - 0.2, v), ha="center", va="bottom", fontsize=8)
    mem = [s["rss_net_per_task"] for s in systems.values()]
    b.bar(list(x), mem, color=colors)
    b.set_xticks(list(x), labels)
    b.set_ylabel("bytes / task (RSS growth)")
    b.set_title("Resident memory per retained task")
    for i, v in enumerate(mem):
        b.annotate(f"{v:,.0f}", (i, v), ha="center", va="bottom", fontsize=8)
    fig.suptitle(" vs ".join(labels) + f" — {summary['meta']['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(summary: dict) -> None:
    """Append the run to RESULTS.md; a run that compares ours with a peer also replaces its size's section
    of docs/performance.md (the other sizes' sections and the producer's stay as they were)."""
    body = header(summary) + "\n" + tables(summary)
    n = summary["meta"]["tasks"]
    with RESULTS_MD.open("a") as f:
        if RESULTS_MD.stat().st_size == 0:
            f.write("# bench/compare results (appended by `bench/compare/run`)\n")
        f.write(f"\n## {summary['meta']['date']} — {n:,} tasks\n\n{body}")
    if "ours" in summary["systems"] and len(summary["systems"]) > 1:  # the docs page shows comparisons only
        path = chart_path(n)
        chart(summary, path)
        text = f"## {n:,} retained tasks\n\n![ingest and memory at {n:,} tasks](./{path.name})\n\n{body}"
        write_section(f"tasks-{n}", text)


def chart_path(n: int) -> Path:
    return CHART if n == 100_000 else CHART.with_name(f"{CHART.stem}-{n}.png")


SECTION = re.compile(r"<!-- begin (\S+) -->\n(.*?)<!-- end \1 -->\n", re.DOTALL)


def _section_order(name: str) -> tuple[int, int]:
    kind, _, size = name.partition("-")
    return (0, int(size)) if kind == "tasks" else (1, 0)


def write_section(name: str, text: str) -> None:
    """Replace (or add) one marked section of docs/performance.md and re-render the page around them."""
    sections = dict(SECTION.findall(PERF_MD.read_text())) if PERF_MD.exists() else {}
    sections[name] = text.rstrip("\n") + "\n"
    body = "".join(
        f"<!-- begin {key} -->\n{sections[key]}<!-- end {key} -->\n\n" for key in sorted(sections, key=_section_order)
    )
    PERF_MD.write_text(PERF_TEMPLATE.format(sections=body))


def producer_section() -> str:
    """The newest table of bench/producer/RESULTS.md that compares every mode, else the newest table (the
    producer-overhead part of `run`): a quick `--modes plain,stemtrace` run does not replace the comparison."""
    entries = (PRODUCER_MD.read_text() if PRODUCER_MD.exists() else "").split("\n## ")[1:]
    tables = [e for e in entries if "| worker | CPU per task" in e]
    latest = next((e for e in reversed(tables) if "with stemtrace 0.4.5" in e), tables[-1] if tables else None)
    if latest is None:
        return "## Producer overhead\n\nNo run recorded yet (`.venv/bin/python -m bench.producer.run`).\n"
    title, _, rest = latest.partition("\n")
    return (
        "## Producer overhead (worker CPU per task, publishing CPU per event)\n\n"
        f"Latest run of `bench/producer/run.py` with the peers ({title.strip()}; later and quicker runs and the "
        "history in [bench/producer/RESULTS.md](../bench/producer/RESULTS.md)):\n\n" + rest.strip() + "\n"
    )


PERF_TEMPLATE = """# Performance: stemtrace vs stemtrace 0.4.5 vs Flower

Measured by `bench/compare/run` (see `bench/compare/README.md`) on one machine, in one run, systems
interleaved; every figure comes with the ratio ours ÷ theirs, since the machine is shared and its absolute
speed varies. Each stream size has its own section, replaced by the next comparison run of that size; the
producer section after each producer run of `bench/compare/run` (or by `python -m bench.compare.report
--producer`). The history is in `bench/compare/RESULTS.md` and
`bench/producer/RESULTS.md`. Where a target is missed, [what bounds it](performance-bounds.md).

{sections}## How it is measured

- **Stream**: N tasks of real flows — each instance of a flow recorded from real Celery workers (ours:
  `tests/golden/*.jsonl`, 0.4.5's: `tests/fixtures/compat/stemtrace-0.4.5/*.jsonl`: chains, groups, chords,
  retries, failures, rejects, ignores) with fresh UUIDs and shifted timestamps, plus one 100-task chord,
  written to `{{prefix}}:events` with pipelined `XADD` before any system starts.
- **Ingest**: each system is started fresh on that retained stream; the clock runs from process start until
  every task is visible (ours and 0.4.5: the stream's last task answers `SUCCESS` on `/api/tasks/{{id}}`, then
  `total` of `/api/tasks` is checked). Flower cannot replay (Celery events on Redis are PUB/SUB, never
  retained), so it is fed the same events as Celery event messages (`task-sent/received/started/succeeded/
  failed/retried/rejected`) in-process, through its own `EventsState.event`, before its HTTP server starts:
  its figure excludes the broker and message decoding by kombu, so it flatters Flower.
- **Memory**: VmRSS from `/proc` of the server process (and children) 2 s after ingest; "growth" subtracts the
  same system's RSS on an empty stream.
- **Latency**: `wrk --latency` for a fixed duration per probe, at 1 and 32 connections, from the same
  machine: task list page (`/api/tasks?limit=100`), filtered page (`state=FAILURE`), flow detail of the
  100-task chord (`/api/graphs/group:<id>`), task detail. Flower: `/api/tasks?limit=100&sort_by=-received`
  (its newest-first list), with `state=FAILURE`, and `/api/task/info/<id>`; it has no flow view.
- 0.4.5 is served as its `stemtrace server` builds it (FastAPI + uvicorn, embedded consumer), with the node
  cap raised from its 10,000 default so it keeps every task; Flower with `--max_tasks` raised likewise.
- **The floor**: each server's cheapest route (ours `/api/health/live`, 0.4.5 `/api/health`, Flower
  `/healthcheck`) timed like the others: what its HTTP stack costs per request before any data is read.
- **Producer overhead**: `bench/producer/run.py`, 20,000 trivial tasks queued first, then drained by a real
  prefork worker with one child (told to consume them after its warm-up, so it runs at full speed whatever
  the publisher's pace; since 2026-12-06), rounds in rotating order; CPU of the worker process tree per
  task, and CPU per published task in the publishing process.
"""


def main() -> None:
    """`python -m bench.compare.report --producer`: refresh the producer section after a producer run."""
    import sys

    if sys.argv[1:] != ["--producer"]:
        raise SystemExit("usage: python -m bench.compare.report --producer")
    write_section("producer", producer_section())


if __name__ == "__main__":
    main()
