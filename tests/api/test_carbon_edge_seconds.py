"""The carbon intensity now at every half-hour edge of UK Carbon Intensity's 48-hour forecast,
to the microsecond, with no fetch after the first: Twyford collected at 12:10
(tests/api/conftest.py `collected`), the forecast from 12:00 to 12:00 two days later.
GET /api/enrichment/current and Home Assistant's carbon entity must name the half hour
covering each moment (hh:29:59.999999 the earlier, hh:30:00 the later), with the horizons of
that moment, and once the stored forecast has ended serve the last fetched answer as it is,
marked stale with its own time. Expected values come straight from the payload."""

from datetime import datetime, timedelta

import pytest

from collectors import clock
from collectors.ha_mqtt.entities import carbon_states, freshness
from tests.support.plan import NOW
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HALF_HOUR, TICK = timedelta(minutes=30), timedelta(microseconds=1)


@pytest.mark.usefixtures("many_reads")
def test_each_half_hour_edge_of_the_forecast_and_after_its_end(
    collected, replay_server, api, monkeypatch
):
    payload = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")
    forecast = {datetime.fromisoformat(s["from"].replace("Z", "+00:00")):
                s["intensity"]["forecast"] for s in payload["data"]["data"]}  # fmt: skip
    first, end = min(forecast), max(forecast) + HALF_HOUR
    calls = len(replay_server.requests)

    def seen(moment: datetime) -> tuple[dict, dict]:
        monkeypatch.setattr(clock, "utc_now", lambda: moment)
        [entry] = api.get("/api/enrichment/current").json()["sources"]["carbon_intensity"][
            "providers"
        ]
        states = {s.spec.key: s for s in carbon_states(entry)}
        return entry, states

    fetched_value: dict | None = None
    for start in sorted(forecast):
        for moment in (max(start, NOW), start + HALF_HOUR - TICK):
            entry, states = seen(moment)
            value = entry["value"]
            assert entry["time"] == value["time"] == start.isoformat(), moment
            if start == first:  # the fetched half hour: the value the fetch gave for it
                fetched_value = fetched_value or value
                assert value == fetched_value and "is_forecast" in value
            else:
                assert value["carbon_intensity_gco2_kwh"] == forecast[start], moment
                assert value["is_forecast"] is True and value["slot_minutes"] == 30
                ahead = moment + timedelta(hours=1)
                assert value.get("forecast_1h") == forecast.get(
                    ahead.replace(minute=ahead.minute // 30 * 30, second=0, microsecond=0)
                ), moment
            shown = value["carbon_intensity_gco2_kwh"]
            assert float(states["carbon_intensity"].state) == shown, moment
            assert states["carbon_intensity"].attributes["data_time"] == start.isoformat()
    # the stored forecast has ended: the last fetched answer, as it is, stale
    for moment in (end, end + timedelta(hours=6)):
        entry, states = seen(moment)
        assert entry["stale"] is True
        assert entry["time"] == first.isoformat()
        assert entry["value"] == fetched_value
        assert freshness(entry)["stale"] is True
        assert float(states["carbon_intensity"].state) == fetched_value["carbon_intensity_gco2_kwh"]
    assert len(replay_server.requests) == calls  # no fetch: everything from what was stored
