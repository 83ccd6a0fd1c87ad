"""GET /api/plan against real InfluxDB and Redis, with data written by the real collectors.

Octopus Agile (region C, half hours of 2026-05-01) and UK Carbon Intensity (postcode RG10,
48 h of half-hourly forecast from 12:00 UTC) are collected from their documented payloads
through the replay server at 12:10 UTC (the `collected` fixture, tests/api/conftest.py). The
expected windows are found from the payloads by exhaustive search, minute by minute, not with
the planner's code (tests/support/plan.py).
"""

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from collectors import clock, pipeline
from collectors.models import FlexibleLoad
from collectors.pricing.loads import next_deadline, plan_for
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_carbon, scenarios_pricing
from tests.support.api import assert_400_naming_only
from tests.support.plan import (
    MINUTE,
    NOW,
    average,
    berlin_collected,
    expected_window,
    octopus_prices,
    uk_carbon,
)
from tests.support.stored_prices import CASES, collect

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

URL = "/api/plan"
ROOT = Path(__file__).resolve().parents[2]


def test_the_plan_weighs_price_and_carbon_and_shows_the_trade_off(collected, api, replay_server):
    calls = len(replay_server.requests)
    prices, carbon = octopus_prices(), uk_carbon()
    response = api.get(URL, {"hours": "2", "carbon_price": "500", "kw": "2"})
    body = response.json()
    assert response.status_code == 200, body
    assert len(replay_server.requests) == calls  # everything came from InfluxDB
    assert (body["provider"], body["currency"], body["carbon_price_unit"]) == (
        "octopus",
        "GBP",
        "GBP/t CO2",
    )
    # the carbon tag the collector wrote for RG10 is the region's name
    assert body["carbon"] == {"provider": "uk_carbon_intensity", "region": "South England",
                              "known": True, "forecast_until": "2026-05-03T12:00:00+00:00",
                              "known_from": None, "message": None}  # fmt: skip

    def score(a, b):  # GBP per kWh: price + 500 GBP/t x g/kWh / 1e6
        return average(prices, a, b) + 500 * average(carbon, a, b) / 1e6

    start, end = expected_window(2, score)
    assert (body["start"], body["end"]) == (start.isoformat(), end.isoformat())
    assert body["average_price"] == pytest.approx(average(prices, start, end))
    assert body["average_carbon"] == pytest.approx(average(carbon, start, end))
    assert body["average_score"] == pytest.approx(score(start, end))
    assert body["kwh"] == 4.0
    assert body["cost"] == pytest.approx(4 * average(prices, start, end))
    assert body["emissions_kg"] == pytest.approx(4 * average(carbon, start, end) / 1000)
    assert (body["windows_used"], body["penalty_cost"], body["carbon_last_known_hours"]) == (
        1,
        0,
        0,
    )
    assert not any(s["carbon_last_known"] for s in body["slots"])
    # against the cheapest-only and greenest-only windows, and running now
    compared = body["compared"]
    cheap = expected_window(2, lambda a, b: average(prices, a, b))
    green = expected_window(2, lambda a, b: average(carbon, a, b))
    assert (compared["cheapest"]["start"], compared["greenest"]["start"]) == (
        cheap[0].isoformat(),
        green[0].isoformat(),
    )
    assert cheap != green  # the day has a real trade-off
    for name, (a, b) in (
        ("cheapest", cheap),
        ("greenest", green),
        ("running_now", (NOW, NOW + timedelta(hours=2))),
    ):
        entry = compared[name]
        assert entry["price_saving"] == pytest.approx(average(prices, a, b) - body["average_price"])
        assert entry["carbon_saving"] == pytest.approx(
            average(carbon, a, b) - body["average_carbon"]
        )
        assert entry["cost_saving"] == pytest.approx(4 * entry["price_saving"])
        assert entry["emissions_saving_kg"] == pytest.approx(4 * entry["carbon_saving"] / 1000)
    assert compared["cheapest"]["price_saving"] <= 0 <= compared["cheapest"]["carbon_saving"]
    assert compared["greenest"]["carbon_saving"] <= 0 <= compared["greenest"]["price_saving"]
    assert body["pareto"] is None
    # on this day price dominates up to ~18,000 GBP/t; at 19,000 the evening wins for its CO2
    flipped = api.get(URL, {"hours": "2", "carbon_price": "19000"}).json()
    expected = expected_window(2, lambda a, b: average(prices, a, b)
                               + 19000 * average(carbon, a, b) / 1e6)  # fmt: skip
    assert flipped["start"] == expected[0].isoformat() == green[0].isoformat()
    assert flipped["compared"]["cheapest"]["price_saving"] < 0
    assert flipped["compared"]["cheapest"]["carbon_saving"] > 0


