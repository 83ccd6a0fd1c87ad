"""An Emporia account whose devices count days in two zones: each device's ended day gets its
complete total, asked once 15 minutes after that device's day ended.

The account (tests/fixtures/emporia/*_two_zones.json): the Vue "Main panel" and its "Office
plug" at home in Berlin, a second Vue "Holiday home" in New York. Emporia answers each
device's day holding the `instant` (its `locationProperties.timeZone`). The ended day was
asked only for the zone of the account's first Vue (Berlin): the Holiday home's day kept the
"so far" total of its last minute, without the minutes the Vue uploaded late.

The site (Berlin) is collected through the pipeline every 5 minutes against the replay server
over Berlin's midnight (22:00 UTC, CEST) and New York's (04:00 UTC, EDT), and GET
/api/enrichment/current is read every minute."""

from datetime import datetime, timedelta

import pytest

from collectors import pipeline, registry
from collectors.models import CollectorRun
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from tests.collectors import scenarios_smart_meter as scenes
from tests.collectors.scenarios_smart_meter import day_totals
from tests.support.meter_days import (
    MINUTE,
    RUN_EVERY,
    answer_usage,
    day_calls,
    day_of,
    moved_adapter,
    run_and_read,
    served,
    utc,
)

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"
ZONES = {"Main panel": BERLIN, "Office plug": BERLIN, "Holiday home": NEW_YORK}
BERLIN_END, NEW_YORK_END = utc(5, 1, 21, 59), utc(5, 2, 3, 59)  # the last minutes of 1 May
ENDS = {BERLIN: BERLIN_END, NEW_YORK: NEW_YORK_END}
LATE = 0.35  # kWh of a day's last minutes, in Emporia's answer 10 minutes after the day ended


def so_far(device: str, instant: datetime, zones: dict[str, str] = ZONES) -> float:
    """Emporia's 1D figure of `device` (in `zones`) at `instant`: its own day's kWh up to it."""
    minutes = (instant - day_of(instant, zones[device])[1]) / MINUTE + 1
    per_minute = {"Main panel": 0.02, "Office plug": 0.001, "Holiday home": 0.005}[device]
    return round(1 + minutes * per_minute, 4)


def complete(device: str) -> float:
    return round(so_far(device, ENDS[ZONES[device]]) + LATE, 4)


def answer(server, scale: str, at: datetime, kwh: dict[str, float], **query) -> None:
    """Emporia's getDeviceListUsages at `at` (all three devices), `kwh` by device."""
    body = server.load_fixture(
        f"emporia/usage_{'1day' if scale == '1D' else '1min'}_two_zones.json"
    )
    usages = body["deviceListUsages"]
    panel, holiday = (
        usages["devices"][0]["channelUsages"][0],
        usages["devices"][1]["channelUsages"][0],
    )
    panel["usage"], holiday["usage"] = kwh["Main panel"], kwh["Holiday home"]
    panel["nestedDevices"][0]["channelUsages"][0]["usage"] = kwh["Office plug"]
    answer_usage(server, body, at, **query)


@pytest.fixture
def account(isolated, replay_server, monkeypatch):
    """Make a Berlin site collecting the two-zone Emporia account, the Holiday home in
    `holiday_zone` (the moved clock's)."""
    moved = moved_adapter(monkeypatch, EmporiaVueAdapter, utc(5, 1, 21, 0))

    def make(holiday_zone: str = NEW_YORK):
        return scenes.zoned_emporia_config(
            replay_server, BERLIN, "emporia/devices_two_zones.json", {NEW_YORK: holiday_zone}
        )

    registry.adapter_for.cache_clear()
    yield make, moved
    registry.adapter_for.cache_clear()


