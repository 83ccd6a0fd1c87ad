"""Calendar occupancy through the real pipeline: token renewal saved, invalid_grant marked
"needs reconnect" (admin, API, log once) while other collectors keep running, and the
GOOGLE_REFRESH_TOKEN path. Real PostgreSQL, Redis and InfluxDB; Google on a local server."""

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from django.db import connection as db_connection

from collectors import pipeline, tasks
from collectors.base import Credentials
from collectors.occupancy.google import tokens as oauth_tokens
from enrich.models import OAuthConnection, ProviderConfig, Site
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.support.google import ACCOUNT, CALENDAR_LIST, NOW, PRIMARY, connect, workday

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def stored(ts, settings):
    rows = ts.query(settings.INFLUXDB_DATABASE, 'SELECT * FROM "occupancy_prediction" GROUP BY *')
    return {r.tags["person"]: r for r in rows}


def test_a_token_about_to_expire_is_renewed_saved_and_used(influx, settings, google, calendar):
    connect(calendar, expires_in=timedelta(minutes=2))
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"))
    workday(google)
    outcome = pipeline.collect(calendar, now=NOW)
    assert outcome.status == "ok" and outcome.points_written == 2

    [refresh] = google.calls("POST", "/token")
    form = {k: v[0] for k, v in parse_qs(refresh.text).items()}
    assert (form["grant_type"], form["refresh_token"]) == (
        "refresh_token",
        "1//0gstored-refresh-token",
    )
    [events] = google.calls("GET", PRIMARY)
    assert events.headers["Authorization"] == "Bearer ya29.a0renewed-access-token"
    connection = OAuthConnection.objects.get()
    assert connection.access_token == "ya29.a0renewed-access-token"
    assert connection.refresh_token == "1//0gstored-refresh-token"  # Google kept it
    remaining = connection.token_expiry - datetime.now(UTC)
    assert timedelta(minutes=55) < remaining <= timedelta(seconds=3599)

    rows = stored(influx, settings)
    assert set(rows) == {ACCOUNT, "household"}
    alex = rows[ACCOUNT]
    assert alex.time == datetime(2026, 5, 4, 6, 0, tzinfo=UTC)
    assert alex.tags["source"] == "google_calendar"
    assert alex.values["currently_home"] is True and alex.values["wfh_today"] is False
    assert alex.values["confidence"] == 0.5  # 4 May: none of the DST fixture's events


def test_a_valid_token_is_not_renewed(influx, google, calendar):
    connect(calendar, expires_in=timedelta(minutes=40))
    workday(google)
    assert pipeline.collect(calendar, now=NOW).status == "ok"
    assert google.calls("POST", "/token") == []
    [events] = google.calls("GET", PRIMARY)
    assert events.headers["Authorization"] == "Bearer ya29.a0stored-access-token"


def raw_tokens(connection) -> tuple[str, str]:
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM enrich_oauthconnection WHERE id = %s",
            [connection.pk],
        )
        return cursor.fetchone()


def test_a_token_refused_before_its_expiry_is_renewed_saved_and_reused(
    influx, settings, google, calendar, caplog
):
    # The stored token looks valid for 40 minutes, but Google has already expired it.
    connect(calendar, expires_in=timedelta(minutes=40))
    google.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    workday(google)
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"))
    with caplog.at_level(logging.INFO, logger="enrich.oauth"):
        first = pipeline.collect(calendar, now=NOW)
    assert first.status == "ok" and first.points_written == 2
    assert len(google.calls("POST", "/token")) == 1
    refused, fetched = google.calls("GET", PRIMARY)
    assert refused.headers["Authorization"] == "Bearer ya29.a0stored-access-token"
    assert fetched.headers["Authorization"] == "Bearer ya29.a0renewed-access-token"

    connection = OAuthConnection.objects.get()
    assert connection.access_token == "ya29.a0renewed-access-token"
    assert connection.refresh_token == "1//0gstored-refresh-token"
    remaining = connection.token_expiry - datetime.now(UTC)
    assert timedelta(minutes=55) < remaining <= timedelta(seconds=3599)
    raw_access, raw_refresh = raw_tokens(connection)
    assert raw_access.startswith("fernet:") and "ya29" not in raw_access
    assert raw_refresh.startswith("fernet:") and "stored-refresh-token" not in raw_refresh
    assert any("renewed during a fetch" in r.getMessage() for r in caplog.records)
    assert not any("ya29" in r.getMessage() for r in caplog.records)

    second = pipeline.collect(calendar, now=NOW + timedelta(minutes=15))
    assert second.status == "ok"
    assert len(google.calls("POST", "/token")) == 1  # the stored token was used, not renewed
    assert google.calls("GET", PRIMARY)[-1].headers["Authorization"] == (
        "Bearer ya29.a0renewed-access-token"
    )


