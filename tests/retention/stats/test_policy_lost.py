"""A tier's retention policy dropped behind enrich's back, then created again, empty, by the next
tier run: the run says so, the loss is alerted, and the savings that count the lost rows as
saved say so (real InfluxDB, PostgreSQL, Redis)."""

import logging
import uuid
from datetime import timedelta

import pytest

from enrich.addresses import hidden
from enrich.influx import get_timeseries, quote_ident
from retention.admin_records import AlertAdmin
from retention.models import Alert
from retention.schema import DAILY_RP, HOURLY_RP
from retention.stats import alerts
from retention.tiers import runner as tier_runs
from tests.retention.conftest import T0
from tests.support.api import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
SAVINGS = ("storage_saved_gb", "reduction_percentage", "annual_cost_savings")


@pytest.mark.parametrize(("dropped", "rows"), [(HOURLY_RP, "hourly"), (DAILY_RP, "daily")])
def test_a_tier_policy_created_again_after_it_was_dropped_is_recorded_alerted_and_noted(
    ha_db, settings, caplog, dropped, rows
):
    """The next raw -> hourly run created a dropped tier policy again, empty, with status ok and
    no word of it; from then on storage_saved_gb counted the rows the policy lost as saved."""
    settings.REDIS_KEY_PREFIX = f"test-policy-lost-{uuid.uuid4().hex[:8]}"  # the tiers' locks
    settings.ALERT_WEBHOOK_URL = ""  # the alert is recorded; its delivery is the check's
    client = token_client("stats")
    points = [(d * 86400 + i * 120, 100 + i % 50) for d in range(6) for i in range(720)]
    ha_db.saved_entity("official", "sensor.heater_power", points, unit="W")
    first = tier_runs.downsample_hourly(T0.date(), T0.date() + 3 * DAY)
    daily = tier_runs.downsample_daily(T0.date(), T0.date() + 2 * DAY)
    assert (first.status, daily.status) == ("ok", "ok"), (first.errors, daily.errors)
    assert "policies_created_again" not in first.details  # the first run creates them
    before = client.get("/retention/stats").json()
    assert (
        before["storage_saved_gb"]["value"] is not None and "note" not in before["storage_saved_gb"]
    )
    get_timeseries().execute(
        ha_db.name, f"DROP RETENTION POLICY {quote_ident(dropped)} ON {quote_ident(ha_db.name)}"
    )

    with caplog.at_level(logging.WARNING, logger="retention.stats.alerts"):
        again = tier_runs.downsample_hourly(T0.date() + 3 * DAY, T0.date() + 4 * DAY)

    assert again.status == "ok", again.errors
    [said] = again.details["policies_created_again"].values()
    assert list(again.details["policies_created_again"]) == [dropped]
    assert said.startswith(
        f"The raw -> hourly run {again.pk} created the retention policy {dropped!r} in database "
        f"{ha_db.name!r} (TIER_DATABASE) again, empty"
    ), said
    assert f"the {rows} rows it held were lost with it" in said
    assert (
        f"enrich cannot tell when it was dropped: after the hourly -> daily run {daily.pk}" in said
    )
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and said in r.getMessage()]
    assert len(warned) == 1

    [alert] = Alert.objects.filter(kind="tier_policy_lost")
    assert (alert.run, alert.cleared, alert.message) == (None, None, said)
    body = token_client("ops").get("/retention/alerts").json()
    [shown] = [a for a in body["open"] if a["kind"] == "tier_policy_lost"]
    assert shown["kind_label"] == "tier retention policy dropped, its rows lost"
    assert (shown["operation_type"], shown["message"]) == ("downsample_hourly", hidden(said))
    assert alerts.payload(alert, again.finished)["kind"] == "tier_policy_lost"  # the webhook's
    assert AlertAdmin(Alert, None).kept_because(alert) == ""  # deleting it acknowledges it

    after = client.get("/retention/stats").json()
    assert after["storage_saved_gb"]["value"] is not None  # measured again, not silently
    for figure in SAVINGS:
        note = after[figure]["note"]
        assert note.startswith(f"Since the raw -> hourly run {again.pk} (started "), note
        assert f"created {dropped!r} again, after it was dropped" in note
        assert "the savings include those lost rows, counted as saved" in note
    assert [a["kind"] for a in after["open_alerts"]].count("tier_policy_lost") == 1

    later = tier_runs.downsample_hourly(T0.date() + 4 * DAY, T0.date() + 5 * DAY)
    assert later.status == "ok" and "policies_created_again" not in later.details
    assert Alert.objects.get(kind="tier_policy_lost").cleared is None  # no run clears it
