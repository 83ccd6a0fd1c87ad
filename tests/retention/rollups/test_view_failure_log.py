"""What the worker's log says when a refresh of the views fails for a reason a person fixes (Home
Assistant's database missing, InfluxDB out of reach): a 40-line Python traceback ending in
"InfluxQueryError: ... database not found", on a fresh `make run` whose HA_INFLUXDB_DATABASE did
not exist yet. It is one line naming the view and the error; a bug keeps its traceback."""

import logging

import pytest

from enrich.influx import get_timeseries
from retention.models import RetentionRun
from retention.rollups import materialized
from retention.rollups.tasks import refresh_views
from tests.support.views_follow import DAY

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PUMP = "sensor.pump_power"


def view_logs(caplog) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == materialized.__name__ and r.levelno >= logging.ERROR
    ]


def test_a_missing_ha_database_is_one_line_without_a_traceback(ha_db, enrich_db, caplog):
    ha_db.saved_entity("official", PUMP, [(DAY, 500)], unit="W")
    get_timeseries().drop_database(ha_db.name)  # as a fresh install's, not created yet
    refresh_views.apply().get()
    [run] = RetentionRun.objects.all()
    assert run.status == "failed" and "database not found" in run.errors, run.errors
    [record] = view_logs(caplog)
    assert record.exc_info is None, record.exc_info
    message = record.getMessage()
    assert message.startswith("view daily_energy_by_device incremental failed: InfluxDB rejected "
                              f"the query on database '{ha_db.name}': database not found"), message  # fmt: skip


def test_a_bug_keeps_its_traceback(ha_db, enrich_db, caplog, monkeypatch):
    ha_db.saved_entity("official", PUMP, [(DAY, 500)], unit="W")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(materialized, "_compute", broken)
    refresh_views.apply().get()
    records = view_logs(caplog)  # each view fails on its own
    assert [r.exc_info[0] if r.exc_info else None for r in records] == [ZeroDivisionError] * 3