def test_carbon_price_zero_is_the_cheapest_window(collected, api):
    body = api.get(URL, {"hours": "1.5", "carbon_price": "0"}).json()
    assert body["start"] == body["compared"]["cheapest"]["start"]
    windows = api.get("/api/pricing/windows", {"hours": "1.5"}).json()
    assert (body["start"], body["end"]) == (windows["start"], windows["end"])
    assert body["average_price"] == pytest.approx(windows["average_price"])


def test_carbon_price_zero_plans_slots_before_the_first_carbon_value(collected, api,
                                                                    monkeypatch):  # fmt: skip
    # At 09:10 the carbon forecast (from 12:00) starts later; the cheapest hour before 12:30
    # is 11:30-12:30, half of it before the first carbon value.
    now = datetime(2026, 5, 1, 9, 10, tzinfo=NOW.tzinfo)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    prices = octopus_prices()
    query = {"hours": "1", "carbon_price": "0", "before": "2026-05-01T12:30:00Z", "pareto": "true"}
    response = api.get(URL, query)
    body = response.json()
    assert response.status_code == 200, body
    assert (body["start"], body["end"]) == (
        "2026-05-01T11:30:00+00:00",
        "2026-05-01T12:30:00+00:00",
    )
    assert body["average_price"] == pytest.approx(average(prices, now.replace(hour=11, minute=30),
                                                          now.replace(hour=12, minute=30)))  # fmt: skip
    assert body["average_carbon"] is None  # the 11:30 half hour has no carbon value
    assert [s["carbon"] for s in body["slots"]] == [None, uk_carbon()[datetime.fromisoformat(
        "2026-05-01T12:00:00+00:00")]]  # fmt: skip
    assert body["compared"]["greenest"] is None and body["pareto"] == []  # 0.5 h has carbon
    # with a carbon price only the slots with carbon are planned (documented): too few here
    assert api.get(URL, {**query, "carbon_price": "100"}).status_code == 409


def test_pareto_set_is_small_and_has_no_dominated_window(collected, api):
    body = api.get(URL, {"hours": "2", "carbon_price": "500", "pareto": "true"}).json()
    front = body["pareto"]
    assert 2 <= len(front) <= 5
    points = [(f["average_price"], f["average_carbon"]) for f in front]
    assert points == sorted(points)
    for p, c in points:
        assert not any(q <= p and d <= c and (q, d) != (p, c) for q, d in points)
    starts = {f["start"] for f in front}
    assert {body["compared"]["cheapest"]["start"], body["compared"]["greenest"]["start"]} <= starts


def test_no_whole_slot_left_is_409_saying_none_lies_ahead(collected, api, monkeypatch):
    # 22:40: the last half hour (22:30-23:00) runs; no slot lies entirely ahead ("only 0 h").
    monkeypatch.setattr(clock, "utc_now", lambda: NOW.replace(hour=22, minute=40))
    response = api.get(URL, {"hours": "0.5"})
    assert response.status_code == 409
    assert response.json()["detail"].startswith(
        "no price slot lies entirely between now (2026-05-01T22:40:00+00:00) and "
    ), response.json()


def test_hours_beyond_what_is_known_is_409_with_what_is_known(collected, api):
    response = api.get(URL, {"hours": "12"})
    assert response.status_code == 409
    body = response.json()
    assert "of price slots lie entirely between" in body["detail"]
    assert body["known"] == {"prices_until": "2026-05-01T23:00:00+00:00",
                             "carbon_forecast_until": "2026-05-03T12:00:00+00:00",
                             "carbon_known_from": None}  # fmt: skip


