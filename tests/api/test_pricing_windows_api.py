"""GET /api/pricing/windows against real InfluxDB: slots written to a per-test database, the
answers checked against hand-computed windows.

The slots are hourly from the start of the current UTC hour (H). Prices per kWh:
H-1..H+4: 0.30; H+5: 0.10, H+6: 0.05, H+7: 0.12; H+8, H+9: 0.30; H+10: 0.90, H+11: 0.80;
H+12..H+29: 0.30 except H+20: 0.01. (Another region and another provider, much cheaper,
are stored too and must be ignored.)
"""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from collectors import clock
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from tests.support.api import assert_400_naming_only, token_client
from tests.support.isolation import fresh_database
from tests.support.stored_prices import slot_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

URL = "/api/pricing/windows"
MINUTE = timedelta(minutes=1)
SPECIAL = {5: 0.10, 6: 0.05, 7: 0.12, 10: 0.90, 11: 0.80, 20: 0.01}


def hour_start() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def database(settings):
    with fresh_database("pricing") as settings.INFLUXDB_DATABASE:
        yield settings.INFLUXDB_DATABASE


@pytest.fixture
def client():
    return token_client("ha")


@pytest.fixture
def site():
    home = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    ProviderConfig.objects.create(site=home, source="electricity_pricing", provider="awattar")
    return home


@pytest.fixture
def anchor(database, site, monkeypatch):
    """The hour the slots are stored from; the endpoint answers for 20 minutes into it."""
    start = hour_start()
    monkeypatch.setattr(clock, "utc_now", lambda: start + timedelta(minutes=20))
    ts = get_timeseries()
    ts.write(database, slot_readings(start, prices=SPECIAL))
    ts.write(database, slot_readings(start, prices=SPECIAL, region="AT", default=0.001))
    ts.write(database, slot_readings(start, prices=SPECIAL, provider="tibber", default=0.001))
    return start


def iso(moment: datetime) -> str:
    return moment.isoformat()


def test_cheapest_contiguous_window(client, anchor):
    response = client.get(URL, {"hours": "3"})
    body = response.json()
    assert response.status_code == 200, body
    assert (body["provider"], body["region"], body["currency"]) == ("awattar", "DE", "EUR")
    assert body["unit"] == "EUR/kWh"
    # 3 h runs: H+5..H+8 = (0.10 + 0.05 + 0.12) / 3 = 0.09 is the cheapest
    assert body["start"] == iso(anchor + timedelta(hours=5))
    assert body["end"] == iso(anchor + timedelta(hours=8))
    assert body["average_price"] == pytest.approx(0.09)
    # now .. now + 3 h is all 0.30
    assert body["saving_vs_now"] == pytest.approx(0.21)
    assert body["windows"] == [
        {"start": body["start"], "end": body["end"], "average_price": pytest.approx(0.09)}
    ]
    assert [s["price"] for s in body["slots"]] == [0.10, 0.05, 0.12]
    assert (body["contiguous"], body["within"], body["site"]["name"]) == (True, "24h", "Berlin")


def test_cheapest_hours_anywhere(client, anchor):
    body = client.get(URL, {"hours": "3", "contiguous": "false"}).json()
    # 0.01 (H+20), 0.05 (H+6), 0.10 (H+5)
    assert [s["start"] for s in body["slots"]] == [
        iso(anchor + timedelta(hours=h)) for h in (5, 6, 20)
    ]
    assert body["average_price"] == pytest.approx((0.10 + 0.05 + 0.01) / 3)
    assert body["saving_vs_now"] == pytest.approx(0.30 - (0.10 + 0.05 + 0.01) / 3)
    assert body["windows"] == [
        {"start": iso(anchor + timedelta(hours=5)), "end": iso(anchor + timedelta(hours=7)),
         "average_price": pytest.approx(0.075)},
        {"start": iso(anchor + timedelta(hours=20)), "end": iso(anchor + timedelta(hours=21)),
         "average_price": pytest.approx(0.01)},
    ]  # fmt: skip


def test_before_excludes_later_windows_and_ties_go_later(client, anchor):
    before = anchor + timedelta(hours=5)
    body = client.get(URL, {"hours": "3", "before": before.strftime("%Y-%m-%dT%H:%M:%SZ")}).json()
    # only 0.30 slots end by H+5: every 3 h run ties, the latest is H+2..H+5
    assert (body["start"], body["end"]) == (iso(anchor + timedelta(hours=2)), iso(before))
    assert body["average_price"] == pytest.approx(0.30)
    assert body["saving_vs_now"] == pytest.approx(0.0)
    assert body["before"] == iso(before)


def test_a_before_that_leaves_just_the_hours_is_the_run_from_now(client, anchor):
    # "it must leave room for `hours` from now": a deadline exactly that far was a 400
    # ("leaves no room"), where /api/plan planned the same request (and the REST recipe of
    # docs/home_assistant.md picks such a deadline: `d >= now() + timedelta(hours=3)`).
    now = anchor + timedelta(minutes=20)
    before = now + timedelta(hours=2)
    response = client.get(URL, {"hours": "2", "before": iso(before)})
    body = response.json()
    assert response.status_code == 200, body
    assert (body["start"], body["end"], body["before"]) == (iso(now), iso(before), iso(before))
    assert body["average_price"] == pytest.approx(0.30)
    too_soon = client.get(URL, {"hours": "2", "before": iso(before - timedelta(seconds=1))})
    assert_400_naming_only(too_soon, "before", "leaves no room for 2 h")


