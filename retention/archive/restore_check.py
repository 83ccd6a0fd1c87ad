"""A restore's rows read back from InfluxDB before it says they are restored.

Debian's InfluxDB 1.6 has been seen answering a write with 204 and then showing none of the
points of a shard group created by it (docs/storage.md, "InfluxDB 1.6 caveat"): a restore
counting the rows it sent would report days it did not put back. So the rows written are read
back, a month at a time and only their keys (entity, kind, time) kept; those InfluxDB does not
show are written again, twice at the most (a point written twice overwrites itself), and a
restore they stay missing from fails, saying how many and what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import pyarrow as pa

from enrich.influx import TimeSeries, quote_ident
from retention.archive.errors import ArchiveError
from retention.archive.reader import MEASUREMENT

WRITES_AGAIN = 2
SPAN = timedelta(days=31)  # the rows read back at a time

Key = tuple[str, str, datetime]


def keys(table: pa.Table) -> list[Key]:
    """The (entity_id, kind, time) of every row of `table`, in its order."""
    columns = (table.column(name).to_pylist() for name in ("entity_id", "kind", "time"))
    return list(zip(*columns, strict=True))


def shown(ts: TimeSeries, database: str, start: datetime, end: datetime) -> set[Key]:
    """The keys of the `entity_aggregates` rows `database` shows from start to end (inclusive)."""
    query = (
        f"SELECT * FROM {quote_ident(MEASUREMENT)} WHERE time >= $start AND time < $end "
        'GROUP BY "entity_id", "kind"'
    )
    found: set[Key] = set()
    moment = start
    while moment <= end:
        params = {"start": moment, "end": min(moment + SPAN, end + timedelta(microseconds=1))}
        with ts.query(database, query, params=params) as rows:
            found.update((r.tags.get("entity_id"), r.tags.get("kind"), r.time) for r in rows)
        moment += SPAN
    return found


def missing(ts: TimeSeries, database: str, table: pa.Table) -> pa.Table:
    """The rows of `table` that `database` does not show."""
    if not table.num_rows:
        return table
    wanted = keys(table)
    found = shown(ts, database, min(k[2] for k in wanted), max(k[2] for k in wanted))
    return table.filter(pa.array([key not in found for key in wanted]))


def make_sure_shown(
    ts: TimeSeries,
    database: str,
    table: pa.Table,
    written: int,
    readings: Callable[[pa.Table], Iterable],
) -> None:
    """Write again the rows of `table` InfluxDB does not show (as `readings` makes them), up to
    WRITES_AGAIN times; ArchiveError when some still are not shown."""
    left = missing(ts, database, table)
    for _ in range(WRITES_AGAIN):
        if not left.num_rows:
            return
        ts.write(database, readings(left))
        left = missing(ts, database, left)
    if left.num_rows:
        first = min(key[2] for key in keys(left))
        raise ArchiveError(
            f"InfluxDB accepted the {written:,} rows restored into {database!r} but does not "
            f"show {left.num_rows:,} of them (from {first:%Y-%m-%d}) after they were written "
            f"{WRITES_AGAIN} times more; restart influxd and restore the range again (rows "
            "written twice overwrite themselves)."
        )
