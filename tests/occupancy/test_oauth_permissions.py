"""Who may connect a site's Google Calendar (it stores the site's calendar credentials, a
refresh token): the permission to change OAuth connections, and for a site without a calendar
provider config yet the one to add provider configs, as the admin guards the same data; being
staff is not enough. Seeing the setup page needs the permission to view OAuth connections."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from enrich.models import OAuthConnection, ProviderConfig
from tests.support.google import consents, google_answers, start

pytestmark = pytest.mark.django_db


def staff(*codenames: str) -> Client:
    """A browser signed in as a staff user (not a superuser) granted `codenames`."""
    user = get_user_model().objects.create_user("calendar-keeper", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_staff_without_the_permissions_neither_see_the_page_nor_connect(google, calendar):
    client = staff()

    page = client.get("/oauth/google/")
    connecting = client.post("/oauth/google/connect", {"site": calendar.site.pk})

    assert page.status_code == 403
    assert "needs the permission enrich.view_oauthconnection" in page.content.decode()
    assert connecting.status_code == 403
    said = connecting.content.decode()
    assert "needs the permission enrich.change_oauthconnection" in said
    assert "Nothing was started." in said
    assert consents() == []


def test_who_may_only_view_connections_sees_the_page_without_the_button(google, calendar):
    client = staff("view_oauthconnection")

    page = client.get("/oauth/google/").content.decode()

    assert "Berlin flat" in page and f"connect-{calendar.site.pk}" not in page  # the button
    assert "needs the permission enrich.change_oauthconnection" in page


def test_connecting_a_site_without_a_calendar_config_also_needs_to_add_one(google, site):
    client = staff("change_oauthconnection")

    refused = client.post("/oauth/google/connect", {"site": site.pk})

    assert refused.status_code == 403
    assert "needs the permission enrich.add_providerconfig" in refused.content.decode()
    assert consents() == []
    ProviderConfig.objects.create(site=site, source="occupancy", provider="google_calendar")
    assert client.post("/oauth/google/connect", {"site": site.pk}).status_code == 302


def test_with_the_permission_staff_connect_and_a_permission_taken_meanwhile_stops_the_callback(
    google, calendar
):
    client = staff("change_oauthconnection")
    google_answers(google)
    query = start(client, calendar.site)
    user = get_user_model().objects.get(username="calendar-keeper")
    user.user_permissions.clear()

    answer = client.get("/oauth/google/callback", {"state": query["state"], "code": "4/0A-code"})

    assert answer.status_code == 403 and "Nothing was changed." in answer.content.decode()
    assert google.calls("POST", "/token") == [] and not OAuthConnection.objects.exists()
    user.user_permissions.add(Permission.objects.get(codename="change_oauthconnection"))
    again = start(client, calendar.site)
    connected = client.get("/oauth/google/callback", {"state": again["state"], "code": "4/0A-c"})
    assert connected.status_code == 200
    assert OAuthConnection.objects.get().status == OAuthConnection.CONNECTED
