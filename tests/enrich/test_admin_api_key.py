"""An API key the providers' calls cannot send (a line break, another control character, a
character past Latin-1) is refused by the admin's provider forms, the config's page and a
site's inline row, and nothing is saved: every collection with it failed, told to check the
base URL."""

import pytest
from django.urls import reverse

from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db

ADD = "admin:enrich_providerconfig_add"


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("abc\ndef", "the invisible or control character '\\n'"),
        ("abc\tdef", "the invisible or control character '\\t'"),
        ("abc\x7fdef", "the invisible or control character '\\x7f'"),
        ("abc\xa0def", "the invisible or control character '\\xa0'"),
        ("key€", "the character '€', past Latin-1"),
        ("鍵", "the character '鍵', past Latin-1"),
    ],
)
def test_an_api_key_no_call_can_send_is_refused_where_it_is_given(admin_client, key, said):
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, grid_region="DE")
    form = {"site": site.pk, "source": "carbon_intensity", "provider": "electricitymaps",
            "enabled": "on", "interval_seconds": "3600", "options": "{}", "api_key": key}  # fmt: skip
    page = admin_client.post(reverse(ADD), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["api_key"] == [
        f"An API key is sent in an HTTP header or login, which cannot carry {said}: enter "
        "the key as the provider shows it."
    ]
    assert not ProviderConfig.objects.exists()

    # The site's page, with the config as an inline row: the same error, the site unchanged.
    inline = {"providers-TOTAL_FORMS": "1", "providers-INITIAL_FORMS": "0",
              "providers-0-source": "carbon_intensity", "providers-0-provider": "electricitymaps",
              "providers-0-enabled": "on", "providers-0-interval_seconds": "3600",
              "providers-0-options": "{}", "providers-0-api_key": key}  # fmt: skip
    page = admin_client.post(
        reverse("admin:enrich_site_change", args=[site.pk]),
        {"name": "Berlin", "latitude": "52.5", "longitude": "13.4", "timezone": "UTC",
         "grid_region": "FR", "pricing_region": "", "enabled": "on", **inline},
    )  # fmt: skip
    assert page.status_code == 200
    [errors] = page.context["inline_admin_formsets"][0].formset.errors
    assert errors["api_key"][0].endswith("enter the key as the provider shows it.")
    assert not ProviderConfig.objects.exists()
    assert Site.objects.get().grid_region == "DE"

    # Typed as the provider shows it, it is saved (spaces around a paste dropped).
    form["api_key"] = " key-ü_1.2 "
    assert admin_client.post(reverse(ADD), form).status_code == 302
    assert ProviderConfig.objects.get().api_key == "key-ü_1.2"


def test_a_stored_key_that_cannot_be_sent_is_named_on_the_config_page(admin_client):
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, grid_region="DE")
    config = ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                           provider="electricitymaps", api_key="abc\ndef")  # fmt: skip
    form = {"site": site.pk, "source": "carbon_intensity", "provider": "electricitymaps",
            "enabled": "", "interval_seconds": "3600", "options": "{}", "api_key": ""}  # fmt: skip
    url = reverse("admin:enrich_providerconfig_change", args=[config.pk])
    page = admin_client.post(url, form)
    assert page.status_code == 200
    assert (
        "enter the key as the provider shows it."
        in page.context["adminform"].form.errors["api_key"][0]
    )
    assert ProviderConfig.objects.get().enabled
    form["api_key"] = "abcdef"
    assert admin_client.post(url, form).status_code == 302
    assert ProviderConfig.objects.get().api_key == "abcdef"
