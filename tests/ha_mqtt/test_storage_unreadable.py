"""The storage entities Home Assistant is sent while InfluxDB is out of reach (a port nothing
listens on): why the sizes are unknown, and the last retention run's errors, in words without
InfluxDB's address, which the server log and the run's record keep."""

import logging
from datetime import UTC, datetime

import pytest

from collectors.ha_mqtt.storage import storage_states
from enrich import influx
from enrich.influx import InfluxUnavailable
from retention.models import RetentionRun
from retention.stats.measure import measure_tiers
from tests.support.ports import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def influx_gone(settings):
    address = f"127.0.0.1:{free_port()}"
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = f"http://{address}", 1.0
    influx.reset_timeseries()
    yield address
    influx.reset_timeseries()


def test_sizes_and_the_last_run_reach_home_assistant_without_influxdb_s_address(
    influx_gone, caplog
):
    # Was "InfluxDB's sizes could not be read: Cannot reach InfluxDB at http://127.0.0.1:…".
    with pytest.raises(InfluxUnavailable) as met:
        measure_tiers()
    now = datetime.now(UTC)
    RetentionRun.objects.create(operation="downsample_hourly", status="failed", started=now,
                                finished=now, errors=f"InfluxUnavailable: {met.value}")  # fmt: skip
    with caplog.at_level(logging.ERROR):
        states = storage_states()

    said = {state.spec.key: state.attributes for state in states}
    assert said["storage_raw"]["reason"] == (
        "InfluxDB's sizes cannot be read: InfluxDB does not answer (it is down, starting or "
        "overloaded); try again later. The server log names the address tried."
    ), said
    errors = said["last_retention_run"]["errors"]
    assert errors.startswith("InfluxUnavailable: Cannot reach InfluxDB at [hidden] while "), errors
    assert errors.endswith("Check INFLUXDB_URL and that influxd is running."), errors
    sent, port = repr(said), influx_gone.split(":")[1]
    assert "127.0.0.1" not in sent and port not in sent, sent
    assert any(influx_gone in record.getMessage() for record in caplog.records)