def test_a_run_failing_after_the_renewal_still_saves_the_token(influx, google, calendar):
    connect(calendar, expires_in=timedelta(minutes=40))
    google.add("GET", PRIMARY, status=401, json={"error": {"code": 401}}, times=1)
    google.add("GET", PRIMARY, status=503, body="backend error")
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"))
    outcome = pipeline.collect(calendar, now=NOW)
    assert outcome.status == "failed" and outcome.transient and "HTTP 503" in outcome.error
    connection = OAuthConnection.objects.get()
    assert connection.access_token == "ya29.a0renewed-access-token"
    assert connection.status == "connected"
    assert timedelta(minutes=55) < connection.token_expiry - datetime.now(UTC)

    google.reset()  # Google is back
    workday(google)
    assert pipeline.collect(calendar, now=NOW + timedelta(minutes=15)).status == "ok"
    assert google.calls("POST", "/token") == []
    [events] = google.calls("GET", PRIMARY)
    assert events.headers["Authorization"] == "Bearer ya29.a0renewed-access-token"


def test_a_reconnect_during_the_fetch_keeps_its_own_tokens(google, calendar):
    connection = connect(calendar, expires_in=timedelta(minutes=40))
    started_with = pipeline.credentials(calendar)
    # Meanwhile someone reconnects on the setup page: a new refresh token.
    connection.refresh_token = "1//0gnew-consent-refresh-token"
    connection.access_token = "ya29.a0new-consent-access-token"
    connection.save()
    renewed = Credentials(
        options={
            **started_with.options,
            "token": "ya29.a0renewed-access-token",
            "token_expiry": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
    )
    oauth_tokens.save_renewed_credentials(calendar, started_with, renewed)
    connection.refresh_from_db()
    assert connection.access_token == "ya29.a0new-consent-access-token"
    assert connection.refresh_token == "1//0gnew-consent-refresh-token"


def test_invalid_grant_marks_needs_reconnect_once_and_others_keep_running(
    influx, settings, google, calendar, site, admin_client, caplog
):
    connect(calendar, expires_in=timedelta(minutes=-5))
    google.add("POST", "/token", status=400, json=google.load_fixture("google/invalid_grant.json"))
    airnow = ProviderConfig.objects.create(
        site=Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290),
        source="air_quality",
        provider="airnow",
        interval_seconds=3600,
        api_key="AIRNOW-KEY-123",
        options={"base_url": google.url},
    )
    google.add(
        "GET", AIRNOW_CURRENT_PATH, json=google.load_fixture("airnow/observation_current.json")
    )
    with caplog.at_level(logging.INFO):
        first = pipeline.collect(calendar, now=NOW)
        second = pipeline.collect(calendar, now=NOW + timedelta(minutes=15))
        other = pipeline.collect(airnow, now=datetime(2026, 10, 8, 10, 40, tzinfo=UTC))

    assert first.status == second.status == "failed"
    assert "ReconnectNeeded" in first.error and "/oauth/google/" in first.error
    assert len(google.calls("POST", "/token")) == 1  # the second run did not ask Google again
    assert google.calls("GET", PRIMARY) == []
    assert other.status == "ok" and other.points_written > 0

    connection = OAuthConnection.objects.get(provider_config=calendar)
    assert connection.status == "needs_reconnect"
    assert "Token has been expired or revoked" in connection.last_error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "needs reconnecting" in errors[0].getMessage()
    assert "Berlin flat" in errors[0].getMessage()
    repeated = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and "needs reconnecting" in r.getMessage()
    ]
    assert repeated  # later runs say it again, quietly

    admin_page = admin_client.get("/admin/enrich/oauthconnection/").content.decode()
    assert "needs reconnect" in admin_page and ACCOUNT in admin_page
    assert "ya29" not in admin_page and "1//0g" not in admin_page
    detail = admin_client.get(f"/admin/enrich/oauthconnection/{connection.pk}/change/")
    assert "Token has been expired or revoked" in detail.content.decode()

    api = admin_client.get("/api/enrichment/current", {"site": site.pk}).json()
    [entry] = api["sources"]["occupancy"]["providers"]
    assert entry["connection"]["status"] == "needs_reconnect"
    # In words as the admin says it (the status page showed the id with its "_" replaced).
    assert entry["connection"]["status_label"] == "needs reconnect"
    assert "/oauth/google/" in entry["connection"]["message"]
    assert entry["connection"]["account"] == ACCOUNT
    assert entry["last_run"]["status"] == "failed"


