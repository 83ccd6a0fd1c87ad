"""Every model registered in the admin has a working list page and add page (or refuses adding)."""

import pytest
from django.contrib import admin
from django.urls import reverse

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
