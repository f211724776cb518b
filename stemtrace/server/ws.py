"""Live updates over a WebSocket at ``{prefix}/ws`` (protocol: docs/websocket.md).

Each connection reads the engine's change feed from its own position every tick; nothing is queued
per client, so a slow client costs no memory and delays no one: it falls behind, is told to resync,
and a client that stops reading for ``SEND_TIMEOUT`` is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect

PROTOCOL = "stemtrace.v1"
TICK_SECONDS = 0.25
SEND_TIMEOUT = 5.0
MAX_BATCH = 1000  # legacy frames per feed read; the pump reads on until it is caught up
# Tasks per coalesced batch: a tick at 5,000 events/s changes at most ~1,250. Beyond this a client is
# told to resync (refetch) instead: that many changes are cheaper fetched as a page than streamed.
MAX_COALESCED = 5000
# Position beyond any real sequence number: asks the feed for its head without any updates.
_HEAD = 2**62


@dataclass
class Connections:
    """How many WebSockets are open (reported by health)."""

    open: int = 0


@dataclass
class Subscription:
    topic: str | None = None  # "tasks" or "flow"
    flow_id: str | None = None
    seq: int = 0


def add_websocket_route(
    router: APIRouter, get_engine: Callable[[], Any], guard: list[Any], connections: Connections
) -> None:
    @router.websocket("/ws", dependencies=guard)
    async def live(websocket: WebSocket) -> None:
        engine = get_engine()
        if engine is None:
            await websocket.close(code=1011, reason="stemtrace is not started")
            return
        ours = PROTOCOL in websocket.scope.get("subprotocols", [])
        # Taken before the accept: an update the client causes right after connecting is not missed.
        head = engine.changes(_HEAD, max=0)[0]
        await websocket.accept(subprotocol=PROTOCOL if ours else None)
        connections.open += 1
        try:
            await (_serve_protocol(websocket, engine) if ours else _serve_legacy(websocket, engine, head))
        except (WebSocketDisconnect, TimeoutError, RuntimeError, HTTPException):  # HTTPException: shared consumer gone
            pass
        finally:
            connections.open -= 1
            with contextlib.suppress(RuntimeError):
                await websocket.close()


async def _send(websocket: WebSocket, frame: bytes) -> None:
    # A client that does not read for this long is dropped rather than waited for.
    await asyncio.wait_for(websocket.send_text(frame.decode()), SEND_TIMEOUT)


async def _until_closed(websocket: WebSocket, on_message: Callable[[Any], Any] | None = None) -> None:
    while True:
        message = await websocket.receive_text()
        if on_message is not None:
            try:
                await on_message(orjson.loads(message))
            except (orjson.JSONDecodeError, AttributeError, TypeError):
                await _send(
                    websocket, b'{"type":"error","detail":"messages must be JSON objects; see docs/websocket.md"}'
                )


async def _serve_legacy(websocket: WebSocket, engine: Any, seq: int) -> None:
    """stemtrace 0.4.x clients: one text frame per task update after ``seq``, in the event's shape."""

    async def pump() -> None:
        nonlocal seq
        version = None
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if engine.version == version:
                continue
            version = engine.version
            # The feed hands back at most MAX_BATCH per call: drain it up to the head.
            while True:
                seq, _gap, updates = engine.changes(seq, None, False, MAX_BATCH)
                for update in updates:
                    await _send(websocket, update)
                if len(updates) < MAX_BATCH:
                    break

    await _race(pump(), _until_closed(websocket))


async def _serve_protocol(websocket: WebSocket, engine: Any) -> None:
    """Subscriptions and coalesced batches (docs/websocket.md)."""
    sub = Subscription()

    async def on_message(message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "ping":
            await _send(websocket, b'{"type":"pong"}')
        elif kind == "subscribe" and message.get("topic") in ("tasks", "flow"):
            flow_id = message.get("id") if message["topic"] == "flow" else None
            if message["topic"] == "flow" and not isinstance(flow_id, str):
                await _send(websocket, b'{"type":"error","detail":"subscribe to a flow with its id"}')
                return
            since = message.get("since")
            sub.topic, sub.flow_id = message["topic"], flow_id
            sub.seq = since if isinstance(since, int) and since >= 0 else engine.changes(_HEAD, max=0)[0]
            reply = {"type": "subscribed", "topic": sub.topic, "id": flow_id, "seq": sub.seq}
            await _send(websocket, orjson.dumps(reply))
        else:
            await _send(websocket, b'{"type":"error","detail":"unknown message; see docs/websocket.md"}')

    async def pump() -> None:
        version = None
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if sub.topic is None or engine.version == version:
                continue
            version = engine.version
            seq, gap, updates = engine.changes(sub.seq, sub.flow_id, True, MAX_COALESCED)
            sub.seq = seq
            kind = b"resync" if gap else b"batch"
            head = b'{"type":"%s","topic":"%s","id":%s,"seq":%d' % (
                kind,
                sub.topic.encode(),
                orjson.dumps(sub.flow_id),
                seq,
            )
            if gap:
                await _send(websocket, head + b"}")
            elif updates:
                await _send(websocket, head + b',"changes":[' + b",".join(updates) + b"]}")

    await _race(pump(), _until_closed(websocket, on_message))


async def _race(*coroutines: Any) -> None:
    """Run until the first finishes (or fails), cancel the rest, re-raise a failure."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    for task in done:
        task.result()
