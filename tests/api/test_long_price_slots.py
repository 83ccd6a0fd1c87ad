"""Price slots longer than two hours: an Octopus time-of-use tariff other than Agile (Octopus
Go: a five-hour night rate and a nineteen-hour day rate), set through `options.tariff_code`,
collected through the real pipeline, then read at a time well inside its day rate.

The rates are those Octopus' standard-unit-rates answered for a Go tariff (valid_from/valid_to
in UTC, value_inc_vat in p/kWh; evcc-io/evcc issue 21011, external_apis.md section 6)."""

from datetime import UTC, datetime

import pytest

from collectors import clock, pipeline
from collectors.pricing.now import write_current_points
from enrich.influx import stored_rows
from enrich.models import ProviderConfig, Site

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PRODUCT = "GO-VAR-22-10-14"
TARIFF = f"E-1R-{PRODUCT}-C"
RATES = f"/v1/products/{PRODUCT}/electricity-tariffs/{TARIFF}/standard-unit-rates/"
NIGHT, DAY = 8.49975, 28.95858  # p/kWh incl. VAT
FETCHED = datetime(2025, 5, 1, 3, 0, tzinfo=UTC)  # during the night rate
NOW = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)  # 5.5 h into the day rate (04:30-23:30 UTC)


def rate(start: str, end: str, pence: float) -> dict:
    return {"value_exc_vat": round(pence / 1.05, 4), "value_inc_vat": pence,
            "valid_from": start, "valid_to": end, "payment_method": None}  # fmt: skip


@pytest.fixture
def go_tariff(own_storage, replay_server, monkeypatch) -> ProviderConfig:
    results = [  # newest first, as Octopus answers
        rate("2025-05-01T23:30:00Z", "2025-05-02T04:30:00Z", NIGHT),
        rate("2025-05-01T04:30:00Z", "2025-05-01T23:30:00Z", DAY),
        rate("2025-04-30T23:30:00Z", "2025-05-01T04:30:00Z", NIGHT),
        rate("2025-04-30T04:30:00Z", "2025-04-30T23:30:00Z", DAY),
    ]
    replay_server.add("GET", RATES, json={"count": len(results), "next": None,
                                          "previous": None, "results": results})  # fmt: skip
    site = Site.objects.create(name="Twyford", latitude=51.48, longitude=-0.86,
                               timezone="Europe/London", pricing_region="C")  # fmt: skip
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="octopus",
        options={"base_url": replay_server.url, "tariff_code": TARIFF},
    )  # fmt: skip
    assert pipeline.collect(config, now=FETCHED).status == "ok"
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)
    return config


def test_the_running_day_rate_is_served_hours_after_it_began(go_tariff, api):
    # The stored slots were read from two hours before now only ("stored slots are at most
    # an hour long"): at 10:00 the day rate that began at 04:30 was not found, so the price
    # was `stale` with "no stored price slot covers now" all day, though it was stored.
    body = api.get("/api/enrichment/current").json()
    [entry] = body["sources"]["electricity_pricing"]["providers"]
    assert entry["stale"] is False, entry
    value = entry["value"]
    assert value["current_price"] == pytest.approx(DAY / 100)
    assert value["time"] == "2025-05-01T04:30:00+00:00"
    assert value["slot_minutes"] == 19 * 60
    assert (value["currency"], value["unit"], value["vat_included"]) == ("GBP", "GBP/kWh", True)

    slots = api.get("/api/pricing/slots").json()
    assert [(s["start"], s["price"]) for s in slots["slots"]] == [
        ("2025-05-01T04:30:00+00:00", pytest.approx(DAY / 100)),
        ("2025-05-01T23:30:00+00:00", pytest.approx(NIGHT / 100)),
    ]

    # running now: the day rate; the cheapest hour is in the night rate (23:30-04:30; of
    # equal windows the later one: ties go to the later window)
    window = api.get("/api/pricing/windows", {"hours": "1"})
    assert window.status_code == 200, window.json()
    assert window.json()["current_price"] == pytest.approx(DAY / 100)
    assert window.json()["start"] == "2025-05-02T03:30:00+00:00"
    assert window.json()["saving_vs_now"] == pytest.approx((DAY - NIGHT) / 100)


def test_the_price_point_of_the_running_day_rate_is_written(go_tariff):
    assert write_current_points([go_tariff], now=NOW) == {"targets": 1, "points_written": 1}
    rows = list(stored_rows('SELECT "current_price" FROM "electricity_pricing" WHERE time = $t',
                            {"t": datetime(2025, 5, 1, 4, 30, tzinfo=UTC)}))  # fmt: skip
    assert [row.values["current_price"] for row in rows] == [pytest.approx(DAY / 100)]
