"""The status page of a site with no electricity price provider (a Berlin home with Electricity
Maps' carbon intensity alone), or one whose settings are incomplete, in a real browser: the price chart and the plan say so, and the
page asks nothing it knows the site does not have (/api/pricing/slots, /api/pricing/windows and
/api/plan would answer 409, a red "Failed to load resource" in the browser's console at every
load)."""

import pytest
from rest_framework.test import APIClient

from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.status_home import collect_all, create_site, register_electricitymaps

pytestmark = BROWSER_TEST

NO_PRICES = (
    "Site 'Demo home' has no enabled electricity price provider: add one in the admin "
    "(Provider configs: awattar, tibber or octopus), then wait for its first collection."
)
NO_TOKEN = (  # Tibber without its access token: the settings cannot be collected
    "The tibber settings of site 'Demo home' are incomplete: Tibber needs a personal access "
    "token for site 'Demo home': create one at developer.tibber.com and set it as the "
    "provider's API key (PRICING_API_KEY)."
)


@pytest.mark.parametrize("lacking", ["no provider", "tibber without token"])
def test_a_site_without_price_provider_is_not_asked_for_prices(
    live_server, isolated, replay_server, read_clock, browser, django_user_model, lacking
):
    register_electricitymaps(replay_server, read_clock)
    site = create_site(replay_server)
    prices = site.providers.filter(source="electricity_pricing")
    if lacking == "no provider":
        prices.delete()
        said, collected = NO_PRICES, {"electricitymaps": "ok"}
    else:
        prices.update(provider="tibber", api_key="")
        said, collected = NO_TOKEN, {"electricitymaps": "ok", "tibber": "failed"}
    assert collect_all(site, read_clock) == collected
    open_as_reader(browser, live_server.url)

    # The API still answers 409, each the same, which the price chart and the plan say.
    api = APIClient()
    api.force_authenticate(django_user_model.objects.get(username="reader"))
    for asked in (
        f"/api/pricing/slots?site={site.pk}",
        f"/api/pricing/windows?site={site.pk}&hours=3&within=48h",
        f"/api/plan?site={site.pk}&hours=3",
    ):
        answer = api.get(asked)
        assert (answer.status_code, answer.json()) == (409, {"detail": said}), asked
    assert browser.find_element("id", "price-summary").text == said
    reason = browser.find_element("css selector", "#plan-loads .plan-reason").text
    assert reason == f"No plan possible: {said}"
    assert browser.find_element("id", "plan-shown").get_property("disabled") is True

    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; });"
    )
    assert any("/api/carbon/series" in url for url in asked), asked  # the page did ask
    assert any("/api/plan/loads" in url for url in asked), asked  # (answered 200)
    assert not [url for url in asked if "/api/pricing/" in url or "/api/plan?" in url], asked
    refused = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
    assert refused == []
