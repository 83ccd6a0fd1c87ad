"""The admin's "Clear secrets" on a Google Calendar config: its connection and tokens go, so
the next run does not read the calendar of the account the user disconnected. Real
PostgreSQL, Redis and InfluxDB; Google on the replay server."""

from datetime import timedelta

import pytest

from collectors import pipeline
from enrich.models import OAuthConnection
from tests.support.configs import clear_secrets
from tests.support.google import ACCOUNT, NOW, connect, workday

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def test_clearing_secrets_disconnects_the_google_account(admin_client, influx, google, calendar):
    connect(calendar, expires_in=timedelta(minutes=40))
    workday(google)

    page = clear_secrets(admin_client, calendar).content.decode()

    assert (
        f"{calendar}: removed the stored API key and password and the Google Calendar "
        f"connection of {ACCOUNT} and its tokens." in page
    )
    assert not OAuthConnection.objects.exists()
    outcome = pipeline.collect(calendar, now=NOW)
    assert outcome.status == "failed"
    assert "Google Calendar is not connected for site Berlin flat" in outcome.error
    assert google.requests == []  # the calendar was not read with the old tokens


def test_with_the_environment_token_the_message_says_it_connects_again(
    admin_client, settings, google, calendar
):
    settings.GOOGLE_REFRESH_TOKEN = "1//0genvironment-refresh-token"
    connect(calendar, expires_in=timedelta(minutes=40))
    page = clear_secrets(admin_client, calendar).content.decode()
    assert "GOOGLE_REFRESH_TOKEN is set: the next run connects with it again" in page
    # The connection's own tokens are gone; what is left is the environment's, as said.
    assert [(c.origin, c.refresh_token, c.access_token) for c in OAuthConnection.objects.all()] in (
        [],
        [("environment", "1//0genvironment-refresh-token", "")],
    )
