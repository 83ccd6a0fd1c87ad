"""aWATTar, Tibber and Octopus answers with no published price covering now (the provider publishes
late, the answer's range was cut, or it starts later), through the real pipeline: replay
server -> adapter -> InfluxDB, Redis and the run record, then GET /api/enrichment/current.

The slots given are written as published (nothing else), the run is `partial` with a note
saying where the published prices end and that the next ones may be late (or, when they all
start after now, that they start later), and "now" is still
the last good answer, marked stale. (It was a malformed answer, "the API changed", and the
whole fetch was thrown away, backfilled past days and future slots included; Octopus rates that
all ended before now were a `no_data` run that wrote none of them.)"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from collectors.models import CollectorRun
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_pricing import OCTOPUS_RATES, TIBBER_HOME, TIBBER_TOKEN
from tests.support.pricing import per_kwh
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

AWATTAR = "/v1/marketdata"
TIBBER = "/v1-beta/gql"
DAY_MS = 86_400_000


def stored(database: str, provider: str) -> list[tuple[datetime, float, float]]:
    """(slot start, price, slot_minutes) of every stored forecast point of `provider`."""
    rows = get_timeseries().query(
        database,
        'SELECT "price", "slot_minutes" FROM "electricity_pricing_forecast" '
        'WHERE "provider" = $provider',
        params={"provider": provider},
    )
    return [(r.time, r.values["price"], r.values["slot_minutes"]) for r in rows]


def headline_points(database: str) -> list:
    return list(get_timeseries().query(database, 'SELECT * FROM "electricity_pricing"'))


def assert_backfill_written(database: str, provider: str, expected: list, total: int,
                            headline_at: datetime) -> None:  # fmt: skip
    """The backfill's slots (`expected`) are stored as published beside the earlier ones
    (`total` in all), nothing after them, and no price for now was invented: the only headline
    point is the good fetch's (`headline_at`)."""
    rows = stored(database, provider)
    assert len(rows) == total
    assert [row for row in rows if row[0] >= expected[0][0]] == expected
    assert rows[-1][0] == expected[-1][0]  # nothing after the last given
    assert [p.time for p in headline_points(database)] == [headline_at]


def partial_run(outcome, late: datetime, good: datetime, points: int, ending: str,
                published: str) -> CollectorRun:  # fmt: skip
    """The late run's record: partial, `points` written, the window from the last success,
    a note naming where the published prices end (`ending`) and when the provider publishes,
    the last good answer served."""
    run = CollectorRun.objects.get(started=late)
    assert (outcome.status, run.status, run.points_written) == ("partial", "partial", points)
    assert run.backfill_from == good
    assert f"no published price covers now ({late.isoformat()})" in run.error
    assert f"the published prices end at {ending}" in run.error
    assert "the next ones may be late" in run.error and published in run.error
    assert run.served.startswith(f"last good answer from {good.isoformat()}")
    return run


def price_entry(monkeypatch, moment: datetime) -> dict:
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    body = client.get("/api/enrichment/current").json()
    [entry] = body["sources"]["electricity_pricing"]["providers"]
    return entry


def awattar_config(server) -> ProviderConfig:
    site = Site.objects.create(name="Berlin", latitude=52.52, longitude=13.40,
                               timezone="Europe/Berlin", pricing_region="DE")  # fmt: skip
    return ProviderConfig.objects.create(site=site, source="electricity_pricing",
                                         provider="awattar",
                                         options={"base_url": server.url})  # fmt: skip


def tibber_config(server) -> ProviderConfig:
    site = Site.objects.create(name="Uppsala", latitude=59.86, longitude=17.64,
                               timezone="Europe/Stockholm")  # fmt: skip
    return ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="tibber", api_key=TIBBER_TOKEN,
        options={"base_url": server.url, "home_id": TIBBER_HOME},
    )  # fmt: skip


