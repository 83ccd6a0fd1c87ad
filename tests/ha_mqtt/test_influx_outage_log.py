"""What the worker's log says while the publications cannot read InfluxDB (a port nothing
listens on): one line when it goes, naming the address tried, and one when it answers again.
Each publication (every minute) meets the error once per flexible load, site and source; each
of those was an ERROR line, every minute, for the length of the outage. Home Assistant's
entities say why meanwhile, as each publication finds it."""

import logging
from datetime import timedelta

import pytest

from collectors.ha_mqtt.publisher import publish_all
from enrich import influx
from enrich.models import ProviderConfig
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import load, published, utc_home
from tests.support.ports import free_port

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
MINUTE = timedelta(minutes=1)
DOWN = (
    "The stored data cannot be read: InfluxDB does not answer (it is down, starting or "
    "overloaded); try again later. The server log names the address tried."
)


def said(caplog) -> list[tuple[int, str]]:
    """(level, message) of each line logged at WARNING or above."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    topics, subscriber, broker, settings, caplog
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)
    homes.carbon(site)
    meter = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(meter, scenarios_smart_meter.home_assistant).status == "ok"
    loads = [load(site, anchor, name=name) for name in ("Dishwasher", "EV", "Heat pump")]
    upstream, gone = settings.INFLUXDB_URL, f"http://127.0.0.1:{free_port()}"
    now = anchor + 20 * MINUTE
    caplog.set_level(logging.INFO)
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert said(caplog) == []

    def publish(url: str, times: int) -> list[tuple[int, str]]:
        nonlocal now
        caplog.clear()
        settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = url, 1.0
        influx.reset_timeseries()
        try:
            for _ in range(times):
                now += MINUTE
                assert publish_all(broker, topics, now=now)["status"] == "ok"
        finally:
            settings.INFLUXDB_URL = upstream
            influx.reset_timeseries()
        return said(caplog)

    logged = publish(gone, 3)  # three loads, prices, carbon, a meter: 7 reads each minute
    assert [level for level, _ in logged] == [logging.ERROR], logged
    assert logged[0][1].startswith(
        f"mqtt: InfluxDB cannot be read: Cannot reach InfluxDB at {gone}"
    )
    for each in loads:  # Home Assistant is told why, at every publication
        state, attributes, _ = published(subscriber, topics, site, f"load_{each.pk}_start")
        assert (state, attributes["reason"]) == ("None", DOWN)

    assert publish(upstream, 2) == []
    back = [m for m in caplog.messages if "InfluxDB" in m]
    assert back == ["mqtt: InfluxDB answers again; the entities show its data"], back

    logged = publish(gone, 2)  # the next outage is said again
    assert [level for level, _ in logged] == [logging.ERROR], logged
