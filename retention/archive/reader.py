"""Reading the daily tier (TIER_DATABASE, retention policy DAILY_RP, measurement
entity_aggregates) for the archive: its rows as archive rows, its field types, and InfluxDB's
own counts, against which every read that the archive keeps or deletes is checked
(`read_complete_rows`), and the daily tier's own records of the rows it wrote, against which
every file is checked before it is written or its range deleted (`check_recorded`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

import pyarrow as pa
from django.conf import settings

from enrich.influx import TimeSeries, get_timeseries, quote_ident
from retention.archive import format as fmt
from retention.archive.errors import ArchiveError
from retention.models import TierChunk
from retention.schema import DAILY_RP, TIER_MEASUREMENT
from retention.timeutil import utc_date, utc_midnight

logger = logging.getLogger(__name__)

MEASUREMENT = TIER_MEASUREMENT
READ_ATTEMPTS = 3


def _source() -> str:
    return f"{quote_ident(DAILY_RP)}.{quote_ident(MEASUREMENT)}"


def daily_field_types(ts: TimeSeries | None = None) -> dict[str, pa.DataType]:
    ts = ts or get_timeseries()
    influx: dict[str, str] = {}
    for row in ts.query(settings.TIER_DATABASE, f"SHOW FIELD KEYS FROM {_source()}"):
        key = row.values["fieldKey"]
        influx[key] = ",".join(
            sorted({*influx.get(key, "").split(","), row.values["fieldType"]} - {""})
        )
    return fmt.field_types(influx)


def read_daily_rows(start: date, end: date, ts: TimeSeries | None = None) -> list[fmt.Row]:
    """Daily rows with start <= day < end, as archive rows (None fields left out)."""
    ts = ts or get_timeseries()
    query = (
        f"SELECT * FROM {_source()} WHERE time >= $start AND time < $end "
        f'GROUP BY "entity_id", "kind"'
    )
    rows = []
    params = {"start": utc_midnight(start), "end": utc_midnight(end)}
    for row in ts.query(settings.TIER_DATABASE, query, params=params):
        values = {k: v for k, v in row.values.items() if v is not None and k not in fmt.TAG_COLUMNS}
        rows.append({"time": row.time, **row.tags, **values})
    return sorted(rows, key=fmt.sort_key)


def field_counts(start: date, end: date, ts: TimeSeries) -> dict[str, int]:
    """InfluxDB's own count of values per field in start <= day < end (fields it has none of
    are left out)."""
    query = f"SELECT count(*) FROM {_source()} WHERE time >= $start AND time < $end"
    params = {"start": utc_midnight(start), "end": utc_midnight(end)}
    counts: dict[str, int] = {}
    for row in ts.query(settings.TIER_DATABASE, query, params=params):
        for name, value in row.values.items():
            if name.startswith("count_") and value:
                counts[name.removeprefix("count_")] = int(value)
    return counts


def rows_field_counts(rows: Iterable[fmt.Row]) -> dict[str, int]:
    """Values per field of rows (None not counted), as `field_counts` reports them."""
    counts: dict[str, int] = {}
    for row in rows:
        for name, value in row.items():
            if value is not None and name != "time" and name not in fmt.TAG_COLUMNS:
                counts[name] = counts.get(name, 0) + 1
    return counts


def read_complete_rows(start: date, end: date, ts: TimeSeries) -> list[fmt.Row]:
    """`read_daily_rows`, checked against InfluxDB's own per-field counts of the range.

    A row or field value that a query did not return would otherwise be missing from the
    file and then deleted with the range. On a mismatch the range is read again (up to
    READ_ATTEMPTS times); if it persists, ArchiveError: nothing of it is archived or deleted.
    """
    mismatch = ""
    for attempt in range(1, READ_ATTEMPTS + 1):
        rows = read_daily_rows(start, end, ts)
        expected, got = field_counts(start, end, ts), rows_field_counts(rows)
        if expected == got:
            _refuse_repeated(rows)
            return rows
        differ = sorted(n for n in expected.keys() | got.keys() if expected.get(n) != got.get(n))
        mismatch = ", ".join(
            f"{n}: {got.get(n, 0)} read, {expected.get(n, 0)} counted" for n in differ[:5]
        )
        logger.warning(
            "reading %s..%s of the daily tier (attempt %d of %d) returned other values than "
            "InfluxDB counts (%s)",
            start,
            end - timedelta(days=1),
            attempt,
            READ_ATTEMPTS,
            mismatch,
        )
    raise ArchiveError(
        f"InfluxDB returned other values for {start}..{end - timedelta(days=1)} than it counts "
        f"({mismatch}), {READ_ATTEMPTS} reads in a row; nothing of this range is archived or "
        "deleted. Writes may still be arriving there; otherwise restart influxd (InfluxDB 1.x "
        "can hide series until a restart) and run the archive again."
    )


def check_recorded(rows: list[fmt.Row], start: date, end: date) -> None:
    """ArchiveError when the file's rows (`rows`, start <= day <= end) hold fewer rows of a day
    than the daily tier's runs wrote there: the days whose daily chunk is "deleted", whose
    `aggregate_points` are the rows its last write took. InfluxDB 1.x has been seen hiding a
    series or a shard from queries and counts alike while still holding it; `read_complete_rows`
    asks the same InfluxDB, so only this record tells such a file from the whole. Days without
    a chunk (older than the tiers, imported) are not checked, nor are "written" or "verified"
    ones (their rows are rewritten from the chunk until it is "deleted"); more rows are fine."""
    recorded = TierChunk.objects.filter(
        tier=TierChunk.Tier.DAILY, state=TierChunk.State.DELETED, day__gte=start, day__lte=end
    ).values_list("day", "aggregate_points")
    held = Counter(utc_date(row["time"]) for row in rows)
    short = [(day, held[day], written) for day, written in recorded if held[day] < written]
    if not short:
        return
    short.sort()
    named = "; ".join(
        f"{day}: {shown} shown, {written} written" for day, shown, written in short[:5]
    )
    more = f" and {len(short) - 5} more days" if len(short) > 5 else ""
    raise ArchiveError(
        f"InfluxDB shows fewer daily rows than the daily tier's runs wrote ({named}{more}); "
        f"nothing of {start}..{end} is archived or deleted. InfluxDB 1.x can hide series or "
        "shards until a restart: restart influxd, then run the archive again. Rows deleted on "
        "purpose: set those days' aggregate_points to the rows left (the admin shows the daily "
        "tier chunks read-only: manage.py shell, TierChunk.objects.filter(...).update(...))."
    )


def _refuse_repeated(rows: list[fmt.Row]) -> None:
    """ArchiveError naming the entity-days with more than one row (under several kind tags,
    e.g. a late point folded in after the entity's kind changed, before enrich kept the row's
    kind): a file holding them is one no restore reads, so their range is not archived."""
    kinds: dict[tuple[str, date], list[str]] = {}
    for row in rows:
        kinds.setdefault((row["entity_id"], utc_date(row["time"])), []).append(row["kind"])
    repeated = [(key, found) for key, found in kinds.items() if len(found) > 1]
    if not repeated:
        return
    named = "; ".join(
        f"{entity_id} on {day} (kind {', '.join(sorted(found))})"
        for (entity_id, day), found in repeated[:5]
    )
    raise ArchiveError(
        f"the daily tier has more than one row of an entity and day: {named}"
        f"{f' and {len(repeated) - 5} more' if len(repeated) > 5 else ''}; nothing of this range "
        "is archived or deleted. Delete the row of the kind that is wrong in TIER_DATABASE "
        '(DELETE FROM "entity_aggregates" WHERE "entity_id" = \'...\' AND "kind" = \'...\' AND '
        "time = '...'), then run the archive again."
    )


def first_day_before(cutoff: date, ts: TimeSeries) -> date | None:
    query = f"SELECT first(sample_count) FROM {_source()} WHERE time < $end"
    rows = list(ts.query(settings.TIER_DATABASE, query, params={"end": utc_midnight(cutoff)}))
    return rows[0].time.date() if rows and rows[0].time else None


def last_day_before(cutoff: date, ts: TimeSeries) -> date | None:
    """The day of the daily tier's last row before `cutoff` (of any field: a row need not have
    sample_count), None when it has none."""
    query = f"SELECT * FROM {_source()} WHERE time < $end ORDER BY time DESC LIMIT 1"
    rows = list(ts.query(settings.TIER_DATABASE, query, params={"end": utc_midnight(cutoff)}))
    return rows[0].time.date() if rows and rows[0].time else None


def count_rows(start: date | None, end: date | None, ts: TimeSeries) -> int:
    """Daily rows with start <= day < end (None: unbounded)."""
    terms, params = [], {}
    if start:
        terms.append("time >= $start")
        params["start"] = utc_midnight(start)
    if end:
        terms.append("time < $end")
        params["end"] = utc_midnight(end)
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    query = f"SELECT count(sample_count) FROM {_source()}{where}"
    rows = list(ts.query(settings.TIER_DATABASE, query, params=params or None))
    return int(rows[0].values["count"]) if rows else 0


def daily_bytes(ts: TimeSeries) -> int | None:
    try:
        return ts.sizes().get((settings.TIER_DATABASE, DAILY_RP))
    except Exception as exc:  # sizes are a figure for the log, never a reason to stop
        logger.warning("cannot measure the daily tier's size: %s", exc)
        return None
