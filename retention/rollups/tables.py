"""The materialized views' tables: their names, models, unique keys and columns, and writing
their rows (`upsert`). `retention.rollups.materialized` computes them."""

from __future__ import annotations

from django.db import models, transaction

from retention.models import DailyCarbonSummary, DailyEnergyByDevice, HourlyRoomActivity

ENERGY = "daily_energy_by_device"
ACTIVITY = "hourly_room_activity"
CARBON = "daily_carbon_summary"
VIEWS: dict[str, type[models.Model]] = {
    ENERGY: DailyEnergyByDevice,
    ACTIVITY: HourlyRoomActivity,
    CARBON: DailyCarbonSummary,
}
KEYS = {ENERGY: ["entity_id", "date"], ACTIVITY: ["area", "hour"], CARBON: ["date", "region"]}
COLUMNS = {
    ENERGY: ["entity_id", "date", "total_kwh", "avg_power", "peak_power", "cost", "currency",
             "cost_source", "partial", "source_points", "refreshed"],
    ACTIVITY: ["area", "hour", "day_of_week", "motion_count", "occupancy_rate", "partial",
               "source_points", "refreshed"],
    CARBON: ["date", "region", "avg_carbon", "min_carbon", "max_carbon", "avg_renewable",
             "partial", "source_points", "refreshed"],
}  # fmt: skip


class UnknownView(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"There is no view {name!r}; the views are: {', '.join(VIEWS)}.")


def check_view(name: str) -> str:
    if name not in VIEWS:
        raise UnknownView(name)
    return name


def upsert(name: str, rows: list[models.Model], stale: list[int] = ()) -> int:
    """Write the rows of view `name` (and delete the `stale` ones, by id) in one transaction."""
    model = VIEWS[name]
    keys = KEYS[name]
    update = [c for c in COLUMNS[name] if c not in keys]  # "refreshed" is auto_now
    with transaction.atomic():
        for index in range(0, len(stale), 1000):
            model.objects.filter(pk__in=stale[index : index + 1000]).delete()
        model.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=keys, update_fields=update
        )
    return len(rows)
