"""Django's password validators apply with the production profile or without: docker-compose's
web answers on port 8000 of every interface without DJANGO_PRODUCTION (docs/deployment.md,
*From the LAN, plain HTTP*), and `make run` does with WEB_BIND=0.0.0.0."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.support.startup import load_settings

WEAK = ["password", "12345678", "enrich"]


@pytest.mark.django_db
@pytest.mark.parametrize("weak", WEAK)
def test_the_admin_refuses_a_weak_password_for_a_new_user_without_the_profile(admin_client, weak):
    """An admin gave a read-only user the password "password" on a LAN install; it was kept."""
    response = admin_client.post(
        reverse("admin:auth_user_add"),
        {"username": "reader", "password1": weak, "password2": weak, "usable_password": "true"},
    )
    assert response.status_code == 200  # the form again, not a redirect to the new user
    assert not User.objects.filter(username="reader").exists()
    assert response.context["adminform"].form.errors["password2"]


@pytest.mark.django_db
def test_the_admin_refuses_a_weak_password_change_without_the_profile(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[admin_user.pk]),
        {"password1": "123456789", "password2": "123456789"},
    )
    assert response.status_code == 200
    admin_user.refresh_from_db()
    assert not admin_user.check_password("123456789")


def test_the_validators_are_on_by_default_and_off_only_when_asked():
    count = "len(settings.AUTH_PASSWORD_VALIDATORS)"
    assert load_settings(show=count).stdout.strip() == "4"
    assert load_settings(show=count, DJANGO_PRODUCTION="false").stdout.strip() == "4"
    off = load_settings(show=count, DJANGO_PASSWORD_VALIDATORS="false")
    assert off.stdout.strip() == "0", off.stderr
