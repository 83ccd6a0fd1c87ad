"""First run in a real browser: a staff user logs in to an empty enrich, the start page shows
the setup, the country ticks aWATTar, the InfluxDB connection is tested, and creating the site
collects at once from the local replay server: the status page shows the price now."""

from datetime import UTC, datetime

from django.contrib.auth.models import User

from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from tests.dashboard.browser import BROWSER_TEST, browser, log_in, wait_for
from tests.support.status_home import register_awattar

pytestmark = BROWSER_TEST
__all__ = ["browser"]
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

    browser.find_element(By.ID, "create-site").click()
    value = wait_for(browser, "tr[data-provider=awattar] td.value")
    WebDriverWait(browser, 20).until(lambda d: "EUR/kWh" in value.text)

    now = datetime.now(UTC).timestamp() * 1000
    running = next(r for r in rows if r["start_timestamp"] <= now < r["end_timestamp"])
    assert value.text == f"{round(running['marketprice'] / 1000, 4):g} EUR/kWh"
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-provider=awattar]")
    assert row.find_element(By.CSS_SELECTOR, "td.state").text == "fresh"
    assert "ok" in row.text
    site = Site.objects.get()
    assert (site.name, site.pricing_region, site.timezone) == ("Berlin flat", "DE", "Europe/Berlin")
    config = ProviderConfig.objects.get()
    assert (config.provider, config.options) == ("awattar", {"base_url": replay_server.url})
    [run] = CollectorRun.objects.all()
    assert run.status == "ok" and run.points_written >= 24
    assert len(replay_server.calls("GET", PATH)) == 1
