"""Turn any Python value into something JSON can hold, at bounded cost. Never raises.

- JSON types pass through; ``tuple``/``set``/``frozenset``/``deque`` become lists, mappings become
  objects with string keys (``1`` → ``"1"``, other keys by ``repr``).
- Everything else becomes a readable stand-in: ``bytes`` → ``"<bytes len=5: b'hello'>"``,
  ``datetime``/``date``/``time`` → ISO text, ``Decimal``/``UUID``/``Path`` → ``str``, floats that JSON
  lacks → ``"NaN"``/``"Infinity"``, integers beyond 64 bits → decimal text, dataclasses → objects,
  other objects → their (shortened) ``repr``, or ``"<TypeName>"`` if ``repr`` itself fails.
- Cycles → ``"<cycle list>"``; deeper than ``max_depth`` → ``"<dict depth>"``; more than ``max_items``
  members → the first ones plus ``"<… N more items>"``; a total node budget bounds the whole walk.
- Strings longer than ``max_string`` keep their head plus ``"… [truncated N chars]"``; lone surrogates
  are escaped so the result always encodes as UTF-8.
- Keys the :class:`~stemtrace.celery.scrub.Scrubber` flags get the value ``"[Filtered]"``.

:func:`capped` finally encodes a whole field, bounding its size (``max_data_size`` bytes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import orjson

from stemtrace.celery.scrub import FILTERED, Scrubber

MAX_DEPTH = 12
MAX_ITEMS = 200
MAX_NODES = 5_000
MAX_REPR = 500
_INT_LIMIT = 2**63

_NO_SCRUB = Scrubber(enabled=False)


class _Walk:
    __slots__ = ("max_depth", "max_items", "max_string", "nodes", "path", "scrubber")

    def __init__(self, scrubber: Scrubber, max_string: int, max_depth: int, max_items: int, max_nodes: int) -> None:
        self.scrubber = scrubber
        self.max_string = max_string
        self.max_depth = max_depth
        self.max_items = max_items
        self.nodes = max_nodes
        self.path: set[int] = set()

    def value(self, v: Any, depth: int) -> Any:
        self.nodes -= 1
        if v is None or v is True or v is False:
            return v
        t = type(v)
        if t is str:
            return self.text(v)
        if t is int:
            return v if -_INT_LIMIT < v < _INT_LIMIT else str(v)
        if t is float:
            return v if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity"))
        if t is dict:
            return self.container(v, depth, self.mapping)
        if t is list or t is tuple:
            return self.container(v, depth, self.sequence)
        if isinstance(v, (dict, Mapping)):
            return self.container(v, depth, self.mapping)
        if isinstance(v, (list, tuple, set, frozenset)) or t.__name__ == "deque":
            return self.container(v, depth, self.sequence)
        return self.other(v, depth)

    def container(self, v: Any, depth: int, walk: Any) -> Any:
        if depth >= self.max_depth or self.nodes <= 0:
            return f"<{type(v).__name__} {'depth' if depth >= self.max_depth else 'too large'}>"
        key = id(v)
        if key in self.path:
            return f"<cycle {type(v).__name__}>"
        self.path.add(key)
        try:
            return walk(v, depth + 1)
        finally:
            self.path.discard(key)

    def mapping(self, v: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            items = iter(v.items())
        except Exception:
            return {"<unreadable>": self.stand_in(v)}
        for n, (k, item) in enumerate(items):
            if n >= self.max_items or self.nodes <= 0:
                out["<truncated>"] = f"<… {_len(v) - n} more items>"
                break
            skey = self.key(k)
            out[skey] = FILTERED if self.scrubber.is_sensitive(k) else self.value(item, depth)
        return out

    def sequence(self, v: Any, depth: int) -> list[Any]:
        out = []
        for n, item in enumerate(v):
            if n >= self.max_items or self.nodes <= 0:
                out.append(f"<… {_len(v) - n} more items>")
                break
            out.append(self.value(item, depth))
        return out

    def key(self, k: Any) -> str:
        if isinstance(k, str):
            return self.text(k[:MAX_REPR])
        if isinstance(k, bytes):
            return self.text(k[:MAX_REPR].decode("utf-8", "backslashreplace"))
        if k is None or isinstance(k, (bool, int, float)):
            return orjson.dumps(k).decode() if not isinstance(k, int) or abs(k) < _INT_LIMIT else str(k)
        return self.stand_in(k)

    def text(self, s: str) -> str:
        if len(s) > self.max_string:
            cut = len(s) - self.max_string
            s = f"{s[: self.max_string]}… [truncated {cut} chars]"
        if not _utf8(s):
            s = s.encode("utf-8", "backslashreplace").decode("utf-8")
        return s

    def other(self, v: Any, depth: int) -> Any:
        if isinstance(v, (bytes, bytearray, memoryview)):
            raw = bytes(v[:32])
            return f"<{type(v).__name__} len={len(v)}: {raw!r}{'…' if len(v) > 32 else ''}>"
        if isinstance(v, enum.Enum):
            return self.value(v.value, depth) if isinstance(v.value, (str, int, float)) else self.stand_in(v)
        if isinstance(v, (dt.datetime, dt.date, dt.time)):
            return v.isoformat()
        if isinstance(v, dt.timedelta):
            return v.total_seconds()
        if isinstance(v, (decimal.Decimal, uuid.UUID, PurePath)):
            return str(v)
        if isinstance(v, str):  # str subclasses
            return self.text(str.__str__(v))
        if isinstance(v, int):
            return self.value(int(v), depth)
        if isinstance(v, float):
            return self.value(float(v), depth)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return self.container(v, depth, self.dataclass)
        return self.stand_in(v)

    def dataclass(self, v: Any, depth: int) -> dict[str, Any]:
        fields = {f.name: getattr(v, f.name, None) for f in dataclasses.fields(v)[: self.max_items]}
        return self.mapping(fields, depth - 1)

    def stand_in(self, v: Any) -> str:
        try:
            r = repr(v)
        except Exception:
            return f"<{type(v).__name__}>"
        if not isinstance(r, str):
            return f"<{type(v).__name__}>"
        if len(r) > MAX_REPR:
            r = r[:MAX_REPR] + "…>"
        return self.text(r)


def _utf8(s: str) -> bool:
    """False for text with lone surrogates, which UTF-8 cannot encode."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _all_kept(values: Any, max_string: int) -> bool:
    """True when the walk would hand each of ``values`` back as it is: None, a bool, a 64-bit int, a finite
    float, or a ``str`` of at most ``max_string`` characters that UTF-8 can encode."""
    for v in values:
        t = type(v)
        if t is str:
            if len(v) > max_string or not _utf8(v):
                return False
        elif t is int:
            if not -_INT_LIMIT < v < _INT_LIMIT:
                return False
        elif t is float:
            if not math.isfinite(v):
                return False
        elif not (v is None or t is bool):
            return False
    return True


