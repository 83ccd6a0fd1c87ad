"""The price now where an hourly slot meets quarter hours: Tibber's answer of the day the market
switched (Uppsala, documented payload `price_info_hourly_today_quarter_tomorrow.json`: today
hourly, tomorrow from 22:00 UTC quarter-hourly), collected through the real pipeline. At every
minute of the day's last two hours and the first hour of quarter hours, GET
/api/enrichment/current and Home Assistant's price entity name the slot covering the minute
(an hour's price all through the hour), and the 24-h average weighs each slot by its length.
Expected figures come straight from the payload."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline
from tests.collectors.scenarios_pricing import TIBBER_NOW
from tests.support.replay import load_fixture
from tests.support.stored_prices import assert_slot_served, tibber_config

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

FIXTURE = "tibber/price_info_hourly_today_quarter_tomorrow.json"
MINUTE = timedelta(minutes=1)
SWITCH = datetime(2026, 5, 1, 22, tzinfo=UTC)  # 00:00 in Uppsala: quarter hours from here


def payload_slots() -> list[tuple[datetime, datetime, float]]:
    """(start, end, SEK/kWh): today's entries last an hour, tomorrow's a quarter."""
    info = load_fixture(FIXTURE)["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    return [
        (start, start + timedelta(minutes=minutes), entry["total"])
        for day, minutes in (("today", 60), ("tomorrow", 15))
        for entry in info[day]
        for start in [datetime.fromisoformat(entry["startsAt"]).astimezone(UTC)]
    ]


@pytest.mark.usefixtures("many_reads")
def test_every_minute_of_an_hour_beside_quarter_hours_is_the_hours_price(
    own_storage, replay_server, api, monkeypatch
):
    config = tibber_config(replay_server, load_fixture(FIXTURE), timezone="Europe/Stockholm")
    assert pipeline.collect(config, now=TIBBER_NOW).status == "ok"
    slots = payload_slots()
    moment = SWITCH - 2 * 60 * MINUTE
    while moment < SWITCH + 60 * MINUTE:
        slot = next(s for s in slots if s[0] <= moment < s[1])
        value = assert_slot_served(api, config.site, moment, slot, monkeypatch)
        if moment.minute == 30 and moment < SWITCH:  # inside an hour: its whole hour counts
            day = [s for s in slots if slot[0] <= s[0] < moment + 24 * 60 * MINUTE]
            weighted = sum((e - s) / MINUTE * p for s, e, p in day) / sum(
                (e - s) / MINUTE for s, e, _ in day
            )
            assert value["average_price_24h"] == pytest.approx(weighted), moment
        moment += MINUTE
