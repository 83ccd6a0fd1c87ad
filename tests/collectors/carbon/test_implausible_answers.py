"""Carbon answers that cannot be stored (found by fuzzing), against the local replay server:
each is a MalformedResponse naming the answer field, never another exception out of `fetch`
(the pipeline would record nothing) and never a stored value no grid can have."""

import re
from datetime import timedelta

import pytest

from collectors.base import Window
from collectors.carbon.electricitymaps import ElectricityMapsAdapter
from collectors.carbon.uk_carbon_intensity import UKCarbonIntensityAdapter
from collectors.carbon.watttime import WattTimeAdapter
from enrich.http import MalformedResponse
from tests.collectors.scenarios_carbon import (
    ELECTRICITYMAPS_ROUTES,
    UK_POSTCODE_ROUTES,
    electricitymaps,
    fetch_checked,
    serve,
    split,
    uk_carbon_intensity,
    watttime,
)
from tests.support.replay import load_fixture

INDEX = "/v3/signal-index"
FORECAST = "/v3/forecast"
UK_CURRENT = "/regional/postcode/RG10"
UK_AHEAD = UK_POSTCODE_ROUTES["/regional/intensity/2026-05-01T12:00Z/fw48h/postcode/RG10"]
EM_LATEST = "/v3/carbon-intensity/latest"
EM_SHARES = "/v3/power-breakdown/latest"


def run(adapter, scenario, server, replies, start_ago=timedelta(minutes=15)):
    site, credentials, now = scenario(server, replies)
    return fetch_checked(adapter, site, credentials, Window(now - start_ago, now, now))


def watttime_meta(path: str, **change) -> dict:
    body = load_fixture(f"watttime/{'signal_index' if path == INDEX else 'forecast_25h'}.json")
    body["meta"].update(change)
    return {path: [{"json": body}]}


@pytest.mark.parametrize("units", [["percentile"], {"percentile": 1}])
def test_watttime_units_not_text_is_malformed(replay_server, clock, units):
    # A list or an object as meta.units raised TypeError (unhashable) out of fetch.
    with pytest.raises(MalformedResponse, match=r"meta.units .* is not one of"):
        run(WattTimeAdapter(clock), watttime, replay_server, watttime_meta(INDEX, units=units))


@pytest.mark.parametrize("warnings", [5, {"code": "stale"}, "data may be stale"])
def test_watttime_warnings_not_a_list_is_malformed(replay_server, clock, warnings):
    replies = watttime_meta(FORECAST, warnings=warnings)
    with pytest.raises(MalformedResponse, match="meta.warnings should be a list"):
        run(WattTimeAdapter(clock), watttime, replay_server, replies)


@pytest.mark.parametrize(
    ("seconds", "path"),
    [(float("nan"), INDEX), (1e300, FORECAST), (10**400, FORECAST), (86401, INDEX)],
    ids=["nan", "1e300", "400_digits", "over_a_day"],
)
def test_watttime_period_that_is_no_slot_length_is_malformed(replay_server, clock, seconds, path):
    # NaN and 1e300 failed in timedelta(minutes=...) (ValueError, OverflowError).
    replies = watttime_meta(path, data_point_period_seconds=seconds)
    with pytest.raises(MalformedResponse, match="data_point_period_seconds"):
        run(WattTimeAdapter(clock), watttime, replay_server, replies)


@pytest.mark.parametrize("lbs", [-1.0, 11100.0])  # 11,100 lbs/MWh = 5,035 gCO2/kWh
def test_watttime_moer_outside_0_5000_gco2_kwh_is_malformed(replay_server, clock, lbs):
    body = load_fixture("watttime/forecast_25h.json")
    body["data"][7]["value"] = lbs
    with pytest.raises(MalformedResponse, match=f"a data point: value {lbs:g} lbs/MWh"):
        run(WattTimeAdapter(clock), watttime, replay_server, {FORECAST: [{"json": body}]})


def uk_ahead(change) -> dict:
    body = load_fixture(UK_AHEAD)
    change(body["data"]["data"])
    path = next(p for p in UK_POSTCODE_ROUTES if "fw48h" in p)
    return {path: [{"json": body}]}


def uk_current(change) -> dict:
    body = load_fixture(UK_POSTCODE_ROUTES[UK_CURRENT])
    change(body["data"][0]["data"][0])
    return {UK_CURRENT: [{"json": body}]}


def shifted(slots):
    """A slot 12:15-12:45 among the half hours 12:00, 12:30, ..."""
    slots.append({**slots[0], "from": "2026-05-01T12:15Z", "to": "2026-05-01T12:45Z"})


@pytest.mark.parametrize(
    ("change", "start"),
    [(lambda slots: slots.append(dict(slots[5])), "14:30"), (shifted, "12:00")],
    ids=["duplicate", "overlapping"],
)
def test_uk_slots_of_one_answer_that_overlap_are_malformed(replay_server, change, start):
    replies = uk_ahead(change)
    with pytest.raises(MalformedResponse, match=f"data: the slots starting 2026-05-01T{start}"):
        run(UKCarbonIntensityAdapter(), uk_carbon_intensity, replay_server, replies)


