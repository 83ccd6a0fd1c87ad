"""The status page's carbon chart when nothing is stored because every collection failed: it
said only "No carbon intensity is stored for electricitymaps from 24 h ago on.", though the
last run's error was known; it says that error, with its time as the page writes times."""

import re

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors import pipeline
from collectors.models import CollectorRun
from tests.dashboard.browser import BROWSER_TEST, open_as_reader, page_times
from tests.support import status_home as home

pytestmark = BROWSER_TEST


def test_the_carbon_chart_says_why_nothing_is_stored(
    live_server, isolated, replay_server, browser, settings
):
    settings.HTTP_MAX_RETRIES = 0
    site = home.create_site(replay_server)  # nothing registered: the API answers 404
    carbon = site.providers.get(source="carbon_intensity")
    assert pipeline.collect(carbon).status == "failed"
    run = CollectorRun.objects.get(provider="electricitymaps")
    assert "404" in run.message, run.message
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    reason = api.get("/api/carbon/series").json()["reason"]
    said = f"the last carbon collection ({run.started.isoformat()}) failed: {run.message}"
    assert reason == said.rstrip(".") + ".", reason  # the provider's words, ended by a full stop

    open_as_reader(browser, live_server.url)
    summary = browser.find_element("id", "carbon-summary").text
    said = page_times(browser, "The" + reason.removeprefix("the"))
    assert summary == f"No carbon intensity is stored for electricitymaps from 24 h ago on. {said}"
    assert "failed: electricitymaps: " in summary, summary
    assert not re.search(r"\(\d{4}-\d\d-\d\dT", summary), summary  # the run's time as the page's
