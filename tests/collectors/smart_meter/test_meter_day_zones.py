"""A meter's day total is the day the meter counts, at every minute, whatever the site's zone.

Emporia's day is the Vue's local day (`locationProperties.timeZone`), Sense's the account's
(`time_zone` of the login answer); the served `daily_kwh` followed the site's midnight, so
around the meter's midnight the ended day's total was served as today's, and after the site's
midnight nothing was served until the next day-total call. Each meter is collected through the
pipeline every 5 minutes against the replay server, and GET /api/enrichment/current is read
every minute across the meter's and the site's midnight: two zone pairs and a 25-hour day.

An ended day's total was asked at once by the first run of the next day (or its last minute's
"so far" total stood as the day's), before the meter had uploaded its last minutes: it is asked
once more after the day settled, and Emporia's or Sense's late figure is stored at its end."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors import pipeline, registry
from collectors.smart_meter.emporia.adapter import EmporiaVueAdapter
from collectors.smart_meter.sense.adapter import SenseAdapter
from retention.timeutil import day_start
from tests.collectors import scenarios_smart_meter as scenes
from tests.collectors.scenarios_smart_meter import day_totals
from tests.support.meter_days import (
    MINUTE,
    RUN_EVERY,
    answer_usage,
    day_calls,
    day_of,
    last_asked,
    moved_adapter,
    run_and_read,
    utc,
)
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db]

# --- Emporia ---


def so_far(instant: datetime, zone: str) -> tuple[float, float]:
    """Emporia's 1D answer at `instant`: the day's kWh up to it (mains, plug)."""
    minutes = (instant - day_of(instant, zone)[1]) / MINUTE + 1
    return round(2 + minutes * 0.02, 4), round(0.1 + minutes * 0.001, 4)


def usage(server, scale: str, at: datetime, kwh: tuple[float, float], **query) -> None:
    body = server.load_fixture(f"emporia/usage_{'1day' if scale == '1D' else '1min'}.json")
    answer = body["deviceListUsages"]
    mains = answer["devices"][0]["channelUsages"][0]
    mains["usage"], mains["nestedDevices"][0]["channelUsages"][0]["usage"] = kwh
    answer_usage(server, body, at, **query)


@pytest.fixture
def vue(isolated, replay_server, monkeypatch):
    """Make a site in `site_zone` collecting a Vue (and its plug) in `vue_zone`; Emporia
    answers every 1D asked with the day so far in the Vue's zone (so_far)."""
    moved = moved_adapter(monkeypatch, EmporiaVueAdapter, utc(5, 1, 0, 0))

    def make(site_zone: str, vue_zone: str):
        return scenes.zoned_emporia_config(
            replay_server, site_zone, "emporia/devices.json", {"America/Chicago": vue_zone}
        )

    registry.adapter_for.cache_clear()
    yield make, moved
    registry.adapter_for.cache_clear()


def emporia_run(config, server, vue_zone: str):
    def run(now: datetime) -> None:
        instant = now.replace(second=0) - MINUTE
        usage(server, "1MIN", instant, (0.0169, 0.0021))
        usage(server, "1D", instant, so_far(instant, vue_zone))
        ended = day_of(instant, vue_zone)[1] - MINUTE  # the last minute of the day before
        usage(server, "1D", ended, so_far(ended, vue_zone))
        assert pipeline.collect(config, now=now).status == "ok", now

    return run


def emporia_wanted(server, vue_zone: str):
    """Per device, the last total asked in the Vue's day of `now`: (kWh, time, zone, date)."""

    def want(now: datetime) -> dict[str, tuple]:
        if (last := last_asked(day_calls(server), now, vue_zone)) is None:
            return {}
        (mains, plug), when, day = so_far(last[0], vue_zone), last[0].isoformat(), last[1]
        return {"Main panel": (mains, when, vue_zone, day),
                "Office plug": (plug, when, vue_zone, day)}  # fmt: skip

    return want


