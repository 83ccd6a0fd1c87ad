"""The status page's Plan panel in a real browser on the demo home (tests/support/status_home):
each flexible load's window as /api/plan/loads answers it, one of them also found here by hand
from the stored prices and the documented carbon forecast; the plan drawn at its slots on the
price chart; a load that cannot be planned shows why; carbon carried forward or absent is said;
with no loads the plan follows the cheapest window's duration."""

import re
import uuid
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors.carbon.common import FORECAST_MEASUREMENT
from collectors.carbon.common import MEASUREMENT as CARBON_MEASUREMENT
from collectors.models import FlexibleLoad
from enrich.models import ProviderConfig
from tests.dashboard.browser import BROWSER_TEST, log_in, open_as_reader, page_times
from tests.support.chromium import POLL, wait_for
from tests.support.replay import load_fixture
from tests.support.status_home import EM_FIXTURE_NOW, hour_of, seed_status_home, shifted

pytestmark = BROWSER_TEST


@pytest.fixture
def demo_home(settings, isolated, replay_server, read_clock):
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = f"test_demo_{uuid.uuid4().hex[:8]}"
    site = seed_status_home(replay_server, settings.HA_INFLUXDB_DATABASE, days=2, entities=4,
                            now=read_clock)  # fmt: skip
    yield site
    isolated.drop_database(settings.HA_INFLUXDB_DATABASE)


def overlapping(slots: list[dict], windows: list[dict]) -> str:
    """The chart's slot indices a plan's windows cover, as the page notes them."""

    def span(d: dict) -> tuple[datetime, datetime]:
        return datetime.fromisoformat(d["start"]), datetime.fromisoformat(d["end"])

    hit = [
        i
        for i, (start, end) in enumerate(map(span, slots))
        if any(end > a and start < b for a, b in map(span, windows))
    ]
    return ",".join(map(str, hit))


def by_hand(slots: list[dict], carbon: dict[datetime, float], now: datetime, before: datetime,
            hours: float, carbon_price: float) -> datetime:  # fmt: skip
    """The start of the contiguous window of `hours` with the lowest time-weighted price +
    carbon_price x gCO2/kWh / 1e6: running now, or starting at a slot's start; ties to the
    later one. Hourly slots and hourly carbon, so each slot has the carbon of its hour."""
    spans = [(datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s["price"])
             for s in slots]  # fmt: skip
    length = timedelta(hours=hours)
    end_known = min(before, spans[-1][1])

    def score(start: datetime) -> float:
        total = 0.0
        for a, b, price in spans:
            seconds = (min(b, start + length) - max(a, start)).total_seconds()
            if seconds > 0:
                total += seconds * (price + carbon_price * carbon[a] / 1e6)
        return total / length.total_seconds()

    starts = [now] + [a for a, _, _ in spans if a > now]
    scored = [(score(s), s) for s in starts if s + length <= end_known]
    best = min(v for v, _ in scored)
    return [s for v, s in scored if v <= best + 1e-12][-1]


def figure_shown(row: str, unit: str) -> float:
    """The number the page shows before `unit` in a table row."""
    found = re.search(r"(-?[0-9]+(?:\.[0-9]+)?) " + re.escape(unit), row)
    assert found, (unit, row)
    return float(found.group(1))


def panel(driver, name: str):
    return driver.find_element("css selector", f"article.plan[data-load='{name}']")


