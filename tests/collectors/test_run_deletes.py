"""Deleting collector runs in the admin (collectors.admin, collectors.run_records): a target's
latest runs, which the next fetch, the budget's cadence and the status page work from, stay and
the user is told why; older runs are history and may go.

Electricity Maps stands in for a provider with history (real PostgreSQL, Redis, InfluxDB and
replayed answers)."""

from datetime import timedelta

import pytest

from collectors import pipeline
from collectors.models import CollectorRun
from tests.collectors.scenarios_carbon import (
    ELECTRICITYMAPS_HISTORY,
    ELECTRICITYMAPS_NOW,
    electricitymaps_latest,
    stored_carbon,
)
from tests.support.admin_deletes import admin_url, delete_in_the_admin, delete_selected

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
NOW = ELECTRICITYMAPS_NOW
HOUR = timedelta(hours=1)


def run(hours_ago: float, status: str, error: str = "") -> CollectorRun:
    return CollectorRun.objects.create(source="carbon_intensity", provider="electricitymaps",
                                       target="DE", started=NOW - hours_ago * HOUR,
                                       status=status, error=error)  # fmt: skip


def test_an_outages_backfill_survives_deleting_every_run(
    isolated, settings, electricitymaps_config, replay_server, admin_client
):
    # The last good fetch was 6 h ago; every fetch since failed. The user selected all the
    # runs to clean up: deleted, the next fetch asked only its last 15 minutes and the outage's
    # six hours were never filled.
    earlier_ok = run(30, "ok")
    last_ok = run(6, "ok")
    failed = [run(h, "failed", "HTTP 503") for h in (5, 4, 3, 2, 1)]

    said = delete_selected(admin_client, CollectorRun, earlier_ok, last_ok, *failed)

    assert said[0].startswith("Nothing was deleted. ")
    assert f"{last_ok}: it is the last successful fetch of carbon intensity/electricitymaps/DE: " \
        "after an outage the next fetch asks back to it" in said[0]  # fmt: skip
    assert f"{failed[-1]}: it is the last run of carbon intensity/electricitymaps/DE: " \
        "/api/enrichment/current and the status page show it" in said[0]  # fmt: skip
    assert CollectorRun.objects.count() == 7
    # The row's own page offers no Delete, and its delete page says why.
    page = admin_client.get(admin_url(last_ok, "change"))
    assert page.context["has_delete_permission"] is False
    assert delete_in_the_admin(admin_client, last_ok)[0].startswith(
        f"{last_ok} cannot be deleted: it is the last successful fetch"
    )

    # History may go: the older success and the failures before the latest.
    assert delete_selected(admin_client, CollectorRun, earlier_ok, *failed[:-1]) == [
        "Successfully deleted 5 collector runs."
    ]
    assert list(CollectorRun.objects.order_by("started")) == [last_ok, failed[-1]]

    electricitymaps_latest(replay_server)
    history = replay_server.load_fixture("electricitymaps/carbon_intensity_history.json")
    replay_server.add("GET", ELECTRICITYMAPS_HISTORY, json=history)
    outcome = pipeline.collect(electricitymaps_config, now=NOW)

    assert outcome.status == "ok"
    assert CollectorRun.objects.get(started=NOW).backfill_from == NOW - 6 * HOUR
    points = stored_carbon(isolated, settings.INFLUXDB_DATABASE)
    # 08:20 .. 14:00: the hours 09:00 .. 13:00 from history, 14:00 from latest.
    assert sorted(points)[:6] == [f"2026-05-01T{h:02}:00:00+00:00" for h in range(9, 15)]


def test_each_targets_last_success_last_fetch_and_last_run_stay(admin_client):
    old_fail, last_ok, no_data, last = (
        run(4, "failed"),
        run(3, "ok"),
        run(2, "no_data"),
        run(1, "failed"),
    )
    said = delete_selected(admin_client, CollectorRun, old_fail, last_ok, no_data, last)
    assert said[0].startswith("Nothing was deleted. ")
    assert f"{last_ok}: it is the last successful fetch" in said[0]
    # What a budget's lowered cadence counts the next call from.
    assert f"{no_data}: it is the last fetch of carbon intensity/electricitymaps/DE: when its " \
        "budget lowers the cadence" in said[0]  # fmt: skip
    assert f"{last}: it is the last run" in said[0]
    assert str(old_fail) not in said[0]
    assert CollectorRun.objects.count() == 4
    assert delete_selected(admin_client, CollectorRun, old_fail) == [
        "Successfully deleted 1 collector run."
    ]
    assert CollectorRun.objects.count() == 3
