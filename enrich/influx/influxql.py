"""Building InfluxQL: names and strings quoted, durations read and written, times as exact
nanoseconds, values bound as `$name` parameters instead of formatted into the text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from enrich.readings import EPOCH


def quote_ident(name: str) -> str:
    """An InfluxQL identifier (database, measurement, tag or field key) in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- Durations ---------------------------------------------------------------------------
_DURATION_PART = re.compile(r"(\d+)(ns|u|µ|ms|s|m|h|d|w)")
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+")
_UNIT_SECONDS = {"ns": 1e-9, "u": 1e-6, "µ": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                 "d": 86400, "w": 604800}  # fmt: skip


def duration_seconds(duration: str) -> int | None:
    """Seconds of an InfluxQL duration ("7d", "1h30m", "168h0m0s"); None for infinite."""
    if duration.upper() == "INF":
        return None
    if not _DURATION.fullmatch(duration):
        raise ValueError(
            f"{duration!r} is not a retention duration; use e.g. '7d', '12h', '52w' or 'INF'"
        )
    total = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(duration))
    if total == 0:
        return None  # InfluxDB reports an infinite duration as "0s"
    if total < 1:
        raise ValueError(f"retention duration {duration!r} is shorter than a second")
    return int(total)


def format_duration(seconds: int | None) -> str:
    """The shortest InfluxQL literal for whole seconds: 604800 -> '7d', None -> 'INF'."""
    if not seconds:
        return "INF"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- Times -------------------------------------------------------------------------------
def to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass an aware datetime (UTC)")
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


def rfc3339_ns(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def delete_window(start: datetime, end: datetime) -> tuple[int, int]:
    """(start, end) of a delete in ns; ValueError when the window is empty."""
    start_ns, end_ns = to_ns(start), to_ns(end)
    if end_ns <= start_ns:
        raise ValueError(f"delete window is empty: end {end} is not after start {start}")
    return start_ns, end_ns


# --- Statements --------------------------------------------------------------------------
def query_form(influxql: str, params: Mapping[str, Any] | None) -> dict[str, str]:
    """The form a POST /query sends: the statement, and its `$name` parameters as JSON
    (datetimes as exact ns)."""
    form: dict[str, str] = {"q": influxql}
    if params:
        bound = {k: to_ns(v) if isinstance(v, datetime) else v for k, v in params.items()}
        form["params"] = json.dumps(bound)
    return form
