"""A calendar provider deleted in the admin while its run renews the Google access token
(real PostgreSQL, Redis and InfluxDB; Google on a local server, the token's answer held until
the deletion is committed): the token is not saved, the log says why, nothing is written."""

import logging
import threading
from datetime import timedelta

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.models import OAuthConnection, ProviderConfig
from tests.support.google import NOW, PRIMARY, connect, workday
from tests.support.held_run import run_holding

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]


def test_a_token_renewed_for_a_deleted_calendar_is_not_saved_and_the_log_says_why(
    influx, settings, google, calendar, caplog
):
    connect(calendar, expires_in=timedelta(minutes=40))
    google.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    workday(google)
    held = threading.Event()
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"), held=held)
    config = ProviderConfig.objects.select_related("site").get(pk=calendar.pk)

    with caplog.at_level(logging.INFO):
        outcome = run_holding(
            lambda: pipeline.collect(config, now=NOW),
            lambda: google.calls("POST", "/token"),
            ProviderConfig.objects.filter(pk=calendar.pk).delete,
            held,
        )

    assert (outcome.status, outcome.points_written) == ("failed", 0)
    assert not OAuthConnection.objects.exists() and not ProviderConfig.objects.exists()
    assert CollectorRun.objects.get().status == "failed"
    said = [r.getMessage() for r in caplog.records if r.name == "enrich.oauth"]
    # Before: "... was reconnected during a fetch; ... the new connection's tokens are used".
    assert said == [
        "oauth: Google Calendar for site Berlin flat was deleted during a fetch; the access "
        "token renewed then is not saved"
    ]
    rows = influx.query(settings.INFLUXDB_DATABASE, 'SELECT * FROM "occupancy_prediction"')
    assert list(rows) == []
