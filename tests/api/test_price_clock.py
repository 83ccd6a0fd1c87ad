"""The price now and the cheapest window at any minute (issue 10 §1).

Documented payloads go through the real pipeline (replay server -> adapter -> InfluxDB). A clock
then moves through every minute of the day: 15-minute slots on the autumn DST day (Tibber, 100
quarter-hours), 30-minute slots on the spring DST day (Octopus, 46 half-hours) and 60-minute
slots (aWATTar). The slots are read back once with the function the endpoints use, and the
computation the endpoints run is asked per minute; full HTTP requests are made at chosen
minutes. Expected prices come straight from the payloads, not from our code.
"""

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from collectors.models import CollectorRun
from collectors.pricing import now as price_now
from collectors.pricing.store import AHEAD, LOOK_BACK, stored_slots
from collectors.pricing.windows import NotEnoughData, find_windows
from collectors.tasks import write_current_prices
from config.schedule import SCHEDULE
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_pricing import TIBBER_HOME, TIBBER_TOKEN
from tests.support.replay import load_fixture
from tests.support.stored_prices import CASES, TIBBER_PATH, Case, collect, payload_slots

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE = timedelta(minutes=1)
DAY = timedelta(hours=24)


def minute_prices(case: Case) -> list[float]:
    """The payload's price for every minute of the day, by minute index from day_start."""
    prices = []
    for start, end, price in payload_slots(case):
        prices += [price] * round((end - start) / MINUTE)
    assert len(prices) == round((case.day_end - case.day_start) / MINUTE)
    return prices


@pytest.mark.parametrize("name", CASES)
def test_every_minute_of_the_day_serves_the_covering_slot_and_no_dearer_window(
    name, own_storage, replay_server
):
    case = CASES[name]
    collect(case, replay_server)
    [(currency, slots)] = stored_slots(
        case.provider, case.region, case.day_start - LOOK_BACK, case.day_end + AHEAD
    ).items()
    assert currency == case.currency
    expected = payload_slots(case)
    assert [(s.start, s.end, s.price) for s in slots] == expected  # stored as published
    per_minute = minute_prices(case)
    # running now for `hours` from minute i costs mean(per_minute[i : i + 60 * hours])
    totals = [0.0, *itertools.accumulate(per_minute)]
    minutes = len(per_minute)
    assert minutes == {"15min_dst_autumn": 1500, "30min_dst_spring": 1380, "60min": 1440}[name]
    width = case.slot_minutes / 60
    checks = [(width, True, False), (1, True, False), (3, True, False), (1, False, False),
              (1, True, True)]  # fmt: skip
    slot_index = 0
    for i in range(minutes):
        now = case.day_start + i * MINUTE
        while expected[slot_index][1] <= now:
            slot_index += 1
        start, end, price = expected[slot_index]
        value = price_now.summary(slots, now, 3, currency, case.region)
        assert (value["current_price"], value["time"]) == (price, start.isoformat()), now
        assert value["slot_minutes"] == case.slot_minutes
        # the 24-h figures use the slots from the running one up to now + 24 h; only this day
        # is published, so they say where they end (the 25-h day is longer than 24 h at first)
        rest = [slot for slot in expected[slot_index:] if slot[0] < now + DAY]
        assert value["known_until"] == rest[-1][1].isoformat()
        mean = sum(p * (e - s).total_seconds() for s, e, p in rest) / (
            (rest[-1][1] - start).total_seconds()
        )
        assert value["average_price_24h"] == pytest.approx(mean)
        # to 15 significant digits, as the plan's and the windows' figures: without binary
        # floating point's noise in the last digits (the mean of the published decimals)
        assert value["average_price_24h"] == float(f"{mean:.15g}")
        for hours, contiguous, dearest in checks:
            span = round(hours * 60)
            if i + span > minutes:  # the day's prices end before the window would
                with pytest.raises(NotEnoughData):
                    find_windows(slots, hours, now, contiguous=contiguous, most_expensive=dearest)
                continue
            running_now = (totals[i + span] - totals[i]) / span
            result = find_windows(slots, hours, now, contiguous=contiguous, most_expensive=dearest)
            assert result.start >= now
            assert sum((s.end - s.start for s in result.slots), timedelta()) == span * MINUTE
            assert result.saving_vs_now == pytest.approx(running_now - result.average_price)
            if dearest:
                assert result.average_price >= running_now - 1e-9, (now, hours)
                assert result.saving_vs_now <= 0
            else:
                assert result.average_price <= running_now + 1e-9, (now, hours, contiguous)
                assert result.saving_vs_now >= 0


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("viewer"))
    return client


