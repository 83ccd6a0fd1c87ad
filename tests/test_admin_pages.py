"""Every model registered in the admin has a working list page and add page (or refuses adding);
a flexible load beyond what /api/plan accepts, and provider options PostgreSQL cannot store, are
refused."""

import pytest
from django.contrib import admin
from django.urls import reverse

from collectors.models import MAX_CARBON_PRICE, MAX_LOAD_KW, FlexibleLoad
from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_list_page_renders(admin_client, model):
    meta = model._meta
    response = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert response.status_code == 200
    assert meta.verbose_name_plural.lower() in response.content.decode().lower()


@pytest.mark.parametrize("model", MODELS, ids=[m._meta.label for m in MODELS])
def test_add_page_renders_or_is_refused(admin_client, admin_user, rf, model):
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    response = admin_client.get(url)
    request = rf.get(url)
    request.user = admin_user
    can_add = admin.site._registry[model].has_add_permission(request)
    assert response.status_code == (200 if can_add else 403)


def test_a_flexible_load_beyond_the_plan_limits_is_refused(admin_client):
    # /api/plan refuses more (a figure of the plan would become infinite); a load configured
    # here feeds /api/plan/loads and the MQTT sensors, so the admin refuses it too
    site = Site.objects.create(name="Wien", latitude=48.2, longitude=16.4)
    form = {"site": site.pk, "name": "Smelter", "hours": "2", "deadline": "07:00",
            "carbon_price": "1000001", "kw": "100001", "contiguous": "on", "max_windows": "",
            "enabled": "on"}  # fmt: skip
    page = admin_client.post(reverse("admin:collectors_flexibleload_add"), form)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert errors["kw"] == [f"Ensure this value is less than or equal to {MAX_LOAD_KW}."]
    assert errors["carbon_price"] == [
        f"Ensure this value is less than or equal to {MAX_CARBON_PRICE}."
    ]
    assert not FlexibleLoad.objects.exists()
    form.update(kw=str(MAX_LOAD_KW), carbon_price=str(MAX_CARBON_PRICE))
    assert admin_client.post(reverse("admin:collectors_flexibleload_add"), form).status_code == 302
    assert FlexibleLoad.objects.get().kw == MAX_LOAD_KW


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ('{"budget": NaN}', "nan (NaN and infinities are not JSON numbers)"),
        ('{"window_hours": [1, Infinity]}', "inf (NaN and infinities are not JSON numbers)"),
        ('{"region": "DE\\u0000"}', "a NUL character (\\u0000)"),
        ('{"a\\u0000": 1}', "a NUL character (\\u0000)"),
    ],
)
def test_provider_options_postgresql_cannot_store_are_refused(admin_client, options, named):
    # Python's JSON parser reads NaN and Infinity, and PostgreSQL stores neither, nor a NUL
    # character: the save failed (a 500). The form says which.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": options}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    [error] = page.context["adminform"].form.errors["options"]
    assert error == f"Options cannot hold {named}."
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"window_hours": 3}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302


def test_provider_options_the_provider_does_not_read_are_refused(admin_client):
    # A misspelt option was saved and silently ignored: the run used the default URL instead.
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4, pricing_region="DE")
    form = {"site": site.pk, "source": "electricity_pricing", "provider": "awattar",
            "enabled": "on", "interval_seconds": "3600", "options": '{"bse_url": "http://x"}'}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["options"] == [
        "Unknown option(s) for awattar: bse_url. awattar reads: base_url, budget, window_hours."
    ]
    assert "bse_url" in page.content.decode()
    assert not ProviderConfig.objects.exists()
    form["options"] = '{"base_url": "http://x", "budget": "50/day", "window_hours": 2}'
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options["base_url"] == "http://x"
