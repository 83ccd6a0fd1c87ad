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
from retention.tiers.chunks import set_chunk
from retention.tiers.rows import DAILY_RP, HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
D0 = T0.date()
ENTITY = "sensor.heat_pump_power"
NOW = T0 + 6 * DAY + 3 * HOUR


def ok(run):
    assert run.status in ("ok", "dry_run"), (run.status, run.errors)
    return run


def hourly_rows(start, end) -> list:
    return read_rows(HOURLY_RP, start, end, ENTITY).get(ENTITY, [])


@pytest.fixture
def power(ha_db, settings):
    """Horizons at NOW: raw -> hourly D0 + 5 days, hourly -> daily D0 + 4; a new power value
    every 3 hours over 5 days (D0 .. D0 + 4)."""
    settings.RETENTION_RAW_DAYS, settings.RETENTION_HOURLY_DAYS = 1, 2
    settings.RETENTION_LATE_MARGIN_HOURS = 2
    points = [(n * 10800, 100 + 7 * (n % 5)) for n in range(5 * 8)]
    return ha_db.saved_entity("official", ENTITY, points, unit="W")


def assert_composed_in_order(behind: dict[int, list]) -> None:
    """No hourly row left before D0 + 4, a daily row for each day, and the rows of the days
    `behind` (day number -> their hourly rows) what composing those hours gives."""
    assert hourly_rows(T0, T0 + 4 * DAY) == []  # every hourly row composed, none stranded
    daily = {row.start: row for row in read_rows(DAILY_RP, T0, T0 + 4 * DAY)[ENTITY]}
    assert sorted(daily) == [T0 + n * DAY for n in range(4)]
    for day, rows in behind.items():
        start = T0 + day * DAY
        expected = compose("power", [row.aggregate(HOUR) for row in rows], start, start + DAY)
        got = {k: v for k, v in daily[start].fields.items() if not is_own_field(k)}
        assert got == pytest.approx(expected.to_fields())
        assert got["sample_count"] == 8 and got["coverage_seconds"] == 86400


def test_daily_run_waits_for_the_days_the_hourly_run_has_not_done(power):
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
    assert_composed_in_order(behind)


def test_days_marked_done_with_nothing_composed_are_composed_once_their_rows_come(power):
    """An install where a daily run took the days before the hourly run had done them: their
    chunks say "deleted" with no entity, and the hourly rows written later sat in
    enrich_hourly; the next runs said every day was done."""
    ok(tiers.downsample_hourly(None, D0 + 2 * DAY, now=NOW))
    ok(tiers.downsample_daily(None, None, now=NOW))  # D0 and D0 + 1
    for day in (D0 + 2 * DAY, D0 + 3 * DAY):  # as such a run left them
        set_chunk("daily", day, TierChunk.State.DELETED, entities=0, aggregate_points=0)
    ok(tiers.downsample_hourly(None, None, now=NOW))
    behind = {day: hourly_rows(T0 + day * DAY, T0 + (day + 1) * DAY) for day in (2, 3)}

    dry = ok(tiers.downsample_daily(None, None, now=NOW, dry_run=True)).details
    assert [(d["day"], d["hourly_rows"]) for d in dry["days"]] == [
        (str(D0 + 2 * DAY), 24),
        (str(D0 + 3 * DAY), 24),
    ]
    run = ok(tiers.downsample_daily(None, None, now=NOW))

    assert run.details["days"] == [str(D0 + 2 * DAY), str(D0 + 3 * DAY)]
    assert run.records_processed == run.records_deleted == 48
    assert_composed_in_order(behind)
    assert TierChunk.objects.get(tier="daily", day=D0 + 2 * DAY).entities == 1
    again = ok(tiers.downsample_daily(None, None, now=NOW))  # done, not composed again
    assert again.details["days"] == [] and again.details["note"].startswith("no day was due")
