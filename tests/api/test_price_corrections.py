"""A provider answering slots again, corrected: the new answer wins and nothing is doubled.

Tibber's 2026-05-01 (Stockholm) is collected through the real pipeline first in quarter hours
(tomorrow: []), then answered again in hours (today and tomorrow, other prices): the same day,
now at another resolution. InfluxDB overwrote the points at whole hours (same series and
time) but kept the quarter hours at :15, :30 and :45 beside the hourly slots."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from enrich.influx import stored_rows
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_pricing import TIBBER_HOME, TIBBER_TOKEN
from tests.support.replay import load_fixture
from tests.support.stored_prices import TIBBER_PATH

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("answered_twice"),
]

DAY_START = datetime(2026, 4, 30, 22, tzinfo=UTC)  # 2026-05-01 00:00 in Stockholm
NOW = datetime(2026, 5, 1, 10, 20, tzinfo=UTC)


def hourly_today() -> dict[datetime, float]:
    """Slot start -> total, of the hourly answer's `today` (straight from the payload)."""
    payload = load_fixture("tibber/price_info_hourly.json")
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    return {datetime.fromisoformat(e["startsAt"]).astimezone(UTC): e["total"]
            for e in info["today"]}  # fmt: skip


@pytest.fixture
def answered_twice(own_storage, replay_server, monkeypatch) -> None:
    site = Site.objects.create(name="Uppsala", latitude=59.86, longitude=17.64)
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="tibber", api_key=TIBBER_TOKEN,
        options={"base_url": replay_server.url, "home_id": TIBBER_HOME},
    )  # fmt: skip
    for fixture, hour in (("price_info_today_only.json", 6), ("price_info_hourly.json", 7)):
        replay_server.reset()
        replay_server.add("POST", TIBBER_PATH, json=load_fixture(f"tibber/{fixture}"))
        at = datetime(2026, 5, 1, hour, 5, tzinfo=UTC)
        assert pipeline.collect(config, now=at).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)


def test_the_corrected_day_is_stored_once():
    query = 'SELECT "price", "slot_minutes" FROM "electricity_pricing_forecast" WHERE time >= $a AND time < $b'
    rows = list(stored_rows(query, {"a": DAY_START, "b": DAY_START + timedelta(hours=24)}))
    assert {row.time: row.values["price"] for row in rows} == hourly_today()
    assert {row.values["slot_minutes"] for row in rows} == {60}


def test_slots_and_the_price_now_hold_no_doubled_time(api):
    today = hourly_today()
    slots = api.get("/api/pricing/slots").json()["slots"]
    starts = [datetime.fromisoformat(s["start"]) for s in slots]
    ends = [datetime.fromisoformat(s["end"]) for s in slots]
    assert all(end == start for end, start in zip(ends, starts[1:], strict=False)), slots[:6]
    first = datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert slots[0] == {"start": first.isoformat(), "end": "2026-05-01T11:00:00+00:00",
                        "price": today[first]}  # fmt: skip
    [entry] = api.get("/api/enrichment/current").json()["sources"]["electricity_pricing"][
        "providers"
    ]
    value = entry["value"]
    assert value["current_price"] == today[first]
    # the next 24 h: every hour once (the hourly answer's today from 10:00 and its tomorrow)
    payload = load_fixture("tibber/price_info_hourly.json")
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    hours = [e for e in info["today"] + info["tomorrow"]
             if first <= datetime.fromisoformat(e["startsAt"]) < NOW + timedelta(hours=24)]  # fmt: skip
    assert value["average_price_24h"] == pytest.approx(sum(e["total"] for e in hours) / len(hours))