def test_plan_panel_on_the_demo_home(live_server, demo_home, browser, isolated, settings,
                                     read_clock):  # fmt: skip
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    FlexibleLoad.objects.create(site=demo_home, name="Pool pump", hours=23, deadline=time(12))
    User.objects.create_user("reader", password="read-only-password")
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    slots = api.get("/api/pricing/slots").json()["slots"]

    browser.set_window_size(1280, 2600)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")
    # The page's plans and these are for the same moment (`read_clock`).
    loads = {load["name"]: load for load in api.get("/api/plan/loads").json()["loads"]}
    assert list(loads) == ["Dishwasher", "EV charge", "Pool pump"]
    shown = [
        a.get_attribute("data-load") for a in browser.find_elements(By.CSS_SELECTOR, "article.plan")
    ]
    assert shown == list(loads)

    # The dishwasher's window, found by hand: aWATTar's stored slots, Electricity Maps' hourly
    # forecast as the replay server answered it (moved to this hour), CO2 at 500 EUR/t.
    dishwasher = loads["Dishwasher"]["plan"]
    forecast = shifted(load_fixture("electricitymaps/carbon_intensity_forecast.json"),
                       hour_of(read_clock) - EM_FIXTURE_NOW)["forecast"]  # fmt: skip
    carbon = {datetime.fromisoformat(f["datetime"].replace("Z", "+00:00")): f["carbonIntensity"]
              for f in forecast if f["carbonIntensity"] is not None}  # fmt: skip
    now, before = (datetime.fromisoformat(dishwasher[k]) for k in ("now", "before"))
    expected = by_hand(slots, carbon, now, before, 3, 500)
    assert datetime.fromisoformat(dishwasher["start"]) == expected
    assert dishwasher["carbon"]["known"] and dishwasher["carbon_last_known_hours"] == 0

    # The page shows the API's windows, and its figures rounded to the digits shown.
    for name in ("Dishwasher", "EV charge"):
        plan, article = loads[name]["plan"], panel(browser, name)
        for edge in ("start", "end"):
            drawn = datetime.fromisoformat(article.get_attribute(f"data-{edge}"))
            assert drawn == datetime.fromisoformat(plan[edge]), (name, edge)
        assert article.get_attribute("data-windows") == str(len(plan["windows"]))
        times = browser.execute_script(
            "return arguments[0].map(function (w) { return Status.span(w.start, w.end); })"
            ".join(', then ');", plan["windows"])  # fmt: skip
        assert article.find_element(By.CSS_SELECTOR, ".plan-window").text.startswith(
            f"Recommended: {times}")  # fmt: skip
        row = article.find_element(By.CSS_SELECTOR, "tr[data-window=plan]").text
        # The average rounded to the digits shown. Python rounds a tie to even and the page's
        # toFixed away from zero (366.5 gCO2/kWh shows as 367), so compare the numbers.
        assert figure_shown(row, "EUR/kWh") == pytest.approx(
            plan["average_price"], abs=5e-5 + 1e-12
        )
        assert figure_shown(row, "gCO2/kWh") == pytest.approx(
            plan["average_carbon"], abs=0.5 + 1e-9
        )
        for other in ("running_now", "cheapest", "greenest"):
            compared = plan["compared"][other]
            text = article.find_element(By.CSS_SELECTOR, f"tr[data-window={other}]").text
            assert figure_shown(text, "EUR/kWh") == pytest.approx(
                compared["average_price"], abs=5e-5 + 1e-12
            ), (other, text)
            saving = compared["price_saving"]
            if abs(saving) >= 5e-5:  # the page shows it, with its sign
                verb = "saves" if saving > 0 else "pays"
                shown = re.search(verb + r" ([0-9.]+) EUR/kWh", text)
                assert shown, (other, text)
                assert float(shown.group(1)) == pytest.approx(abs(saving), abs=5e-5 + 1e-12), (
                    other,
                    text,
                )
            # The carbon compared in the unit of the averages (was "g/kWh" next to "gCO2/kWh").
            carbon_saving = compared["carbon_saving"]
            if abs(carbon_saving) >= 0.5:
                verb = "less" if carbon_saving > 0 else "more"
                shown = re.search(r"emits ([0-9]+) gCO2/kWh " + verb, text)
                assert shown, (other, text)
                assert float(shown.group(1)) == pytest.approx(abs(carbon_saving), abs=0.5 + 1e-9)
        note = article.find_element(By.CSS_SELECTOR, ".plan-carbon").text
        assert note.startswith("Carbon: electricitymaps (DE), forecast until")
    assert int(panel(browser, "EV charge").get_attribute("data-windows")) <= 2  # max_windows

    pump = panel(browser, "Pool pump")
    assert pump.get_attribute("data-plan") == "none"
    reason = pump.find_element(By.CSS_SELECTOR, ".plan-reason").text
    assert reason == f"No plan possible: {page_times(browser, loads['Pool pump']['message'])}"
    assert "between now (" in reason and not re.search(r"T[0-9:]{5}", reason), reason
    assert "h of price slots lie entirely" in reason and "23 h are needed" in reason
    summary = browser.find_element(By.ID, "plan-summary").get_attribute("textContent")
    assert "Pool pump: no plan possible." in summary and "Dishwasher: run " in summary

    # The chart draws the first plan (dashed, its own series and legend entry) at its slots,
    # apart from the cheapest window; the keyboard picks another.
    price_chart = browser.find_element(By.ID, "price-chart")
    assert price_chart.get_attribute("data-plan-highlight") == overlapping(
        slots, dishwasher["windows"]
    )
    legend = browser.find_element(By.CSS_SELECTOR, "#price-chart .u-legend").text
    assert "Plan: Dishwasher" in legend and "Cheapest 3 h" in legend
    browser.find_element(By.ID, "window-hours").click()
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.switch_to.active_element.send_keys(Keys.TAB)  # the next control: the plan drawn
    chooser = browser.switch_to.active_element
    assert chooser.get_attribute("id") == "plan-shown"
    chooser.send_keys(Keys.DOWN)  # the next option: EV charge
    ev = loads["EV charge"]["plan"]
    WebDriverWait(browser, 10, poll_frequency=POLL).until(
        lambda d: (
            price_chart.get_attribute("data-plan-highlight") == overlapping(slots, ev["windows"])
        )
    )
    assert "Plan: EV charge" in browser.find_element(By.CSS_SELECTOR, "#price-chart .u-legend").text

    # Dark mode: the panel keeps its light text on the dark card, the plan's colour lightens.
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})  # fmt: skip
    colours = browser.execute_script(
        "var s = getComputedStyle(arguments[0]); return [s.color, s.backgroundColor,"
        " s.borderLeftColor];", panel(browser, "Dishwasher"))  # fmt: skip
    assert colours == ["rgb(236, 236, 236)", "rgb(30, 30, 30)", "rgb(244, 143, 177)"]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    # No forecast after this hour: the plans carry the last known value forward, and say so.
    hour = hour_of(read_clock)
    isolated.delete(settings.INFLUXDB_DATABASE, hour + timedelta(hours=1),
                    hour + timedelta(days=3), measurement=FORECAST_MEASUREMENT)  # fmt: skip
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    plan = api.get("/api/plan/loads").json()["loads"][0]["plan"]
    assert plan["carbon_last_known_hours"] >= 2  # 3 h, at most 1 of them forecast
    note = panel(browser, "Dishwasher").find_element(By.CSS_SELECTOR, ".plan-carbon").text
    assert f"{round(plan['carbon_last_known_hours'], 2):g} h of the plan have no forecast" in note
    assert "carried forward" in note

    # No carbon provider: planned by price only, and the panel says so.
    ProviderConfig.objects.filter(source="carbon_intensity").update(enabled=False)
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    note = panel(browser, "Dishwasher").find_element(By.CSS_SELECTOR, ".plan-carbon").text
    assert note == ("No carbon data: site 'Demo home' has no enabled carbon intensity provider. "
                    "Planned by price only.")  # fmt: skip

    # No loads: the plan is for the duration chosen for the cheapest window (3 h by default),
    # so by price only it is the cheapest window itself.
    FlexibleLoad.objects.all().delete()
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    article = panel(browser, "3 h load")
    price_chart = browser.find_element(By.ID, "price-chart")
    assert price_chart.get_attribute("data-plan-highlight") == price_chart.get_attribute(
        "data-highlight"
    )
    before = (read_clock + timedelta(hours=48)).isoformat()
    answer = api.get("/api/plan", {"hours": 3, "before": before}).json()
    assert article.get_attribute("data-windows") == "1"
    assert price_chart.get_attribute("data-plan-highlight") == overlapping(slots, answer["windows"])
    # Read aloud (the panel's summary): a window the plan shares costs the same; it said
    # "Against the cheapest-only window it the same."
    summary = browser.find_element(By.ID, "plan-summary").get_attribute("textContent")
    assert "Against the cheapest-only window it costs the same." in summary, summary
    assert " it the same" not in summary, summary


