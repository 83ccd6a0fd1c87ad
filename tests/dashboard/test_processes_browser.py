"""The status page's *Processes* in a real browser: a beat that never ticked, queues no worker
consumes, and a periodic task the beat leaves out (its crontab's time zone cannot be loaded on
this host) with the reason. Before, the page showed none of it: the user saw nothing wrong."""

import re
import socket

import pytest
from django.contrib.auth.models import User
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.queues import QUEUES
from enrich.models import Site
from tests.dashboard.browser import BROWSER_TEST, log_in
from tests.support import worker as worker_support
from tests.support.beat import beat_process, own_redis_prefix, store_zone
from tests.support.broker import empty_queues  # noqa: F401  (fixture)
from tests.support.chromium import wait_for

pytestmark = BROWSER_TEST


@pytest.fixture
def prefix(settings) -> str:
    with own_redis_prefix(settings, "processes-page") as prefix:
        yield prefix


def processes_rows(browser) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    return [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#processes-table tbody tr")
    ]


@pytest.mark.usefixtures("prefix")
def test_the_page_says_the_beat_does_not_tick_and_what_it_leaves_out(live_server, browser):
    from selenium.webdriver.common.by import By

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    away = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly away", task="enrich.check_services", crontab=away)
    store_zone(away, "Mars/Base")
    # One of enrich's own entries disabled in the admin: listed, not as a problem (the list
    # read "None: the beat loads every enabled periodic task." with no word of it).
    PeriodicTask.objects.create(name="Air quality", task="collectors.dispatch_air_quality",
                                crontab=away, enabled=False)  # fmt: skip

    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    rows = processes_rows(browser)
    assert rows[0] == [
        "Beat",
        "stopped",
        "never",
        "No beat tick is recorded: the beat has not run with this Redis (REDIS_URL), so no "
        "schedule runs.",
    ]
    assert rows[1:] == [
        # A queue has no sign of life of its own: "—", as the page writes what is not known
        # (the cell was left blank).
        [f"Queue {name}", "not served", "—", "No live worker consumes it: its tasks wait in Redis."]
        for name in QUEUES
    ]
    state = browser.find_element(By.CSS_SELECTOR, "#processes-table tbody tr td:nth-child(2)")
    assert "problem" in state.get_attribute("class").split()
    items = browser.find_elements(By.CSS_SELECTOR, "#skipped-schedules li")
    assert [(li.text, li.get_attribute("class")) for li in items] == [
        (f"Hourly away: Not scheduled: its crontab {away.pk} has the time zone 'Mars/Base', which "
         "this host's zone database cannot load. Choose its time zone in admin → Crontabs.",
         "problem"),
        ("Air quality: Disabled in admin → Periodic tasks: not run until it is enabled again.", ""),
    ]  # fmt: skip


@pytest.mark.usefixtures("empty_queues")
def test_the_page_shows_a_ticking_beat_and_a_live_worker(live_server, browser, prefix, tmp_path):
    from selenium.webdriver.common.by import By

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    beat = beat_process(tmp_path, prefix)
    try:
        with worker_support.celery_worker("page", REDIS_KEY_PREFIX=prefix) as worker:
            log_in(browser, live_server.url, "reader", "read-only-password")

            def all_alive() -> bool:  # the page loaded before the first tick says "never"
                browser.refresh()
                wait_for(browser, "html[data-loaded]")
                return [row[1] for row in processes_rows(browser)] == [
                    "ticking", "alive", *["served"] * len(QUEUES)
                ]  # fmt: skip

            worker_support.until(all_alive, beat)
            rows = processes_rows(browser)
    finally:
        worker_support.stop(beat)
        beat.log.close()
    name, state, age, detail = rows[0]
    assert name == f"Beat ({socket.gethostname()})"
    assert (state, detail) == ("ticking", "")
    assert age.endswith(" s ago"), age
    assert rows[1][0] == f"Worker {worker.node} (queues {', '.join(sorted(QUEUES))})"
    assert rows[1][2].endswith(" s ago") and rows[1][3] == ""
    assert rows[2:] == [[f"Queue {name}", "served", "—", f"by {worker.node}"] for name in QUEUES]
    cells = browser.find_elements(By.CSS_SELECTOR, "#processes-table tbody tr td:nth-child(2)")
    assert all("good" in cell.get_attribute("class").split() for cell in cells)


