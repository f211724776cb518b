"""Hostile values: everything becomes JSON, at bounded cost, and nothing raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import time
import uuid
from collections import deque
from pathlib import Path

import orjson

from stemtrace.celery.scrub import Scrubber
from stemtrace.celery.serialize import MAX_DEPTH, capped, field_json, to_jsonable


def roundtrip(value: object) -> object:
    out = to_jsonable(value)
    return orjson.loads(orjson.dumps(out))


def test_json_values_pass_through() -> None:
    value = {"a": [1, 2.5, None, True, "x"], "b": {"c": []}}
    assert to_jsonable(value) == value


def test_stand_ins() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing 7>"

    @dataclasses.dataclass
    class Point:
        x: int
        y: bytes

    out = roundtrip(
        {
            "bytes": b"hello",
            "ba": bytearray(b"\x00" * 100),
            "dt": dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
            "date": dt.date(2025, 1, 2),
            "dec": decimal.Decimal("1.10"),
            "set": {3},
            "fz": frozenset(),
            "tuple": (1, (2,)),
            "deque": deque([1]),
            "uuid": uuid.UUID(int=1),
            "path": Path("/tmp/x"),
            "obj": Thing(),
            "point": Point(1, b"z"),
            "nan": float("nan"),
            "inf": float("-inf"),
            "big": 2**100,
            "td": dt.timedelta(seconds=1.5),
        }
    )
    assert out["bytes"] == "<bytes len=5: b'hello'>"
    assert out["ba"].startswith("<bytearray len=100: ") and out["ba"].endswith("…>")
    assert out["dt"] == "2025-01-02T03:04:05+00:00" and out["date"] == "2025-01-02"
    assert out["dec"] == "1.10" and out["set"] == [3] and out["fz"] == [] and out["tuple"] == [1, [2]]
    assert out["deque"] == [1] and out["uuid"] == str(uuid.UUID(int=1)) and out["path"] == "/tmp/x"
    assert out["obj"] == "<Thing 7>" and out["point"] == {"x": 1, "y": "<bytes len=1: b'z'>"}
    assert (out["nan"], out["inf"], out["big"], out["td"]) == ("NaN", "-Infinity", str(2**100), 1.5)


def test_broken_repr_and_broken_containers() -> None:
    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    class BadDict(dict):
        def items(self):  # type: ignore[override]
            raise RuntimeError("no items")

    assert to_jsonable(BadRepr()) == "<BadRepr>"
    out = to_jsonable(BadDict(a=1))
    assert isinstance(out, dict)
    orjson.dumps(out)


def test_cycles() -> None:
    a: list = [1]
    a.append(a)
    d: dict = {"k": 1}
    d["self"] = d
    assert to_jsonable(a) == [1, "<cycle list>"]
    assert to_jsonable(d) == {"k": 1, "self": "<cycle dict>"}
    shared = [1]
    assert to_jsonable([shared, shared]) == [[1], [1]]  # shared is not a cycle


def test_deep_nesting_is_capped_without_recursion_error() -> None:
    deep: list = []
    cur = deep
    for _ in range(100_000):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    out = to_jsonable(deep)
    text = orjson.dumps(out).decode()
    assert text.count("[") == MAX_DEPTH and "<list depth>" in text


def test_huge_string_is_cut_quickly() -> None:
    big = "x" * 10_000_000
    start = time.perf_counter()
    encoded = field_json({"blob": big}, Scrubber(), 10_000)
    assert time.perf_counter() - start < 0.5
    assert len(encoded) < 10_200
    assert "truncated" in orjson.loads(encoded)


def test_huge_collections_are_bounded() -> None:
    start = time.perf_counter()
    out = to_jsonable([list(range(1000)) for _ in range(1000)])
    assert time.perf_counter() - start < 0.5
    assert out[-1].startswith("<… ") and len(orjson.dumps(out)) < 100_000


def test_control_characters_and_surrogates() -> None:
    s = "a\x00b\x1b[31mc\ud800d\n"
    out = to_jsonable({"s": s, "\udcff": 1})
    decoded = orjson.loads(orjson.dumps(out))
    assert decoded["s"].startswith("a\x00b\x1b[31mc") and "\\ud800" in decoded["s"]


def test_capped_marks_how_much_was_cut() -> None:
    value = ["y" * 50] * 100
    out = orjson.loads(capped(value, 200))
    assert isinstance(out, str) and out.endswith(f"[truncated {len(orjson.dumps(value)) - 200} of "
                                                 f"{len(orjson.dumps(value))} bytes]")  # fmt: skip
    assert capped([1], 200) == b"[1]"


class _Opaque:
    """Not a plain value: a list holding one is always walked, member by member."""

    def __repr__(self) -> str:
        return "<opaque>"


FLAT_CASES: list[object] = [
    None, True, 0, -(2**63) + 1, 2**63 - 1, 2**63, -(2**63), 1.5, float("nan"), float("-inf"),
    "", "x" * 20, "x" * 21, "é", "a\ud800b", b"raw",
    [], (), {}, [1, "a", None, 2.5], (1, 2), [2**64], [float("inf")], ["y" * 21], [[1]], list(range(201)),
    {"a": 1, "password": "x", "access_token": [1], "n": None}, {"a": 1, 2: 3}, {"k" * 600: 1}, {"é": "\udc80"},
    {"a": {"b": 1}}, {"x" * 21: 1}, {f"k{i}": i for i in range(201)},
]  # fmt: skip


def test_flat_values_come_out_as_the_walk_gives_them() -> None:
    # Plain values and flat containers of them skip the walk; a value nested next to an opaque one is
    # walked member by member, so both paths are compared on the same input.
    for max_string in (20, 10_000):
        for value in FLAT_CASES:
            fast = to_jsonable(value, scrubber=Scrubber(), max_string=max_string)
            walked = to_jsonable([value, _Opaque()], scrubber=Scrubber(), max_string=max_string)[0]
            assert orjson.dumps(fast) == orjson.dumps(walked), (value, max_string)
            assert fast is not value or not isinstance(value, (list, dict))  # a copy, never the caller's object


def test_event_fields_come_out_as_the_walk_gives_them() -> None:
    # field_json skips the walk's layers for plain values and flat lists: same bytes as a walked copy, capped.
    for max_bytes in (64, 10_000):
        for value in FLAT_CASES:
            walked = to_jsonable([value, _Opaque()], scrubber=Scrubber(), max_string=max_bytes)[0]
            assert field_json(value, Scrubber(), max_bytes) == capped(walked, max_bytes), (value, max_bytes)