def price_entry(api) -> dict:
    body = api.get("/api/enrichment/current").json()
    [entry] = body["sources"]["electricity_pricing"]["providers"]
    return entry


@pytest.mark.parametrize("name", CASES)
def test_http_answers_follow_the_clock(name, own_storage, replay_server, api, monkeypatch):
    case = CASES[name]
    collect(case, replay_server)
    calls = len(replay_server.requests)
    expected = payload_slots(case)
    step = timedelta(minutes=case.slot_minutes)
    # around a slot edge, around the DST change, the first and the last minute of the day
    chosen = [case.edge - MINUTE, case.edge, case.edge + step - MINUTE, case.edge + step,
              case.day_start, case.day_end - MINUTE,
              case.day_start + timedelta(hours=6, minutes=7) + 2 * step]  # fmt: skip
    for moment in chosen:
        monkeypatch.setattr(clock, "utc_now", lambda moment=moment: moment)
        [(start, _, price)] = [s for s in expected if s[0] <= moment < s[1]]
        entry = price_entry(api)
        assert entry["stale"] is False, moment
        assert entry["time"] == start.isoformat()
        value = entry["value"]
        assert (value["current_price"], value["time"]) == (price, start.isoformat()), moment
        assert value["currency"] == case.currency and value["unit"] == f"{case.currency}/kWh"
        horizon = max(e for s, e, _ in expected if s < moment + DAY)
        assert value["known_until"] == horizon.isoformat()
        assert value["now"] == moment.isoformat()
        # the last fetch is still named, with its own time
        assert entry["fetched_at"] == (case.day_start + timedelta(hours=6, minutes=7)).isoformat()
        if moment + timedelta(hours=1) > case.day_end:
            continue
        body = api.get("/api/pricing/windows", {"hours": "1"}).json()
        assert (body["now"], body["current_price"]) == (moment.isoformat(), price)
        assert datetime.fromisoformat(body["start"]) >= moment
        assert body["saving_vs_now"] >= 0, (moment, body)
        dearest = api.get("/api/pricing/windows", {"hours": "1", "most_expensive": "true"}).json()
        assert dearest["saving_vs_now"] <= 0, (moment, dearest)
    assert len(replay_server.requests) == calls  # no API call: everything came from InfluxDB


@pytest.mark.parametrize(
    ("name", "vat_included", "basis"),
    [
        # aWATTar's marketprice is the net EPEX spot price; Tibber's total and Octopus'
        # value_inc_vat include VAT (external_apis.md, sections 4-6)
        ("60min", False, "net: no VAT, grid fees or supplier markup"),
        ("15min_dst_autumn", True, "energy plus tax, VAT included"),
        ("30min_dst_spring", True, "incl. VAT (value_inc_vat)"),
    ],
)
def test_every_price_answer_says_whether_vat_is_in_the_price(
    name, vat_included, basis, own_storage, replay_server, api, monkeypatch
):
    # The same "EUR/kWh" stood for aWATTar's net spot price and, for Tibber and Octopus, a
    # price with VAT; only providers.md told them apart, and the plan's `cost` read as a bill.
    case = CASES[name]
    collect(case, replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: case.edge)
    answers = {
        "current": price_entry(api)["value"],
        "windows": api.get("/api/pricing/windows", {"hours": "1"}).json(),
        "slots": api.get("/api/pricing/slots").json(),
        "plan": api.get("/api/plan", {"hours": "1", "carbon_price": "0"}).json(),
    }
    for what, body in answers.items():
        assert body["vat_included"] is vat_included, (what, body)
        assert basis in body["price_basis"], (what, body)


def test_stale_only_when_no_stored_slot_covers_now(own_storage, replay_server, api, monkeypatch):
    case = CASES["60min"]
    collect(case, replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: case.day_end - MINUTE)
    assert price_entry(api)["stale"] is False
    monkeypatch.setattr(clock, "utc_now", lambda: case.day_end)
    entry = price_entry(api)
    assert entry["stale"] is True
    assert "no stored price slot covers now (2026-05-01T22:00:00+00:00)" in entry["message"]
    # what was fetched is still shown as it was, with its own (fetch-time) slot
    assert entry["value"]["time"] == "2026-05-01T04:00:00+00:00"
    assert entry["value"]["current_price"] == pytest.approx(
        next(p for s, _, p in payload_slots(case) if s.isoformat() == entry["value"]["time"])
    )