def test_the_browsable_page_says_what_the_endpoint_answers_in_words(client, anchor):
    # DRF's page for a browser shows the view's description: it read "The best time window(s)".
    page = client.get(URL, {"hours": "1"}, HTTP_ACCEPT="text/html").content.decode()
    assert "The cheapest (or dearest) time to use electricity for a site" in page
    assert "window(s)" not in page


def test_within_limits_the_look_ahead(client, anchor):
    body = client.get(URL, {"hours": "3", "within": "4h"}).json()
    # every 3 h up to H+4:20 cost 0.30: the latest, ending at the limit inside the H+4 hour,
    # wins (it was H+1..H+4, of whole slots only)
    assert body["start"] == iso(anchor + timedelta(hours=1, minutes=20))
    assert body["end"] == iso(anchor + timedelta(hours=4, minutes=20))
    assert body["within"] == "4h"


def test_most_expensive_window(client, anchor):
    body = client.get(URL, {"hours": "2", "most_expensive": "true"}).json()
    assert body["start"] == iso(anchor + timedelta(hours=10))
    assert body["average_price"] == pytest.approx(0.85)
    assert body["saving_vs_now"] == pytest.approx(0.30 - 0.85)


@pytest.mark.parametrize(
    ("query", "name", "text"),
    [
        ({}, "hours", "Required"),
        ({"hours": "0"}, "hours", "more than 0"),
        ({"hours": "-1"}, "hours", "more than 0"),
        ({"hours": "abc"}, "hours", "a number"),
        ({"hours": "25"}, "hours", "at most 24h"),
        ({"hours": "5", "within": "4h"}, "hours", "at most 4h"),
        ({"hours": "1", "within": "tomorrow"}, "within", "24h, 90m, 2d"),
        ({"hours": "1", "within": "0h"}, "within", "longer than zero"),
        ({"hours": "1", "contiguous": "maybe"}, "contiguous", "true or false"),
        ({"hours": "1", "before": "2030-05-01T10:00:00"}, "before", "with a time zone"),
        ({"hours": "1", "before": "2020-05-01T10:00:00Z"}, "before", "leaves no room"),
        ({"hours": "1.01"}, "hours", "a whole number of minutes"),
        ({"hours": "0.333"}, "hours", "a whole number of minutes"),
        ({"hours": "1e-10"}, "hours", "at least one minute"),
        ({"hours": "5e-324"}, "hours", "at least one minute"),
        ({"hours": "0.001"}, "hours", "at least one minute"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, anchor, query, name, text):
    assert_400_naming_only(client.get(URL, query), name, text)


def test_a_quarter_hour_over_hourly_prices(client, anchor):
    # hours=0.25 was a 400 ("ask for a multiple of the slot length"): 15 min of the 0.01 hour
    # (H+20), its last quarter (ties go to the later window)
    body = client.get(URL, {"hours": "0.25"}).json()
    start = anchor + timedelta(hours=20, minutes=45)
    assert (body["start"], body["end"]) == (iso(start), iso(anchor + timedelta(hours=21)))
    assert body["average_price"] == pytest.approx(0.01)
    assert body["slots"] == [{"start": body["start"], "end": body["end"], "price": 0.01}]
    # 20 min typed with 4 decimals is 20 min
    body = client.get(URL, {"hours": "0.3333"}).json()
    assert (body["hours"], body["start"]) == (pytest.approx(1 / 3), iso(start - 5 * MINUTE))


def test_accepted_within_forms(client, anchor):
    # 2.5 h from now always holds the next full hour
    for within, shown in (("150m", "2.5h"), ("2d", "48h"), ("2h30m", "2.5h"), ("2.5h", "2.5h")):
        response = client.get(URL, {"hours": "1", "within": within})
        assert response.status_code == 200, response.json()
        assert response.json()["within"] == shown


def test_within_reads_a_number_as_hours_does(client, anchor):
    # hours=.5 is half an hour: within=.5h was a 400 saying only "such as 24h, 90m, 2d".
    for within, shown in ((".5h", "0.5h"), ("2.h", "2h"), ("1d.5h", "24.5h")):
        response = client.get(URL, {"hours": "0.25", "within": within})
        assert response.status_code == 200, response.json()
        assert response.json()["within"] == shown


def test_a_fractional_unit_is_read_to_the_second_and_answered_so(client, anchor):
    # 1.5m is 90 s, as 1.5h is 90 min (docs/api.md); the answer said "7200.02h" of 300d1m, 12 s
    # more than asked (six digits).
    for within, shown in (("1.5m", "0.025h"), ("2d1m", "48.0166667h"), ("300d1m", "7200.0166667h")):
        response = client.get(URL, {"hours": "0.0166667", "within": within})
        assert response.status_code == 200, response.json()
        assert response.json()["within"] == shown
    # at most 90 s from now (H+20 min): only the running slot, and no window longer than 90 s
    slots = client.get("/api/pricing/slots", {"within": "1.5m"}).json()["slots"]
    assert [slot["start"] for slot in slots] == [iso(anchor)]
    response = client.get(URL, {"hours": "0.05", "within": "1.5m"})
    assert_400_naming_only(response, "hours", "more than 0 and at most 0.025h (within)")


@pytest.mark.parametrize("within", ["24H", "2D", "1M", "1h30M"])
def test_within_is_written_in_lowercase_as_its_examples_are(client, anchor, within):
    # Read in any case, "1M" was a minute to a caller who may have meant a month; `type`,
    # `status` and `format` are written exactly too.
    accepted = (f"{within!r} is not valid: expected a duration such as 24h, 90m, 2d or 1h30m: "
                "numbers (1.5 and .5 too) each followed by d, h or m, in lowercase, each unit "
                "once and in the order d, h, m.")  # fmt: skip
    assert_400_naming_only(client.get(URL, {"hours": "1", "within": within}), "within", accepted)


def test_not_enough_prices_is_409(client, anchor):
    response = client.get(URL, {"hours": "40", "within": "2d"})
    assert response.status_code == 409
    assert "of price slots lie entirely between" in response.json()["detail"]


def test_nothing_stored_is_409(client, database, site):
    response = client.get(URL, {"hours": "3"})
    assert response.status_code == 409
    assert "No awattar prices for DE are stored" in response.json()["detail"]


def test_site_selection(client, database, site):
    other = Site.objects.create(name="Wien", latitude=48.2, longitude=16.4, pricing_region="AT")
    response = client.get(URL, {"hours": "3"})
    assert response.status_code == 400
    assert "several sites" in response.json()["site"]
    assert client.get(URL, {"hours": "3", "site": "9999999"}).status_code == 404
    response = client.get(URL, {"hours": "3", "site": str(other.pk)})
    assert response.status_code == 409
    assert "no enabled electricity price provider" in response.json()["detail"]
    ProviderConfig.objects.create(site=other, source="electricity_pricing", provider="octopus")
    response = client.get(URL, {"hours": "3", "site": str(other.pk)})
    assert response.status_code == 409
    assert "settings of site 'Wien' are incomplete" in response.json()["detail"]
    assert "region letter" in response.json()["detail"]


def test_needs_a_token(database, site):
    assert APIClient().get(URL, {"hours": "3"}).status_code == 401


def test_split_windows_say_how_many_and_what_the_interruptions_cost(client, anchor):
    # 0.10 + 0.05 (H+5, H+6) and 0.01 (H+20): 0.16 / 3 in two windows; by default (6 %) the
    # interruption adds 6 % x 0.0533 = 0.0032, still far below the best run (0.09)
    body = client.get(URL, {"hours": "3", "contiguous": "false"}).json()
    assert (body["penalty_percent"], body["max_windows"], body["windows_used"]) == (6, None, 2)
    assert body["penalty_cost"] == pytest.approx(0.06 * 0.16 / 3)
    # one window allowed: the best run, H+5..H+8 at 0.09
    one = client.get(URL, {"hours": "3", "contiguous": "false", "max_windows": "1"}).json()
    assert (one["start"], one["windows_used"], one["penalty_cost"]) == (
        iso(anchor + timedelta(hours=5)), 1, 0)  # fmt: skip
    assert one["average_price"] == pytest.approx(0.09)
    # a penalty of 100 % per interruption: every split costs more than the whole plan again
    whole = client.get(URL, {"hours": "3", "contiguous": "false", "penalty_percent": "100"}).json()
    assert (whole["windows_used"], whole["average_price"]) == (1, pytest.approx(0.09))
    # contiguous windows use one window and pay nothing
    run = client.get(URL, {"hours": "3"}).json()
    assert (run["windows_used"], run["penalty_cost"]) == (1, 0)


def test_a_penalty_too_small_to_count_is_a_split_plan_without_one(client, anchor):
    # Was a 500 (OverflowError): the most windows a penalty allows, 1 / penalty, is infinite.
    body = client.get(URL, {"hours": "3", "contiguous": "false", "penalty_percent": "1e-320"})
    assert body.status_code == 200, body.content
    assert [s["start"] for s in body.json()["slots"]] == [
        iso(anchor + timedelta(hours=h)) for h in (5, 6, 20)
    ]
    assert (body.json()["windows_used"], body.json()["penalty_cost"]) == (2, pytest.approx(0))


@pytest.mark.parametrize(
    ("query", "name"),
    [({"penalty_percent": "-1"}, "penalty_percent"), ({"max_windows": "0"}, "max_windows"),
     ({"max_windows": "two"}, "max_windows")],
)  # fmt: skip
def test_bad_split_rules_are_400_naming_them(client, anchor, query, name):
    response = client.get(URL, {"hours": "3", "contiguous": "false", **query})
    assert response.status_code == 400
    assert list(response.json()) == [name]
