"""Measurements: start-to-visible ingest, resident memory, and API latency (wrk)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field

import httpx

from bench.compare.generator import Stream
from bench.compare.systems import Config, Running, System, rss_bytes

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


@dataclass
class Latency:
    path: str
    concurrency: int
    status: int = 0
    body_bytes: int = 0
    requests: int = 0
    rps: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: str = ""
    note: str = ""


@dataclass
class SystemResult:
    key: str
    label: str
    up_seconds: float = 0.0  # process start → API answering (on this stream)
    ingest_seconds: float = 0.0  # process start → every task visible
    feed_seconds: float | None = None  # Flower only: the in-process feed alone
    steady_events_per_s: float | None = None  # from node_count samples between 10% and 90% of the final count
    events: int = 0
    tasks_visible: int = 0
    rss_bytes: int = 0
    rss_empty_bytes: int = 0  # same system on an empty stream
    empty_up_seconds: float = 0.0
    load_before: str = ""
    load_after: str = ""
    latency: dict[str, list[Latency]] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.events / self.ingest_seconds if self.ingest_seconds else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["events_per_s"] = self.events_per_s
        return d


def _parse_ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(url: str, concurrency: int, duration: float) -> Latency:
    """p50/p99 from ``wrk --latency`` (threads: 1 at c=1, 2 above — the machine has few cores)."""
    threads = 1 if concurrency == 1 else min(2, os.cpu_count() or 1)
    cmd = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "120s"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 180).stdout
    lat = Latency(path=url, concurrency=concurrency)
    for line in out.splitlines():
        line = line.strip()
        if m := re.match(r"(50|99)(?:\.0+)?%\s+(\S+)", line):
            setattr(lat, f"p{m.group(1)}_ms", _parse_ms(m.group(2)))
        elif m := re.match(r"(\d+) requests in", line):
            lat.requests = int(m.group(1))
        elif line.startswith("Requests/sec:"):
            lat.rps = float(line.split()[1])
        elif line.startswith(("Non-2xx", "Socket errors")):
            lat.errors += line + "; "
    return lat


def probe_latency(base_url: str, path: str, concurrency: int, duration: float) -> Latency:
    url = base_url + path
    first = httpx.get(url, timeout=300)
    t0 = time.perf_counter()
    httpx.get(url, timeout=300)
    one = time.perf_counter() - t0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for latency (apt-get install wrk)")
    # Slow servers: run long enough for every connection to complete a few requests (capped at 3 minutes).
    lat = wrk(url, concurrency, min(180.0, max(duration, 3 * concurrency * one)))
    lat.path, lat.status, lat.body_bytes = path, first.status_code, len(first.content)
    if first.status_code == 200 and path.startswith("/stemtrace/api/graphs/"):
        lat.note = f"{len(first.json().get('nodes', {}))} nodes"
    return lat


def steady_rate(progress: list[tuple[float, int]], events: int) -> float | None:
    """Events/s while the count went from 10% to 90% of its final value (startup and tail excluded)."""
    if len(progress) < 3 or progress[-1][1] <= 0:
        return None
    final = max(c for _, c in progress)
    t10 = next((t for t, c in progress if c >= 0.1 * final), None)
    t90 = next((t for t, c in progress if c >= 0.9 * final), None)
    if t10 is None or t90 is None or t90 <= t10:
        return None
    c10 = next(c for t, c in progress if t == t10)
    c90 = next(c for t, c in progress if t == t90)
    return (c90 - c10) / final * events / (t90 - t10)


def measure_empty(system: System, cfg: Config) -> tuple[float, int]:
    """Startup seconds and RSS of ``system`` on an empty stream (its baseline)."""
    run = system.start(cfg)
    try:
        up = system.wait_up(run) if system.key != "flower" else system.wait_ingested(run, Stream(), 120)
        time.sleep(1.0)
        return up, rss_bytes(run.proc.pid)
    finally:
        system.stop(run)


def measure_system(
    system: System,
    cfg: Config,
    stream: Stream,
    *,
    timeout: float,
    duration: float,
    concurrencies: tuple[int, ...] = (1, 32),
    latency: bool = True,
) -> SystemResult:
    res = SystemResult(system.key, system.label, events=stream.events, load_before=loadavg())
    if system.key == "ours":  # the engine may be rebuilt by others between rounds: record which one ran
        from bench.compare.report import revision

        res.extra["code"] = revision()
    run: Running = system.start(cfg)
    try:
        res.up_seconds = system.wait_up(run, timeout=timeout) if system.key != "flower" else 0.0
        res.ingest_seconds = system.wait_ingested(run, stream, timeout)
        res.steady_events_per_s = steady_rate(run.extra.get("progress", []), stream.events)
        if system.key == "flower":
            res.up_seconds = res.ingest_seconds
            res.feed_seconds = run.extra.get("seconds")
            res.events = run.extra.get("events", 0)
            res.extra = dict(run.extra)
        time.sleep(2.0)  # let allocators settle before reading RSS
        res.rss_bytes = rss_bytes(run.proc.pid)
        res.tasks_visible = system.count(run)
        if latency:
            for name, path in system.probes(stream).items():
                if path is None:
                    continue
                res.latency[name] = [probe_latency(run.base_url, path, c, duration) for c in concurrencies]
    finally:
        system.stop(run)
        res.load_after = loadavg()
    return res
