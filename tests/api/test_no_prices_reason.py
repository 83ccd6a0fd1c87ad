"""Why no prices are stored, as the price endpoints say it. Every collection failing (the API
out of reach, as on a first start without internet) left /api/pricing/slots, /api/pricing/windows
and /api/plan saying only "check that the price collector runs (GET /api/health/, ...)", while
health answered ok for every service: they say what the last collection did, with its error."""

from datetime import UTC, datetime, timedelta

import pytest

from collectors import clock, pipeline
from collectors.models import CollectorRun
from enrich.models import Site
from tests.support import configs
from tests.support.api import token_client
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ENDPOINTS = ("/api/pricing/slots", "/api/pricing/windows?hours=3", "/api/plan?hours=3")


@pytest.fixture
def berlin(settings):
    with fresh_database("noprices") as settings.INFLUXDB_DATABASE:
        site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                                   pricing_region="DE")  # fmt: skip
        yield configs.unreachable(site, "electricity_pricing", "awattar")


def details(client) -> list[str]:
    answers = [client.get(url) for url in ENDPOINTS]
    assert [a.status_code for a in answers] == [409, 409, 409], [a.json() for a in answers]
    return [a.json()["detail"] for a in answers]


def test_before_any_collection_the_answer_sends_to_the_processes(berlin):
    for detail in details(token_client("ha")):
        assert detail.startswith("No awattar prices for DE are stored between "), detail
        assert detail.endswith(
            "; no price collection has run yet: check that the beat and a worker run "
            "(GET /api/processes/)."
        ), detail
        assert "/api/health/" not in detail, detail


def test_a_failed_collection_is_named_with_its_error(berlin, settings):
    settings.HTTP_MAX_RETRIES = 0
    assert pipeline.collect(berlin, now=datetime.now(UTC)).status == "failed"
    run = CollectorRun.objects.get(provider="awattar")
    assert "could not connect" in run.message, run.message
    for detail in details(token_client("ha")):
        assert detail.startswith("No awattar prices for DE are stored between "), detail
        said = f"; the last price collection ({run.started.isoformat()}) failed: {run.message}"
        assert detail.endswith(said), (detail, said)
        assert "/api/health/" not in detail, detail


def test_the_window_named_is_the_one_asked_about(berlin, monkeypatch):
    """The time looked at starts at the moment asked about (now), not two hours earlier (the
    read also looks back, but nothing there could have answered a question about now)."""
    now = datetime(2026, 12, 6, 5, 40, 12, 345678, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    named = [detail.split("; ")[0] for detail in details(token_client("ha"))]
    ends = [now + timedelta(hours=hours) for hours in (48, 24, 24)]  # each endpoint's default
    assert named == [
        "No awattar prices for DE are stored between 2026-12-06T05:40:12+00:00 and "
        f"{end.isoformat(timespec='seconds')}"
        for end in ends
    ], named


def test_after_a_region_change_the_answer_names_the_last_collection_of_the_old_one(berlin):
    # The region was AT until the user corrected it to DE: collections ran, of AT.
    started = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
    CollectorRun.objects.create(source="electricity_pricing", provider="awattar", target="AT",
                                started=started, status=CollectorRun.Status.OK)  # fmt: skip
    for detail in details(token_client("ha")):
        assert detail.startswith("No awattar prices for DE are stored between "), detail
        assert detail.endswith(
            "; no price collection of awattar DE has run yet (the last, "
            "2026-12-06T05:00:00+00:00, was of awattar AT): the beat's next \"Electricity "
            'prices" collects it, or "Run selected tasks" on it in the admin\'s Periodic '
            "tasks at once."
        ), detail