def test_awattar_backfill_whose_answer_ends_before_now_writes_it_and_serves_the_last_good(
    isolated, settings, replay_server, monkeypatch
):
    # 2026-05-01 (Berlin) collected at 08:07 local; then an outage. At 02:30 local on 05-03 the
    # backfill's answer holds 05-02 only: 05-03's prices (due ~14:00 the day before) are late.
    day = load_fixture("awattar/marketdata_hourly.json")
    next_day = [
        {**row, "start_timestamp": row["start_timestamp"] + DAY_MS,
         "end_timestamp": row["end_timestamp"] + DAY_MS, "marketprice": row["marketprice"] + 7}
        for row in day["data"]
    ]  # fmt: skip
    replay_server.add("GET", AWATTAR, json=day, times=1)
    replay_server.add("GET", AWATTAR, json={"object": "list", "data": next_day})
    config = awattar_config(replay_server)
    good = datetime(2026, 5, 1, 6, 7, tzinfo=UTC)
    assert pipeline.collect(config, now=good).status == "ok"
    late = datetime(2026, 5, 3, 0, 30, tzinfo=UTC)
    outcome = pipeline.collect(config, now=late)

    _, backfill = replay_server.calls("GET", AWATTAR)
    assert backfill.query["start"] == str(int(good.timestamp() * 1000))  # from the last success
    # the 24 hours of 05-02 are stored as published (EUR/MWh / 1000), beside 05-01's
    expected = [(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC),
                 per_kwh(r["marketprice"], 1000), 60.0) for r in next_day]  # fmt: skip
    assert expected[-1][0] == datetime(2026, 5, 2, 21, tzinfo=UTC)
    # the headline point is the 08:07 fetch's
    assert_backfill_written(settings.INFLUXDB_DATABASE, "awattar", expected, 48,
                            datetime(2026, 5, 1, 6, tzinfo=UTC))  # fmt: skip

    run = partial_run(outcome, late, good, 24, "2026-05-02T22:00:00+00:00", "14:00 CET")
    assert "no published price covers now (2026-05-03T00:30:00+00:00)" in run.error
    assert "MalformedResponse" not in run.error and "changed" not in run.error

    entry = price_entry(monkeypatch, late)
    assert entry["stale"] is True
    assert entry["fetched_at"] == good.isoformat()  # the last good answer, not the late one
    assert entry["value"]["time"] == "2026-05-01T06:00:00+00:00"
    assert entry["value"]["current_price"] == 0.1304  # 130.4 EUR/MWh, 08:00 local
    assert "no stored price slot covers now (2026-05-03T02:30:00+02:00)" in entry["message"]
    assert entry["last_run"]["status"] == "partial"
    assert "the published prices end at 2026-05-02T22:00:00+00:00" in entry["last_run"]["error"]


def test_awattar_answer_with_only_future_slots_writes_them(
    isolated, settings, replay_server, monkeypatch
):
    # 23:30 local on 04-30: the answer starts at midnight, the running hour is missing.
    payload = load_fixture("awattar/marketdata_hourly.json")
    replay_server.add("GET", AWATTAR, json=payload)
    now = datetime(2026, 4, 30, 21, 30, tzinfo=UTC)
    assert pipeline.collect(awattar_config(replay_server), now=now).status == "partial"

    rows = stored(settings.INFLUXDB_DATABASE, "awattar")
    assert rows == [(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC),
                                   per_kwh(r["marketprice"], 1000), 60.0) for r in payload["data"]]  # fmt: skip
    assert len(rows) == 24 and rows[0][0] == datetime(2026, 4, 30, 22, tzinfo=UTC)
    assert headline_points(settings.INFLUXDB_DATABASE) == []
    run = CollectorRun.objects.get()
    assert (run.status, run.points_written) == ("partial", 24)
    # It said "the published prices end at 2026-05-01T22:00 ...; the next ones may be late".
    assert "the published prices start later, at 2026-04-30T22:00:00+00:00" in run.error
    assert "(they end at 2026-05-01T22:00:00+00:00)" in run.error
    assert "may be late" not in run.error

    entry = price_entry(monkeypatch, now)
    assert entry["stale"] is True and entry["value"] is None  # no good answer yet
    assert entry["last_run"]["status"] == "partial"
    # from midnight on, the written slots are the price now
    entry = price_entry(monkeypatch, datetime(2026, 4, 30, 22, 5, tzinfo=UTC))
    assert entry["stale"] is False and entry["value"]["current_price"] == 0.08596


def test_tibber_answer_still_on_yesterday_after_midnight_writes_it(
    isolated, settings, replay_server, monkeypatch
):
    # 00:20 in Stockholm on 05-02, but Tibber still answers 05-01 as `today` (tomorrow: []).
    payload = load_fixture("tibber/price_info_today_only.json")
    replay_server.add("POST", TIBBER, json=payload)
    config = tibber_config(replay_server)
    now = datetime(2026, 5, 1, 22, 20, tzinfo=UTC)
    assert pipeline.collect(config, now=now).status == "partial"

    today = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]["today"]
    expected = [(datetime.fromisoformat(e["startsAt"]).astimezone(UTC), e["total"], 15.0)
                for e in today]  # fmt: skip
    rows = stored(settings.INFLUXDB_DATABASE, "tibber")
    assert len(rows) == 96 and rows == expected
    assert headline_points(settings.INFLUXDB_DATABASE) == []
    run = CollectorRun.objects.get()
    assert (run.status, run.points_written) == ("partial", 96)
    assert "no published price covers now (2026-05-01T22:20:00+00:00)" in run.error
    assert "the published prices end at 2026-05-01T22:00:00+00:00" in run.error
    assert "the next ones may be late" in run.error and "13:00 CET" in run.error

    entry = price_entry(monkeypatch, now)
    assert entry["stale"] is True and entry["value"] is None
    assert "no stored price slot covers now (2026-05-02T00:20:00+02:00)" in entry["message"]
    assert entry["last_run"]["status"] == "partial"
    assert "the next ones may be late" in entry["last_run"]["error"]


