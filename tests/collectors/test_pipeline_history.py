"""What the run record says: history that never costs the present, and a retired product.

Electricity Maps stands in for every adapter with history (real PostgreSQL, Redis, InfluxDB
and replayed answers): the latest values are written whatever the history call does; a
refusal by the plan is remembered in Redis for a day and the backfill skipped meanwhile;
any other failure makes the run "partial" so the next run asks for the gap again.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_carbon import (
    ELECTRICITYMAPS_HISTORY,
    ELECTRICITYMAPS_NOW,
    electricitymaps_latest,
    stored_carbon,
)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
NOW = ELECTRICITYMAPS_NOW  # 14:20Z; the latest hour is 14:00Z
HISTORY = ELECTRICITYMAPS_HISTORY
REFUSED = {"status": 403, "json": {"error": "History is not available on your plan"}}


@pytest.fixture
def config(electricitymaps_config):
    return electricitymaps_config


def outage(hours: float):
    """The last successful run was `hours` before NOW: the window reaches back to it."""
    CollectorRun.objects.create(
        source="carbon_intensity",
        provider="electricitymaps",
        target="DE",
        started=NOW - timedelta(hours=hours),
        status="ok",
    )


def refusal_key(settings):
    (key,) = get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:history-refused:*")
    return key


def test_refused_history_keeps_the_latest_and_is_remembered_and_skipped(
    isolated, settings, config, replay_server
):
    electricitymaps_latest(replay_server, times=2)
    replay_server.add("GET", HISTORY, **REFUSED)
    outage(hours=6)

    outcome = pipeline.collect(config, now=NOW)

    assert (outcome.status, outcome.points_written) == ("ok", 1)
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert points["2026-05-01T14:00:00+00:00"]["carbon_intensity_gco2_kwh"] == 312.0
    assert points["2026-05-01T14:00:00+00:00"]["is_estimated"] is True
    run = CollectorRun.objects.get(started=NOW)
    assert run.status == "ok" and run.backfill_from == NOW - timedelta(hours=6)
    assert "history refused (HTTP 403)" in run.error
    assert "plan does not include it" in run.error
    assert "the backfill is skipped for 1 day, the latest values are written" in run.error
    # Remembered per provider, zone and account (a digest, never the key), for a day.
    key = refusal_key(settings)
    assert ":electricitymaps:DE:" in key and "test-em-token-abc" not in key
    assert 86000 < get_redis().ttl(key) <= 86400

    # Another outage later: the backfill is left out, the run says why, the gap does not grow.
    later = NOW + timedelta(hours=5)
    outcome = pipeline.collect(config, now=later)

    assert outcome.status == "ok"
    assert len(replay_server.calls("GET", HISTORY)) == 1  # not asked again
    run = CollectorRun.objects.get(started=later)
    assert run.backfill_from is None
    assert run.error.startswith("history skipped: electricitymaps refused its history endpoint")
    assert "(HTTP 403)" in run.error and "asked again after" in run.error
    window = pipeline._window(config, pipeline.target_for(config), later + timedelta(minutes=15))
    assert window.start == later  # the last run counts as a success: no growing gap


def test_a_plan_upgrade_is_picked_up_once_the_memory_expires(
    isolated, settings, config, replay_server
):
    electricitymaps_latest(replay_server, times=2)
    replay_server.add("GET", HISTORY, times=1, **REFUSED)
    history = replay_server.load_fixture("electricitymaps/carbon_intensity_history.json")
    replay_server.add("GET", HISTORY, json=history)
    outage(hours=6)
    pipeline.collect(config, now=NOW)
    get_redis().delete(refusal_key(settings))  # what the day's expiry does

    later = NOW + timedelta(minutes=40)
    CollectorRun.objects.filter(started=NOW).update(status="failed")  # keep the gap open
    outcome = pipeline.collect(config, now=later)

    assert outcome.status == "ok"
    assert len(replay_server.calls("GET", HISTORY)) == 2
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    # 08:20 .. 14:00: the hours 09:00 .. 13:00 from history, 14:00 from latest.
    assert sorted(points)[:6] == [f"2026-05-01T{h:02}:00:00+00:00" for h in range(9, 15)]
    assert points["2026-05-01T09:00:00+00:00"]["carbon_intensity_gco2_kwh"] == 316.0


def test_a_failing_history_call_makes_a_partial_run_and_the_gap_is_asked_again(
    isolated, settings, config, replay_server
):
    electricitymaps_latest(replay_server, times=2)
    replay_server.add("GET", HISTORY, status=503, body="upstream unavailable", times=2)
    history = replay_server.load_fixture("electricitymaps/carbon_intensity_history.json")
    replay_server.add("GET", HISTORY, json=history)
    outage(hours=6)

    outcome = pipeline.collect(config, now=NOW)

    assert (outcome.status, outcome.points_written, outcome.transient) == ("partial", 1, False)
    assert "history failed (TransientError" in outcome.error
    assert "the next run asks for the gap again" in outcome.error
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert list(points) == ["2026-05-01T14:00:00+00:00"]
    assert list(get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:history-refused:*")) == []

    # The partial run is not a success: the next window still starts at the gap.
    later = NOW + timedelta(minutes=30)
    window = pipeline._window(config, pipeline.target_for(config), later)
    assert window.start == NOW - timedelta(hours=6)
    outcome = pipeline.collect(config, now=later)
    assert outcome.status == "ok"
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    assert "2026-05-01T09:00:00+00:00" in points


def test_a_retired_octopus_product_is_said_on_the_run_record(isolated, replay_server, caplog):
    site = Site.objects.create(name="London", latitude=51.51, longitude=-0.13, pricing_region="C")
    config = ProviderConfig.objects.create(
        site=site,
        source="electricity_pricing",
        provider="octopus",
        interval_seconds=3600,
        options={"base_url": replay_server.url, "product_code": "AGILE-23-12-06"},
    )
    rates = "/v1/products/AGILE-23-12-06/electricity-tariffs/E-1R-AGILE-23-12-06-C/"
    retired = replay_server.load_fixture("octopus/agile_retired_no_rates.json")
    replay_server.add("GET", rates + "standard-unit-rates/", json=retired)

    outcome = pipeline.collect(config, now=NOW)

    assert (outcome.status, outcome.points_written) == ("no_data", 0)
    run = CollectorRun.objects.get(provider="octopus")
    assert run.status == "no_data" and run.target == "E-1R-AGILE-23-12-06-C"
    assert "product AGILE-23-12-06 (tariff E-1R-AGILE-23-12-06-C) has no rates" in run.error
    assert "Set options.product_code" in run.error
    assert any(
        r.levelname == "WARNING" and "looks retired" in r.getMessage() for r in caplog.records
    )


def octopus_said(replay_server, rates: dict, now) -> list[tuple[str, str]]:
    """(level, message) of each line a run of Octopus product AGILE-23-12-06 logged saying it
    has no rates from now on, when its rates answer is `rates`."""
    site = Site.objects.create(name="London", latitude=51.51, longitude=-0.13, pricing_region="C")
    config = ProviderConfig.objects.create(
        site=site, source="electricity_pricing", provider="octopus", interval_seconds=3600,
        options={"base_url": replay_server.url, "product_code": "AGILE-23-12-06"},
    )  # fmt: skip
    path = "/v1/products/AGILE-23-12-06/electricity-tariffs/E-1R-AGILE-23-12-06-C/"
    replay_server.add("GET", path + "standard-unit-rates/", json=rates)
    with caplog_lines() as lines:
        pipeline.collect(config, now=now)
    return [(level, text) for level, text in lines if "has no rates" in text]


@contextmanager
def caplog_lines():
    """(level name, message) of every line logged inside, INFO and up."""
    lines: list[tuple[str, str]] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append((record.levelname, record.getMessage()))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_a_retired_product_is_one_warning_line(isolated, replay_server):
    """The adapter's WARNING and the pipeline's INFO "no data" line said it twice, at two
    levels: one line says the run had no data and why, as a WARNING (the user must act)."""
    retired = replay_server.load_fixture("octopus/agile_retired_no_rates.json")
    [(level, text)] = octopus_said(replay_server, retired, NOW)
    assert level == "WARNING", text
    assert text.startswith(
        "collect: electricity_pricing/octopus E-1R-AGILE-23-12-06-C: the API had no data "
        "(octopus: product AGILE-23-12-06 (tariff E-1R-AGILE-23-12-06-C) has no rates from "
    ), text
    assert text.endswith("it looks retired. Set options.product_code to the current Agile "
                         f"product (listed at {replay_server.url}/v1/products/), or remove "
                         "product_code and tariff_code to have the current one picked "
                         "automatically.)"), text  # fmt: skip


def test_rates_that_ended_before_now_are_one_warning_line(isolated, replay_server):
    """Rates written, none for now (Octopus late or the product retired): one WARNING line
    says what was written and why there is no price now."""
    ended = NOW - timedelta(hours=1)
    rates = {"count": 1, "next": None, "previous": None, "results": [{
        "value_exc_vat": 20.0, "value_inc_vat": 21.0, "payment_method": None,
        "valid_from": (ended - timedelta(minutes=30)).isoformat(), "valid_to": ended.isoformat(),
    }]}  # fmt: skip
    [(level, text)] = octopus_said(replay_server, rates, NOW)
    assert level == "WARNING", text
    assert text.startswith(
        "collect: electricity_pricing/octopus E-1R-AGILE-23-12-06-C: wrote 1 point (window "
    ), text
    assert f"its rates end at {ended.isoformat()}" in text and "looks retired" in text, text