def test_the_environment_refresh_token_builds_a_connection(influx, settings, google, calendar):
    settings.GOOGLE_REFRESH_TOKEN = "1//0genvironment-refresh-token"
    google.add("POST", "/token", json=google.load_fixture("google/token_refresh.json"))
    google.add("GET", CALENDAR_LIST, json=google.load_fixture("google/calendar_list.json"))
    workday(google)
    outcome = pipeline.collect(calendar, now=NOW)
    assert outcome.status == "ok"
    [refresh] = google.calls("POST", "/token")
    assert parse_qs(refresh.text)["refresh_token"] == ["1//0genvironment-refresh-token"]
    connection = OAuthConnection.objects.get(provider_config=calendar)
    assert (connection.origin, connection.status) == ("environment", "connected")
    assert connection.account_email == ACCOUNT  # learnt from the primary calendar
    assert connection.access_token == "ya29.a0renewed-access-token"
    assert set(stored(influx, settings)) == {ACCOUNT, "household"}


def test_dispatch_needs_no_call_to_google(google, calendar):
    connect(calendar, expires_in=timedelta(minutes=-5))  # expired, but dispatch only reads
    chosen = tasks.configs_by_target("occupancy")
    assert list(chosen) == [("google_calendar", "Berlin flat")]
    assert google.requests == []


def test_not_connected_says_where_to_connect(influx, google, calendar, admin_client):
    outcome = pipeline.collect(calendar, now=NOW)
    assert outcome.status == "failed" and "/oauth/google/" in outcome.error
    assert google.requests == []
    api = admin_client.get("/api/enrichment/current", {"site": calendar.site_id}).json()
    [entry] = api["sources"]["occupancy"]["providers"]
    assert entry["connection"]["status"] == "not_connected"
    assert entry["connection"]["status_label"] == "not connected"  # as the setup page says it
    assert "/oauth/google/" in entry["connection"]["message"]


def test_tokens_no_key_decrypts_fail_this_calendar_only_and_say_reconnect(
    influx, settings, google, calendar
):
    valid_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "bG9zdC1rZXktbG9zdC1rZXktbG9zdC1rZXktbG9zdC0="  # since lost
    connection = connect(calendar, expires_in=timedelta(minutes=40))
    settings.FIELD_ENCRYPTION_KEY = valid_key
    assert list(tasks.configs_by_target("occupancy")) == []  # recorded, not dispatched
    outcome = pipeline.collect(ProviderConfig.objects.get(pk=calendar.pk), now=NOW)
    assert outcome.status == "failed"
    assert outcome.error == (
        "ConfigError: FIELD_ENCRYPTION_KEY cannot decrypt enrich.OAuthConnection.access_token of "
        f"Berlin flat · {ACCOUNT} · connected (id {connection.pk}); reconnect Google Calendar "
        "on /oauth/google/, or add the key it was saved with to FIELD_ENCRYPTION_KEY "
        "(comma-separated, newest first)."
    )
    assert google.requests == []
