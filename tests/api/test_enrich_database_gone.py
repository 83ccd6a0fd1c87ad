"""The price and carbon answers when InfluxDB lacks enrich's own database (INFLUXDB_DATABASE
dropped, or set otherwise for the web server than for the workers) after a collection wrote
there: they say so and which setting to check. They said the collection "fetched and written:
check that the price collector still runs", which it did."""

import uuid

import pytest

from collectors import clock
from tests.support.plan import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

GONE = (
    "fetched and written, but InfluxDB does not have the database INFLUXDB_DATABASE names: check "
    "INFLUXDB_DATABASE (the web server's and the workers' alike), and whether the database was "
    "dropped."
)


def test_the_prices_and_the_carbon_say_the_database_is_gone(collected, api, settings, monkeypatch):
    shared, missing = settings.INFLUXDB_DATABASE, f"no_such_enrich_{uuid.uuid4().hex[:8]}"
    settings.INFLUXDB_DATABASE = missing
    for path, asked in (("/api/pricing/slots", {}), ("/api/pricing/windows", {"hours": 1}),
                        ("/api/plan", {"hours": 1})):  # fmt: skip
        answer = api.get(path, {"site": collected.pk, **asked})
        assert answer.status_code == 409, (path, answer.content)
        assert answer.json()["detail"].endswith(
            f"the last price collection (2026-05-01T12:10:00+00:00) {GONE}"
        ), (path, answer.json())
        assert missing not in answer.content.decode()
    carbon = api.get("/api/carbon/series", {"site": collected.pk}).json()
    assert (carbon["actual"], carbon["forecast"]) == ([], [])
    assert carbon["reason"] == f"the last carbon collection (2026-05-01T12:10:00+00:00) {GONE}"

    # The database there, nothing stored for the time asked: the collector is said as before.
    settings.INFLUXDB_DATABASE = shared
    monkeypatch.setattr(clock, "utc_now", lambda: NOW.replace(year=2027))
    detail = api.get("/api/pricing/slots", {"site": collected.pk}).json()["detail"]
    assert detail.endswith(
        "fetched and written: check that the price collector still runs (GET /api/processes/, "
        "the collector runs in the admin)."
    ), detail