@pytest.mark.parametrize(
    ("query", "name", "text"),
    [
        ({}, "hours", "Required"),
        ({"hours": "0"}, "hours", "more than 0"),
        ({"hours": "-2"}, "hours", "more than 0"),
        ({"hours": "x"}, "hours", "a number"),
        ({"hours": "30"}, "hours", "more than the 24 h planned without `before`"),
        ({"hours": "2", "before": "tomorrow"}, "before", "time zone"),
        ({"hours": "2", "before": "2026-05-01T13:00:00Z"}, "before", "leaves no room"),
        ({"hours": "2", "before": "2020-01-01T00:00:00Z"}, "before", "leaves no room"),
        ({"hours": "2", "carbon_price": "-1"}, "carbon_price", "0 or more"),
        ({"hours": "2", "kw": "0"}, "kw", "more than 0"),
        ({"hours": "2", "max_windows": "0"}, "max_windows", "1 or more"),
        ({"hours": "2", "penalty_percent": "-3"}, "penalty_percent", "0 or more"),
        ({"hours": "2", "contiguous": "perhaps"}, "contiguous", "true or false"),
        ({"hours": "0.101"}, "hours", "a whole number of minutes"),
        ({"hours": "1e-10"}, "hours", "at least one minute"),
        ({"hours": "5e-324"}, "hours", "at least one minute"),
        ({"hours": "0.001"}, "hours", "at least one minute"),
        ({"hours": "1e15"}, "hours", "at most a year: 8784"),
        ({"hours": "1e8", "before": "2199-12-31T23:00:00Z"}, "hours", "at most a year: 8784"),
        # 1e307 kW or 1.79e308 per tonne made a figure of the answer infinite (500)
        ({"hours": "3", "carbon_price": "1.79e308"}, "carbon_price", "at most 1000000"),
        ({"hours": "1", "kw": "1e307"}, "kw", "at most 100000"),
    ],
)
def test_bad_parameters_are_400_naming_them(collected, api, query, name, text):
    assert_400_naming_only(api.get(URL, query), name, text)


def test_six_minutes_over_half_hours_is_planned(collected, api):
    # hours=0.1 was a 400 ("ask for a multiple of the slot length"); now the best 6 minutes,
    # found here by trying every minute from now (price + 100 GBP/t, the default)
    prices, carbon = octopus_prices(), uk_carbon()

    def score(a):
        return average(prices, a, a + 6 * MINUTE) + 100 * average(carbon, a, a + 6 * MINUTE) / 1e6

    starts = [NOW + i * MINUTE for i in range(int((datetime.fromisoformat(
        "2026-05-01T23:00:00+00:00") - NOW) / MINUTE) - 5)]  # fmt: skip
    best = min(score(a) for a in starts)
    start = [a for a in starts if score(a) <= best + 1e-12][-1]
    body = api.get(URL, {"hours": "0.1", "kw": "10"}).json()
    assert (body["start"], body["end"]) == (start.isoformat(), (start + 6 * MINUTE).isoformat())
    assert body["average_score"] == pytest.approx(best)
    assert body["cost"] == pytest.approx(average(prices, start, start + 6 * MINUTE))  # 1 kWh


def test_without_carbon_data_it_says_so_and_plans_by_price(own_storage, replay_server, api,
                                                           monkeypatch):  # fmt: skip
    scenarios_pricing.octopus(replay_server)
    site = Site.objects.create(name="London", latitude=51.5, longitude=-0.1, pricing_region="C")
    config = ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                           provider="octopus",
                                           options={"base_url": replay_server.url})  # fmt: skip
    assert pipeline.collect(config, now=NOW).status == "ok"
    ProviderConfig.objects.create(site=site, source="carbon_intensity", provider="electricitymaps",
                                  api_key="em-key")  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    body = api.get(URL, {"hours": "2"}).json()
    assert body["carbon"]["known"] is False
    assert "no gCO2/kWh is stored for electricitymaps/51.5000,-0.1000" in body["carbon"]["message"]
    assert body["carbon"]["message"].endswith("Planned by price only.")
    assert body["average_carbon"] is None and body["compared"]["greenest"] is None
    cheap = expected_window(2, lambda a, b: average(octopus_prices(), a, b))
    assert body["start"] == cheap[0].isoformat()