@pytest.mark.parametrize(
    ("site_zone", "vue_zone", "segments"),
    [
        # the site's midnight at 00:00 UTC, the Vue's (CDT) at 05:00 UTC
        ("UTC", "America/Chicago", [(utc(4, 30, 23, 40, 30), utc(5, 1, 0, 25, 30)),
                                    (utc(5, 1, 4, 40, 30), utc(5, 1, 5, 35, 30))]),
        # Tokyo's midnight at 15:00 UTC, the Vue's (Berlin, CEST) at 22:00 UTC
        ("Asia/Tokyo", "Europe/Berlin", [(utc(5, 1, 14, 42, 30), utc(5, 1, 15, 25, 30)),
                                         (utc(5, 1, 21, 42, 30), utc(5, 1, 22, 35, 30))]),
        # 1 November in Chicago has 25 hours (CDT -> CST): it ends at 06:00 UTC, not 05:00;
        # Berlin's midnight (CET) at 23:00 UTC
        ("Europe/Berlin", "America/Chicago", [(utc(11, 1, 22, 40, 30), utc(11, 1, 23, 25, 30)),
                                              (utc(11, 2, 4, 40, 30), utc(11, 2, 6, 35, 30))]),
    ],
)  # fmt: skip
def test_emporia_serves_the_vues_day_at_every_minute(
    vue, replay_server, site_zone, vue_zone, segments
):
    make, moved = vue
    config = make(site_zone, vue_zone)
    run = emporia_run(config, replay_server, vue_zone)
    run_and_read(config, moved, segments, run, emporia_wanted(replay_server, vue_zone))


@pytest.mark.parametrize("offset", [0, 2])
def test_emporia_asks_the_ended_day_once_more_after_it_settled(
    vue, isolated, settings, replay_server, offset
):
    """A Vue in Chicago, runs every 5 minutes from 30 April 23:45 CDT (`offset` minutes
    later). Emporia answers 30 April's total, asked at its last minute (04:59 UTC), 30.9 kWh
    until 00:10 CDT, when the Vue's late minutes are in: 31.2 kWh. The day's end stamp holds
    31.2 (before: 30.9, the total the run at 00:00:30 asked at 23:59 as today's, or the one the
    first run of 1 May asked at 00:02, never asked again), asked once more and only once, with
    no run asking two day totals."""
    make, moved = vue
    config = make("UTC", "America/Chicago")
    end = utc(5, 1, 4, 59)
    usage(replay_server, "1D", end, (30.9, 1.0))
    runs = []
    moved.now = utc(5, 1, 4, 45, 30) + timedelta(minutes=offset)
    while moved.now <= utc(5, 1, 5, 45):
        if moved.now >= utc(5, 1, 5, 10):  # Emporia has the late minutes (a more exact route)
            usage(replay_server, "1D", end, (31.2, 1.05), energyUnit="KilowattHours")
        instant = moved.now.replace(second=0) - MINUTE
        usage(replay_server, "1MIN", instant, (0.0169, 0.0021))
        if instant != end:  # 30 April's total at its last minute is Emporia's figure above
            usage(replay_server, "1D", instant, so_far(instant, "America/Chicago"))
        before = len(day_calls(replay_server))
        assert pipeline.collect(config, now=moved.now).status == "ok", moved.now
        runs.append(len(day_calls(replay_server)) - before)
        moved.now += RUN_EVERY
    assert day_totals(isolated, settings, "Main panel")[end] == 31.2
    asked = day_calls(replay_server)
    assert asked.count(end) == (2 if offset == 0 else 1)  # the run at 00:00:30 asked it too
    assert max(runs) == 1
    assert max(at for at in asked if at != end) > end  # 1 May's totals go on


# --- Sense: the account's day is New York's (authenticate.json) ---

NEW_YORK = "America/New_York"


