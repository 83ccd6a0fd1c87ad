"""Part of the InfluxDB door (`enrich.influx`): bulk reads as CSV and batched deletes.

The JSON answer of /query costs more to produce and to parse than the points are worth when
millions of them are read: InfluxDB 1.x streams `Accept: application/csv` about three times
as fast, and Python's C csv reader parses it without building a dict per series chunk. CSV
has no types: every cell is text, and an empty cell is both "no such field" and the empty
string. Callers that need types pass what `TimeSeries.field_keys` reports; callers for which
"" matters check for it (see `retention.tiers.reads`).

- `csv_fetch(ts, database, influxql, params)`: the whole answer as bytes (a reader thread
  only waits on the network); `csv_parse(data)`: its rows as (header, cells), `header` being
  the column names (`name`, `tags`, `time`, then the fields and ungrouped tags) of the
  statement result the row belongs to;
- `csv_read_bound(...)`: read a query's CSV answer and count its lines and bytes, with no
  processing (what the hardware allows; bench.downsample reports against it);
- `parse_tags("domain=sensor,entity_id=a")` -> {"domain": "sensor", "entity_id": "a"};
- `delete_series(ts, database, start, end, measurements, tag_sets, retention_policy)`: the
  points of several tag sets of several measurements in one statement on 1.x (a regex of
  the measurements, OR of the tag sets), one DeleteApi call per measurement and set on 2.x;
  the same cross-policy safety as `TimeSeries.delete`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests

from enrich.influx.errors import InfluxQueryError, InfluxUnavailable
from enrich.influx.gateway import TimeSeries
from enrich.influx.influxql import delete_window, quote_ident, quote_literal
from enrich.influx.v1 import Influx1

READ_BUFFER = 1 << 18
SPECIAL = frozenset("\\.^$|?*+()[]{}/-")


def _post(ts: TimeSeries, database: str | None, influxql: str, params: Mapping[str, Any] | None,
          chunk_size: int) -> requests.Response:  # fmt: skip
    headers = {"Accept": "application/csv", "Accept-Encoding": "identity"}
    try:
        return ts._post_query(database, influxql, params, chunk_size, headers=headers)
    except InfluxQueryError as exc:
        if not exc.server_message.startswith("error\n"):
            raise
        # The CSV form of an error: a header line "error", then the message in quotes.
        message = exc.server_message.removeprefix("error\n").strip().strip('"')
        raise InfluxQueryError(message, influxql, database) from None


def _unavailable(ts: TimeSeries, exc: Exception) -> InfluxUnavailable:
    return InfluxUnavailable(
        f"Cannot read a query result from InfluxDB at {ts.url}: {type(exc).__name__}: {exc}. "
        "Check INFLUXDB_URL and that influxd is running."
    )


def csv_fetch(ts: TimeSeries, database: str, influxql: str,
              params: Mapping[str, Any] | None = None) -> bytes:  # fmt: skip
    """The query's whole CSV answer (for a reader thread: it only waits on the network).
    Values go in as `$name` placeholders, as with `TimeSeries.query`."""
    response = _post(ts, database, influxql, params, 10000)
    try:
        return b"".join(response.iter_content(chunk_size=READ_BUFFER))
    except requests.RequestException as exc:
        raise _unavailable(ts, exc) from exc
    finally:
        response.close()


def csv_parse(data: bytes, influxql: str = "", database: str | None = None
              ) -> Iterator[tuple[list[str], list[str]]]:  # fmt: skip
    """The rows of a CSV answer as (header, cells); see the module docstring. An error
    reported in the answer raises InfluxQueryError."""
    header: list[str] | None = None
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    for cells in reader:
        if not cells:
            header = None  # a blank line ends one statement's result
        elif header is None:
            if cells[0] == "error":
                message = next(reader, ["unknown error"])[0]
                raise InfluxQueryError(message, influxql, database)
            header = cells
        else:
            yield header, cells


def csv_read_bound(ts: TimeSeries, database: str, influxql: str,
                   params: Mapping[str, Any] | None = None) -> tuple[int, int]:  # fmt: skip
    """(lines, bytes) of the query's CSV answer, read to the end and not parsed."""
    response = _post(ts, database, influxql, params, 10000)
    lines = size = 0
    try:
        for block in response.iter_content(chunk_size=READ_BUFFER):
            lines += block.count(b"\n")
            size += len(block)
    except requests.RequestException as exc:
        raise _unavailable(ts, exc) from exc
    finally:
        response.close()
    return lines, size


def parse_tags(cell: str) -> dict[str, str]:
    """The `tags` cell of a grouped result as a dict (tag values of Home Assistant have no
    ',' or '='; a cell that does not split cleanly raises ValueError)."""
    if not cell:
        return {}
    tags = {}
    for part in cell.split(","):
        key, sep, value = part.partition("=")
        if not sep or "=" in value:
            raise ValueError(f"tags cell {cell!r} cannot be split unambiguously")
        tags[key] = value
    return tags


def _source(measurements: Sequence[str]) -> str:
    if len(measurements) == 1:
        return quote_ident(measurements[0])
    escaped = ("".join(f"\\{c}" if c in SPECIAL else c for c in m) for m in measurements)
    return "/^(?:" + "|".join(escaped) + ")$/"


def delete_series(ts: TimeSeries, database: str, start: datetime, end: datetime,
                  measurements: Sequence[str], tag_sets: Sequence[Mapping[str, str]],
                  retention_policy: str | None = None) -> int:  # fmt: skip
    """Delete the points with start <= time < end of `measurements` whose tags equal one
    of `tag_sets` (each set: AND of its tags) -- of every measurement with every tag set,
    so the caller makes sure no other series matches. Returns the statements sent. With
    `retention_policy` on 1.x: nothing is deleted (UnsafeDelete) when another retention
    policy holds a point the statement would also remove, as `TimeSeries.delete` does."""
    if not tag_sets:
        return 0
    if not isinstance(ts, Influx1):
        for measurement in measurements:
            for tags in tag_sets:
                ts.delete(database, start, end, measurement, tags, retention_policy)
        return len(tag_sets) * len(measurements)
    start_ns, end_ns = delete_window(start, end)
    alternatives = " OR ".join(
        "("
        + " AND ".join(f"{quote_ident(k)} = {quote_literal(v)}" for k, v in sorted(t.items()))
        + ")"
        for t in tag_sets
    )
    where = f"time >= {start_ns} AND time < {end_ns} AND ({alternatives})"
    source = _source(measurements)
    if retention_policy:
        ts._refuse_cross_policy_delete(database, retention_policy, source, where)
    ts.execute_delete(database, f"DELETE FROM {source} WHERE {where}")
    return 1


def supports_csv(ts: TimeSeries) -> bool:
    """Whether the bulk CSV reads are used with this gateway (1.x; 2.x's v1 API is read as
    JSON, one entity at a time)."""
    return isinstance(ts, Influx1)
