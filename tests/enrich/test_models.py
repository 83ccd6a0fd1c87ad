"""Secrets are encrypted at rest and never shown back; provider settings are validated."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test import override_settings

from enrich.crypto import require_readable, unreadable_fields
from enrich.models import ProviderConfig, Site, is_zone_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return Site.objects.create(
        name="Home", latitude=52.52, longitude=13.40, timezone="Europe/Berlin"
    )


@pytest.fixture
def tibber(site):
    return ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="tibber", api_key="TIBBER-SECRET-123"
    )


def raw_column(pk: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM enrich_providerconfig WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_api_key_is_encrypted_at_rest_and_read_back_in_clear(tibber):
    stored = raw_column(tibber.pk, "api_key")
    assert "TIBBER-SECRET-123" not in stored
    assert stored.startswith("fernet:")
    assert ProviderConfig.objects.get(pk=tibber.pk).api_key == "TIBBER-SECRET-123"


def test_changed_encryption_key_gives_a_clear_error_when_the_secret_is_used(tibber):
    other_key = "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMDE="
    with override_settings(FIELD_ENCRYPTION_KEY=other_key):
        loaded = ProviderConfig.objects.get(pk=tibber.pk)  # loading the row still works
        assert unreadable_fields(loaded) == ["api_key"]
        with pytest.raises(ImproperlyConfigured, match="re-enter it in the admin"):
            str(loaded.api_key)  # it never passes for the secret
        with pytest.raises(ImproperlyConfigured) as info:
            require_readable(loaded, "api_key")
        assert str(info.value) == (
            "FIELD_ENCRYPTION_KEY cannot decrypt enrich.ProviderConfig.api_key of "
            f"Home · electricity pricing · tibber (id {tibber.pk}); re-enter the secret in the "
            "admin, or add the key it was saved with to FIELD_ENCRYPTION_KEY (comma-separated, "
            "newest first)."
        )
        stored = raw_column(tibber.pk, "api_key")
        loaded.interval_seconds = 1800
        loaded.save()  # the unreadable ciphertext is written back as it was
        assert raw_column(tibber.pk, "api_key") == stored
    assert ProviderConfig.objects.get(pk=tibber.pk).api_key == "TIBBER-SECRET-123"


def test_a_secret_stored_unencrypted_is_named(tibber):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE enrich_providerconfig SET password = 'plain' WHERE id = %s", [tibber.pk]
        )
    loaded = ProviderConfig.objects.get(pk=tibber.pk)
    assert loaded.api_key == "TIBBER-SECRET-123"
    with pytest.raises(
        ImproperlyConfigured, match="ProviderConfig.password .* is stored unencrypted"
    ):
        require_readable(loaded, "api_key", "password")


def test_provider_must_serve_the_source(site):
    config = ProviderConfig(site=site, source="carbon_intensity", provider="tibber")
    with pytest.raises(ValidationError, match="'tibber' does not serve carbon intensity; choose"):
        config.full_clean()


def test_site_rejects_unknown_time_zone_and_bad_coordinates():
    site = Site(name="x", latitude=95, longitude=13, timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as info:
        site.full_clean()
    assert set(info.value.message_dict) == {"latitude", "timezone"}


@pytest.mark.parametrize("zone", ["localtime", "Factory", "Mars/Olympus", "utc", ""])
def test_a_time_zone_that_is_no_place_is_refused(zone):
    # zoneinfo lists "localtime" (the host's own zone: a site's days would move with it)
    site = Site(name="x", latitude=52.5, longitude=13.4, timezone=zone)
    with pytest.raises(ValidationError) as info:
        site.full_clean()
    assert set(info.value.message_dict) == {"timezone"}
    assert is_zone_name("Europe/Berlin") and is_zone_name("UTC") and not is_zone_name(zone)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("Home\nTwo", "a line break"),
        ("Garage\\", "a backslash at its end or before a comma, '=' or a space"),
        ("C:\\ home", "a backslash at its end or before a comma, '=' or a space"),
    ],
)
def test_a_site_name_no_influxdb_tag_can_hold_is_refused(name, why):
    # The smart meters write the name as a tag: such a name failed every write of theirs.
    site = Site(name=name, latitude=52.5, longitude=13.4)
    with pytest.raises(ValidationError) as info:
        site.full_clean()
    assert info.value.message_dict == {
        "name": [f"InfluxDB tags cannot hold {why}, and this name is one."]
    }
    Site(name="C:\\temp home", latitude=52.5, longitude=13.4).full_clean()  # a backslash is fine


def test_admin_never_shows_a_stored_secret(admin_client, tibber):
    page = admin_client.get(f"/admin/enrich/providerconfig/{tibber.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "TIBBER-SECRET-123" not in html
    assert "fernet:" not in html
    assert "(stored)" in html


def test_staff_who_may_only_view_provider_configs_sees_no_stored_secret(client, tibber):
    """The admin shows a page a user may not change with each field's value: a staff user with
    the view permissions read the API key and password on a config's page and on its site's."""
    tibber.password = "TIBBER-PASSWORD-456"
    tibber.save()
    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_providerconfig", "view_site"])
    )
    client.force_login(viewer)
    for url in (
        f"/admin/enrich/providerconfig/{tibber.pk}/change/",
        f"/admin/enrich/site/{tibber.site_id}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "TIBBER-SECRET-123" not in html and "TIBBER-PASSWORD-456" not in html, url
        assert html.count("•••••• (stored)") == 2, url  # the API key and the password
    # Who may add configs but not change them still enters a new one's key.
    viewer.user_permissions.add(Permission.objects.get(codename="add_providerconfig"))
    added = client.get("/admin/enrich/providerconfig/add/")
    assert added.status_code == 200
    assert 'name="api_key"' in added.content.decode()


def _post_change(admin_client, config, **changes):
    data = {
        "site": config.site_id,
        "source": config.source,
        "provider": config.provider,
        "enabled": "on",
        "interval_seconds": "3600",
        "username": "",
        "api_key": "",
        "password": "",
        "options": "{}",
    }
    data.update(changes)
    return admin_client.post(f"/admin/enrich/providerconfig/{config.pk}/change/", data)


def test_admin_blank_secret_keeps_the_stored_one(admin_client, tibber):
    response = _post_change(admin_client, tibber, interval_seconds="1800")
    assert response.status_code == 302
    tibber.refresh_from_db()
    assert tibber.interval_seconds == 1800
    assert tibber.api_key == "TIBBER-SECRET-123"


def test_admin_replaces_and_clears_secrets(admin_client, tibber):
    _post_change(admin_client, tibber, api_key="NEW-KEY")
    tibber.refresh_from_db()
    assert tibber.api_key == "NEW-KEY"
    _post_change(admin_client, tibber, clear_secrets="on")
    tibber.refresh_from_db()
    assert tibber.api_key == "" and not tibber.has_secret
