"""A zip_code AirNow cannot be asked for is refused when the provider config is saved (the
admin form names it), not only by every collection after it was saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)


def said(zip_code: str) -> str:
    return (
        f"AirNow: zip_code {zip_code!r} is not a 5-digit US ZIP code; correct it in the AirNow "
        "provider options, or remove it to use the site's coordinates."
    )


@pytest.mark.parametrize("zip_code", ["981", "98104-1234", "９８１０４", "WA 98104"])
def test_a_zip_code_that_is_no_5_digit_zip_is_refused_by_the_model(site, zip_code):
    config = ProviderConfig(
        site=site, source="air_quality", provider="airnow", options={"zip_code": zip_code}
    )
    with pytest.raises(ValidationError) as info:
        config.full_clean()
    assert info.value.message_dict == {"options": [said(zip_code)]}


@pytest.mark.parametrize("options", [{"zip_code": "98104"}, {"zip_code": " 98104 "}, {}])
def test_a_5_digit_zip_code_or_none_is_saved(site, options):
    ProviderConfig(site=site, source="air_quality", provider="airnow", options=options).full_clean()


def test_the_admin_form_refuses_it_and_saves_nothing(admin_client, site):
    form = {"site": site.pk, "source": "air_quality", "provider": "airnow", "enabled": "on",
            "interval_seconds": "3600", "options": '{"zip_code": "981"}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["options"] == [said("981")]
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"zip_code": "98104"}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options == {"zip_code": "98104"}
