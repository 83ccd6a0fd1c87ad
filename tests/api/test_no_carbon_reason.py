"""Why no carbon intensity is stored, as GET /api/carbon/series says it (`reason`). With every
collection failing (the API out of reach, as on a first start without internet) the answer held
two empty lists, and the status page's chart said only that nothing is stored."""

from datetime import UTC, datetime

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.models import Site
from tests.support import configs
from tests.support.api import token_client
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def london(settings):
    with fresh_database("nocarbon") as settings.INFLUXDB_DATABASE:
        site = Site.objects.create(name="London", latitude=51.5, longitude=-0.12,
                                   timezone="Europe/London")  # fmt: skip
        yield configs.unreachable(site, "carbon_intensity", "uk_carbon_intensity")


def series(client) -> dict:
    answer = client.get("/api/carbon/series")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["actual"], body["forecast"]) == ([], [])
    return body


def test_before_any_collection_the_reason_sends_to_the_processes(london):
    assert series(token_client("ha"))["reason"] == (
        "no carbon collection has run yet: check that the beat and a worker run "
        "(GET /api/processes/)."
    )


def test_a_failed_collection_is_the_reason_with_its_error(london, settings):
    settings.HTTP_MAX_RETRIES = 0
    assert pipeline.collect(london, now=datetime.now(UTC)).status == "failed"
    run = CollectorRun.objects.get(provider="uk_carbon_intensity")
    assert "could not connect" in run.message, run.message
    assert series(token_client("ha"))["reason"] == (
        f"the last carbon collection ({run.started.isoformat()}) failed: {run.message}"
    )
