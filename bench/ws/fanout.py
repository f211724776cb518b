"""WebSocket fan-out: events/s in, N browsers subscribed, one client that never reads.

    .venv/bin/python -m bench.ws.fanout --rate 5000 --clients 50 --seconds 20

A real `stemtrace server` follows a Redis stream that a feeder fills at ``--rate`` events/s (chains of
task events in the wire format). ``--clients`` WebSockets subscribe to the task list with the
``stemtrace.v1`` protocol; one more connects and never reads. Reported: delivery latency (event
written → update received, p50/p99 over all clients), batches per client per second, the server's CPU
and resident memory (at the start and the end: a stuck client must not make it grow). Appends to
bench/ws/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import orjson
import redis
import websockets

from bench.compare.systems import rss_bytes
from tests.support.server import start_server

RESULTS = Path(__file__).with_name("RESULTS.md")
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_mb(pid: int) -> float:
    return rss_bytes(pid) / 2**20


def feed(url: str, key: str, rate: int, seconds: float) -> None:
    """XADD ``rate`` events/s for ``seconds``; each carries its send time in ``timestamp``."""
    client = redis.Redis.from_url(url)
    tick, sent, start = 0.05, 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) - sent
        pipe = client.pipeline(transaction=False)
        for _ in range(max(due, 0)):
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            event = {"task_id": str(uuid.uuid4()), "name": "bench.step", "state": "SUCCESS", "timestamp": now}
            pipe.xadd(key, {"data": orjson.dumps(event)})
        pipe.execute()
        sent += max(due, 0)
        time.sleep(tick)


async def listen(ws_url: str, latencies: list[float], batches: list[int], stop: asyncio.Event) -> None:
    async with websockets.connect(ws_url, subprotocols=["stemtrace.v1"], max_size=None) as ws:
        await ws.send('{"type":"subscribe","topic":"tasks"}')
        count = 0
        while not stop.is_set():
            try:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), 0.5))
            except TimeoutError:
                continue
            if frame.get("type") != "batch":
                continue
            count += 1
            now = time.time()
            for change in frame["changes"]:
                sent = datetime.fromisoformat(change["timestamp"].replace("Z", "+00:00")).timestamp()
                latencies.append(now - sent)
        batches.append(count)


async def stuck(ws_url: str, stop: asyncio.Event) -> None:
    """Subscribes, then never reads a frame."""
    async with websockets.connect(ws_url, subprotocols=["stemtrace.v1"], max_queue=1) as ws:
        await ws.send('{"type":"subscribe","topic":"tasks"}')
        ws.transport.pause_reading()
        await stop.wait()


async def run(args: argparse.Namespace, base: str, pid: int, url: str, key: str) -> dict[str, float]:
    ws_url = base.replace("http://", "ws://") + "ws"
    latencies: list[float] = []
    batches: list[int] = []
    stop = asyncio.Event()
    clients = [asyncio.create_task(listen(ws_url, latencies, batches, stop)) for _ in range(args.clients)]
    clients.append(asyncio.create_task(stuck(ws_url, stop)))
    await asyncio.sleep(1)
    rss_start, cpu_start, t0 = rss_mb(pid), cpu_seconds(pid), time.monotonic()
    await asyncio.to_thread(feed, url, key, args.rate, args.seconds)
    await asyncio.sleep(1)
    cpu = cpu_seconds(pid) - cpu_start
    wall = time.monotonic() - t0
    rss_end = rss_mb(pid)
    stop.set()
    await asyncio.gather(*clients, return_exceptions=True)
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "updates": len(latencies),
        "batches_per_client_s": statistics.mean(batches) / wall,
        "server_cpu_pct": cpu / wall * 100,
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    prefix = f"wsbench-{uuid.uuid4().hex[:8]}"
    key = f"{prefix}:events"
    server = start_server(["--transport-url", args.redis, "--prefix", prefix], Path(f"/tmp/{prefix}.log"))
    try:
        r = asyncio.run(run(args, server.base, server.proc.pid, args.redis, key))
    finally:
        server.stop()
        redis.Redis.from_url(args.redis).delete(key)
    text = (
        f"\n## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — {platform.node()}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.1f}\n"
        f"`python -m bench.ws.fanout {' '.join(sys.argv[1:])}` — {args.rate} events/s for {args.seconds:.0f} s, "
        f"{args.clients} subscribed clients + 1 that never reads\n\n"
        "| delivery p50 | delivery p99 | updates received | batches/client/s | server CPU | server RSS start → end |\n"
        "|---|---|---|---|---|---|\n"
        f"| {r['p50_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['updates']:.0f} | {r['batches_per_client_s']:.1f} | "
        f"{r['server_cpu_pct']:.0f} % | {r['rss_start_mb']:.0f} → {r['rss_end_mb']:.0f} MB |\n"
    )
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# WebSocket fan-out results\n\nAppended by `bench/ws/fanout.py`; newest last.\n")
    with RESULTS.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
