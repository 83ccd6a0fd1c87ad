"""The status page of a site with no carbon intensity provider (a German home priced by aWATTar
alone), in a real browser: the carbon chart says so, and the page asks nothing it knows the
site does not have (/api/carbon/series would answer 409, a red "Failed to load resource" in
the browser's console at every load)."""

from rest_framework.test import APIClient

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.status_home import awattar_site, register_awattar

pytestmark = BROWSER_TEST


def test_a_site_without_carbon_provider_is_not_asked_for_carbon(
    live_server, isolated, replay_server, read_clock, browser, django_user_model
):
    register_awattar(replay_server, read_clock)
    site = awattar_site(replay_server, "Berlin flat", read_clock)
    open_as_reader(browser, live_server.url)

    # The API still answers 409, which the chart's summary says, as it did.
    api = APIClient()
    api.force_authenticate(django_user_model.objects.get(username="reader"))
    answer = api.get(f"/api/carbon/series?site={site.pk}&hours=24")
    assert answer.status_code == 409
    summary = browser.find_element("id", "carbon-summary").text
    assert summary == answer.json()["detail"]
    assert summary == (
        "Site 'Berlin flat' has no enabled carbon intensity provider; add one in the admin "
        "(Provider configs)."
    )
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"
    )
    assert any("/api/pricing/slots" in url for url in asked), asked  # the page did ask
    assert not [url for url in asked if "/api/carbon/" in url], asked
    refused = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert refused == []
