"""The hourly -> daily run composes only the days whose raw -> hourly step is done. With the
hourly step behind (a first install working through months of Home Assistant's history while
the daily run starts, nightly hourly runs failing, a run by hand with --end), the daily run
composed the days not done yet from no hourly row and marked them done: the hourly rows the
hourly run wrote for them afterwards stayed in enrich_hourly, never composed (lost once its
policy drops them), and those days had no daily row."""

from datetime import timedelta

import pytest

from retention.models import TierChunk
from retention.tiers import runner as tiers
from retention.tiers.aggregate import compose
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
D0 = T0.date()
ENTITY = "sensor.heat_pump_power"
NOW = T0 + 6 * DAY + 3 * HOUR  # horizons: raw -> hourly D0 + 5 days, hourly -> daily D0 + 4


def ok(run):
    assert run.status in ("ok", "dry_run"), (run.status, run.errors)
    return run


def hourly_rows(start, end) -> list:
    return read_rows(HOURLY_RP, start, end, ENTITY).get(ENTITY, [])


def test_daily_run_waits_for_the_days_the_hourly_run_has_not_done(ha_db, settings):
    settings.RETENTION_RAW_DAYS, settings.RETENTION_HOURLY_DAYS = 1, 2
    settings.RETENTION_LATE_MARGIN_HOURS = 2
    # A new power value every 3 hours over 5 days (D0 .. D0 + 4).
    points = [(n * 10800, 100 + 7 * (n % 5)) for n in range(5 * 8)]
    ha_db.saved_entity("official", ENTITY, points, unit="W")
    ok(tiers.downsample_hourly(None, D0 + 2 * DAY, now=NOW))  # behind: D0 and D0 + 1 done
    waits = (
        f"days from {D0 + 2 * DAY} wait for the raw -> hourly run, which has not done "
        f"{D0 + 2 * DAY} yet (not started): a later run composes them once it has, so no hourly "
        "row is left behind"
    )

    dry = ok(tiers.downsample_daily(None, None, now=NOW, dry_run=True)).details
    assert [d["day"] for d in dry["days"]] == [str(D0), str(D0 + DAY)]
    assert dry["waiting"] == [waits] and "nothing_due" not in dry
    first = ok(tiers.downsample_daily(None, None, now=NOW))
    assert first.details["days"] == [str(D0), str(D0 + DAY)]
    assert first.details["waiting"] == [waits] and "note" not in first.details
    assert waits in tiers.summary(first)
    assert not TierChunk.objects.filter(tier="daily", day__gte=D0 + 2 * DAY).exists()

    ok(tiers.downsample_hourly(None, None, now=NOW))  # the hourly run catches up
    behind = {day: hourly_rows(T0 + day * DAY, T0 + (day + 1) * DAY) for day in (2, 3)}
    assert [len(rows) for rows in behind.values()] == [24, 24]
    second = ok(tiers.downsample_daily(None, None, now=NOW))

    assert second.details["days"] == [str(D0 + 2 * DAY), str(D0 + 3 * DAY)]
    assert second.details["waiting"] == [] and second.records_processed == 48
    assert hourly_rows(T0, T0 + 4 * DAY) == []  # every hourly row composed, none stranded
    daily = {row.start: row for row in read_rows(DAILY_RP, T0, T0 + 4 * DAY)[ENTITY]}
    assert sorted(daily) == [T0 + n * DAY for n in range(4)]
    for day, rows in behind.items():
        start = T0 + day * DAY
        expected = compose("power", [row.aggregate(HOUR) for row in rows], start, start + DAY)
        got = {k: v for k, v in daily[start].fields.items() if not is_own_field(k)}
        assert got == pytest.approx(expected.to_fields())
        assert got["sample_count"] == 8 and got["coverage_seconds"] == 86400
