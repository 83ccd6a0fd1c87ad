"""How far back an incremental refresh of a view reaches (`retention.rollups.materialized`).

From the previous refresh's watermark less VIEW_LATE_MARGIN_HOURS, so late points within the
margin are folded in; daily_carbon_summary 24 hours at least (Electricity Maps and UK Carbon
Intensity backfill the last day after an outage). And further back still when a collector
has written the prices (daily_energy_by_device's cost) or the carbon points
(daily_carbon_summary) of an earlier time since the last refresh: a backfill after an
outage, prices published late. Every fetch's write is noted (`enrich.written`), so the
refresh reaches back to the earliest point of them written, as far as that is, and no further.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from enrich.written import Note, written_since
from retention.models import DailyCarbonSummary, DailyEnergyByDevice
from retention.rollups.inputs import CARBON_MEASUREMENT
from retention.rollups.prices import PRICE_MEASUREMENT

CARBON_BACKFILL = timedelta(hours=24)  # Electricity Maps', UK Carbon Intensity's history
# The collectors' measurements a view reads, by the view's name (its table).
LATE_INPUTS = {
    DailyEnergyByDevice._meta.db_table: PRICE_MEASUREMENT,
    DailyCarbonSummary._meta.db_table: CARBON_MEASUREMENT,
}


def refresh_start(name: str, watermark: datetime | None) -> tuple[datetime | None, Note | None]:
    """(where the refresh of view `name` starts, None: at the oldest data; the note of its
    inputs written since the last refresh, for the refresh to forget once its rows are
    stored). Read before the refresh reads any data."""
    margin = timedelta(hours=settings.VIEW_LATE_MARGIN_HOURS)
    if name == DailyCarbonSummary._meta.db_table:
        margin = max(margin, CARBON_BACKFILL)
    late = written_since(LATE_INPUTS[name]) if name in LATE_INPUTS else None
    if watermark is None:
        return None, late
    start = watermark - margin
    return (min(start, late.earliest) if late is not None else start), late
