"""The status page of a home whose collectors stopped 8 days ago, in a real browser. The price
chart's reason that no prices are stored writes its times as the page does (it read "between
2026-12-05T05:58:59.508504+00:00 and …" above a Plan panel saying the same "between Sat 06:58 AM
and …"); the carbon chart no longer says none is stored "yet" next to the Now table's
8-day-old value; the Now table dates a value's time that far back ("Fri 04:00 AM, 8.0 d
ago" read as yesterday's), and writes the time in why it shows an older price as the page
does."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors.models import CollectorRun
from tests.dashboard.browser import BROWSER_TEST, open_as_reader, page_times
from tests.support import status_home as home
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


def test_a_home_not_collected_for_a_week(live_server, isolated, replay_server, browser, read_clock):
    then = home.hour_of(read_clock) - timedelta(days=8)
    home.register_awattar(replay_server, then)
    home.register_electricitymaps(replay_server, then)
    site = home.create_site(replay_server)
    assert home.collect_all(site, then) == {"awattar": "ok", "electricitymaps": "ok"}
    CollectorRun.objects.update(started=then)
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    answer = api.get("/api/pricing/slots")
    assert answer.status_code == 409

    open_as_reader(browser, live_server.url)
    prices = browser.find_element("id", "price-summary").text
    assert prices == page_times(browser, answer.json()["detail"]), prices
    assert prices.startswith("No awattar prices for DE are stored between "), prices
    assert not re.search(r"\d{4}-\d\d-\d\dT", prices), prices

    # The values' times with their dates: "Fri 04:00 AM, 8.0 d ago" read as yesterday's.
    def day(moment) -> str:
        return browser.execute_script("return Status.day(arguments[0]);", moment.isoformat())

    carbon = browser.find_element("css selector", "tr[data-provider=electricitymaps]")
    assert carbon.find_element("css selector", "td.value").text == "312 gCO2/kWh"
    value_of = carbon.find_element("css selector", "td.value-time").text
    assert value_of == f"{day(then)}, 8.0 d ago", value_of
    price = browser.find_element("css selector", "tr[data-provider=awattar] td.value-time").text
    assert price.startswith(f"{day(then)} to "), price
    assert price.endswith(", ended 8.0 d ago"), price  # 8 days less the slot's hour
    # Why the older price is shown, with now as the page writes times: it read "no stored price
    # slot covers now (2026-12-05T11:16:25+01:00)".
    reason = browser.find_element("css selector", "tr[data-provider=awattar] td.value .note").text
    entry = api.get("/api/enrichment/current").json()["sources"]["electricity_pricing"]
    assert reason == page_times(browser, entry["providers"][0]["message"]), reason
    assert reason.startswith("no stored price slot covers now ("), reason
    assert "last_run" not in reason, reason  # the API's field: "see its last run"
    assert not re.search(r"\d{4}-\d\d-\d\dT", reason), reason
    assert carbon.find_element("css selector", "td.state").text == "stale"
    summary = browser.find_element("id", "carbon-summary").text
    # Why: the last collection, its time with its date (it read "Sat 04:00 AM", as this week's).
    assert summary == (
        "No carbon intensity is stored for electricitymaps from 24 h ago on. The last carbon "
        f"collection ({day(then)}) fetched and written: check that the carbon collector still "
        "runs (GET /api/processes/, the collector runs in the admin)."
    ), summary


def test_a_home_never_collected_shows_no_value_not_a_stale_one(
    live_server, isolated, replay_server, browser
):
    # The price row of a site whose collector has not run yet said "stale" (the API's
    # `stale: true` beside `value: null`) while the carbon row beside it said "no value".
    home.create_site(replay_server)
    open_as_reader(browser, live_server.url)
    for provider in ("awattar", "electricitymaps"):
        row = browser.find_element("css selector", f"tr[data-provider={provider}]")
        assert row.find_element("css selector", "td.state").text == "no value", provider
    price = browser.find_element("css selector", "tr[data-provider=awattar] td.value").text
    assert price.startswith("no stored price slot covers now ("), price
    assert price.endswith("; no answer yet"), price


def test_a_last_run_of_another_year_carries_its_year(live_server, isolated, replay_server, browser):
    # A provider not collected for 400 days: its last run read "Sun 2 Nov, 10:00", as this year's.
    site = home.create_site(replay_server)
    then = datetime.now(UTC).replace(microsecond=0) - timedelta(days=400)
    for provider in ("awattar", "electricitymaps"):
        CollectorRun.objects.create(source=site.providers.get(provider=provider).source,
                                    provider=provider, target="DE", started=then,
                                    status=CollectorRun.Status.OK)  # fmt: skip
    open_as_reader(browser, live_server.url)
    year = str(then.astimezone(ZoneInfo(site.timezone)).year)
    cells = [cell.text for cell in browser.find_elements("css selector", "td.status-ok")]
    assert len(cells) == 2, cells
    for cell in cells:
        assert cell.startswith("fetched and written · "), cell
        assert year in cell, (cell, year)
    # This year's run keeps its date without the year.
    CollectorRun.objects.update(started=datetime.now(UTC) - timedelta(days=1))
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    cells = [cell.text for cell in browser.find_elements("css selector", "td.status-ok")]
    assert len(cells) == 2 and not any(year in cell for cell in cells), cells
