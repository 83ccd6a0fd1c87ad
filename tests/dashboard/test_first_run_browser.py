"""First run in a real browser: a staff user logs in to an empty enrich, the start page shows
the setup, the country ticks its keyless providers (aWATTar for Germany; Octopus and UK Carbon
Intensity for Great Britain), the InfluxDB connection is tested, and creating the site collects
at once from the local replay server: the status page shows the values now (and, in Great
Britain, the Plan panel plans from what was collected)."""

from datetime import UTC, datetime

from django.contrib.auth.models import User

from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support.chromium import POLL, wait_for
from tests.support.status_home import register_awattar, register_gb

pytestmark = BROWSER_TEST
PATH = "/v1/marketdata"


def test_first_run_sets_up_a_site_and_shows_a_collected_price(
    live_server, replay_server, isolated, settings, browser
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    rows = register_awattar(replay_server)
    settings.PROVIDER_BASE_URLS = {"awattar": replay_server.url}
    User.objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")

    log_in(browser, live_server.url, "admin", "correct-horse-battery")
    assert wait_for(browser, "h1").text == "Set up your home"
    browser.find_element(By.ID, "id_name").clear()
    browser.find_element(By.ID, "id_name").send_keys("Berlin flat")
    browser.find_element(By.ID, "id_latitude").send_keys("52.52")
    browser.find_element(By.ID, "id_longitude").send_keys("13.405")
    browser.find_element(By.ID, "id_timezone").clear()
    browser.find_element(By.ID, "id_timezone").send_keys("Europe/Berlin")
    Select(browser.find_element(By.ID, "id_country")).select_by_value("DE")
    ticked = [b.get_attribute("value") for b in browser.find_elements(
        By.CSS_SELECTOR, "input[name=providers]:checked")]  # fmt: skip
    assert ticked == ["awattar"]  # keyless and serving Germany; nothing else

    database = browser.find_element(By.ID, "id_ha_database")
    database.clear()
    database.send_keys(settings.INFLUXDB_DATABASE)
    browser.find_element(By.ID, "test-influxdb").click()
    check = wait_for(browser, "#influx-check")
    assert f"answers at {settings.INFLUXDB_URL}" in check.text
    assert settings.INFLUXDB_DATABASE in check.text
    assert Site.objects.count() == 0  # testing the connection creates nothing

    clicked = datetime.now(UTC).timestamp() * 1000
    browser.find_element(By.ID, "create-site").click()
    value = wait_for(browser, "tr[data-provider=awattar] td.value")
    WebDriverWait(browser, 20, poll_frequency=POLL).until(lambda d: "EUR/kWh" in value.text)

    # The price of the hour running when the site was collected (either hour, at a boundary).
    read = datetime.now(UTC).timestamp() * 1000
    running = [r for r in rows if r["start_timestamp"] <= read and clicked < r["end_timestamp"]]
    assert value.text in {f"{round(r['marketprice'] / 1000, 4):g} EUR/kWh" for r in running}
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-provider=awattar]")
    assert row.find_element(By.CSS_SELECTOR, "td.state").text == "fresh"
    assert "fetched and written · " in row.text  # the last run, in the admin's words
    site = Site.objects.get()
    assert (site.name, site.pricing_region, site.timezone) == ("Berlin flat", "DE", "Europe/Berlin")
    config = ProviderConfig.objects.get()
    assert (config.provider, config.options) == ("awattar", {"base_url": replay_server.url})
    [run] = CollectorRun.objects.all()
    assert run.status == "ok" and run.points_written >= 24
    assert len(replay_server.calls("GET", PATH)) == 1


def test_first_run_in_great_britain_ticks_and_collects_octopus_and_uk_carbon_intensity(
    live_server, replay_server, isolated, settings, browser
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    answers = register_gb(replay_server)
    settings.PROVIDER_BASE_URLS = {p: replay_server.url for p in ("octopus", "uk_carbon_intensity")}
    User.objects.create_superuser("admin", "admin@example.com", "correct-horse-battery")

    log_in(browser, live_server.url, "admin", "correct-horse-battery")
    assert wait_for(browser, "h1").text == "Set up your home"
    for field, value in (("id_latitude", "51.4769"), ("id_longitude", "-0.8636"),
                         ("id_octopus_region", "c"), ("id_grid_region", "RG10 9XX")):  # fmt: skip
        browser.find_element(By.ID, field).send_keys(value)
    browser.find_element(By.ID, "id_timezone").clear()
    browser.find_element(By.ID, "id_timezone").send_keys("Europe/London")
    Select(browser.find_element(By.ID, "id_country")).select_by_value("GB")
    ticked = [b.get_attribute("value") for b in browser.find_elements(
        By.CSS_SELECTOR, "input[name=providers]:checked")]  # fmt: skip
    assert ticked == ["uk_carbon_intensity", "octopus"]  # keyless and serving Great Britain
    database = browser.find_element(By.ID, "id_ha_database")
    database.clear()
    database.send_keys(settings.INFLUXDB_DATABASE)
    clicked = datetime.now(UTC)
    browser.find_element(By.ID, "create-site").click()

    price = wait_for(browser, "tr[data-provider=octopus] td.value")
    WebDriverWait(browser, 20, poll_frequency=POLL).until(lambda d: "GBP/kWh" in price.text)
    read = datetime.now(UTC)  # the half hour running meanwhile (either, at a boundary)
    running = [r for r in answers["rates"]
               if _utc(r["valid_from"]) <= read and clicked < _utc(r["valid_to"])]  # fmt: skip
    assert price.text in {f"{round(r['value_inc_vat'] / 100, 4):g} GBP/kWh" for r in running}
    carbon = browser.find_element(By.CSS_SELECTOR, "tr[data-provider=uk_carbon_intensity] td.value")
    shown, read = carbon.text, datetime.now(UTC)
    # The half hour running meanwhile (either, at a boundary): the current answer's own, else the
    # forecast's.
    [region] = answers["current"]["data"]
    slots = {slot["from"]: slot for slot in answers["forecast"]["data"]["data"]}
    slots.update({slot["from"]: slot for slot in region["data"]})
    running = [s for s in slots.values() if _utc(s["from"]) <= read and clicked < _utc(s["to"])]
    assert shown in {f"{s['intensity']['forecast']} gCO2/kWh" for s in running}
    for provider in ("octopus", "uk_carbon_intensity"):
        row = browser.find_element(By.CSS_SELECTOR, f"tr[data-provider={provider}]")
        assert row.find_element(By.CSS_SELECTOR, "td.state").text == "fresh"
    site = Site.objects.get()
    assert (site.pricing_region, site.grid_region, site.timezone) == (
        "C",
        "RG10 9XX",
        "Europe/London",
    )
    assert sorted(CollectorRun.objects.values_list("provider", "status")) == [
        ("octopus", "ok"), ("uk_carbon_intensity", "ok")]  # fmt: skip
    # The Plan panel has no loads yet: it plans the cheapest window's 3 h from what was collected.
    plan = wait_for(browser, "article.plan[data-load='3 h load']")
    WebDriverWait(browser, 20, poll_frequency=POLL).until(
        lambda d: plan.get_attribute("data-start")
    )
    assert "Carbon: uk_carbon_intensity (South England)" in plan.text


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
