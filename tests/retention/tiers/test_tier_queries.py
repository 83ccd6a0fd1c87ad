"""How many InfluxDB queries a first hourly run makes: its reads before the first day (where
raw data starts), around each day (the newest hourly and daily row before it) and after the
days (raw points left in days already done) are one query per group of entities, so a home
of 60 entities costs what one of 12 does. The newest rows before a run's first day, and the
late-point check after every run, were two queries and one per entity (a first run of 200
entities x 7 days: 1,573 queries, 1,353 of them per entity). So are the late points of whole
days (history imported into days done): they were folded entity by entity and hour by hour
(2 days of 200 entities: 15,143 queries). Counted at the gateway, against the real
InfluxDB."""

import threading
from datetime import timedelta
from typing import NamedTuple

import pytest

from enrich.influx.gateway import TimeSeries
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.models import Entity, RetentionRun, TierChunk
from retention.tiers import density
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0, HaDatabase
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
DAYS = 3
# The same for any home up to a group (retention.tiers.reads.GROUP_SIZE) of entities.
MOST_QUERIES = 100


@pytest.fixture
def queries(monkeypatch) -> list[str]:
    """The InfluxQL of each query sent to InfluxDB (every thread), through the real door."""
    sent: list[str] = []
    lock = threading.Lock()
    request = TimeSeries._request

    def counted(ts, method, path, doing, **kwargs):
        if path == "/query":
            with lock:
                sent.append(str((kwargs.get("data") or {}).get("q", "")))
        return request(ts, method, path, doing, **kwargs)

    monkeypatch.setattr(TimeSeries, "_request", counted)
    return sent


@pytest.mark.parametrize("size", [12, 60])
def test_a_first_run_queries_influxdb_per_group_of_entities(ha_db, queries, size):
    readings = ha_db.write_demo_home("official", days=DAYS, entities=size, end=T0 + DAYS * DAY)
    discover()
    entities = list(Entity.objects.filter(tiered=True))
    assert len(entities) == size
    # Measured as `discover_entities` does: the sparse ones keep their raw states on quiet
    # days, so the days after those look for a daily row too.
    measured = density.measure(entities, now=T0 + DAYS * DAY, days=DAYS)
    assert any(per_day < 24 for per_day in measured.values())
    queries.clear()

    run = tiers.downsample_hourly(now=T0 + (DAYS + 9) * DAY)  # the beat's run: no days given
    sent = list(queries)

    assert run.status == "ok", run.errors
    assert run.records_processed == run.records_deleted == len(readings) - kept_raw(entities)
    assert len(sent) <= MOST_QUERIES, "\n".join(sent)


def kept_raw(entities) -> int:
    """The raw states the run kept (sparse entities' quiet days, named in the day's chunk)."""
    return sum(count_samples(e, T0, T0 + DAYS * DAY) for e in entities)


# --- late points of whole days --------------------------------------------------------------
LATE_DAYS = 2
# Late points in whole days of a home up to a group of entities, read, folded, verified and
# deleted a day and a group at a time, with the run around them (entity by entity and hour by
# hour, this home's run sent some 1,000).
MOST_LATE_QUERIES = 60


class LateRun(NamedTuple):
    run: RetentionRun
    queries: int
    rows: dict[str, list[tuple]]  # entity id -> (start, kind, fields) of its hourly rows


def late_days(ha: HaDatabase, layout: str, queries: list[str]) -> LateRun:
    """A home of 12 entities x 3 days taken through the hourly tier, then the history of its
    first LATE_DAYS days written again with other readings (a backlog pushed, an import),
    beside the points of an entity the tiers do not hold, in the same measurement; one run."""
    ha.write_demo_home(layout, days=3, entities=12, end=T0 + 3 * DAY)
    discover(layout=layout)
    assert tiers.downsample_hourly(now=T0 + 12 * DAY).status == "ok"
    ha.write_demo_home(layout, days=LATE_DAYS, entities=12, end=T0 + LATE_DAYS * DAY, seed=7)
    neighbour = ha.write_entity(
        layout, "sensor.neighbour_power", [(600, 40), (DAY.total_seconds() + 600, 60)], unit="W"
    )
    entities = list(Entity.objects.filter(tiered=True))
    late = sum(count_samples(e, T0, T0 + LATE_DAYS * DAY) for e in entities)
    queries.clear()

    run = tiers.downsample_hourly(now=T0 + 12 * DAY)

    sent = len(queries)
    assert run.status == "ok", run.errors
    assert run.details["late_points"] == run.records_deleted == late > 1000
    assert sum(count_samples(e, T0, T0 + 3 * DAY) for e in entities) == 0
    assert count_samples(neighbour, T0, T0 + 3 * DAY) == 2  # not one more point deleted
    assert read_rows(DAILY_RP, T0, T0 + 3 * DAY) == {}
    rows = read_rows(HOURLY_RP, T0, T0 + 3 * DAY)
    return LateRun(run, sent, {
        entity_id: [(row.start, row.kind, row.fields) for row in found]
        for entity_id, found in rows.items()
    })  # fmt: skip


def test_late_days_are_folded_per_group_of_entities_into_the_rows_entity_by_entity_gives(
    ha_db, queries, settings
):
    batched = late_days(ha_db, "official", queries)
    assert batched.queries <= MOST_LATE_QUERIES
    # The HA Ingestor layout's late points are folded entity by entity: the same home there
    # gets the same rows, field by field.
    for model in (Entity, TierChunk, RetentionRun):
        model.objects.all().delete()
    with fresh_database("ha") as name:
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = name
        one_by_one = late_days(HaDatabase(name), "ingestor", queries)
    assert one_by_one.queries > 10 * batched.queries
    assert len(batched.rows) == 12
    assert batched.rows == one_by_one.rows
