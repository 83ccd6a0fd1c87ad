"""The connect button's POST reads its query string as the API's POSTs that start something do
(params.fields): `site` in the form or the query, once; one given in both, empty in the query,
or a name it does not take is a 400 naming it, and no consent is started. The query string was
ignored: `?site=2` started the form's site's consent (or said "site: required" without a form),
and `?site=` or `?provider=...` went unread."""

import pytest

from enrich.models import Site
from tests.support.google import consents, start

pytestmark = pytest.mark.django_db
URL = "/oauth/google/connect"


@pytest.fixture
def other(db) -> Site:
    return Site.objects.create(name="Lake house", latitude=53.0, longitude=13.0, timezone="UTC")


def test_the_site_in_the_query_is_the_one_connected(admin_client, google, site, other):
    response = admin_client.post(f"{URL}?site={other.pk}")
    assert response.status_code == 302
    assert [c["site_id"] for c in consents()] == [other.pk]


def test_the_setup_page_button_still_connects_its_site(admin_client, google, site, other):
    start(admin_client, site)
    assert [c["site_id"] for c in consents()] == [site.pk]


@pytest.mark.parametrize(
    ("query", "form", "said"),
    [
        ("?site=", {}, "site: given empty: give a value or leave ?site= out."),
        ("?site={other}", {"site": "{site}"}, "site: given in the query and in the form: give it once."),
        ("?site={other}&site={other}", {}, "site: given 2 times: give it once."),
        ("?provider=google_calendar", {"site": "{site}"},
         "provider: is not a field of POST /oauth/google/connect; use site."),
        ("", {"site": "{site}", "config": "3"},
         "config: is not a field of POST /oauth/google/connect; use site."),
    ],
)  # fmt: skip
def test_a_query_or_form_it_cannot_use_is_a_400_naming_it(
    admin_client, google, site, other, query, form, said
):
    ids = {"site": site.pk, "other": other.pk}
    response = admin_client.post(
        URL + query.format(**ids), {k: v.format(**ids) for k, v in form.items()}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert said in page and "Nothing was started" in page
    assert consents() == []