def test_tibber_late_answer_keeps_the_last_good_answer_served(
    isolated, settings, replay_server, monkeypatch
):
    replay_server.add("POST", TIBBER, json=load_fixture("tibber/price_info_today_only.json"))
    config = tibber_config(replay_server)
    good = datetime(2026, 5, 1, 21, 50, tzinfo=UTC)  # 23:50 local: the day's last quarter
    assert pipeline.collect(config, now=good).status == "ok"
    late = datetime(2026, 5, 1, 22, 20, tzinfo=UTC)
    outcome = pipeline.collect(config, now=late)
    assert (outcome.status, outcome.points_written) == ("partial", 96)
    assert len(stored(settings.INFLUXDB_DATABASE, "tibber")) == 96  # the same slots, once

    entry = price_entry(monkeypatch, late)
    assert entry["stale"] is True
    assert entry["fetched_at"] == good.isoformat()
    assert entry["value"]["time"] == "2026-05-01T21:45:00+00:00"
    assert entry["value"]["currency"] == "SEK"
    assert entry["last_run"]["status"] == "partial"


def octopus_day(shift: timedelta) -> list[dict]:
    """The published Agile day of the fixtures (2026-05-01 BST, 48 half-hours, newest
    first), moved by `shift`."""
    rates = [rate for page in (1, 2, 3)
             for rate in load_fixture(f"octopus/agile_page{page}.json")["results"]]  # fmt: skip

    def moved(moment: str) -> str:
        return (datetime.fromisoformat(moment) + shift).isoformat()

    return [{**r, "valid_from": moved(r["valid_from"]), "valid_to": moved(r["valid_to"])}
            for r in rates]  # fmt: skip


def test_octopus_backfill_whose_rates_all_ended_before_now_writes_them(
    isolated, settings, replay_server, monkeypatch
):
    # 2026-04-30 collected at 13:10 BST; then an outage. At 00:10 BST on 05-02 the backfill's
    # answer holds 05-01 only: 05-02's Agile rates (due ~16:00 the day before) are late.
    earlier, late_day = octopus_day(-timedelta(days=1)), octopus_day(timedelta(0))
    single_page = {"count": 48, "next": None, "previous": None}
    replay_server.add("GET", OCTOPUS_RATES, json={**single_page, "results": earlier}, times=1)
    replay_server.add("GET", OCTOPUS_RATES, json={**single_page, "results": late_day})
    site = Site.objects.create(name="London", latitude=51.51, longitude=-0.13,
                               timezone="Europe/London", pricing_region="C")  # fmt: skip
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="octopus",
        options={"base_url": replay_server.url, "product_code": "AGILE-24-10-01"},
    )  # fmt: skip
    good = datetime(2026, 4, 30, 12, 10, tzinfo=UTC)
    assert pipeline.collect(config, now=good).status == "ok"
    late = datetime(2026, 5, 1, 23, 10, tzinfo=UTC)
    outcome = pipeline.collect(config, now=late)

    _, backfill = replay_server.calls("GET", OCTOPUS_RATES)
    assert backfill.query["period_from"] == "2026-04-30T12:10:00Z"  # from the last success
    # the 48 half-hours of 05-01 are stored as published (p/kWh / 100), beside 04-30's
    expected = sorted((datetime.fromisoformat(r["valid_from"]), per_kwh(r["value_inc_vat"], 100), 30.0)
                      for r in late_day)  # fmt: skip
    assert expected[-1][0] == datetime(2026, 5, 1, 22, 30, tzinfo=UTC)
    # the headline point is the 13:10 fetch's
    assert_backfill_written(settings.INFLUXDB_DATABASE, "octopus", expected, 96,
                            datetime(2026, 4, 30, 12, tzinfo=UTC))  # fmt: skip

    run = partial_run(outcome, late, good, 48, "2026-05-01T23:00:00+00:00", "16:00 UK time")
    assert "the slots given are written" in run.error
    assert "rates end at 2026-05-01T23:00:00+00:00" in run.error  # Octopus's own words stay
    assert "if they are late, the next run finds them" in run.error

    entry = price_entry(monkeypatch, late)
    assert entry["stale"] is True
    assert entry["fetched_at"] == good.isoformat()  # the last good answer, not the late one
    assert entry["value"]["time"] == "2026-04-30T12:00:00+00:00"
    noon = next(r for r in earlier if r["valid_from"] == "2026-04-30T12:00:00+00:00")
    assert entry["value"]["current_price"] == per_kwh(noon["value_inc_vat"], 100)
    assert entry["value"]["currency"] == "GBP"
    assert "no stored price slot covers now (2026-05-02T00:10:00+01:00)" in entry["message"]
    assert entry["last_run"]["status"] == "partial"
    assert "the published prices end at 2026-05-01T23:00:00+00:00" in entry["last_run"]["error"]