def test_hours_without_a_forecast_carry_the_last_known_value(own_storage, replay_server, api,
                                                             monkeypatch):  # fmt: skip
    # Electricity Maps without a forecast plan stores only the latest value (312 g at 14:00)
    site_info, _, now = scenarios_carbon.electricitymaps(replay_server)
    berlin_collected(replay_server, now)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    body = api.get(URL, {"hours": "2", "carbon_price": "100"}).json()
    assert body["carbon"]["known"] is True and body["carbon"]["forecast_until"] is None
    assert body["average_carbon"] == 312
    assert body["carbon_last_known_hours"] == 2
    assert all(s["carbon_last_known"] and s["carbon"] == 312 for s in body["slots"])
    # one carbon value everywhere: the plan is the cheapest window
    assert body["start"] == body["compared"]["cheapest"]["start"]


def test_a_flexible_load_plans_for_its_next_local_deadline(collected):
    load = FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2,
                                       deadline=datetime(2000, 1, 1, 23, 30).time(),
                                       carbon_price=500, kw=2)  # fmt: skip
    found = plan_for(load, NOW)
    # 23:30 in London (BST) is 22:30 UTC, today: the window must end by then
    assert found["before"] == "2026-05-01T22:30:00+00:00"
    assert found["message"] is None
    prices, carbon = octopus_prices(), uk_carbon()
    start, _ = expected_window(
        2, lambda a, b: average(prices, a, b) + 500 * average(carbon, a, b) / 1e6
    )
    assert found["start"] == start.isoformat() == found["plan"]["start"]
    # a deadline too close for the hours moves to the next day
    load.deadline = datetime(2000, 1, 1, 14, 0).time()  # 13:00 UTC, not 2 h away
    assert plan_for(load, NOW)["before"] == "2026-05-02T13:00:00+00:00"
    # no prices stored that far: no start, and why
    load.hours = 20
    refused = plan_for(load, NOW)
    assert refused["start"] is None and "of price slots lie entirely" in refused["message"]


def test_the_plan_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    names = {p["name"] for p in schema["paths"]["/api/plan"]["get"]["parameters"]}
    assert {"hours", "before", "carbon_price", "kw", "contiguous", "max_windows",
            "penalty_percent", "pareto", "site"} <= names  # fmt: skip
    windows = {p["name"] for p in schema["paths"]["/api/pricing/windows"]["get"]["parameters"]}
    assert {"penalty_percent", "max_windows"} <= windows


@pytest.mark.parametrize(
    ("now", "deadline", "expected"),
    [
        # London, spring 2026-03-29: 07:00 BST is 06:00 UTC (the day before it was 07:00 UTC)
        ("2026-03-28T20:00:00+00:00", "07:00", "2026-03-29T06:00:00+00:00"),
        ("2026-03-27T20:00:00+00:00", "07:00", "2026-03-28T07:00:00+00:00"),
        # 01:30 does not exist that night: the clock jumps from 00:59 to 02:00 at 01:00 UTC,
        # the first moment it reads 01:30 or later (01:30 UTC, the old answer, reads 02:30)
        ("2026-03-28T20:00:00+00:00", "01:30", "2026-03-29T01:00:00+00:00"),
        # autumn 2026-10-25: 01:30 happens twice; the first (BST, 00:30 UTC) is planned for
        ("2026-10-24T20:00:00+00:00", "01:30", "2026-10-25T00:30:00+00:00"),
        # 3 h before 07:00 no longer fit at 05:00 UTC (06:00 BST): tomorrow's 07:00
        ("2026-05-01T05:00:00+00:00", "07:00", "2026-05-02T06:00:00+00:00"),
    ],
)
def test_load_deadlines_follow_the_sites_clock(now, deadline, expected):
    site = Site(name="Twyford", latitude=51.48, longitude=-0.86, timezone="Europe/London")
    load = FlexibleLoad(site=site, name="Boost", hours=3,
                        deadline=datetime.strptime(deadline, "%H:%M").time())  # fmt: skip
    assert next_deadline(load, datetime.fromisoformat(now)).isoformat() == expected


