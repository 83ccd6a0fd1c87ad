"""Sites whose provider configs share a target (same provider and zone or region) are
collected once, under the first config: that one fetch asks for what every config sharing it
asks for (docs/providers.md, "Sites sharing a target"). Through the real pipeline: dispatch's
choice, the replay server, InfluxDB, and GET /api/enrichment/current for each site.

Before, the first config's options alone were used: a second site's `forecast: true`
(Electricity Maps) or `plan: forecast` (WattTime) never got its forecast."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from collectors import clock, pipeline, tasks
from collectors.carbon.common import LBS_PER_MWH_TO_G_PER_KWH
from collectors.models import CollectorRun
from collectors.registry import ADAPTERS
from collectors.tasks import write_current_prices
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors import scenarios_carbon
from tests.collectors.scenarios_pricing import AWATTAR_NOW
from tests.support.carbon_sites import stored_config
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

EM_FORECAST = "/v3/carbon-intensity/forecast"


def carbon_entry(api, config) -> dict:
    answer = api.get(f"/api/enrichment/current?site={config.site_id}")
    assert answer.status_code == 200
    [entry] = answer.json()["sources"]["carbon_intensity"]["providers"]
    return entry


def current_carbon(api, config) -> dict:
    return carbon_entry(api, config)["value"]


def collect_dispatched(now):
    """What dispatch sends for the carbon source, run through the pipeline: the configs run."""
    chosen = list(tasks.configs_by_target("carbon_intensity").values())
    for config in chosen:
        assert pipeline.collect(config, now=now).status == "ok"
    return chosen


def forecast_points(database: str) -> int:
    rows = get_timeseries().query(database, 'SELECT * FROM "carbon_intensity_forecast" GROUP BY *')
    return len(list(rows))


def test_a_second_site_asking_electricity_maps_for_the_forecast_gets_it(
    own_storage, replay_server, api, monkeypatch
):
    site, credentials, now = scenarios_carbon.electricitymaps(replay_server)
    replay_server.add("GET", EM_FORECAST, query={"horizonHours": "48"},
                      json=load_fixture("electricitymaps/carbon_intensity_forecast.json"))  # fmt: skip
    first = stored_config(site, credentials, "electricitymaps")  # no forecast asked
    second = stored_config(replace(site, name="Berlin office"), credentials, "electricitymaps",
                           forecast=True)  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    assert [c.pk for c in collect_dispatched(now)] == [first.pk]  # one call for zone DE

    assert len(replay_server.calls("GET", EM_FORECAST)) == 1
    assert forecast_points(own_storage) == 47  # one slot is null
    [stored] = scenarios_carbon.stored_carbon(get_timeseries(), own_storage).values()
    assert stored["forecast_1h"] == 307.0 and stored["forecast_24h"] == 378.0
    for config in (second, first):  # the answer is shared: nothing in it is hidden from one
        value = current_carbon(api, config)
        assert value["forecast_1h"] == 307.0 and value["forecast_24h"] == 378.0


def test_a_second_watttime_config_on_the_forecast_plan_gets_the_gco2_values(
    own_storage, replay_server, api, monkeypatch
):
    site, credentials, now = scenarios_carbon.watttime(replay_server)
    first = stored_config(site, credentials, "watttime", plan="free")
    second = stored_config(replace(site, name="Davis home"), credentials, "watttime",
                           plan="forecast")  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    assert [c.pk for c in collect_dispatched(now)] == [first.pk]  # one call for CAISO_NORTH

    assert len(replay_server.calls("GET", "/v3/forecast")) == 1
    forecast = load_fixture("watttime/forecast_25h.json")["data"]
    running = next(p for p in forecast if p["point_time"] == "2026-05-01T14:05:00+00:00")
    grams = running["value"] * LBS_PER_MWH_TO_G_PER_KWH
    stored = scenarios_carbon.stored_carbon(get_timeseries(), own_storage)
    assert stored["2026-05-01T14:05:00+00:00"]["carbon_intensity_gco2_kwh"] == pytest.approx(grams)
    assert forecast_points(own_storage) > 0
    for config in (second, first):
        value = current_carbon(api, config)
        assert value["carbon_intensity_gco2_kwh"] == pytest.approx(grams)
        assert value["moer_percentile"] == 37.0


def test_configs_asking_alike_fetch_as_before(own_storage, replay_server, monkeypatch):
    """Two free-plan configs sharing a region: no forecast is asked (the plan says so)."""
    site, credentials, now = scenarios_carbon.watttime(replay_server)
    stored_config(site, credentials, "watttime", plan="free")
    stored_config(replace(site, name="Davis home"), credentials, "watttime", plan="free")
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    collect_dispatched(now)

    assert replay_server.calls("GET", "/v3/forecast") == []
    assert len(replay_server.calls("GET", "/v3/signal-index")) == 1


def test_the_options_combined_are_options_the_providers_read():
    for adapter in ADAPTERS:
        assert set(adapter.additive) <= adapter.options, adapter.provider
        for name, ranks in adapter.additive.items():
            assert None in ranks, (adapter.provider, name)  # a config may leave it out


def test_a_refused_key_is_replaced_by_the_key_of_another_config_sharing_the_zone(
    own_storage, replay_server, api, monkeypatch
):
    """The first config's key was revoked; the second site's config has a working one."""
    latest = "/v3/carbon-intensity/latest"
    refusal = {"status": 401, "json": load_fixture("electricitymaps/error_401.json"), "times": 1}
    replies = {
        latest: [refusal, {"json": load_fixture("electricitymaps/carbon_intensity_latest.json")}]
    }
    site, credentials, now = scenarios_carbon.electricitymaps(replay_server, replies)
    first = stored_config(site, replace(credentials, api_key="revoked-key"), "electricitymaps")
    second = stored_config(replace(site, name="Berlin office"), credentials, "electricitymaps")
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    [chosen] = tasks.configs_by_target("carbon_intensity").values()
    assert chosen.pk == first.pk
    outcome = pipeline.collect(chosen, now=now)

    assert outcome.status == "ok"
    keys = [call.headers["auth-token"] for call in replay_server.calls("GET", latest)]
    assert keys == ["revoked-key", credentials.api_key]
    stored = scenarios_carbon.stored_carbon(get_timeseries(), own_storage)
    assert stored["2026-05-01T14:00:00+00:00"]["carbon_intensity_gco2_kwh"] == 312.0
    for config in (first, second):
        assert current_carbon(api, config)["carbon_intensity_gco2_kwh"] == 312.0
    run = CollectorRun.objects.get(target="DE")  # whose key fetched is on the run
    assert run.status == "ok"
    assert f"fetched with the key of config {second.pk} (site Berlin office)" in run.error
    refused = CollectorRun.objects.get(target=f"site:{first.site_id}")  # the key to replace
    assert refused.status == "failed" and refused.error.startswith("AuthError")
    assert "revoked-key" not in refused.error + run.error
    # the site whose key was refused shows it as its last run; the other site its ok run
    assert carbon_entry(api, first)["last_run"]["status"] == "failed"
    assert carbon_entry(api, first)["last_run"]["error"].startswith("AuthError")
    # the status page's last-run cell says why, without the class (it said no reason)
    said = carbon_entry(api, first)["last_run"]["message"]
    assert said and said == refused.error.removeprefix("AuthError: "), said
    assert carbon_entry(api, second)["last_run"]["status"] == "ok"


def test_when_every_key_sharing_the_zone_is_refused_the_run_fails_as_before(
    own_storage, replay_server, monkeypatch
):
    latest = "/v3/carbon-intensity/latest"
    refusal = {"status": 401, "json": load_fixture("electricitymaps/error_401.json")}
    site, credentials, now = scenarios_carbon.electricitymaps(replay_server, {latest: [refusal]})
    first = stored_config(site, replace(credentials, api_key="revoked-key"), "electricitymaps")
    stored_config(replace(site, name="Berlin office"), replace(credentials, api_key="old-key"),
                  "electricitymaps")  # fmt: skip
    stored_config(replace(site, name="Berlin shop"), replace(credentials, api_key="old-key"),
                  "electricitymaps")  # the same key as the second: not asked twice  # fmt: skip
    monkeypatch.setattr(clock, "utc_now", lambda: now)

    outcome = pipeline.collect(first, now=now)

    assert outcome.status == "failed" and outcome.error.startswith("AuthError")
    keys = [call.headers["auth-token"] for call in replay_server.calls("GET", latest)]
    assert keys == ["revoked-key", "old-key"]
    assert CollectorRun.objects.get(target="DE").status == "failed"


def payload_extremes(hours: int) -> tuple[list[str], list[str]]:
    """The starts (UTC ISO) of the `hours` cheapest and dearest hourly slots of the aWATTar
    payload, in time order: its day is the next 24 h at AWATTAR_NOW, straight from the file."""
    rows = sorted(load_fixture("awattar/marketdata_hourly.json")["data"],
                  key=lambda row: row["marketprice"])  # fmt: skip

    def starts(chosen):
        return sorted(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC).isoformat()
                      for r in chosen)  # fmt: skip

    return starts(rows[:hours]), starts(rows[-hours:])


def stored_windows(database: str) -> dict[str, dict]:
    rows = get_timeseries().query(database, 'SELECT * FROM "electricity_pricing" GROUP BY *')
    return {row.tags.get("window_hours"): row.values for row in rows}


def berlin_and_potsdam(replay_server) -> dict[int, ProviderConfig]:
    """Two sites on aWATTar DE (the replayed day), by window_hours: Berlin 2, Potsdam 6."""
    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    configs = {}
    for name, hours in (("Berlin", 2), ("Potsdam", 6)):
        site = Site.objects.create(name=name, latitude=52.5, longitude=13.4,
                                   timezone="Europe/Berlin", pricing_region="DE")  # fmt: skip
        configs[hours] = ProviderConfig.objects.create(
            site=site, source="electricity_pricing", provider="awattar",
            options={"base_url": replay_server.url, "window_hours": hours},
        )  # fmt: skip
    return configs


def test_sites_sharing_a_tariff_each_get_the_windows_of_their_own_window_hours(
    own_storage, replay_server, api, monkeypatch
):
    """Berlin asks for 2-hour windows, Potsdam for 6; both are on aWATTar DE. Before, the one
    fetch wrote (and the minute task rewrote) only the first config's 2-hour lists: Potsdam's
    Grafana or Home Assistant InfluxDB sensor read 2 cheapest hours where it had asked for 6."""
    configs = berlin_and_potsdam(replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: AWATTAR_NOW)

    [chosen] = tasks.configs_by_target("electricity_pricing").values()
    assert pipeline.collect(chosen, now=AWATTAR_NOW).status == "ok"
    write_current_prices.apply()  # the minute task: the points from the stored slots

    assert len(replay_server.calls("GET", "/v1/marketdata")) == 1  # the tariff, fetched once
    stored = stored_windows(own_storage)
    assert set(stored) == {"2", "6"}
    for hours, config in configs.items():
        cheapest, dearest = payload_extremes(hours)
        assert json.loads(stored[str(hours)]["cheapest_hours"]) == cheapest
        assert json.loads(stored[str(hours)]["most_expensive_hours"]) == dearest
        assert stored[str(hours)]["current_price"] == 0.08596  # 85.96 EUR/MWh, 00:00 Berlin
        answer = api.get(f"/api/enrichment/current?site={config.site_id}").json()
        [entry] = answer["sources"]["electricity_pricing"]["providers"]
        assert entry["value"]["cheapest_hours"] == cheapest  # the API agrees with InfluxDB


def test_a_stale_price_answer_shows_no_windows_of_another_sites_window_hours(
    own_storage, replay_server, api, monkeypatch
):
    """When no stored slot covers now, the last fetched answer is shown, stale. It was computed
    for the config the fetch ran under (Berlin, 2 h): Potsdam, asking for 6 h, was shown
    Berlin's two cheapest and two dearest hours as its own. Now Potsdam's answer leaves the
    lists out and says why; Berlin's still shows them as they were."""
    configs = berlin_and_potsdam(replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: AWATTAR_NOW)
    [chosen] = tasks.configs_by_target("electricity_pricing").values()
    assert chosen == configs[2]  # the first config: Berlin's windows are fetched
    assert pipeline.collect(chosen, now=AWATTAR_NOW).status == "ok"
    after = datetime(2026, 5, 1, 22, 30, tzinfo=UTC)  # the stored prices end at 22:00 UTC
    monkeypatch.setattr(clock, "utc_now", lambda: after)

    def entry(hours: int) -> dict:
        answer = api.get(f"/api/enrichment/current?site={configs[hours].site_id}").json()
        [found] = answer["sources"]["electricity_pricing"]["providers"]
        assert found["stale"] is True
        return found

    cheapest, dearest = payload_extremes(2)
    berlin = entry(2)
    assert (berlin["value"]["cheapest_hours"], berlin["value"]["most_expensive_hours"]) == (
        cheapest, dearest
    )  # fmt: skip
    potsdam = entry(6)
    assert "cheapest_hours" not in potsdam["value"]
    assert "most_expensive_hours" not in potsdam["value"]
    assert potsdam["value"]["current_price"] == berlin["value"]["current_price"]
    assert (
        "the last fetched answer's cheapest_hours and most_expensive_hours are for 2 h"
        in (potsdam["message"])
    )
