"""How many InfluxDB queries a first hourly run makes: its reads before the first day (where
raw data starts), around each day (the newest hourly and daily row before it) and after the
days (raw points left in days already done) are one query per group of entities, so a home
of 60 entities costs what one of 12 does. The newest rows before a run's first day, and the
late-point check after every run, were two queries and one per entity (a first run of 200
entities x 7 days: 1,573 queries, 1,353 of them per entity). Counted at the gateway, against
the real InfluxDB."""

import threading
from datetime import timedelta

import pytest

from enrich.influx.gateway import TimeSeries
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.models import Entity
from retention.tiers import density
from retention.tiers import runner as tiers
from tests.retention.conftest import T0

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
