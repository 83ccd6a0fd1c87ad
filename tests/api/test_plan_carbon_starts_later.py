"""/api/plan and /api/plan/loads when the carbon forecast starts later than the prices, against
real InfluxDB.

Same data as test_plan_api (tests/support/plan.py): Octopus Agile half hours from 2026-04-30
23:00 UTC and UK Carbon Intensity's forecast from 2026-05-01 12:00 UTC, collected at 12:10;
the clock then reads 09:10, so prices are known from now and carbon only from 12:00. With a
carbon price only the time with both is planned, and the answer says so: `carbon.known_from`
and `carbon.message`, the 409's reason and `known.carbon_known_from`. A forecast that starts
inside a price slot (WattTime's from 14:05, in Tibber's 14:00 hour) leaves the rest of that
slot to plan.
"""

from datetime import datetime, time, timedelta

import pytest

from collectors import clock
from collectors.models import FlexibleLoad
from tests.support import plan_probe_sites as sites
from tests.support.plan import MINUTE, NOW, average, octopus_prices

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

URL = "/api/plan"
EARLY = datetime(2026, 5, 1, 9, 10, tzinfo=NOW.tzinfo)
CARBON_FROM = "2026-05-01T12:00:00+00:00"


@pytest.fixture
def early(collected, monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: EARLY)
    return collected


def best_by_price(hours: float, start: datetime, end: datetime) -> tuple[datetime, float]:
    """The cheapest window of `hours` starting at a whole minute in [start, end - hours]; ties
    to the later one."""
    prices, length = octopus_prices(), round(hours * 60) * MINUTE
    starts = [start + i * MINUTE for i in range(round((end - start - length) / MINUTE) + 1)]
    found = [(average(prices, a, a + length), a) for a in starts]
    best = min(price for price, _ in found)
    return [a for price, a in found if price <= best + 1e-12][-1], best


def test_with_a_carbon_price_the_answer_says_where_carbon_starts(early, api):
    body = api.get(URL, {"hours": "2", "carbon_price": "100"}).json()
    assert body["carbon"]["known_from"] == CARBON_FROM
    message = body["carbon"]["message"]
    assert f"known only from {CARBON_FROM}" in message and "carbon_price=0" in message
    # only time with carbon was planned and compared: nothing starts before 12:00
    assert body["start"] >= CARBON_FROM and body["compared"]["cheapest"]["start"] >= CARBON_FROM
    assert body["compared"]["running_now"] is None
    # by price alone the time before it is planned: 11:30-13:30, its first half hour's carbon
    # null; the answer says where carbon starts there too
    cheap = api.get(URL, {"hours": "2", "carbon_price": "0"}).json()
    start, price = best_by_price(2, EARLY, datetime.fromisoformat("2026-05-01T23:00:00+00:00"))
    assert (cheap["start"], start.isoformat()) == ("2026-05-01T11:30:00+00:00",) * 2
    assert cheap["average_price"] == pytest.approx(price)
    assert cheap["carbon"]["known_from"] == CARBON_FROM
    assert "planned on price alone" in cheap["carbon"]["message"]
    assert cheap["slots"][0]["carbon"] is None and cheap["average_carbon"] is None


def test_carbon_known_from_now_is_null(collected, api):
    body = api.get(URL, {"hours": "2", "carbon_price": "100"}).json()
    assert (body["carbon"]["known_from"], body["carbon"]["message"]) == (None, None)


def test_too_little_time_with_carbon_is_a_409_that_says_so(early, api):
    # 09:10-12:30 has prices for 3 h 20 min, but carbon only from 12:00: 0.5 h
    response = api.get(URL, {"hours": "2", "carbon_price": "100",
                             "before": "2026-05-01T12:30:00Z"})  # fmt: skip
    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith(f"Carbon intensity (uk_carbon_intensity) is known only from "
                                     f"{CARBON_FROM}")  # fmt: skip
    assert "carbon_price=0" in body["detail"]
    known = body["known"]
    assert (known["prices_until"], known["carbon_known_from"]) == ("2026-05-01T12:30:00+00:00",
                                                                   CARBON_FROM)  # fmt: skip
    # as the message says: by price alone it is planned
    assert api.get(URL, {"hours": "2", "carbon_price": "0",
                         "before": "2026-05-01T12:30:00Z"}).status_code == 200  # fmt: skip
    # too few prices stay the prices' reason
    short = api.get(URL, {"hours": "20", "carbon_price": "100", "before": "2026-05-02T09:00:00Z"})
    assert short.status_code == 409 and "of price slots lie entirely" in short.json()["detail"]


def test_a_flexible_load_says_the_same(early, api):
    # 13:30 BST is 12:30 UTC: as the 409 above
    FlexibleLoad.objects.create(site=early, name="Dishwasher", hours=2, deadline=time(13, 30),
                                carbon_price=100)  # fmt: skip
    [load] = api.get("/api/plan/loads").json()["loads"]
    assert load["plan"] is None
    assert f"known only from {CARBON_FROM}" in load["message"]
    assert load["known"]["carbon_known_from"] == CARBON_FROM


def test_forecast_until_is_where_the_stored_forecast_ends(early, api):
    # the forecast runs 48 h from 12:00 (to 2026-05-03 12:00); at 09:10 the plan reads 48 h
    # ahead (to 05-03 09:10), but the answer says where the forecast really ends
    body = api.get(URL, {"hours": "2", "carbon_price": "100"}).json()
    assert body["carbon"]["forecast_until"] == "2026-05-03T12:00:00+00:00"
    short = api.get(URL, {"hours": "2", "carbon_price": "100",
                          "before": "2026-05-01T12:30:00Z"}).json()  # fmt: skip
    assert short["known"]["carbon_forecast_until"] == "2026-05-03T12:00:00+00:00"


def test_the_rest_of_the_price_slot_the_carbon_starts_in_is_planned(own_storage, replay_server,
                                                                    api, monkeypatch):  # fmt: skip
    # Tibber's hourly prices today, WattTime's 5-minute forecast from 14:05 UTC; at 12:49 the
    # best hour before 21:49 at 150 SEK/t is 14:05-15:05, most of it in the cheap 14:00 hour
    # (by exhaustive search over every minute, tests/support/plan_probe.py): 14:05-15:00 has
    # a price and carbon, and is planned as any other time that has both
    _, data = sites.tibber_case(replay_server, "switch_watttime")
    now = datetime(2026, 5, 1, 12, 49, tzinfo=NOW.tzinfo)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    before = now + timedelta(hours=9)
    query = {"hours": "1", "carbon_price": "150", "before": before.isoformat()}
    body = api.get(URL, query).json()
    assert (body["start"], body["end"]) == ("2026-05-01T14:05:00+00:00",
                                            "2026-05-01T15:05:00+00:00")  # fmt: skip
    assert body["carbon"]["known_from"] == "2026-05-01T14:05:00+00:00"
    assert sites.plan_differences(api, data, now, before, [(1, 150, 6, None), (2, 150, 0, 2)]) == []