def trends(server, moment: datetime, total: float, **query) -> None:
    """Sense's DAY trends asked at the minute `moment`: New York's day holding it, `total`."""
    local, start = day_of(moment, NEW_YORK)
    end = day_start(local + timedelta(days=1), ZoneInfo(NEW_YORK)).astimezone(UTC)
    body = {
        **load_fixture("sense/trends_day.json"),
        "start": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "end": end.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "consumption": {"total": total, "totals": [], "devices": []},
    }
    server.add("GET", "/app/history/trends", json=body,
               query={"start": moment.strftime("%Y-%m-%dT%H:%M:%S"), **query})  # fmt: skip


def sense_so_far(moment: datetime) -> float:
    return round(1 + (moment - day_of(moment, NEW_YORK)[1]) / MINUTE * 0.015, 4)


def trends_calls(server) -> list[datetime]:
    return [
        datetime.fromisoformat(r.query["start"]).replace(tzinfo=UTC)
        for r in server.calls("GET", "/app/history/trends")
    ]


@pytest.fixture
def sense(isolated, replay_server, feed, monkeypatch):
    """A site in `site_zone` collecting a Sense monitor whose account is New York's."""
    moved = moved_adapter(monkeypatch, SenseAdapter, utc(5, 1, 0, 0))
    from enrich.models import ProviderConfig, Site

    def make(site_zone: str):
        site = Site.objects.create(name="Home", latitude=40.7, longitude=-74.0,
                                   timezone=site_zone)  # fmt: skip
        credentials = scenes.sense_credentials(replay_server, feed.url, budget="100/minute")
        replay_server.add("POST", "/authenticate", json=load_fixture("sense/authenticate.json"))
        return ProviderConfig.objects.create(
            site=site, source="smart_meter", provider="sense", interval_seconds=300,
            username=credentials.username, password=credentials.password,
            options=dict(credentials.options),
        )  # fmt: skip

    def run(config, now: datetime) -> None:
        frame = load_fixture("sense/frame_realtime_update.json")
        frame["payload"]["epoch"] = (now - timedelta(seconds=10)).timestamp()
        feed.script([load_fixture("sense/frame_hello.json"), frame])
        minute = now.replace(second=0) - timedelta(minutes=1 if now.second < 10 else 0)
        trends(replay_server, minute, sense_so_far(minute))
        ended = day_of(minute, NEW_YORK)[1] - MINUTE
        trends(replay_server, ended, sense_so_far(ended))
        assert pipeline.collect(config, now=now).status == "ok", now

    yield make, run, moved


def test_sense_serves_the_accounts_day_at_every_minute(sense, replay_server):
    """Site in Chicago (midnight at 05:00 UTC), the Sense account in New York (04:00 UTC)."""
    make, run, moved = sense
    config = make("America/Chicago")

    def want(now: datetime) -> dict[str, tuple]:
        if (last := last_asked(trends_calls(replay_server), now, NEW_YORK)) is None:
            return {}
        at, day = last
        return {"98765": (sense_so_far(at), at.isoformat(), NEW_YORK, day)}

    segments = [(utc(5, 2, 3, 40, 30), utc(5, 2, 5, 25, 30))]
    run_and_read(config, moved, segments, lambda now: run(config, now), want)


def test_sense_asks_the_ended_day_once_more_after_it_settled(
    sense, isolated, settings, replay_server
):
    """Sense answers the ended day (1 May in New York, ending 04:00 UTC) 23.9 kWh until
    00:10, then 24.1 with the monitor's late minutes: the day's end stamp holds 24.1 (before:
    the first run after midnight asked it at once and never again)."""
    make, run, moved = sense
    config = make("America/Chicago")
    end = utc(5, 2, 3, 59)
    trends(replay_server, end, 23.9)
    moved.now = utc(5, 2, 3, 42, 30)
    while moved.now <= utc(5, 2, 4, 45):
        if moved.now >= utc(5, 2, 4, 10):
            trends(replay_server, end, 24.1, scale="DAY")
        run(config, moved.now)
        moved.now += RUN_EVERY
    assert day_totals(isolated, settings)[end] == 24.1
    assert trends_calls(replay_server).count(end) == 1
