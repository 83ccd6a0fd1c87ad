"""FIELD_ENCRYPTION_KEY rotation: several keys, `manage.py rotate_field_key`, and rows no key
decrypts (listed and shown in the admin with a clear message instead of breaking pages)."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from enrich.models import OAuthConnection, ProviderConfig, Site

pytestmark = pytest.mark.django_db

OLD = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleS0="
NEW = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0="
LOST = "bG9zdC1rZXktbG9zdC1rZXktbG9zdC1rZXktbG9zdC0="


@pytest.fixture
def site():
    return Site.objects.create(name="Home", latitude=52.52, longitude=13.40)


def make_config(site, settings, key: str, **secrets) -> ProviderConfig:
    settings.FIELD_ENCRYPTION_KEY = key
    return ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="tibber", **secrets
    )


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_field_key", *args, stdout=out)
    return out.getvalue()


def test_old_secrets_stay_readable_and_the_command_moves_them_to_the_new_key(site, settings):
    config = make_config(site, settings, OLD, api_key="TIBBER-OLD-KEY", password="PW-1")
    oauth = OAuthConnection.objects.create(
        provider_config=config,
        access_token="ya29.access",
        refresh_token="1//refresh",
        token_expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    before = raw("enrich_providerconfig", "api_key", config.pk)

    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"  # a new key in front
    assert ProviderConfig.objects.get(pk=config.pk).api_key == "TIBBER-OLD-KEY"
    written = ProviderConfig.objects.create(
        site=Site.objects.create(name="Cabin", latitude=60, longitude=10),
        source="electricity_pricing",
        provider="tibber",
        api_key="WRITTEN-WITH-NEW",
    )

    dry = rotate("--dry-run")
    assert "enrich.ProviderConfig.api_key: 1 re-encrypted, 1 already current, 0 empty" in dry
    assert "would re-encrypt 4 secrets with the newest of 2 keys." in dry
    assert raw("enrich_providerconfig", "api_key", config.pk) == before  # nothing written

    report = rotate()
    assert "enrich.ProviderConfig.api_key: 1 re-encrypted, 1 already current, 0 empty" in report
    assert "enrich.ProviderConfig.password: 1 re-encrypted, 0 already current, 1 empty" in report
    assert "enrich.ProviderConfig.session: 0 re-encrypted, 0 already current, 2 empty" in report
    assert "enrich.OAuthConnection.access_token: 1 re-encrypted" in report
    assert "enrich.OAuthConnection.refresh_token: 1 re-encrypted" in report
    assert "re-encrypted 4 secrets with the newest of 2 keys." in report
    assert raw("enrich_providerconfig", "api_key", config.pk) != before

    settings.FIELD_ENCRYPTION_KEY = NEW  # the old key removed
    config = ProviderConfig.objects.get(pk=config.pk)
    assert (config.api_key, config.password) == ("TIBBER-OLD-KEY", "PW-1")
    oauth.refresh_from_db()
    assert (oauth.access_token, oauth.refresh_token) == ("ya29.access", "1//refresh")
    assert ProviderConfig.objects.get(pk=written.pk).api_key == "WRITTEN-WITH-NEW"

    stored = raw("enrich_providerconfig", "api_key", config.pk)
    again = rotate()  # idempotent: nothing left to do, nothing rewritten
    assert "re-encrypted 0 secrets with the newest of 1 key." in again
    assert "enrich.ProviderConfig.api_key: 0 re-encrypted, 2 already current" in again
    assert raw("enrich_providerconfig", "api_key", config.pk) == stored


def test_a_secret_no_key_decrypts_is_reported_and_left_alone(site, settings):
    lost = make_config(site, settings, LOST, api_key="GONE")
    kept = make_config(
        Site.objects.create(name="Cabin", latitude=60, longitude=10), settings, OLD, api_key="K"
    )
    before = raw("enrich_providerconfig", "api_key", lost.pk)
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    out = StringIO()
    with pytest.raises(CommandError, match="^1 secret cannot be decrypted with any key"):
        call_command("rotate_field_key", stdout=out)
    assert f"1 re-encrypted, 0 already current, 0 empty, 1 unreadable (id {lost.pk})" in (
        out.getvalue()
    )
    assert "re-encrypted 1 secret with the newest of 2 keys." in out.getvalue()
    assert raw("enrich_providerconfig", "api_key", lost.pk) == before
    settings.FIELD_ENCRYPTION_KEY = NEW
    assert ProviderConfig.objects.get(pk=kept.pk).api_key == "K"
    settings.FIELD_ENCRYPTION_KEY = LOST  # the lost key found again: still recoverable
    assert ProviderConfig.objects.get(pk=lost.pk).api_key == "GONE"


def test_the_admin_names_an_unreadable_secret_instead_of_failing(site, settings, admin_client):
    config = make_config(site, settings, LOST, api_key="GONE", session='{"token": "x"}')
    oauth = OAuthConnection.objects.create(provider_config=config, refresh_token="1//lost")
    settings.FIELD_ENCRYPTION_KEY = NEW
    message = (
        "FIELD_ENCRYPTION_KEY cannot decrypt enrich.ProviderConfig.api_key of "
        f"Home · electricity pricing · tibber (id {config.pk}); re-enter the secret in the admin"
    )
    for url in (
        "/admin/enrich/providerconfig/",
        f"/admin/enrich/providerconfig/{config.pk}/change/",
        f"/admin/enrich/site/{site.pk}/change/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "fernet:" not in html and "GONE" not in html
        if "providerconfig" in url:
            assert message in html, url
            assert "saved login session cannot be decrypted" in html
    for url in (
        "/admin/enrich/oauthconnection/",
        f"/admin/enrich/oauthconnection/{oauth.pk}/change/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        assert "OAuthConnection.refresh_token" in page.content.decode()
        assert "reconnect Google Calendar on /oauth/google/" in page.content.decode()

    # Re-entering the secret in the admin repairs the row.
    response = admin_client.post(
        f"/admin/enrich/providerconfig/{config.pk}/change/",
        {
            "site": site.pk,
            "source": "electricity_pricing",
            "provider": "tibber",
            "enabled": "on",
            "interval_seconds": "3600",
            "username": "",
            "api_key": "NEW-TIBBER-KEY",
            "password": "",
            "options": "{}",
        },
    )
    assert response.status_code == 302
    assert ProviderConfig.objects.get(pk=config.pk).api_key == "NEW-TIBBER-KEY"
