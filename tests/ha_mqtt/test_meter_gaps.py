"""Meter values that come at their own pace. A meter answer that lacks a device's whole-home
value for a while (Home Assistant's total sensor unavailable for a poll or two, while the
circuits report) removes none of the device's entities: the circuits show their new values and
the whole-home power is unavailable. Before, every circuit entity was removed from Home
Assistant (an empty config each) and added again at the next poll with the whole-home value.
The phantom load, figured once a night, is stale only once the next night's is overdue."""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from collectors.ha_mqtt.publisher import publish_all
from collectors.smart_meter.common import MEASUREMENT
from collectors.smart_meter.watch import window_over
from enrich.influx import get_timeseries
from enrich.readings import Reading
from tests.ha_mqtt import homes
from tests.support.ha_discovery import cleared

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

T0 = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
CIRCUITS = {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"}
KEYS = ("circuit_home_heat_pump_power", "circuit_home_oven_power")


def shown(subscriber, topics, site) -> dict[str, str | None]:
    """{key: state} of the whole-home power and the circuits, None where unavailable."""
    base = f"{topics.root}/site_{site.pk}"
    found = {}
    for key in ("power", *KEYS):
        available = subscriber.messages.get(f"{base}/{key}/availability") == "online"
        found[key] = subscriber.messages.get(f"{base}/{key}/state") if available else None
    return found


def test_a_poll_without_the_whole_home_value_keeps_the_circuits(
    topics, subscriber, broker, replay_server
):
    meter = homes.HaMeter(replay_server, homes.home(), CIRCUITS, T0)
    site = meter.site
    meter.run({"Heat pump": 920.0, "Oven": 50.0}, total=2000.0)
    assert publish_all(broker, topics) == {"status": "ok", "entities": 3 + 7, "removed": 0}
    wanted = {"power": "2000.0", KEYS[0]: "920.0", KEYS[1]: "50.0"}
    assert subscriber.wait_for(lambda m: shown(subscriber, topics, site) == wanted)

    for heat_pump in (930.0, 940.0):  # ten minutes without the whole-home value
        meter.run({"Heat pump": heat_pump, "Oven": 60.0}, total=None)
        assert publish_all(broker, topics) == {"status": "ok", "entities": 10, "removed": 0}
        gap = {"power": None, KEYS[0]: str(heat_pump), KEYS[1]: "60.0"}
        assert subscriber.wait_for(lambda m, gap=gap: shown(subscriber, topics, site) == gap)
        power = json.loads(subscriber.messages[f"{topics.root}/site_{site.pk}/power/attributes"])
        assert power["reason"] == "the answer has no total_power_w"

    meter.run({"Heat pump": 950.0, "Oven": 60.0}, total=2100.0)
    assert publish_all(broker, topics) == {"status": "ok", "entities": 10, "removed": 0}
    wanted = {"power": "2100.0", KEYS[0]: "950.0", KEYS[1]: "60.0"}
    assert subscriber.wait_for(lambda m: shown(subscriber, topics, site) == wanted)
    node = f"{topics.root}_site_{site.pk}"
    for key in KEYS:  # never removed from Home Assistant on the way
        assert not cleared(subscriber, f"{topics.discovery_prefix}/sensor/{node}/{key}/config")


def phantom_stale_at(topics, subscriber, broker, settings, meter, night: datetime):
    """Store the meter's phantom load figured at `night`; return `stale_at(now)`: whether Home
    Assistant's phantom load entity, published at `now`, says it is stale."""
    tags = {"meter_type": "home_assistant", "device": "home", "provider": "home_assistant"}
    fields = {"phantom_load_w": 212.0}
    phantom = Reading(MEASUREMENT, fields, night, tags | {"site": meter.site.name})
    get_timeseries().write(settings.INFLUXDB_DATABASE, [phantom])
    attributes = f"{topics.root}/site_{meter.site.pk}/phantom_load_home/attributes"

    def stale_at(now: datetime) -> bool:
        start = len(subscriber.log)
        publish_all(broker, topics, now=now)
        assert subscriber.wait_for(
            lambda _: any(t == attributes for t, _, _ in subscriber.log[start:])
        )
        return json.loads(subscriber.messages[attributes])["stale"]

    return stale_at


def test_last_nights_phantom_load_is_not_stale_until_tonights_is_overdue(
    topics, subscriber, broker, settings, replay_server
):
    """The phantom load is figured once a night and stamped 03:30 site time (02:30 UTC in
    London's summer): fresh all day, stale once the next night's is overdue. It read stale
    from ten minutes after it was stored (twice the meter's cache time), so all day."""
    meter = homes.HaMeter(replay_server, homes.home(), {"Heat pump": CIRCUITS["Heat pump"]}, T0)
    meter.run({"Heat pump": 920.0})
    night = datetime(2026, 5, 1, 2, 30, tzinfo=UTC)
    stale_at = phantom_stale_at(topics, subscriber, broker, settings, meter, night)
    stale_after = timedelta(seconds=2 * settings.CACHE_TTL_SECONDS["smart_meter"])

    assert stale_at(T0) is False  # 15:05 in London, the night's figure of 03:30
    assert stale_at(night + timedelta(days=1) + stale_after - timedelta(minutes=1)) is False
    assert stale_at(night + timedelta(days=1) + stale_after + timedelta(minutes=1)) is True


def test_the_phantom_load_of_a_night_whose_0330_comes_twice_is_not_stale_early(
    topics, subscriber, broker, settings, replay_server
):
    """Helsinki, 25 October 2026: the clock goes from 04:00 EEST back to 03:00 EET, so 03:30
    comes twice (00:30 and 01:30 UTC) and that night's figure is due after the second one
    (collectors.smart_meter.watch.window_over). The night before's figure read stale from
    00:30 UTC plus twice the meter's cache time, an hour before the next one could be made."""
    started = datetime(2026, 10, 24, 12, tzinfo=UTC)
    meter = homes.HaMeter(replay_server, homes.home(timezone="Europe/Helsinki"),
                          {"Heat pump": CIRCUITS["Heat pump"]}, started)  # fmt: skip
    meter.run({"Heat pump": 920.0})
    night = datetime(2026, 10, 24, 0, 30, tzinfo=UTC)  # 03:30 EEST
    stale_at = phantom_stale_at(topics, subscriber, broker, settings, meter, night)
    stale_after = timedelta(seconds=2 * settings.CACHE_TTL_SECONDS["smart_meter"])

    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the second 03:30, EET
    assert stale_at(second - timedelta(hours=1) + stale_after + timedelta(minutes=1)) is False
    assert stale_at(second + stale_after - timedelta(minutes=1)) is False
    assert stale_at(second + stale_after + timedelta(minutes=1)) is True


@pytest.mark.parametrize(
    ("zone", "night"),
    [
        ("Europe/Helsinki", date(2026, 10, 25)),  # 04:00 -> 03:00: 03:00-03:30 twice
        ("Europe/Berlin", date(2026, 3, 29)),  # 02:00 -> 03:00: only 03:00-03:30
        ("Australia/Sydney", date(2026, 4, 5)),  # 03:00 -> 02:00: 02:30-03:00 twice
        ("Australia/Sydney", date(2026, 10, 4)),  # 02:00 -> 03:00
        ("Australia/Lord_Howe", date(2026, 4, 5)),  # 02:00 -> 01:30
        ("Australia/Lord_Howe", date(2026, 10, 4)),  # 02:00 -> 02:30
        ("America/Santiago", date(2026, 9, 6)),  # the day starts at 01:00
        ("Asia/Beirut", date(2026, 10, 25)),  # the hour before midnight comes twice
    ],
)
def test_a_nights_phantom_load_is_due_when_its_clock_last_reads_0330(zone, night):
    """The night's phantom load is due (and the night before's stale after it) at the minute
    after the last one whose reading, on that night, lies in 02:30-03:30: found by reading the
    clock minute by minute."""
    local = ZoneInfo(zone)
    moment, last = datetime.combine(night, time(), local).astimezone(UTC), None
    for _ in range(12 * 60):
        reading = moment.astimezone(local)
        if reading.date() == night and time(2, 30) <= reading.time() < time(3, 30):
            last = moment
        moment += timedelta(minutes=1)
    assert window_over(night, local) == last + timedelta(minutes=1)