@pytest.mark.parametrize(
    ("timezone", "deadline", "expected"),
    [
        # Berlin 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC): "finished by 02:30" was
        # planned up to 01:30 UTC, when the clock reads 03:30
        ("Europe/Berlin", "02:30", "2026-03-29T01:00:00+00:00"),
        # New York 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC)
        ("America/New_York", "02:15", "2026-03-08T07:00:00+00:00"),
        # Lord Howe Island 2026-10-04 02:00 -> 02:30 (+10:30 -> +11, 15:30 UTC the day before)
        ("Australia/Lord_Howe", "02:10", "2026-10-03T15:30:00+00:00"),
        # Santiago 2026-09-06 and Beirut 2026-03-29 skip midnight (00:00 -> 01:00): "done by
        # midnight" is the day's first instant, when the clock jumps
        ("America/Santiago", "00:00", "2026-09-06T04:00:00+00:00"),
        ("Asia/Beirut", "00:00", "2026-03-28T22:00:00+00:00"),
    ],
)
def test_a_deadline_the_clock_skips_is_the_moment_it_jumps(timezone, deadline, expected):
    site = Site(name="Home", latitude=0, longitude=0, timezone=timezone)
    load = FlexibleLoad(site=site, name="Dishwasher", hours=1.5,
                        deadline=datetime.strptime(deadline, "%H:%M").time())  # fmt: skip
    now = datetime.fromisoformat(expected) - timedelta(hours=6)
    assert next_deadline(load, now).isoformat() == expected


@pytest.mark.parametrize("name", ["15min_dst_autumn", "30min_dst_spring"])
def test_by_price_alone_the_plan_is_the_windows_answer_across_dst(name, own_storage,
                                                                  replay_server, api,
                                                                  monkeypatch):  # fmt: skip
    # The price clock's DST days (25 h of quarter-hours, 23 h of half hours), collected as the
    # hourly task does; with carbon_price=0 the plan must pick what /api/pricing/windows picks
    case = CASES[name]
    collect(case, replay_server)
    step = timedelta(minutes=case.slot_minutes)
    for moment in (case.edge - MINUTE, case.edge + step + 7 * MINUTE, case.day_start + 3 * step):
        monkeypatch.setattr(clock, "utc_now", lambda moment=moment: moment)
        for hours, contiguous in (("1", "true"), ("3", "true"), ("2", "false")):
            query = {"hours": hours, "contiguous": contiguous}
            windows = api.get("/api/pricing/windows", query).json()
            plan = api.get(URL, {**query, "carbon_price": "0"}).json()
            assert plan["carbon"]["known"] is False, plan
            assert [(s["start"], s["end"]) for s in plan["slots"]] == [
                (s["start"], s["end"]) for s in windows["slots"]], (moment, query)  # fmt: skip
            assert plan["average_price"] == pytest.approx(windows["average_price"])
            assert (plan["windows_used"], plan["penalty_cost"]) == (
                windows["windows_used"], pytest.approx(windows["penalty_cost"]))  # fmt: skip
            assert plan["compared"]["running_now"]["price_saving"] == pytest.approx(
                windows["saving_vs_now"])  # fmt: skip


def test_site_selection_and_missing_providers(own_storage, api):
    first = Site.objects.create(name="A", latitude=51.5, longitude=-0.1, pricing_region="C")
    response = api.get(URL, {"hours": "2", "site": str(first.pk)})
    assert response.status_code == 409
    # PRICING_PROVIDER only makes the first site's providers (manage.py bootstrap, with no site
    # yet): "set PRICING_PROVIDER" was advice that changes nothing once a site exists.
    assert response.json()["detail"] == (
        "Site 'A' has no enabled electricity price provider: add one in the admin (Provider "
        "configs: awattar, tibber or octopus), then wait for its first collection."
    )
    Site.objects.create(name="B", latitude=51.5, longitude=-0.1)
    response = api.get(URL, {"hours": "2"})
    assert (response.status_code, list(response.json())) == (400, ["site"])
    assert api.get(URL, {"hours": "2", "site": "999999"}).status_code == 404


