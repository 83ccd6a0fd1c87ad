"""While running now is the best, a flexible load's recommended start and the cheapest window's
start stay the moment that run was planned: a state that followed the clock would make Home
Assistant record the sensor (a recorder row, an InfluxDB point) and fire state triggers every
minute while nothing but the clock moved. A start at or before now still reads "start now"
(`now() >= states(...)`); a real change of plan is published at once.

Hourly aWATTar slots from the current UTC hour H, rising (`homes.RISING`): H and H+1 0.01
EUR/kWh, H+2 0.02, H+3 0.03, H+4 0.04, H+5 0.05, then 0.30. Two hours from any moment of
H..H+4 cost less than any two whole hours after it, so running now is best for the load (2 h
by H+6) and for the cheapest window (MQTT_CHEAPEST_WINDOW_HOURS, 2 h). A worker that starts
while a run is under way keeps its start: tests/ha_mqtt/test_worker.py.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest

from collectors.ha_mqtt.publisher import publish_all
from collectors.models import FlexibleLoad
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis, make_key
from tests.collectors import scenarios_smart_meter
from tests.ha_mqtt import homes
from tests.ha_mqtt.homes import RISING, load, publication, utc_home
from tests.support.stored_prices import slot_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def rising_home(settings, **options) -> tuple[datetime, Site, FlexibleLoad]:
    """(H, a UTC home with the RISING slots, its 2-hour dishwasher planned on price alone and
    done by H+6)."""
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices=RISING)
    return anchor, site, load(site, anchor, carbon_price=0, **options)


def shown(messages: list[tuple[str, str]], topics, site, key: str) -> tuple[str, dict]:
    """(state, attributes) of one entity in one publication."""
    found = dict(messages)
    base = f"{topics.root}/site_{site.pk}/{key}"
    return found[f"{base}/state"], json.loads(found[f"{base}/attributes"])


def starts(messages, topics, site, dishwasher) -> tuple[str, str, str]:
    """(the load's start, the cheapest window's start, its end) in one publication."""
    return (
        shown(messages, topics, site, f"load_{dishwasher.pk}_start")[0],
        shown(messages, topics, site, "cheapest_window_start")[0],
        shown(messages, topics, site, "cheapest_window_end")[0],
    )


def plans(messages, topics, site, dishwasher) -> dict[str, object]:
    """The states and attributes of the load's sensor and of the cheapest window's, but the
    window's `data_time`: that of the price now, which moves on with the running slot."""
    keys = (f"load_{dishwasher.pk}_start", "cheapest_window_start", "cheapest_window_end")
    bases = tuple(f"{topics.root}/site_{site.pk}/{key}/" for key in keys)
    found = {}
    for topic, payload in messages:
        if topic.startswith(bases):
            shown = json.loads(payload) if topic.endswith("/attributes") else payload
            found[topic] = shown if isinstance(shown, str) else shown | {"data_time": None}
    return found


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def test_while_running_now_is_best_the_start_stays_the_moment_it_was_planned(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor, site, dishwasher = rising_home(settings, kw=1.5)
    planned = anchor + 20 * MINUTE
    first = publication(broker, topics, subscriber, planned, monkeypatch)
    later = [
        publication(broker, topics, subscriber, planned + m * MINUTE, monkeypatch)
        for m in (1, 2, 39)
    ]
    assert starts(first, topics, site, dishwasher) == (
        at(planned),
        at(planned),
        at(planned + 2 * HOUR),
    )
    state, attributes = shown(first, topics, site, f"load_{dishwasher.pk}_start")
    assert attributes["starts_now"] is True
    assert attributes["windows"] == [{"start": at(planned), "end": at(planned + 2 * HOUR)}]
    # 40 min of H, H+1, 20 min of H+2: (40 x 0.01 + 60 x 0.01 + 20 x 0.02) / 120
    assert attributes["average_price"] == pytest.approx(0.014 / 1.2)
    # A minute, two, 39 later nothing but the clock moved: every state and attributes payload
    # of the site is the same, byte for byte (HA records nothing).
    for publication_later in later:
        changed = [(a, b) for a, b in zip(first, publication_later, strict=True) if a != b]
        assert changed == []
    # In the next hour the price now moves on with its slot; the plans stay as they were.
    next_hour = publication(broker, topics, subscriber, planned + 90 * MINUTE, monkeypatch)
    assert plans(next_hour, topics, site, dishwasher) == plans(first, topics, site, dishwasher)


def test_a_planned_start_reached_stays_the_state(topics, subscriber, broker, settings, monkeypatch):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor)  # cheapest 2 h: H+3..H+5
    dishwasher = load(site, anchor, carbon_price=0)
    before = publication(broker, topics, subscriber, anchor + 2 * HOUR + 50 * MINUTE, monkeypatch)
    window = (at(anchor + 3 * HOUR), at(anchor + 3 * HOUR), at(anchor + 5 * HOUR))
    assert starts(before, topics, site, dishwasher) == window
    # From H+3 on, running from now through most of H+3 and H+4 beats H+4..H+6: the best
    # window is still the one that began at H+3, and the state stays H+3.
    reached = anchor + 3 * HOUR + 20 * timedelta(seconds=1)
    running = publication(broker, topics, subscriber, reached, monkeypatch)
    assert starts(running, topics, site, dishwasher) == window
    key = f"load_{dishwasher.pk}_start"
    was, now = shown(before, topics, site, key)[1], shown(running, topics, site, key)[1]
    assert (was.pop("starts_now"), now.pop("starts_now")) == (False, True)
    assert was == now  # the same window, the same figures
    minutes_later = publication(broker, topics, subscriber, reached + 9 * MINUTE, monkeypatch)
    assert minutes_later == running


