"""Synthetic retained streams built from REAL recorded events.

Templates are the flows recorded from real Celery workers: ours (``tests/golden/*.jsonl``) and stemtrace
0.4.5's (``tests/fixtures/compat/stemtrace-0.4.5/*.jsonl``). Each instance of a template gets fresh UUIDs
(every UUID in the recorded JSON is remapped consistently, so parent/root/group/chord links survive) and
timestamps shifted to its own start time, keeping the recorded intra-flow offsets. One instance of a
100-task chord (99 headers + the callback) is built from the recorded chord and placed mid-stream.

The same events are also rendered as Celery's own event messages (``task-sent/received/started/...``)
for Flower, which does not read stemtrace's stream.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_GLOBS = ("tests/golden/*.jsonl", "tests/fixtures/compat/stemtrace-0.4.5/*.jsonl")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TS_RE = re.compile(r'"timestamp":\s*"([^"]+)"')
PIECE_RE = re.compile(UUID_RE.pattern + "|" + TS_RE.pattern)
FINAL_STATES = {"SUCCESS", "FAILURE", "REVOKED", "REJECTED", "IGNORED"}
CHORD_SIZE = 100
# Flows per second of simulated time: the whole stream spans the recent past, inside every retention window.
FLOWS_PER_SECOND = 50.0


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _fmt_ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Template:
    """A recorded flow compiled to pieces: literal text, UUID slots and timestamp offsets."""

    name: str
    lines: list[list[object]]  # per event: str | ("u", slot) | ("t", offset_s)
    uuid_slots: int
    task_count: int

    @classmethod
    def from_events(cls, name: str, raw_lines: list[str], fixed: dict[str, int] | None = None) -> Template:
        slots: dict[str, int] = dict(fixed or {})
        stamps = [_parse_ts(m.group(1)) for line in raw_lines for m in TS_RE.finditer(line)]
        t0 = min(stamps) if stamps else 0.0
        compiled: list[list[object]] = []
        task_ids: set[str] = set()
        for line in raw_lines:
            pieces: list[object] = []
            pos = 0
            for m in PIECE_RE.finditer(line):
                pieces.append(line[pos : m.start()])
                if m.group(1) is not None:  # a timestamp
                    pieces.append('"timestamp":"')
                    pieces.append(("t", _parse_ts(m.group(1)) - t0))
                    pieces.append('"')
                else:
                    pieces.append(("u", slots.setdefault(m.group(0), len(slots))))
                pos = m.end()
            pieces.append(line[pos:])
            compiled.append(pieces)
            task_id = orjson.loads(line).get("task_id")
            if task_id:
                task_ids.add(task_id)
        return cls(name, compiled, len(slots), len(task_ids))


def _task_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        if raw.strip() and "task_id" in orjson.loads(raw):
            lines.append(orjson.dumps(orjson.loads(raw)).decode())
    return lines


def load_templates() -> list[Template]:
    templates = []
    for pattern in TEMPLATE_GLOBS:
        for path in sorted(REPO.glob(pattern)):
            lines = _task_lines(path)
            if lines:
                templates.append(Template.from_events(f"{path.parent.name}/{path.stem}", lines))
    if not templates:
        raise SystemExit("no recorded flows found under tests/golden or tests/fixtures/compat")
    return templates


def big_chord_template(size: int = CHORD_SIZE) -> tuple[Template, int, int]:
    """A ``size``-task chord from the recorded chord: header events cloned, ids kept shared where shared.

    Returns the template and the slots of the group id and of the callback id.
    """
    lines = _task_lines(REPO / "tests/golden/chord.jsonl")
    events = [orjson.loads(line) for line in lines]
    callback = next(e["chord_callback_id"] for e in events if e.get("chord_callback_id"))
    group = next(e["group_id"] for e in events if e.get("chord_callback_id"))
    headers = [e["task_id"] for e in events if e.get("chord_callback_id") == callback and e["task_id"] != callback]
    first_header = headers[0]
    header_lines = [line for line, e in zip(lines, events, strict=True) if e["task_id"] == first_header]
    callback_lines = [line for line, e in zip(lines, events, strict=True) if e["task_id"] == callback]
    # Each clone gets its own id for the header task; group/chord/callback/trace ids are shared.
    out: list[str] = []
    for k in range(size - 1):
        clone = f"{k:08x}-0000-4000-8000-{k:012x}"
        out.extend(line.replace(first_header, clone) for line in header_lines)
    out.extend(callback_lines)
    template = Template.from_events("golden/chord-100", out, fixed={group: 0, callback: 1})
    return template, 0, 1


@dataclass
class Stream:
    """What was generated, and the ids the latency probes need."""

    tasks: int = 0
    events: int = 0
    bytes: int = 0
    flows: int = 0
    last_task_id: str = ""
    last_task_state: str = ""
    chord_group_id: str = ""
    chord_callback_id: str = ""
    detail_task_id: str = ""
    templates: dict[str, int] = field(default_factory=dict)


def _new_uuid() -> str:
    return str(uuid.UUID(bytes=os.urandom(16), version=4))


def render(template: Template, start: float, ids: list[str]) -> Iterator[str]:
    for pieces in template.lines:
        out = []
        for p in pieces:
            if isinstance(p, str):
                out.append(p)
            elif p[0] == "u":
                out.append(ids[p[1]])
            else:
                out.append(_fmt_ts(start + p[1]))
        yield "".join(out)


def generate(n_tasks: int, seed: int = 7) -> tuple[Stream, Iterator[str]]:
    """An iterator over wire-format JSON lines for ``n_tasks`` tasks, and the stats it fills as it runs."""
    templates = load_templates()
    chord, group_slot, callback_slot = big_chord_template()
    single = next(t for t in templates if t.name == "golden/single")
    stream = Stream()
    n_flows_est = max(1, int(n_tasks / (sum(t.task_count for t in templates) / len(templates))))
    t_begin = datetime.now(timezone.utc).timestamp() - n_flows_est / FLOWS_PER_SECOND - 60

    def lines() -> Iterator[str]:
        cycle = itertools.cycle(templates)
        chord_at = n_tasks // 2
        chord_done = False
        flow = 0
        while stream.tasks < n_tasks - 1:
            if not chord_done and stream.tasks >= chord_at and n_tasks >= 2 * chord.task_count:
                template = chord
            else:
                template = next(cycle)
                if n_tasks - stream.tasks < template.task_count:  # top up with one-task flows: exact total
                    template = single
            ids = [_new_uuid() for _ in range(template.uuid_slots)]
            start = t_begin + flow / FLOWS_PER_SECOND
            flow += 1
            for line in render(template, start, ids):
                stream.events += 1
                stream.bytes += len(line)
                yield line
            if template is chord:
                chord_done = True
                stream.chord_group_id = ids[group_slot]
                stream.chord_callback_id = ids[callback_slot]
            stream.tasks += template.task_count
            stream.flows += 1
            stream.templates[template.name] = stream.templates.get(template.name, 0) + 1
            if not stream.detail_task_id and stream.tasks >= n_tasks // 3 and "retry" in template.name:
                stream.detail_task_id = ids[0]
        # The stream ends with a one-task flow whose last event is SUCCESS: "all consumed" is "it is SUCCESS".
        ids = [_new_uuid()]
        for line in render(single, t_begin + flow / FLOWS_PER_SECOND, ids):
            stream.events += 1
            stream.bytes += len(line)
            yield line
        stream.tasks += 1
        stream.flows += 1
        stream.last_task_id = ids[0]
        stream.last_task_state = "SUCCESS"

    return stream, lines()


def write_stream(
    redis_url: str, key: str, lines: Iterator[str], celery_path: Path | None = None, batch: int = 5000
) -> float:
    """XADD every line (field ``data``) with pipelines of ``batch``; optionally also write Celery events.

    Returns the seconds spent writing to Redis.
    """
    import time

    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(key)
    out = celery_path.open("wb") if celery_path else None
    spent = 0.0
    try:
        pipe = client.pipeline(transaction=False)
        pending = 0
        for clock, line in enumerate(lines):
            pipe.xadd(key, {"data": line})
            pending += 1
            if out is not None:
                event = celery_event(line, clock)
                if event is not None:
                    out.write(event + b"\n")
            if pending >= batch:
                t0 = time.perf_counter()
                pipe.execute()
                spent += time.perf_counter() - t0
                pending = 0
        t0 = time.perf_counter()
        pipe.execute()
        spent += time.perf_counter() - t0
    finally:
        if out is not None:
            out.close()
        client.close()
    return spent


# --- Celery events for Flower -------------------------------------------------------------------------------

CELERY_TYPE = {
    "PENDING": "task-sent",
    "RECEIVED": "task-received",
    "STARTED": "task-started",
    "SUCCESS": "task-succeeded",
    "FAILURE": "task-failed",
    "RETRY": "task-retried",
    "REVOKED": "task-revoked",
    "REJECTED": "task-rejected",
}


def celery_event(line: str, clock: int) -> bytes | None:
    """The Celery event a worker (or the sender) would have emitted for this stemtrace event."""
    e = orjson.loads(line)
    kind = CELERY_TYPE.get(e["state"])
    if kind is None:  # IGNORED: Celery sends no event for it
        return None
    ts = _parse_ts(e["timestamp"])
    out = {
        "type": kind,
        "uuid": e["task_id"],
        "hostname": e.get("hostname") or "producer@bench",
        "timestamp": ts,
        "local_received": ts,
        "utcoffset": 0,
        "clock": clock,
        "pid": e.get("pid") or 1,
    }
    if kind in ("task-sent", "task-received"):
        out.update(
            name=e.get("name"),
            args=repr(e.get("args") or []),
            kwargs=repr(e.get("kwargs") or {}),
            retries=e.get("retries") or 0,
            eta=e.get("eta"),
            expires=None,
            root_id=e.get("root_id"),
            parent_id=e.get("parent_id"),
        )
        if kind == "task-sent":
            out.update(queue=e.get("queue"), exchange="", routing_key=e.get("routing_key"))
    elif kind == "task-succeeded":
        out.update(result=repr(e.get("result")), runtime=0.002)
    elif kind in ("task-failed", "task-retried", "task-rejected"):
        out.update(exception=repr(e.get("exception")), traceback=e.get("traceback") or "")
    return orjson.dumps(out)
