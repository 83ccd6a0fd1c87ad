"""cheapest_hours and most_expensive_hours for every `window_hours` a config may ask for, up to
the documented 24, from hourly slots stored in InfluxDB, through GET /api/enrichment/current.

The lists name whole slots of the next 24 h: the slots from the running one to the last one
starting before now + 24 h (the `known_until` of the answer), the running one counted from now.
Before, they ended at the last slot ending by now + 24 h: from a minute past a slot start, 24 h
no longer fitted and both lists were empty, with no word why, all day but at the slot starts.
A window longer than the prices known ahead cannot be named: the lists are empty and
`windows_unknown` says why (also the entry's `message`, which the status page shows), and so
does the `electricity_pricing` point in InfluxDB, where the lists were "[]" with no word why."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock
from collectors.pricing.now import write_current_points
from enrich.influx import get_timeseries, stored_rows
from enrich.models import ProviderConfig, Site
from tests.support.stored_prices import slot_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ANCHOR = datetime(2026, 5, 1, 10, tzinfo=UTC)
# Rising hourly prices, ANCHOR - 1 h to ANCHOR + 29 h: the cheapest hours are the earliest.
PRICES = {h: round(0.10 + 0.001 * h, 4) for h in range(-1, 30)}


def start(hour: int) -> str:
    return (ANCHOR + timedelta(hours=hour)).isoformat()


@pytest.fixture
def entry(own_storage, settings, monkeypatch):
    get_timeseries().write(settings.INFLUXDB_DATABASE, slot_readings(ANCHOR, prices=PRICES))
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="awattar", options={"window_hours": 24}
    )
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("viewer"))

    def at(moment: datetime) -> dict:
        monkeypatch.setattr(clock, "utc_now", lambda: moment)
        body = client.get(f"/api/enrichment/current?site={config.site_id}").json()
        [found] = body["sources"]["electricity_pricing"]["providers"]
        assert found["stale"] is False
        return found

    return at


def test_twenty_four_hours_are_named_at_every_minute(entry):
    for minute in (1, 20, 59, 0):
        value = entry(ANCHOR + timedelta(minutes=minute))["value"]
        assert value["known_until"] == start(25 if minute else 24)
        # from now: the running slot's rest, 23 whole hours and the next slot's first minutes
        cheapest = [start(h) for h in range(0, 25 if minute else 24)]
        assert value["cheapest_hours"] == cheapest, minute
        # the dearest 24 whole hours before known_until
        dearest = [start(h) for h in range(1 if minute else 0, 25 if minute else 24)]
        assert value["most_expensive_hours"] == dearest, minute
        assert value["windows_unknown"] is None


def test_a_window_longer_than_the_prices_known_says_why(entry):
    # prices end at ANCHOR + 30 h: at ANCHOR + 6 h 20 min 23 h 40 min are known
    found = entry(ANCHOR + timedelta(hours=6, minutes=20))
    value = found["value"]
    assert (value["cheapest_hours"], value["most_expensive_hours"]) == ([], [])
    why = (
        "cheapest_hours and most_expensive_hours unknown: window_hours is 24 h, and prices are "
        f"known only until {start(30)}, 23.6667 h from now"
    )
    assert value["windows_unknown"].startswith(why)
    assert why in found["message"]


def stored_point(moment: datetime) -> dict:
    """The fields of the `electricity_pricing` point the minute task writes at `moment`."""
    config = ProviderConfig.objects.get()
    assert write_current_points([config], now=moment)["points_written"] == 1
    [row] = stored_rows(
        'SELECT "cheapest_hours", "most_expensive_hours", "windows_unknown" '
        'FROM "electricity_pricing"'
    )
    return row.values


def test_the_stored_point_says_why_its_lists_are_empty_until_later_prices_name_them(
    entry, settings
):
    # prices end at ANCHOR + 30 h: at 06:20 23 h 40 min of the 24 asked are known
    stored = stored_point(ANCHOR + timedelta(hours=6, minutes=20))
    assert (stored["cheapest_hours"], stored["most_expensive_hours"]) == ("[]", "[]")
    why = entry(ANCHOR + timedelta(hours=6, minutes=20))["value"]["windows_unknown"]
    assert stored["windows_unknown"] == why  # the API's reason, word for word
    assert why.startswith("cheapest_hours and most_expensive_hours unknown: window_hours is 24 h")

    # The next prices are published within the same slot: the minute task rewrites its point
    # (same time), the lists are named, and no reason stays beside them.
    later = slot_readings(ANCHOR + timedelta(hours=31), prices={}, default=0.5)  # 30 h to 60 h
    get_timeseries().write(settings.INFLUXDB_DATABASE, later)
    stored = stored_point(ANCHOR + timedelta(hours=6, minutes=30))
    assert json.loads(stored["cheapest_hours"]) == [start(h) for h in range(6, 31)]
    assert stored["windows_unknown"] == ""
