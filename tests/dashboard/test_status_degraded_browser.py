"""The status page in a real browser when things are not fine: Redis or InfluxDB down, every
REST call throttled, beat stopped a week ago. Each panel says what is wrong, none stays
"Loading…", and moments days back carry their date."""

import uuid
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from rest_framework.test import APIClient

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.influx.connection import reset_timeseries
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support.chromium import wait_for
from tests.support.ports import free_port
from tests.support.status_home import (
    collect_all,
    create_site,
    downsample_and_measure,
    register_awattar,
    register_electricitymaps,
    write_demo_home,
)

pytestmark = BROWSER_TEST


def open_status(browser, url: str) -> None:
    if not User.objects.filter(username="reader").exists():
        User.objects.create_user("reader", password="read-only-password")
    browser.set_window_size(1280, 3000)
    log_in(browser, url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")


def answers_refused(browser) -> list[str]:
    """The console's lines about answers of the server's own that failed (not the favicon)."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]


def now_row(browser, provider: str) -> list[str]:
    row = browser.find_element("css selector", f"tr[data-provider={provider}]")
    return [cell.text for cell in row.find_elements("tag name", "td")]


def test_redis_down_shows_each_value_it_can_and_why_not_the_others(
    live_server, collected, browser, settings
):
    # Redis held the last answers: /api/enrichment/current was a 500, and the Now table said
    # only "Internal Server Error", though the price now is read from InfluxDB.
    shared = settings.REDIS_URL
    settings.REDIS_URL = down = f"redis://127.0.0.1:{free_port()}/0"
    try:
        open_status(browser, live_server.url)
        carbon = now_row(browser, "electricitymaps")
        price = now_row(browser, "awattar")
        processes = browser.find_element("css selector", "#processes-table tbody").text
        logged = answers_refused(browser)
    finally:
        settings.REDIS_URL = shared
    assert carbon[2] == (  # Redis' address (REDIS_URL) is the server log's, not the page's
        "the last answer cannot be read: Redis does not answer (it is down, starting, or refuses "
        "the connection); try again later. The server log names the address tried."
    )
    assert down.split("/")[2].split(":")[1] not in carbon[2]
    assert carbon[3:6] == ["—", "—", "no value"]  # value of, fetched, state
    assert price[2] == "0.075 EUR/kWh"
    assert price[5] == "fresh"
    assert not [line for line in logged if "/api/enrichment/current" in line], logged
    # Processes: where the signs of life are kept cannot be read, said in the table's one row.
    assert processes == (
        "The record of the beat's and workers' signs of life is unavailable: cannot reach Redis "
        "at REDIS_URL=[hidden] (Error 111 connecting to [hidden]. Connection refused.). Start "
        "Redis (`make services` or `scripts/services.sh redis`) or correct REDIS_URL."
    ), processes


def test_influxdb_down_shows_the_last_fetched_price_and_why(
    live_server, collected, browser, settings
):
    # The price row showed the last fetched price as "stale" 2 s old, and left out why.
    shared = settings.INFLUXDB_URL
    settings.INFLUXDB_URL = f"http://127.0.0.1:{free_port()}"
    reset_timeseries()
    try:
        open_status(browser, live_server.url)
        price = browser.find_element("css selector", "tr[data-provider=awattar] td.value")
        shown = price.text
        why = price.find_element("css selector", ".note").text
        page = browser.find_element("tag name", "body").text
    finally:
        settings.INFLUXDB_URL = shared
        reset_timeseries()
    assert shown.startswith("0.075 EUR/kWh\n"), shown
    assert why == (  # InfluxDB's address (INFLUXDB_URL) is the server log's, not the page's
        "the stored prices cannot be read: InfluxDB does not answer (it is down, starting or "
        "overloaded); try again later. The server log names the address tried; the last fetched "
        "answer is shown"
    ), why
    assert why.endswith("; the last fetched answer is shown"), why
    assert now_row(browser, "awattar")[5] == "stale"
    assert "127.0.0.1" not in page, page


def test_every_panel_says_it_was_throttled(live_server, collected, browser, settings):
    # The alerts history kept saying "Loading…" when /retention/alerts was refused.
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "user": "1/minute"},
    }
    api = APIClient()
    api.force_authenticate(User.objects.create_user("reader", password="read-only-password"))
    assert api.get("/api/sites/").status_code == 200  # the reader's one call of the minute
    open_status(browser, live_server.url)
    page = browser.find_element("tag name", "body").text
    assert "Loading" not in page, page
    history = browser.find_element("css selector", "#alerts-history tbody").text
    assert history.startswith("Request was throttled."), history
    processes = browser.find_element("css selector", "#processes-table tbody").text
    assert processes.startswith("Request was throttled."), processes
    assert len(answers_refused(browser)) == 10  # each panel's calls, Processes' one too


def test_a_last_run_and_a_measurement_a_week_back_show_their_date(
    live_server, isolated, replay_server, browser, settings
):
    # Beat stopped 8 days ago: "ok · Thu 11:35 AM" read as yesterday's run, the storage
    # summary's "on Thu" as this week's.
    then = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
    then -= timedelta(days=8)
    register_awattar(replay_server, then)
    register_electricitymaps(replay_server, then)
    site = create_site(replay_server)
    collect_all(site, then)
    CollectorRun.objects.update(started=then)
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = f"test_demo_{uuid.uuid4().hex[:8]}"
    try:
        write_demo_home(settings.HA_INFLUXDB_DATABASE, days=2, entities=4)
        downsample_and_measure(then)  # measured then (the reduction), downsampled now
    finally:
        isolated.drop_database(settings.HA_INFLUXDB_DATABASE)
    api = APIClient()
    api.force_authenticate(User.objects.create_superuser("api", "a@example.com", "x"))
    [*_, newest] = api.get("/retention/metrics", {"days": 365}).json()["points"]

    open_status(browser, live_server.url)

    def day(iso: str) -> str:  # weekday, day, month and time, as the page shows dates
        return browser.execute_script("return window.Status.day(arguments[0]);", iso)

    def date(iso: str) -> str:  # a daily measurement: the UTC day it measures
        return browser.execute_script("return window.Status.date(arguments[0]);", iso)

    run = now_row(browser, "awattar")[6]
    assert run == f"fetched and written · {day(then.isoformat())}", run
    measured = datetime.fromisoformat(newest["time"])
    assert measured.day == then.day and f" {then.day}" in date(newest["time"])
    summary = browser.find_element("id", "storage-summary").text
    assert summary.startswith(f"2 daily measurements; on {date(newest['time'])}:"), summary
    reduction = browser.find_element("id", "reduction").text
    assert reduction.endswith(f"measured {date(newest['time'])}."), reduction


def test_a_failed_run_says_what_went_wrong_without_the_error_class(
    live_server, isolated, replay_server, browser, settings, read_clock
):
    # Electricity Maps down: the Now table's "Last run" read "failed · Sat 11:47 AM · served
    # instead: … · TransientError: electricitymaps: http://… answered HTTP 503 …", a Python class
    # name that means nothing to a person (the setup page already left it out).
    settings.HTTP_MAX_RETRIES = 0
    register_awattar(replay_server, read_clock)
    replay_server.add("GET", "/carbon-intensity/latest", status=503, body="upstream down")
    config = create_site(replay_server).providers.get(provider="electricitymaps")
    outcome = pipeline.collect(config, now=read_clock)
    assert outcome.status == "failed"
    [run] = CollectorRun.objects.all()
    kind, _, message = run.error.partition(": ")
    assert kind == "TransientError" and "HTTP 503" in message  # the record keeps the class
    assert message == outcome.message

    open_status(browser, live_server.url)
    shown = now_row(browser, "electricitymaps")[6]
    day = browser.execute_script("return window.Status.day(arguments[0]);", run.started.isoformat())
    instead = "served instead: nothing (no earlier answer)"
    assert shown == f"failed · {day} · {instead} · {message}", shown
    assert "TransientError" not in shown, shown
