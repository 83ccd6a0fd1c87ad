"""The Google Calendar pages refuse a parameter given twice or empty (400, naming it) and change
nothing: Django handed the callback the last `state` or `code`, and Google sends each once and
none empty, so a callback holding two or an empty one was changed on its way; the connect
button's `site` likewise."""

import pytest

from enrich.models import OAuthConnection, ProviderConfig
from tests.support.google import consents, google_answers, start

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["state", "code", "error"])
def test_a_callback_with_a_parameter_twice_is_refused_and_changes_nothing(
    admin_client, google, site, name
):
    google_answers(google)
    query = start(admin_client, site)
    callback = {"state": query["state"], "code": "4/0AQlEd-test-code"}
    twice = {**callback, name: [callback.get(name, "access_denied")] * 2}
    if name == "state":
        twice["state"] = ["forged-state", query["state"]]
    response = admin_client.get("/oauth/google/callback", twice)
    page = response.content.decode()
    assert response.status_code == 400
    assert "This sign-in answer cannot be used" in page
    assert f"{name}: given 2 times: give it once." in page and "Nothing was changed" in page
    assert google.requests == []  # no code exchanged
    assert not OAuthConnection.objects.exists()
    assert not ProviderConfig.objects.filter(source="occupancy").exists()
    # the consent in progress was not used up: Google's own answer still connects
    assert admin_client.get("/oauth/google/callback", callback).status_code == 200
    assert OAuthConnection.objects.get().account_email == "alex.morgan@example.com"


@pytest.mark.parametrize("name", ["state", "code", "error"])
def test_a_callback_with_a_parameter_given_empty_is_refused_and_changes_nothing(
    admin_client, google, site, name
):
    """`?code=` used up the consent in progress ("no authorization code"), `?error=` was read as
    no error (the code was exchanged and stored), `?state=` was an unknown state, unnamed."""
    google_answers(google)
    query = start(admin_client, site)
    callback = {"state": query["state"], "code": "4/0AQlEd-test-code"}
    response = admin_client.get("/oauth/google/callback", {**callback, name: ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert "This sign-in answer cannot be used" in page and "Nothing was changed" in page
    assert f"{name}: given empty: give a value or leave ?{name}= out." in page
    assert google.requests == []  # no code exchanged
    assert not OAuthConnection.objects.exists()
    assert not ProviderConfig.objects.filter(source="occupancy").exists()
    # the consent in progress was not used up: Google's own answer still connects
    assert admin_client.get("/oauth/google/callback", callback).status_code == 200
    assert OAuthConnection.objects.get().account_email == "alex.morgan@example.com"


def test_connect_with_two_sites_is_refused(admin_client, google, site):
    response = admin_client.post("/oauth/google/connect", {"site": [site.pk, site.pk]})
    assert response.status_code == 400
    assert "site: given 2 times: give it once." in response.content.decode()
    assert consents() == []  # no consent started


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({}, "site: required"),
        ({"site": ""}, "site: required"),
        ({"site": "987654"}, "site: there is no site with id 987654"),
    ],
)
def test_connect_without_a_site_or_with_one_no_site_has_names_it(admin_client, google, body, said):
    """Like a site that is no number: the page names `site`, and no consent is started."""
    response = admin_client.post("/oauth/google/connect", body)
    assert response.status_code == 400
    assert said in response.content.decode()
    assert consents() == []
