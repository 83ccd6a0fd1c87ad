"""The answers of an install in a bad state are what the OpenAPI schema (/api/schema/) declares
(tests.support.schema_check, as tests/api/test_schema_answers.py checks a healthy one's), and
each says what is wrong instead of failing: every GET with Redis out of reach (a port nothing
listens on; /api/processes/ without the beat's and workers' signs of life), /api/plan/loads of
a site whose time zone this host cannot load, /retention/stats and /retention/metrics with a
tier database InfluxDB does not have."""

import pytest

from enrich.models import Site
from retention.stats.metrics import record_metrics
from tests.support.ports import free_port
from tests.support.schema_check import asked, mismatch
from tests.support.schema_install import first_answers

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("own_throttle_counts", "many_reads"),
]


def test_every_get_with_redis_out_of_reach_answers_as_the_schema_declares(install, settings):
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    kept, settings.REDIS_URL = settings.REDIS_URL, f"redis://127.0.0.1:{free_port()}/0"
    try:
        wrong = asked(client, document, first_answers(200, {"/api/health/": 503}), filled)
        processes = client.get("/api/processes/").json()
    finally:
        settings.REDIS_URL = kept  # the test's own keys are taken away after it
    assert not wrong, "\n".join(wrong)
    assert (processes["ok"], processes["beat"], processes["workers"], processes["queues"]) == (
        False, None, None, None)  # fmt: skip
    assert processes["detail"].startswith(
        "The record of the beat's and workers' signs of life is unavailable: cannot reach Redis"
    ), processes


def test_the_loads_of_a_site_whose_zone_cannot_be_loaded_answer_as_the_schema_declares(install):
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    Site.objects.filter(pk=filled["site"]).update(timezone="Mars/Base")  # past the site form
    answer = client.get(f"/api/plan/loads?site={filled['site']}")
    assert mismatch(document, "/api/plan/loads", answer) is None
    loads = answer.json()["loads"]
    assert [(load["name"], load["timezone"], load["plan"], load["before"]) for load in loads] == [
        ("Dishwasher", "Mars/Base", None, None), ("Laundry", "Mars/Base", None, None)]  # fmt: skip
    assert {load["message"] for load in loads} == {
        "The site's time zone 'Mars/Base' is no IANA time zone name; correct it in the admin "
        "(Sites), e.g. Europe/Berlin."
    }


@pytest.mark.parametrize("missing", ["TIER_DATABASE", "HA_INFLUXDB_DATABASE"])
def test_storage_with_a_tier_database_influxdb_lacks_answers_as_the_schema_declares(
    install, settings, missing
):
    """A TIER_DATABASE of its own, or Home Assistant's database holding the tiers too, that
    InfluxDB does not have (a tier run created one before: a misspelt setting): the tiers in
    it are not measured, null with the reason, in /retention/stats and in the daily point
    /retention/metrics shows."""
    client, _ = install
    document = client.get("/api/schema/?format=json").json()
    gone = f"{settings.INFLUXDB_DATABASE}_gone"
    settings.TIER_DATABASE = gone
    if missing == "HA_INFLUXDB_DATABASE":
        settings.HA_INFLUXDB_DATABASE = gone
    record_metrics()  # today's point, measured so
    stats, metrics = client.get("/retention/stats"), client.get("/retention/metrics")
    said = [mismatch(document, "/retention/stats", stats),
            mismatch(document, "/retention/metrics", metrics)]  # fmt: skip
    assert said == [None, None], said
    hourly = stats.json()["current_db_size_gb"]["tiers"]["hourly"]
    assert hourly["value"] is None
    assert hourly["reason"].startswith(f"InfluxDB has no database '{gone}' ({missing}"), hourly
    today = metrics.json()["points"][-1]
    assert today["hourly_size_bytes"] is None and f"'{gone}'" in today["unmeasured"], today