def test_past_the_stored_slots_the_minute_task_writes_no_price(
    own_storage, replay_server, monkeypatch
):
    # aWATTar's day ends at 22:00 UTC and the next is not published: from then on no point
    # claims a price; the newest stays the last hour's, its known_until already past.
    case = CASES["60min"]
    collect(case, replay_server)
    written = []
    for moment in (case.day_end - MINUTE, case.day_end, case.day_end + 90 * MINUTE):
        monkeypatch.setattr(clock, "utc_now", lambda moment=moment: moment)
        written.append(write_current_prices()["points_written"])
    assert written == [1, 0, 0]
    [newest] = get_timeseries().query(
        own_storage,
        'SELECT LAST("current_price"), "known_until" FROM "electricity_pricing"',
    )
    last_hour = case.day_end - 60 * MINUTE
    assert newest.time == last_hour
    assert newest.values["last"] == {s: p for s, _, p in payload_slots(case)}[last_hour]
    assert newest.values["known_until"] == case.day_end.isoformat()


def test_stale_reason_says_now_on_the_homes_clock(own_storage, replay_server, api, monkeypatch):
    """The status page shows the reason as it is: a home in New York reads its own evening
    (with its offset), not 22:00 UTC, which looked like the wrong time."""
    case = CASES["60min"]
    collect(case, replay_server)
    Site.objects.update(timezone="America/New_York")
    monkeypatch.setattr(clock, "utc_now", lambda: case.day_end)  # 2026-05-01T22:00Z
    entry = price_entry(api)
    assert entry["stale"] is True
    assert "no stored price slot covers now (2026-05-01T18:00:00-04:00)" in entry["message"]


def test_nothing_stored_and_nothing_fetched_says_so(own_storage, api, monkeypatch):
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    entry = price_entry(api)
    assert entry["value"] is None and entry["stale"] is True
    assert entry["message"].endswith("; no answer yet")
    assert entry["fetched_at"] is None


def collect_tibber_today(replay_server) -> None:
    """Tibber's 2026-05-01 in Stockholm before tomorrow's prices (tomorrow: []), collected at
    06:00 UTC through the pipeline."""
    replay_server.add("POST", TIBBER_PATH, json=load_fixture("tibber/price_info_today_only.json"))
    site = Site.objects.create(name="Uppsala", latitude=59.86, longitude=17.64)
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="tibber", api_key=TIBBER_TOKEN,
        options={"base_url": replay_server.url, "home_id": TIBBER_HOME},
    )  # fmt: skip
    assert pipeline.collect(config, now=datetime(2026, 5, 1, 6, tzinfo=UTC)).status == "ok"


def test_the_running_cheapest_quarter_hour_is_recommended(
    own_storage, replay_server, api, monkeypatch
):
    # The case: quarter-hours stored, the running one the cheapest of what is known
    # (Tibber 2026-05-01 13:00 Stockholm, 0.4516 SEK/kWh). The old rule skipped it and answered
    # a dearer window later with a negative saving.
    collect_tibber_today(replay_server)
    now = datetime(2026, 5, 1, 11, 1, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    assert price_entry(api)["value"]["current_price"] == 0.4516
    quarter = api.get("/api/pricing/windows", {"hours": "0.25"}).json()
    # 14 min at 0.4516, then 1 min of 13:15 (0.4567)
    assert quarter["start"] == now.isoformat()
    assert quarter["average_price"] == pytest.approx((14 * 0.4516 + 0.4567) / 15)
    assert quarter["saving_vs_now"] == 0
    assert quarter["slots"][0] == {"start": now.isoformat(),
                                   "end": "2026-05-01T11:15:00+00:00", "price": 0.4516}  # fmt: skip
    hour = api.get("/api/pricing/windows", {"hours": "1"}).json()
    assert hour["saving_vs_now"] >= 0


def test_windows_and_plan_say_how_far_the_prices_they_compared_go(
    own_storage, replay_server, api, monkeypatch
):
    # Tibber before tomorrow's prices are out (tomorrow: []): at 13:01 Stockholm the next 24 h
    # hold only 11 h of prices. The cheapest window of those was answered for within=24h
    # without saying that tomorrow's night was never compared.
    collect_tibber_today(replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 1, 11, 1, tzinfo=UTC))
    end_of_today = "2026-05-01T22:00:00+00:00"  # the last startsAt, 23:45+02:00, + 15 min
    windows = api.get("/api/pricing/windows", {"hours": "2", "within": "24h"}).json()
    assert (windows["within"], windows["known_until"]) == ("24h", end_of_today)
    plan = api.get("/api/plan", {"hours": "2", "carbon_price": "0"}).json()
    assert plan["prices_until"] == end_of_today
    assert plan["before"] == "2026-05-02T11:01:00+00:00"