def test_each_devices_ended_day_gets_its_complete_total_after_its_own_midnight(
    account, isolated, settings, replay_server
):
    make, moved = account
    config = make()
    for end in ENDS.values():  # before the late minutes are in: the day so far
        answer(replay_server, "1D", end, {d: so_far(d, end) for d in ZONES})
    today, per_run, ended_asks = [], [], []

    def run(now: datetime) -> None:
        instant = now.replace(second=0) - MINUTE
        for zone, end in ENDS.items():
            if now >= end + MINUTE + timedelta(minutes=10):  # Emporia has the late minutes
                late = {d: complete(d) if ZONES[d] == zone else so_far(d, end) for d in ZONES}
                answer(replay_server, "1D", end, late, energyUnit="KilowattHours")
        answer(replay_server, "1MIN", instant, {"Main panel": 0.0169, "Office plug": 0.0021,
                                                "Holiday home": 0.0052})  # fmt: skip
        if instant not in ENDS.values():
            answer(replay_server, "1D", instant, {d: so_far(d, instant) for d in ZONES})
        before = len(day_calls(replay_server))
        assert pipeline.collect(config, now=now).status == "ok", now
        asked = day_calls(replay_server)[before:]
        per_run.append(len(asked))
        today.extend(at for at in asked if at == instant)
        ended_asks.extend((now, at) for at in asked if at != instant)

    def want(now: datetime) -> dict[str, tuple]:
        """Per device: the last total asked as today's in its own day of `now`."""
        found = {}
        for device, zone in ZONES.items():
            local, start = day_of(now, zone)
            if mine := [at for at in today if start <= at <= now]:
                at = max(mine)
                found[device] = (so_far(device, at), at.isoformat(), zone, local.isoformat())
        return found

    segments = [(utc(5, 1, 21, 40, 30), utc(5, 1, 22, 35, 30)),
                (utc(5, 2, 3, 40, 30), utc(5, 2, 4, 35, 30))]  # fmt: skip
    run_and_read(config, moved, segments, run, want)
    assert served(config.site_id)["Holiday home"][3] == "2026-05-02"

    for device in ZONES:
        totals = day_totals(isolated, settings, device)
        assert totals.get(ENDS[ZONES[device]]) == complete(device), device
        other = ENDS[BERLIN if ZONES[device] == NEW_YORK else NEW_YORK]
        assert totals.get(other, so_far(device, other)) == so_far(device, other), device
    # each day asked once more, by the first run whose last complete minute is 15 minutes
    # after the day ended in its zone; one day call a run
    assert ended_asks == [(utc(5, 1, 22, 20, 30), BERLIN_END), (utc(5, 2, 4, 20, 30), NEW_YORK_END)]
    assert max(per_run) == 1


def test_zones_whose_days_end_at_one_minute_share_one_call(
    account, isolated, settings, replay_server
):
    """The Holiday home in Paris: its day ends with Berlin's (22:00 UTC), so one call asks the
    ended day of all three devices, and each stores its complete total."""
    make, moved = account
    config = make("Europe/Paris")
    zones = {**ZONES, "Holiday home": "Europe/Paris"}
    figures = {d: so_far(d, BERLIN_END, zones) for d in zones}
    answer(replay_server, "1D", BERLIN_END, figures)
    moved.now = utc(5, 1, 21, 40, 30)
    while moved.now <= utc(5, 1, 22, 35, 30):
        if moved.now >= utc(5, 1, 22, 10):
            late = {d: round(kwh + LATE, 4) for d, kwh in figures.items()}
            answer(replay_server, "1D", BERLIN_END, late, energyUnit="KilowattHours")
        instant = moved.now.replace(second=0) - MINUTE
        answer(replay_server, "1MIN", instant, {"Main panel": 0.0169, "Office plug": 0.0021,
                                                "Holiday home": 0.0052})  # fmt: skip
        if instant != BERLIN_END:
            answer(replay_server, "1D", instant, {d: so_far(d, instant, zones) for d in zones})
        assert pipeline.collect(config, now=moved.now).status == "ok", moved.now
        moved.now += RUN_EVERY
    for device, kwh in figures.items():
        assert day_totals(isolated, settings, device)[BERLIN_END] == round(kwh + LATE, 4)
    asked = day_calls(replay_server)
    assert asked.count(BERLIN_END) == 1  # by the run at 22:20:30, for all three devices
    assert len(asked) == len(set(asked))


def test_the_budget_counts_an_ended_day_a_day_for_each_zone(isolated, replay_server):
    """Every 5 minutes the account makes (1 + 2 Vues) x 288 + 96 of today's totals + 24 device
    lists + 2 ended days (Berlin's and New York's, asked as above) = 986 calls a day, 1,036
    with 5 % for retries. Under a budget of 1,035 a day it is collected every 6 minutes, and
    the record of the run that waits says so."""
    registry.adapter_for.cache_clear()  # one adapter for the fetch and the budget's planning
    config = scenes.zoned_emporia_config(
        replay_server, BERLIN, "emporia/devices_two_zones.json", {}
    )
    config.options = {**config.options, "budget": "1035/day"}
    config.save()
    now = utc(5, 1, 12, 0, 30)
    instant = utc(5, 1, 12, 0) - MINUTE
    answer(replay_server, "1MIN", instant, {"Main panel": 0.0169, "Office plug": 0.0021,
                                            "Holiday home": 0.0052})  # fmt: skip
    answer(replay_server, "1D", instant, {d: so_far(d, instant) for d in ZONES})
    assert pipeline.collect(config, now=now).status == "ok"  # the device list is known
    before = len(replay_server.calls("GET"))
    assert pipeline.collect(config, now=now + RUN_EVERY).status == "budget"
    assert len(replay_server.calls("GET")) == before
    assert CollectorRun.objects.get(status="budget").served.startswith(
        "cadence lowered to every 6 min for this account: every 5 min would make 1036 calls, "
        "above its budget 1035/day"
    )