def _kept(v: Any, max_string: int) -> bool:
    return _all_kept((v,), max_string)


def _flat(value: Any, scrubber: Scrubber, max_string: int, max_items: int) -> list[Any] | dict[str, Any] | None:
    """What the walk returns for a ``list``/``tuple``/``dict`` holding only values it keeps as they are
    (most task arguments and results), built without the walk; None when ``value`` needs the walk.
    The caller makes sure depth and node limits cannot cut such a value."""
    t = type(value)
    if (t is not list and t is not tuple and t is not dict) or len(value) > max_items:
        return None
    if t is dict:
        key_max = min(MAX_REPR, max_string)
        out: dict[str, Any] = {}
        for k, v in value.items():
            if type(k) is not str or not _kept(k, key_max):
                return None
            if scrubber.is_sensitive(k):
                out[k] = FILTERED
            elif _kept(v, max_string):
                out[k] = v
            else:
                return None
        return out
    return list(value) if _all_kept(value, max_string) else None


def _len(v: Any) -> Any:
    try:
        return len(v)
    except Exception:
        return "?"


def to_jsonable(
    value: Any,
    *,
    scrubber: Scrubber | None = None,
    max_string: int = 10_000,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
    max_nodes: int = MAX_NODES,
) -> Any:
    """A JSON-safe copy of ``value`` (see the module docstring); never raises."""
    scrubber = scrubber or _NO_SCRUB
    try:
        # Fast paths, same result: most arguments and results are plain values or flat containers of them.
        if _kept(value, max_string):
            return value
        if max_depth > 0 and max_nodes > max_items + 1:  # then neither limit can cut a flat container
            flat = _flat(value, scrubber, max_string, max_items)
            if flat is not None:
                return flat
        return _Walk(scrubber, max_string, max_depth, max_items, max_nodes).value(value, 0)
    except RecursionError:
        return f"<{type(value).__name__} too deep>"
    except Exception as exc:  # defensive: a hostile __eq__/__len__/__iter__ must not break a task
        return f"<unserialisable {type(value).__name__}: {type(exc).__name__}>"


def capped(value: Any, max_bytes: int) -> bytes:
    """The JSON of ``value`` if it is at most ``max_bytes``, else that of a string: the JSON's head and how much
    was cut. Events embed these bytes as they are, so each field is encoded once."""
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except Exception:
        return orjson.dumps(f"<unserialisable {type(value).__name__}>")
    if len(encoded) <= max_bytes:
        return encoded
    head = encoded[:max_bytes].decode("utf-8", "ignore")
    return orjson.dumps(f"{head}… [truncated {len(encoded) - max_bytes} of {len(encoded)} bytes]")


def field_json(value: Any, scrubber: Scrubber, max_bytes: int) -> bytes:
    """The JSON of one event field (args, kwargs, result): JSON-safe, scrubbed, at most ``max_bytes``."""
    if (type(value) is list and len(value) <= MAX_ITEMS and _all_kept(value, max_bytes)) or _kept(value, max_bytes):
        return capped(value, max_bytes)  # most arguments and results: what the walk would hand back
    return capped(to_jsonable(value, scrubber=scrubber, max_string=max_bytes), max_bytes)