def test_plan_panel_says_where_carbon_starts(live_server, demo_home, browser, isolated, settings,
                                            read_clock):  # fmt: skip
    # No carbon stored before H+2 (neither forecast nor measured): with a carbon price the
    # time before it is not planned, and the panel says so, as the API does.
    from selenium.webdriver.common.by import By

    hour = hour_of(read_clock)
    for measurement in (FORECAST_MEASUREMENT, CARBON_MEASUREMENT):
        isolated.delete(settings.INFLUXDB_DATABASE, hour - timedelta(days=3),
                        hour + timedelta(hours=2), measurement=measurement)  # fmt: skip
    FlexibleLoad.objects.filter(site=demo_home).delete()
    zone = ZoneInfo(demo_home.timezone)
    deadline = (
        (read_clock + timedelta(hours=12)).astimezone(zone).time().replace(second=0, microsecond=0)
    )
    FlexibleLoad.objects.create(site=demo_home, name="Kiln", hours=1, deadline=deadline,
                                carbon_price=100)  # fmt: skip
    FlexibleLoad.objects.create(site=demo_home, name="Sauna", hours=1, carbon_price=100,
                                deadline=(hour + timedelta(hours=2, minutes=30)).astimezone(
                                    zone).time())  # fmt: skip
    User.objects.create_user("reader", password="read-only-password")
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    loads = {load["name"]: load for load in api.get("/api/plan/loads").json()["loads"]}
    since = (hour + timedelta(hours=2)).isoformat()
    carbon = loads["Kiln"]["plan"]["carbon"]
    assert carbon["known_from"] == since and "known only from" in carbon["message"]
    assert loads["Sauna"]["plan"] is None  # half an hour with carbon before its deadline
    assert loads["Sauna"]["known"]["carbon_known_from"] == since

    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")
    note = panel(browser, "Kiln").find_element(By.CSS_SELECTOR, ".plan-carbon").text
    assert note.endswith(page_times(browser, carbon["message"])) and since not in note, note
    sauna = panel(browser, "Sauna")
    assert sauna.find_element(By.CSS_SELECTOR, ".plan-reason").text.startswith(
        "No plan possible: Carbon intensity (electricitymaps) is known only from"
    )
    time_shown = browser.execute_script("return Status.time(arguments[0]);", since)
    assert f"carbon known only from {time_shown}." in sauna.text
    summary = browser.find_element(By.ID, "plan-summary").get_attribute("textContent")
    assert summary.startswith("2 flexible loads of the site. Kiln: run "), summary

    # One load: "1 flexible load", not "1 flexible load(s)".
    FlexibleLoad.objects.filter(name="Sauna").delete()
    browser.refresh()
    wait_for(browser, "html[data-loaded]")
    summary = browser.find_element(By.ID, "plan-summary").get_attribute("textContent")
    assert summary.startswith("1 flexible load of the site. Kiln: run "), summary


def test_the_plan_by_duration_is_due_48_h_after_the_servers_now_not_the_browsers(
    live_server, collected, browser, read_clock
):
    # The deadline was the browser's clock + 48 h: a browser 3 days behind asked for a plan
    # due a day ago, and the panel said "No plan possible" although prices were stored.
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "(function () { var real = Date.now;"
                   " Date.now = function () { return real.call(Date) - 3 * 86400000; }; })();"},
    )  # fmt: skip
    open_as_reader(browser, live_server.url)
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
        ".filter(function (u) { return u.indexOf('/api/plan?') >= 0; });"
    )
    assert len(asked) == 1, asked
    [before] = parse_qs(urlsplit(asked[0]).query)["before"]
    late = datetime.fromisoformat(before) - (read_clock + timedelta(hours=48))
    # Milliseconds in the page's time; what passed from the answer to the ask at most.
    assert timedelta(milliseconds=-1) < late < timedelta(seconds=30), before
    article = panel(browser, "3 h load")
    assert article.get_attribute("data-windows") == "1", article.text
    assert article.find_element(By.CSS_SELECTOR, ".plan-window").text.startswith("Recommended: ")
