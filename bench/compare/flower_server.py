"""Serve Flower with its events state fed in-process from a file of Celery events, then its HTTP API.

Flower reads Celery's event messages from the broker's ``celeryev`` fanout exchange, which on Redis is
PUB/SUB: nothing is retained, so Flower cannot replay a stream at start. To time the same work it does per
event, this feeds Flower's own ``EventsState.event`` (what ``Events.on_event`` schedules for each received
message) with the JSON-decoded events, then serves Flower's app (``FLOWER_UNAUTHENTICATED_API=true``).
It prints one JSON line: events fed, seconds, tasks retained, RSS before and after the feed.

Runs in the compare virtualenv (``bench/compare/setup_peers.sh``), never in ours.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from celery import Celery


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--events-file", required=True)
    parser.add_argument("--max-tasks", type=int, default=100000)
    args = parser.parse_args()
    os.environ.setdefault("FLOWER_UNAUTHENTICATED_API", "true")

    from flower.app import Flower
    from flower.options import options
    from flower.urls import settings

    options.port = args.port
    options.address = "127.0.0.1"
    options.max_tasks = args.max_tasks
    options.enable_events = False
    capp = Celery("bench", broker=args.broker)
    flower_app = Flower(capp=capp, options=options, **settings)
    state = flower_app.events.state

    rss_before = rss_bytes()
    fed = 0
    t0 = time.perf_counter()
    with open(args.events_file, "rb") as f:
        for line in f:
            state.event(json.loads(line))
            fed += 1
    seconds = time.perf_counter() - t0
    report = {
        "events": fed,
        "seconds": seconds,
        "tasks": len(state.tasks),
        "rss_before": rss_before,
        "rss_after": rss_bytes(),
    }
    print(json.dumps(report), flush=True)
    sys.stdout.flush()
    flower_app.start_http_server()
    flower_app.io_loop.start()


if __name__ == "__main__":
    main()
