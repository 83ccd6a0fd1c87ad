"""Reading the materialized views: `MaterializedViewManager` (re-exported by
`retention.rollups.materialized`). Lists of dicts, filtered on indexed columns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.db import connection, models
from django.utils.timezone import is_naive, make_aware

from retention.models import (
    DailyCarbonSummary,
    DailyEnergyByDevice,
    HourlyRoomActivity,
    RetentionRun,
    ViewState,
)
from retention.rollups.materialized import (
    ACTIVITY,
    CARBON,
    DAY,
    ENERGY,
    check_view,
    rebuild_view,
    refresh_view,
)
from retention.rollups.tables import COLUMNS
from retention.timeutil import local_date, local_day_start

ENERGY_TABLE = DailyEnergyByDevice._meta.db_table
# The cost of the days together only when every day has one, all in one currency: SUM alone
# skips the days without a cost (no price known) and adds up currencies.
ENERGY_BY_DEVICE_SQL = (
    "SELECT entity_id, SUM(total_kwh), "
    "CASE WHEN COUNT(cost) = COUNT(*) AND COUNT(DISTINCT currency) = 1 THEN SUM(cost) END, "
    "CASE WHEN COUNT(cost) = COUNT(*) AND COUNT(DISTINCT currency) = 1 THEN MIN(currency) "
    "ELSE '' END, MAX(peak_power), COUNT(date) "
    f"FROM {ENERGY_TABLE} {{where}} GROUP BY entity_id ORDER BY entity_id"
)
DAILY_ENERGY_SQL = (
    f"SELECT {', '.join(COLUMNS[ENERGY])} FROM {ENERGY_TABLE} {{where}} ORDER BY entity_id, date"
)


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return local_date(value)
    return value


def _rounded(total: float | None) -> float | None:
    return None if total is None else round(total, 9)


def _where(entity_id: str | None, start: date | None, end: date | None) -> tuple[str, list]:
    """The WHERE clause (or "") and its parameters for an entity and a range of dates."""
    conditions, bound = [], []
    for condition, value in (
        ("entity_id = %s", entity_id or None),
        ("date >= %s", _as_date(start)),
        ("date <= %s", _as_date(end)),
    ):
        if value is not None:
            conditions.append(condition)
            bound.append(value)
    return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), bound


def _select(sql: str, bound: list) -> list[tuple]:
    """Rows of one SQL statement. The energy queries are written out: on a busy machine the
    ORM's query building cost more than PostgreSQL's answer (bench.views)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, bound)
        return cursor.fetchall()


def _as_python(rows: list[tuple], columns: list[str]) -> list[tuple]:
    """PostgreSQL hands back dates, booleans and aware times; other databases (SQLite) text
    and 0/1, which the fields turn into what the ORM would give."""
    if connection.vendor == "postgresql":
        return rows
    fields = [DailyEnergyByDevice._meta.get_field(column) for column in columns]
    converted = []
    for row in rows:
        values = [field.to_python(value) for field, value in zip(fields, row, strict=True)]
        converted.append(
            tuple(make_aware(v, UTC) if isinstance(v, datetime) and is_naive(v) else v
                  for v in values)
        )  # fmt: skip
    return converted


def activity_since(start: date | datetime) -> datetime:
    """The first moment a room activity `start` filter takes (a date: its local midnight)."""
    return start if isinstance(start, datetime) else local_day_start(start)


def activity_until(end: date | datetime) -> datetime:
    """The moment a room activity `end` filter stops at (a date: that day is included)."""
    return end if isinstance(end, datetime) else local_day_start(end + DAY)


class MaterializedViewManager:
    """Read the views: lists of dicts, filtered on indexed columns.

    Daily views take `start`/`end` as local dates, both included. Hourly room activity takes
    aware datetimes (hour >= start, hour < end) or local dates (whole days, both included).
    """

    def daily_energy(
        self,
        entity_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[dict[str, Any]]:
        where, bound = _where(entity_id, start, end)
        columns = COLUMNS[ENERGY]
        rows = _as_python(_select(DAILY_ENERGY_SQL.format(where=where), bound), columns)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def energy_by_device(
        self, start: date | None = None, end: date | None = None
    ) -> list[dict[str, Any]]:
        """Per entity over the days: total kWh, cost and its currency, highest peak, days
        counted. The cost is None (currency "") when a day has none (no price known) or the
        days' currencies differ: never the sum of only some days."""
        where, bound = _where(None, start, end)
        # Sums rounded as the rows are (9 decimals): 20.357 kWh, not 20.357000000000003.
        return [
            {"entity_id": entity_id, "total_kwh": _rounded(kwh), "cost": _rounded(cost),
             "currency": currency, "peak_power": peak, "days": days}
            for entity_id, kwh, cost, currency, peak, days in _select(
                ENERGY_BY_DEVICE_SQL.format(where=where), bound
            )
        ]  # fmt: skip

    def room_activity(
        self,
        area: str | None = None,
        start: date | datetime | None = None,
        end: date | datetime | None = None,
        day_of_week: int | None = None,
    ) -> list[dict[str, Any]]:
        rows = HourlyRoomActivity.objects.all()
        if area:  # Home Assistant's area names ("Living Room"), asked in any case
            rows = rows.filter(area__iexact=area)
        if start is not None:
            rows = rows.filter(hour__gte=activity_since(start))
        if end is not None:
            rows = rows.filter(hour__lt=activity_until(end))
        if day_of_week is not None:
            rows = rows.filter(day_of_week=day_of_week)
        return list(rows.order_by("area", "hour").values(*COLUMNS[ACTIVITY]))

    def carbon(
        self,
        region: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> list[dict[str, Any]]:
        rows = DailyCarbonSummary.objects.all()
        if region:
            rows = rows.filter(region=region)
        rows = _date_range(rows, _as_date(start), _as_date(end))
        return list(rows.order_by("region", "date").values(*COLUMNS[CARBON]))

    def freshness(self, name: str) -> dict[str, Any]:
        """When the view was last refreshed and up to which time data is folded in."""
        state = ViewState.objects.filter(view=check_view(name)).first()
        return {
            "last_refreshed": state.last_refreshed if state else None,
            "watermark": state.watermark if state else None,
        }

    def refresh(
        self, name: str | None = None, *, now: datetime | None = None
    ) -> list[RetentionRun]:
        """Refresh view `name` (its run), or every view as the beat's refresh does
        (`retention.rollups.refresh.refresh_all`: Redis or InfluxDB out of reach stops it at the
        first view, whose run, the last, names the views not refreshed)."""
        from retention.rollups.refresh import refresh_all  # it builds on the views' module

        return [refresh_view(name, now=now)] if name else refresh_all(now=now)

    def rebuild(
        self,
        name: str,
        start: date,
        end: date,
        *,
        now: datetime | None = None,
        allow_fewer_points: bool = False,
    ) -> RetentionRun:
        """Rebuild the local days start..end of view `name` (its run): `rebuild_view`."""
        return rebuild_view(name, start, end, now=now, allow_fewer_points=allow_fewer_points)


def _date_range(rows: models.QuerySet, start: date | None, end: date | None) -> models.QuerySet:
    if start is not None:
        rows = rows.filter(date__gte=start)
    if end is not None:
        rows = rows.filter(date__lte=end)
    return rows