def test_the_admin_shows_a_loads_recommended_start(collected, client):
    admin = get_user_model().objects.create_superuser("boss", password="pw-boss-123")
    client.force_login(admin)
    load = FlexibleLoad.objects.create(site=collected, name="EV", hours=2,
                                       deadline=datetime(2000, 1, 1, 23, 30).time())  # fmt: skip
    page = client.get(f"/admin/collectors/flexibleload/{load.pk}/change/")
    assert page.status_code == 200
    assert plan_for(load)["start"] in page.content.decode()
    # first in the site's time zone, as its deadline: it showed UTC only (an hour off in summer)
    local = datetime.fromisoformat(plan_for(load)["start"]).astimezone(ZoneInfo("Europe/London"))
    assert local.utcoffset() == timedelta(hours=1)
    assert f"{local:%Y-%m-%d %H:%M} Europe/London (" in page.content.decode()
    listing = client.get("/admin/collectors/flexibleload/")
    assert listing.status_code == 200 and "EV" in listing.content.decode()


def _unlike(shown, real, where: str = "") -> list[str]:
    """Where the answer docs/plan.md shows (`shown`, "…" standing for what it leaves out) is not
    `real`; a number as far as the digits it shows."""
    if shown == "…":
        return []
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return [f"{where}: {real!r}"]
        return [w for key, value in shown.items() if key != "…"
                for w in (_unlike(value, real[key], f"{where}.{key}") if key in real
                          else [f"{where}.{key}: not in the answer"])]  # fmt: skip
    if isinstance(shown, list):
        if not isinstance(real, list) or len(real) < len(shown):
            return [f"{where}: {real!r}"]
        return [
            w for i, value in enumerate(shown) for w in _unlike(value, real[i], f"{where}[{i}]")
        ]
    if isinstance(shown, float) and not isinstance(real, bool) and isinstance(real, int | float):
        decimals = len(repr(shown).partition(".")[2])
        return [] if abs(real - shown) <= 0.5 * 10**-decimals + 1e-12 else [f"{where}: {real}"]
    return [] if shown == real else [f"{where}: {real!r}, the page shows {shown!r}"]


def test_the_answer_docs_plan_md_shows_is_what_the_api_answers(collected, api):
    """The example of docs/plan.md (Octopus Agile C and UK Carbon Intensity RG10 at 12:10 UTC,
    hours=2&carbon_price=500&kw=2), every figure and field it shows, and what the page reads
    from it: the greenest window saves 5.7 g/kWh for 0.10 GBP/kWh more, which pays only above
    about 18,000 GBP/t."""
    page = (ROOT / "docs" / "plan.md").read_text()
    asked = re.search(r"`(hours=[^`]+)` \(the documented payloads", page)[1]
    shown = json.loads(re.search(r"## The answer\n.*?```json\n(.*?)```", page, re.S)[1])
    body = api.get(f"{URL}?{asked}").json()
    assert not _unlike(shown, body), _unlike(shown, body)
    greenest = body["compared"]["greenest"]
    said = re.search(r"would save ([\d.]+) g/kWh for ([\d.]+) GBP/kWh more", page)
    assert (round(-greenest["carbon_saving"], 1), round(greenest["price_saving"], 2)) == (
        float(said[1]),
        float(said[2]),
    )
    above = float(re.search(r"Only above\s+about ([\d,]+) GBP/t", page)[1].replace(",", ""))
    even = greenest["price_saving"] / -greenest["carbon_saving"] * 1e6  # GBP/t where they tie
    assert abs(even - above) <= 0.05 * above, even


def test_an_offsets_plus_left_unencoded_is_said_to_be_one(collected, api):
    """`before=2026-05-02T07:00:00+01:00` sent as it is (a Home Assistant template without
    `| urlencode`): the query string's `+` reaches enrich as a space. The 400 said only that
    '2026-05-02T07:00:00 01:00' is no ISO time, a space the user never typed; it says what
    happened and how to send it."""
    response = api.get(f"{URL}?hours=2&before=2026-05-02T07:00:00+01:00")
    assert_400_naming_only(response, "before", "2026-05-02T07:00:00 01:00")
    assert response.json()["before"].endswith(
        "a '+' in a URL's query reads as a space: write the offset's + as %2B "
        "(in a Home Assistant template, `| urlencode`)."
    ), response.json()
    # a space that is no offset's + is not said to be one
    response = api.get(URL, {"hours": "2", "before": "next monday"})
    assert "%2B" not in response.json()["before"]
