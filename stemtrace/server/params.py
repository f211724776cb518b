"""Query parameter parsing shared by the routes: dates, relative windows, state lists.

Errors raise ``HTTPException(422)`` with a message naming the parameter.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone

from fastapi import HTTPException

from stemtrace.engine import STATES

_WITHIN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def bad(param: str, message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=f"{param}: {message}")


def parse_time(param: str, value: str | None, *, end_of_day: bool = False) -> float | None:
    """A date (``2025-01-31``) or datetime (ISO-8601; naive = UTC) as epoch seconds."""
    if value is None or value == "":
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return moment.timestamp() + (86400 - 1e-6 if end_of_day else 0)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad(param, f"{value!r} is not a date or ISO-8601 datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_within(value: str | None, param: str = "within") -> float | None:
    """``30s``, ``15m``, ``6h``, ``7d``, ``2w`` as seconds."""
    if value is None or value == "":
        return None
    match = _WITHIN.match(value)
    if not match or int(match.group(1)) == 0:
        raise bad(param, f"{value!r} is not a duration like 30s, 15m, 6h or 7d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def window(from_date: str | None, to_date: str | None, within: str | None) -> tuple[float | None, float | None]:
    """Resolve the time window parameters to ``(from_ts, to_ts)``."""
    if within and from_date:
        raise bad("within", "cannot be combined with from_date")
    start = parse_time("from_date", from_date)
    end = parse_time("to_date", to_date, end_of_day=True)
    span = parse_within(within)
    if span is not None:
        start = time.time() - span
    if start is not None and end is not None and start > end:
        raise bad("from_date", "is after to_date")
    return start, end


def parse_states(value: str | None) -> list[str] | None:
    """A comma-separated list of states in any case; an unknown one is a 422."""
    if not value:
        return None
    states = [s.strip().upper() for s in value.split(",") if s.strip()]
    unknown = [s for s in states if s not in STATES]
    if unknown:
        raise bad("state", f"unknown state(s) {', '.join(unknown)}; use {', '.join(STATES)}")
    return states


def recent(within: str) -> tuple[float, float]:
    """``(now - within, now)``."""
    span = parse_within(within)
    end = time.time()
    return end - (span or 3600), end


BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)


def bucket_seconds(value: str | None, span: float) -> int:
    """An explicit bucket (1m…7d), or the smallest standard one giving at most 120 buckets."""
    if value:
        seconds = parse_within(value, "bucket")
        if seconds is None or not 60 <= seconds <= 7 * 86400:
            raise bad("bucket", f"{value!r} must be between 1m and 7d")
        return int(seconds)
    return next((b for b in BUCKETS if span / b <= 120), BUCKETS[-1])