@pytest.mark.usefixtures("empty_queues")
def test_the_page_says_a_killed_beat_stopped_and_a_killed_worker_is_gone(
    live_server, browser, prefix, tmp_path, monkeypatch
):
    """docs/status_page.md: a beat silent for too long is "stopped" with how long ago it last
    ticked; a worker killed is "gone"; one stopped cleanly is not listed; the queues only it
    served are "not served". (The 60 s thresholds are shortened to 2 s, not the processes.)"""
    import signal

    from enrich import liveness

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    User.objects.create_user("reader", password="read-only-password")
    beat = beat_process(tmp_path, prefix)
    try:
        with (
            worker_support.celery_worker("killed", REDIS_KEY_PREFIX=prefix) as killed,
            worker_support.celery_worker("stopped", REDIS_KEY_PREFIX=prefix) as stopped,
        ):
            log_in(browser, live_server.url, "reader", "read-only-password")

            def all_alive() -> bool:
                browser.refresh()
                wait_for(browser, "html[data-loaded]")
                return [row[1] for row in processes_rows(browser)] == [
                    "ticking", "alive", "alive", *["served"] * len(QUEUES)
                ]  # fmt: skip

            worker_support.until(all_alive, beat)
            killed.send_signal(signal.SIGKILL)
            beat.send_signal(signal.SIGKILL)
            killed.wait(timeout=10)
            beat.wait(timeout=10)
            worker_support.stop(stopped)  # a warm shutdown
            monkeypatch.setattr(liveness, "BEAT_LATE_AFTER", 2)
            monkeypatch.setattr(liveness, "WORKER_LATE_AFTER", 2)

            def both_late() -> list[list[str]]:
                browser.refresh()
                wait_for(browser, "html[data-loaded]")
                rows = processes_rows(browser)
                return rows if [row[1] for row in rows[:2]] == ["stopped", "gone"] else []

            rows = worker_support.until(both_late, seconds=30)
    finally:
        worker_support.stop(beat)
        beat.log.close()
    beat_row, worker_row, *queue_rows = rows
    assert beat_row[0] == f"Beat ({socket.gethostname()})"
    # The detail says the silence as the next column does ("3 s", then " ago").
    beat_age = beat_row[2].removesuffix(" ago")
    assert re.fullmatch(r"\d+ s", beat_age), beat_row
    assert re.fullmatch(
        rf"No tick for {beat_age} \(last at [^)]+\): the beat has stopped or hangs, so no "
        r"schedule runs\. It ticks at least every 5 s\.",
        beat_row[3],
    ), beat_row
    assert worker_row[:2] == [f"Worker {killed.node} (queues {', '.join(sorted(QUEUES))})", "gone"]
    worker_age = worker_row[2].removesuffix(" ago")
    assert re.fullmatch(r"\d+ s", worker_age), worker_row
    assert re.fullmatch(
        rf"Not heard from for {worker_age} \(last at [^)]+\): it was killed or hangs\.",
        worker_row[3],
    ), worker_row
    # The worker stopped cleanly is not listed; no live worker serves any queue.
    assert queue_rows == [
        [f"Queue {name}", "not served", "—", "No live worker consumes it: its tasks wait in Redis."]
        for name in QUEUES
    ]


@pytest.mark.usefixtures("prefix")
def test_the_details_of_a_stopped_beat_and_a_gone_worker_write_times_as_the_page_does(
    live_server, browser
):
    """The beat's "last at" read "2026-12-06T05:57:15.044785+00:00" (UTC, microseconds) where
    the rest of the page writes times on the home's clock: "Sat 05:57 AM", with the date 8
    days back ("Sat, Nov 28, 05:57 AM")."""
    import json
    import time
    from datetime import UTC, datetime

    from enrich.redis import alive
    from enrich.redis.client import get_redis

    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    ticked = float(int(time.time()) - 8 * 86400 + 0.044785)  # 8 days back
    heard = float(int(time.time()) - 2 * 3600 + 0.5)  # two hours back
    get_redis().set(alive._beat_key(), json.dumps({"at": ticked, "host": "old-host"}))
    get_redis().hset(alive._workers_key(), "collectors@old-host",
                     json.dumps({"at": heard, "queues": ["collectors"]}))  # fmt: skip
    User.objects.create_user("reader", password="read-only-password")
    browser.set_window_size(1280, 3000)
    log_in(browser, live_server.url, "reader", "read-only-password")
    wait_for(browser, "html[data-loaded]")

    beat_row, worker_row = processes_rows(browser)[:2]

    def near(at: float) -> str:  # as the page writes a time, the date 6 days or more back
        iso = datetime.fromtimestamp(at, UTC).isoformat()
        return browser.execute_script("return Status.near(arguments[0], Date.now());", iso)

    # The silence in the words of the next column ("8.0 d ago"), not "No tick for 691202 s".
    assert beat_row[2] == "8.0 d ago"
    assert beat_row[3] == (
        f"No tick for 8.0 d (last at {near(ticked)}): the beat has stopped or hangs, so no "
        "schedule runs. It ticks at least every 5 s."
    ), beat_row
    assert "," in near(ticked)  # with its date: 8 days back
    assert worker_row[2] == "2.0 h ago"
    assert worker_row[3] == (
        f"Not heard from for 2.0 h (last at {near(heard)}): it was killed or hangs."
    ), worker_row

    # Python's ages are the page's, at each unit's bounds and halves.
    from enrich.liveness import age_text

    ages = [0, 2.5, 119.4, 119.5, 120, 149.9, 150, 7199.9, 7200, 172799.9, 172800, 691202]
    on_page = browser.execute_script("return arguments[0].map(s => Status.age(s));", ages)
    assert [age_text(seconds) for seconds in ages] == on_page