def test_uk_empty_generation_mix_is_malformed_not_0_percent(replay_server):
    replies = uk_current(lambda slot: slot.update(generationmix=[]))
    with pytest.raises(MalformedResponse, match="generationmix is empty"):
        run(UKCarbonIntensityAdapter(), uk_carbon_intensity, replay_server, replies)


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ([{"fuel": "wind", "perc": 101}], "generationmix: wind perc 101 % is outside 0-100"),
        ([{"fuel": "solar", "perc": -3}], "generationmix: solar perc -3 % is outside 0-100"),
        ([{"fuel": "wind", "perc": 60}] * 2, "generationmix lists fuel 'wind' twice"),
        ([{"fuel": f, "perc": 40} for f in ("wind", "solar", "hydro")], "add up to 120 %"),
    ],
)
def test_uk_generation_mix_shares_outside_0_100_are_malformed(replay_server, mix, message):
    replies = uk_current(lambda slot: slot.update(generationmix=mix))
    with pytest.raises(MalformedResponse, match=message):
        run(UKCarbonIntensityAdapter(), uk_carbon_intensity, replay_server, replies)


@pytest.mark.parametrize(("key", "value"), [("forecast", -12), ("actual", 5001), ("forecast", 1e6)])
def test_uk_intensity_outside_0_5000_is_malformed(replay_server, key, value):
    replies = uk_current(lambda slot: slot["intensity"].update({key: value}))
    with pytest.raises(
        MalformedResponse, match=re.escape(f"intensity.{key} {value:g} gCO2/kWh is outside")
    ):
        run(UKCarbonIntensityAdapter(), uk_carbon_intensity, replay_server, replies)


def test_uk_rounded_mix_just_over_100_is_kept_as_100(replay_server):
    mix = [{"fuel": "wind", "perc": 50.1}, {"fuel": "solar", "perc": 50.0}]
    replies = uk_current(lambda slot: slot.update(generationmix=mix))
    (headline,), _ = split(
        run(UKCarbonIntensityAdapter(), uk_carbon_intensity, replay_server, replies)
    )
    assert headline.fields["renewable_percentage"] == 100.0


def em_body(path: str, **change) -> dict:
    body = load_fixture(ELECTRICITYMAPS_ROUTES[path])
    return {path: [{"json": {**body, **change}}]}


@pytest.mark.parametrize("grams", [-1, 5000.5])
def test_electricitymaps_intensity_outside_0_5000_is_malformed(replay_server, grams):
    replies = em_body(EM_LATEST, carbonIntensity=grams)
    with pytest.raises(MalformedResponse, match=f"carbonIntensity {grams:g} gCO2/kWh is outside"):
        run(ElectricityMapsAdapter(), electricitymaps, replay_server, replies)


@pytest.mark.parametrize(
    ("key", "share"),
    [("renewablePercentage", 100.5), ("fossilFreePercentage", -2), ("renewablePercentage", 1e9)],
)
def test_electricitymaps_percentages_outside_0_100_are_malformed(replay_server, key, share):
    with pytest.raises(MalformedResponse, match=re.escape(f"{key} {share:g} % is outside 0-100")):
        run(
            ElectricityMapsAdapter(),
            electricitymaps,
            replay_server,
            em_body(EM_SHARES, **{key: share}),
        )


def test_electricitymaps_forecast_and_history_values_are_checked(replay_server):
    site, credentials, now = electricitymaps(replay_server)
    credentials.options["forecast"] = True
    forecast = load_fixture("electricitymaps/carbon_intensity_forecast.json")
    forecast["forecast"][3]["carbonIntensity"] = -40
    replay_server.add("GET", "/v3/carbon-intensity/forecast", json=forecast)
    window = Window(now - timedelta(minutes=15), now, now)
    with pytest.raises(MalformedResponse, match="a forecast entry: carbonIntensity -40 gCO2"):
        fetch_checked(ElectricityMapsAdapter(), site, credentials, window)

    # A bad backfill is the history call's error; the latest values stay.
    replay_server.reset()
    history = load_fixture("electricitymaps/carbon_intensity_history.json")
    history["history"][-2]["carbonIntensity"] = 9000
    serve(replay_server, ELECTRICITYMAPS_ROUTES)
    replay_server.add("GET", "/v3/carbon-intensity/history", json=history)
    credentials.options["forecast"] = False
    window = Window(now - timedelta(hours=6), now, now)
    result = fetch_checked(ElectricityMapsAdapter(), site, credentials, window)
    assert isinstance(result.history_error, MalformedResponse)
    assert "a history entry: carbonIntensity 9000 gCO2/kWh" in str(result.history_error)
    (latest,), _ = split(result)
    assert latest.fields["carbon_intensity_gco2_kwh"] == 312.0
