"""A reading: one point of a time series, and its InfluxDB line-protocol form.

Collectors return readings, the demo home generates them, retention writes aggregates as
readings; `enrich.influx` writes them. Timestamps are the data's own time (timezone-aware),
never the time of the task, so writing the same reading twice overwrites instead of duplicating.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

FieldValue = float | int | bool | str
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# InfluxDB keeps integer fields and times as signed 64-bit integers; times are ns since 1970
# (1677-09-21 .. 2262-04-11), the lowest two and the highest value held back.
INT64 = (-(2**63), 2**63 - 1)
TIME_NS = (INT64[0] + 2, INT64[1] - 1)


@dataclass(frozen=True)
class Reading:
    measurement: str
    fields: Mapping[str, FieldValue]
    time: datetime
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.measurement:
            raise ValueError("a reading needs a measurement name")
        if self.time.tzinfo is None:
            raise ValueError(f"{self.measurement}: reading time {self.time!r} has no timezone")
        if not self.fields:
            raise ValueError(f"{self.measurement} at {self.time.isoformat()}: no fields")

    @property
    def time_ns(self) -> int:
        return (self.time - EPOCH) // timedelta(microseconds=1) * 1000

    def to_line(self) -> str:
        """The line-protocol line; a ValueError names a value the protocol cannot carry."""
        tags = "".join(
            f",{_escape_key(k)}={_escape_key(_tag_value(self.measurement, k, str(v)))}"
            for k, v in sorted(self.tags.items())
            if v is not None and str(v) != ""  # InfluxDB rejects empty tag values
        )
        fields = ",".join(
            f"{_field_key(self.measurement, k)}={_field_value(self.measurement, k, v)}"
            for k, v in sorted(self.fields.items())
        )
        ns = self.time_ns
        if not TIME_NS[0] <= ns <= TIME_NS[1]:
            raise ValueError(
                f"{self.measurement}: the time {self.time.isoformat()} is outside the times "
                "InfluxDB can store (1677-09-21 to 2262-04-11)"
            )
        return f"{_escape_measurement(self.measurement)}{tags} {fields} {ns}"


# A backslash InfluxDB would read as escaping what follows it: the end, a comma, "=" or a space.
_STUCK_BACKSLASH = re.compile(r"\\($|[, =])")


def tag_problem(value: str) -> str:
    """What keeps line protocol from carrying `value` as a tag ("" when nothing does)."""
    if "\n" in value or "\r" in value:
        return "a line break"
    if _STUCK_BACKSLASH.search(value):
        return "a backslash at its end or before a comma, '=' or a space"
    return ""


def unwritable_tag(reading: Reading) -> str:
    """The first tag of `reading` line protocol cannot carry, with why ("" when none)."""
    for key, value in sorted(reading.tags.items()):
        if value is not None and (why := tag_problem(str(value))):
            return f"{key}={str(value)!r} ({why})"
    return ""


def _tag_value(measurement: str, key: str, value: str) -> str:
    """`value`, unless line protocol cannot carry it as a tag: a line break ends the line, and
    InfluxDB unescapes only "\\," "\\=" and "\\ " (any other backslash is kept as written), so
    a backslash at the end or before a comma, "=" or a space cannot be written."""
    why = tag_problem(value)
    if not why:
        return value
    raise ValueError(
        f"{measurement}: the tag {key}={value!r} cannot be written to InfluxDB: a tag cannot "
        f"hold {why}. Rename it where it is set (a site, device, circuit or person name)."
    )


def _escape_measurement(name: str) -> str:
    return name.replace(",", "\\,").replace(" ", "\\ ")  # a backslash as written (_escape_key)


@lru_cache(maxsize=4096)  # field and tag names, tag values: few, and met on every line
def _escape_key(key: str) -> str:
    """A tag key or value (a field name: `_field_key`). InfluxDB (1.x and 2.x) unescapes only
    "\\," "\\=" and "\\ ": a backslash is written as it is (doubled, it would be stored doubled)."""
    return key.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


# In a field name InfluxDB reads a backslash as escaping the character after it, so an odd run
# of them before a comma, "=" or a space leaves that character unescaped.
_ODD_BACKSLASHES = re.compile(r"(?<!\\)\\(?:\\\\)*[, =]")


@lru_cache(maxsize=4096)
def field_problem(key: str) -> str:
    """What keeps line protocol from carrying `key` as a field name ("" when nothing does)."""
    if "\n" in key or "\r" in key:
        return "a line break"
    if key.endswith("\\"):  # read as escaping the "=" after the name
        return "a backslash at its end"
    if _ODD_BACKSLASHES.search(key):
        return "an odd number of backslashes before a comma, '=' or a space"
    return ""


@lru_cache(maxsize=4096)
def _field_key(measurement: str, key: str) -> str:
    """A field name, escaped as InfluxDB unescapes one: ",", "=", " " and also '"' (a
    backslash kept as written); a ValueError names one line protocol cannot carry."""
    if why := field_problem(key):
        raise ValueError(
            f"{measurement}: the field {key!r} cannot be written to InfluxDB: a field name "
            f"cannot hold {why}."
        )
    return _escape_key(key).replace('"', '\\"')


def _field_value(measurement: str, key: str, value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError(f"{measurement}.{key}: {value} is past InfluxDB's 64-bit integers")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{measurement}.{key}: {value} cannot be stored in InfluxDB")
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"{measurement}.{key}: unsupported field type {type(value).__name__}")
