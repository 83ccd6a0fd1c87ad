"""Each price, peak, cheapest-window, carbon and flexible-load entity a publication sends says
what the REST API answers at the same minute (`/api/enrichment/current`,
`/api/pricing/windows?hours=2&within=24h`, `/api/plan/loads`), at the minutes where a slip of
one slot, a stale value or a wrong offset would show: slot edges, local midnight, London's
spring clock change (01:00 UTC, when 01:00 GMT becomes 02:00 BST), the end of the carbon
forecast and the end of the stored prices. Twyford collected on the eve of the change from
documented payloads (tests/support/plan_probe_sites.py: Octopus' half hours of that day and
the day before, UK Carbon Intensity's half hours ending 3 h before the prices). The minutes
are the edges of the same comparison made at every minute of several hours (London's and
Berlin's DST days, aWATTar's quarter hours with Electricity Maps, Tibber with each carbon
provider), too slow for the suite."""

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import FlexibleLoad
from tests.support import plan_probe_sites as sites

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
CARBON = {"carbon_intensity": "carbon_intensity_gco2_kwh",
          "carbon_intensity_forecast_1h": "forecast_1h",
          "carbon_intensity_forecast_24h": "forecast_24h"}  # fmt: skip
LOAD_FIELDS = ("end", "average_price", "average_carbon", "prices_until", "cost", "windows_used")
# UTC, 2026-03-28 (d) and 29: the fetched carbon slot ends, local midnight, the clock change,
# the carbon forecast's end (20:00), the prices' end (23:00).
MOMENTS = [(28, 22, 29), (28, 22, 30), (28, 23, 59), (29, 0, 0), (29, 0, 59), (29, 1, 0),
           (29, 1, 1), (29, 19, 59), (29, 20, 0), (29, 22, 59), (29, 23, 0)]  # fmt: skip


def shown(messages: dict[str, str], base: str) -> tuple[str | None, dict]:
    """(state as Home Assistant shows it, None while unavailable; attributes)."""
    online = messages.get(f"{base}/availability") == "online"
    attributes = json.loads(messages[f"{base}/attributes"])
    return (messages.get(f"{base}/state") if online else None), attributes


def test_every_entity_says_what_the_api_says_at_that_minute(
    topics, subscriber, broker, replay_server, settings, monkeypatch
):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1000/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api = APIClient()
    api.force_authenticate(get_user_model().objects.create_user("ha"))
    site, *_ = sites.uk_dst_site(replay_server, "spring")
    FlexibleLoad.objects.create(site=site, name="Dishwasher", hours=2, deadline=time(7), kw=1.2)
    FlexibleLoad.objects.create(site=site, name="Car", hours=1.5, deadline=time(1, 30),
                                contiguous=False, carbon_price=0)  # fmt: skip
    base = f"{topics.root}/site_{site.pk}"
    seen = []
    for day, hour, minute in MOMENTS:
        now = datetime(2026, 3, day, hour, minute, tzinfo=UTC)
        monkeypatch.setattr(clock, "utc_now", lambda now=now: now)
        assert publish_all(broker, topics, now=now)["status"] == "ok"
        assert subscriber.caught_up(broker)
        sent = dict(subscriber.messages)
        current = api.get("/api/enrichment/current", {"site": site.pk}).json()["sources"]
        [prices] = current["electricity_pricing"]["providers"]
        [carbon] = current["carbon_intensity"]["providers"]
        window = api.get("/api/pricing/windows", {"site": site.pk, "hours": 2, "within": "24h"})
        loads = api.get("/api/plan/loads", {"site": site.pk}).json()["loads"]

        price, about = shown(sent, f"{base}/electricity_price")
        peak, peak_about = shown(sent, f"{base}/peak_period")
        value = prices["value"]
        if prices["stale"]:  # no stored slot covers now: unavailable, saying where they end
            assert (price, peak) == (None, None), now
            assert "the stored prices end at 2026-03-29T23:00:00+00:00" in about["reason"], now
        else:
            assert float(price) == value["current_price"], now
            end = datetime.fromisoformat(value["time"]) + timedelta(minutes=value["slot_minutes"])
            assert (about["slot_start"], about["slot_end"]) == (value["time"], end.isoformat())
            assert peak == {True: "ON", False: "OFF", None: None}[value["peak_period"]], now
            assert peak_about.get("reason") == value["peak_unknown"], now
        start, details = shown(sent, f"{base}/cheapest_window_start")
        end, _ = shown(sent, f"{base}/cheapest_window_end")
        if window.status_code == 200:
            body = window.json()
            assert (start, end, details["average_price"], details["unit"]) == (
                body["start"], body["end"], body["average_price"], body["unit"]), now  # fmt: skip
        else:
            assert (window.status_code, start, end) == (409, None, None), now
            assert details["reason"] == window.json()["detail"], now

        for key, field in CARBON.items():
            state, facts = shown(sent, f"{base}/{key}")
            expected = carbon["value"].get(field)
            assert (state and float(state)) == expected, (now, key)
            assert (facts["data_time"], facts.get("last_known")) == (
                carbon["time"], carbon["value"].get("last_known")), (now, key)  # fmt: skip

        for planned in loads:
            load = FlexibleLoad.objects.get(site=site, name=planned["name"])
            state, facts = shown(sent, f"{base}/load_{load.pk}_start")
            assert (state, facts["before"]) == (str(planned["start"]), planned["before"]), now
            plan = planned["plan"] or {}
            assert {f: facts.get(f) for f in LOAD_FIELDS if plan} == {
                f: plan.get(f) for f in LOAD_FIELDS if plan}, now  # fmt: skip
        seen.append((now.strftime("%d %H:%M"), value["time"] if not prices["stale"] else None,
                     carbon["time"], start))  # fmt: skip

    # what the minutes show: a slot of its own on each side of an edge, the half hour after the
    # clock change (02:00 BST), the carbon forecast's last slot carried, the prices' end
    assert [s[1] for s in seen[:7]] == [
        "2026-03-28T22:00:00+00:00", "2026-03-28T22:30:00+00:00", "2026-03-28T23:30:00+00:00",
        "2026-03-29T00:00:00+00:00", "2026-03-29T00:30:00+00:00", "2026-03-29T01:00:00+00:00",
        "2026-03-29T01:00:00+00:00"]  # fmt: skip
    assert [s[2] for s in seen[7:9]] == ["2026-03-29T19:30:00+00:00"] * 2
    assert seen[-1][1] is None and seen[-2][1] == "2026-03-29T22:30:00+00:00"
