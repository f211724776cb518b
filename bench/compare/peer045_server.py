"""Serve stemtrace 0.4.5 the way its ``stemtrace server`` does, with a stream prefix and a node cap.

Runs ONLY in the peer virtualenv (``import stemtrace`` is 0.4.5 there). 0.4.5's CLI has no ``--prefix``
or ``--max-nodes`` (it reads ``stemtrace:events`` and keeps 10,000 nodes), so this builds the same app as
``stemtrace/server/__main__.py`` — ``StemtraceExtension`` (embedded consumer, no UI) with its router at
``/stemtrace`` — but with the benchmark's stream prefix and a cap large enough to retain every task.
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI
from stemtrace.server.fastapi.extension import StemtraceExtension


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-nodes", type=int, default=10000)
    args = parser.parse_args()
    extension = StemtraceExtension(
        broker_url=args.transport_url,
        transport_url=args.transport_url,
        serve_ui=False,
        prefix=args.prefix,
        max_nodes=args.max_nodes,
    )
    app = FastAPI(title="stemtrace", lifespan=extension.lifespan)
    app.include_router(extension.router, prefix="/stemtrace")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