def test_beat_task_writes_the_running_slot_at_each_edge_without_an_api_call(
    own_storage, replay_server, monkeypatch
):
    case = CASES["15min_dst_autumn"]
    collect(case, replay_server)
    calls = len(replay_server.requests)
    expected = {s: p for s, _, p in payload_slots(case)}
    edge = case.edge  # 02:00 CET, the second 02:00 of the night
    for moment in (edge - MINUTE, edge, edge + MINUTE, edge + 15 * MINUTE):
        monkeypatch.setattr(clock, "utc_now", lambda moment=moment: moment)
        assert write_current_prices() == {"targets": 1, "points_written": 1}
    assert len(replay_server.requests) == calls
    rows = list(
        get_timeseries().query(
            own_storage,
            'SELECT "current_price", "known_until", "cheapest_hours" FROM "electricity_pricing" '
            'WHERE "provider" = $provider AND "region" = $region AND "currency" = $currency '
            "AND time >= $start AND time < $end",
            params={
                "provider": "tibber",
                "region": case.region,
                "currency": "SEK",
                "start": edge - 15 * MINUTE,
                "end": edge + 30 * MINUTE,
            },  # fmt: skip
        )
    )
    # 01:45, 02:00 (written twice: the second run overwrote it) and 02:15
    assert [r.time for r in rows] == [edge - 15 * MINUTE, edge, edge + 15 * MINUTE]
    assert [r.values["current_price"] for r in rows] == [expected[r.time] for r in rows]
    assert {r.values["known_until"] for r in rows} == {case.day_end.isoformat()}
    # the cheapest 3 h: 12 quarter-hours (13 when running now wins: it starts mid-slot)
    assert all(len(json.loads(r.values["cheapest_hours"])) in (12, 13) for r in rows)


def test_beat_task_skips_configs_it_cannot_use_without_recording_a_run_each_minute(own_storage):
    site = Site.objects.create(name="London", latitude=51.5, longitude=-0.1, pricing_region="")
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="octopus")
    assert write_current_prices() == {"targets": 0, "points_written": 0}
    assert not CollectorRun.objects.exists()  # the hourly dispatch records it, not every minute


def test_the_price_task_runs_every_minute_on_the_collectors_queue():
    [entry] = [e for e in SCHEDULE if e.task == "collectors.write_current_prices"]
    # at the start of every minute: every slot edge (:00, :15, :30, :45) shows in InfluxDB in
    # its first seconds, not up to a minute later (every 60 s from beat's start)
    assert (entry.queue, entry.crontab, entry.every_seconds) == ("collectors", "* * * * *", None)
    assert entry.expires == 50


def test_peak_is_unknown_when_less_than_twelve_hours_are_priced(
    own_storage, replay_server, api, monkeypatch
):
    # aWATTar's day ends at 22:00 UTC: at 10:10 12 h are priced, at 19:10 only 3 h
    case = CASES["60min"]
    collect(case, replay_server)
    prices = [price for _, _, price in payload_slots(case)]
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 1, 19, 10, tzinfo=UTC))
    value = price_entry(api)["value"]
    assert value["peak_period"] is None
    assert value["peak_unknown"] == (
        "peak unknown: prices are known only until 2026-05-01T22:00:00+00:00 (3 h from the "
        "running slot's start); the peak rule needs 12 h of the next 24 h"
    )
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 1, 10, 10, tzinfo=UTC))
    value = price_entry(api)["value"]
    day = prices[12:]  # 10:00..22:00, hourly
    dearer = sum(1 for p in day if p > day[0])
    assert (value["peak_period"], value["peak_unknown"]) == (dearer < 0.25 * 12, None)


def test_the_cheapest_windows_average_is_the_decimal_without_float_noise(
    own_storage, replay_server, api, monkeypatch
):
    # aWATTar's documented day: 88.0 EUR/MWh from 21:00 UTC, its last hour, stored as 0.088
    # EUR/kWh. Averaged over the hour in binary floating point (0.088 x 3600 s / 3600 s) it is
    # 0.08799999999999998; /api/plan answers its figures to 15 significant digits.
    collect(CASES["60min"], replay_server)
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 5, 1, 21, tzinfo=UTC))
    response = api.get("/api/pricing/windows", {"hours": "1"})
    body = response.json()
    assert (body["start"], body["end"]) == (
        "2026-05-01T21:00:00+00:00",
        "2026-05-01T22:00:00+00:00",
    )
    assert body["average_price"] == 0.088
    assert body["windows"][0]["average_price"] == 0.088
    assert "0.08799999999999998" not in response.content.decode()