def test_a_cheaper_window_appearing_later_is_published_at_once(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor, site, dishwasher = rising_home(settings)
    planned = anchor + 20 * MINUTE
    first = publication(broker, topics, subscriber, planned, monkeypatch)
    assert starts(first, topics, site, dishwasher)[:2] == (at(planned), at(planned))
    # New prices: H+3 and H+4 nearly free. The next publication shows them.
    cheap = {**RISING, 3: 0.001, 4: 0.001}
    get_timeseries().write(settings.INFLUXDB_DATABASE, slot_readings(anchor, prices=cheap))
    moved = publication(broker, topics, subscriber, planned + MINUTE, monkeypatch)
    assert starts(moved, topics, site, dishwasher) == (
        at(anchor + 3 * HOUR),
        at(anchor + 3 * HOUR),
        at(anchor + 5 * HOUR),
    )
    state, attributes = shown(moved, topics, site, f"load_{dishwasher.pk}_start")
    assert attributes["starts_now"] is False
    assert attributes["average_price"] == pytest.approx(0.001)


def test_once_its_window_ended_a_new_run_now_starts_at_that_moment(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor, site, dishwasher = rising_home(settings)
    planned = anchor + 20 * MINUTE
    first = publication(broker, topics, subscriber, planned, monkeypatch)
    last_minute = publication(broker, topics, subscriber, planned + 119 * MINUTE, monkeypatch)
    # the run planned at H:20 has a minute to go
    assert plans(last_minute, topics, site, dishwasher) == plans(first, topics, site, dishwasher)
    ended = planned + 2 * HOUR  # it ended; running now is still best: a new run from here
    after = publication(broker, topics, subscriber, ended, monkeypatch)
    assert starts(after, topics, site, dishwasher) == (at(ended), at(ended), at(ended + 2 * HOUR))
    state, attributes = shown(after, topics, site, f"load_{dishwasher.pk}_start")
    # 40 min of H+2, H+3, 20 min of H+4
    assert attributes["average_price"] == pytest.approx((0.8 + 1.8 + 0.8) / 120)
    assert publication(broker, topics, subscriber, ended + 5 * MINUTE, monkeypatch) == after


def test_the_start_held_is_kept_in_redis_beside_the_published_set(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor, site, dishwasher = rising_home(settings)
    planned = anchor + 20 * MINUTE
    publication(broker, topics, subscriber, planned, monkeypatch)
    key = make_key("mqtt_starts", topics.discovery_prefix, topics.root)
    assert get_redis().hgetall(key) == {
        f"{site.pk}/load_{dishwasher.pk}_start": at(planned),
        f"{site.pk}/cheapest_window_start": at(planned),
    }
    # Redis's data lost: the next publication plans from its own moment (one change).
    get_redis().delete(key)
    again = publication(broker, topics, subscriber, planned + MINUTE, monkeypatch)
    assert starts(again, topics, site, dishwasher)[:2] == (at(planned + MINUTE),) * 2


def test_across_the_autumn_clock_change_the_start_stays(
    topics, subscriber, broker, settings, monkeypatch
):
    # London, 2026-10-25: 02:00 BST is 01:00 GMT. Planned at 01:50 BST (00:50 UTC), the start
    # still holds at 01:10 GMT, when the wall clock reads earlier than the start.
    anchor = datetime(2026, 10, 25, tzinfo=UTC)
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices=RISING)
    site.timezone = "Europe/London"
    site.save()
    dishwasher = load(site, anchor, carbon_price=0)  # done by 06:00 London time (06:00 UTC)
    planned = anchor + 50 * MINUTE
    first = publication(broker, topics, subscriber, planned, monkeypatch)
    assert starts(first, topics, site, dishwasher)[:2] == ("2026-10-25T00:50:00+00:00",) * 2
    assert shown(first, topics, site, f"load_{dishwasher.pk}_start")[1]["before"] == (
        "2026-10-25T06:00:00+00:00"
    )
    after = publication(broker, topics, subscriber, anchor + 70 * MINUTE, monkeypatch)
    assert plans(after, topics, site, dishwasher) == plans(first, topics, site, dishwasher)


def test_a_split_plan_under_way_keeps_its_start_and_its_parts(
    topics, subscriber, broker, settings, monkeypatch
):
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices={2: 0.05, 3: 0.30, 4: 0.06})
    ev = load(site, anchor, name="EV", carbon_price=0, contiguous=False)
    key = f"load_{ev.pk}_start"
    parts = [{"start": at(anchor + h * HOUR), "end": at(anchor + (h + 1) * HOUR)} for h in (2, 4)]
    before = publication(broker, topics, subscriber, anchor + HOUR + 50 * MINUTE, monkeypatch)
    state, attributes = shown(before, topics, site, key)
    assert (state, attributes["windows"]) == (at(anchor + 2 * HOUR), parts)
    # From H+2 on, running two hours from now (about 0.175 EUR/kWh) beats what is left to
    # split (H+4 and a 0.30 hour, 0.18): the plan that began at H+2, both parts, stays.
    for moment in (anchor + 2 * HOUR + 20 * timedelta(seconds=1), anchor + 2 * HOUR + 59 * MINUTE):
        state, attributes = shown(
            publication(broker, topics, subscriber, moment, monkeypatch), topics, site, key
        )
        assert (state, attributes["windows"], attributes["starts_now"]) == (
            at(anchor + 2 * HOUR),
            parts,
            True,
        )


def test_a_split_plan_from_the_running_slots_rest_starts_now_and_keeps_it(
    topics, subscriber, broker, settings, monkeypatch
):
    # H at 0.01 and H+3 at 0.02, the other hours 0.30: at H+20:20 the split plan takes the
    # rest of H, H+3 and 20 min 20 s of a 0.30 hour (0.064 EUR/kWh, 0.068 with the 6 %
    # penalty), where H+3..H+5 costs 0.16 and running now 0.204: it starts at that moment
    anchor = homes.hour_start()
    site = utc_home(settings.INFLUXDB_DATABASE, anchor, prices={0: 0.01, 3: 0.02})
    ev = load(site, anchor, name="EV", carbon_price=0, contiguous=False)
    key = f"load_{ev.pk}_start"
    planned = anchor + 20 * MINUTE + 20 * timedelta(seconds=1)
    state, attributes = shown(
        publication(broker, topics, subscriber, planned, monkeypatch), topics, site, key
    )
    assert (state, attributes["starts_now"], attributes["windows_used"]) == (at(planned), True, 2)
    assert attributes["windows"][0] == {"start": at(planned), "end": at(anchor + HOUR)}
    # while its first part runs, nothing but the clock moves: the plan stays as published
    for moment in (planned + MINUTE, planned + 20 * MINUTE):
        later = publication(broker, topics, subscriber, moment, monkeypatch)
        assert shown(later, topics, site, key) == (state, attributes)


def test_a_site_left_as_published_keeps_its_held_start(
    topics, subscriber, broker, settings, monkeypatch
):
    from enrich.influx import reset_timeseries

    anchor, site, dishwasher = rising_home(settings)
    meter = ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="home_assistant"
    )
    assert homes.collect(meter, scenarios_smart_meter.home_assistant).status == "ok"
    planned = anchor + 20 * MINUTE
    first = publication(broker, topics, subscriber, planned, monkeypatch)
    upstream = settings.INFLUXDB_URL
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    reset_timeseries()
    try:  # the meter's circuits cannot be read: the site stays as it was
        assert publish_all(broker, topics, now=planned + MINUTE)["status"] == "ok"
    finally:
        settings.INFLUXDB_URL = upstream
        reset_timeseries()
    back = publication(broker, topics, subscriber, planned + 2 * MINUTE, monkeypatch)
    assert plans(back, topics, site, dishwasher) == plans(first, topics, site, dishwasher)
