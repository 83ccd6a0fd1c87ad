"""Tiered entities the raw -> hourly run leaves out (an id not of the form domain.object_id,
one the tier rows' tag cannot hold, an attribute whose field InfluxDB cannot hold) keep their
points raw, where a retention policy on Home Assistant's database drops them untiered. Only the
run's notes named them, which nobody reads every night: the run opens an alert naming them,
delivered as the others, until a run of the whole range leaves none out."""

from datetime import timedelta

import pytest

from retention.models import Alert, Entity, RetentionRun
from retention.stats import alerts
from retention.tiers import runner as tiers
from retention.tiers.chunks import run_lock
from tests.retention.conftest import T0
from tests.support.api import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

HOOK = "/api/webhook/enrich_retention_alerts"
DAY = timedelta(days=1)
D0 = T0.date()
LEFT_RAW = (
    "its hourly rows would hold the field 'carry_attr_odd\\\\', and a field name cannot hold a "
    "backslash at its end; its raw points stay as they are (the other entities are tiered). "
    "Leave the attribute out where Home Assistant writes it (the InfluxDB integration's "
    "ignore_attributes), or untick the entity's tiered in the admin"
)
NODOMAIN = (
    "'nodomain' is not of the form domain.object_id: left out; delete it in the admin "
    "(discovery registers the entity under its full id)"
)
UNTAGGED = (
    "'sensor.garage_power\\\\' cannot be the entity_id tag of the tier rows, which cannot hold "
    "a backslash at its end or before a comma, '=' or a space: left out, its points stay raw "
    "(give the entity another id where its points are written)"
)


def message(run_id: int, notes: list[str]) -> str:
    entities = "1 tiered entity" if len(notes) == 1 else f"{len(notes)} tiered entities"
    return (
        f"The raw -> hourly run {run_id} left out {entities}, whose points stay raw: no hourly "
        "row holds them, and a retention policy with a duration on Home Assistant's database "
        f"drops them as any raw point. {'. '.join(notes)}. Details in the run's "
        f"details.waiting (admin, retention run {run_id})."
    )


@pytest.fixture
def left_out(ha_db, settings, replay_server):
    """A plain sensor and three tiered entities the run leaves out, one of each kind; alerts
    sent to the webhook. Returns the time at which only the first day is due."""
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(HOOK)
    # Its points are of 2024: Home Assistant silent since is not this test's (test_ha_silent.py).
    settings.HA_SILENT_HOURS = 0
    replay_server.add("POST", HOOK, 200, body="")
    ha_db.saved_entity("ingestor", "sensor.oven_power", [(0, 100.0)], unit="W")
    ha_db.saved_entity("ingestor", "weather.home",
                       [(0, "sunny", {"temperature": 5.0, "odd\\": 1.0})], kind="weather")  # fmt: skip
    for entity_id in ("nodomain", "sensor.garage_power\\"):
        Entity.objects.create(entity_id=entity_id, kind="power", unit="W", layout="official",
                              measurement="W")  # fmt: skip
    return T0 + timedelta(days=settings.RETENTION_RAW_DAYS + 1, hours=12)


def test_a_run_leaving_entities_out_opens_the_alert_naming_them_until_none_is_left_out(
    left_out, admin_client, replay_server
):
    run = tiers.downsample_hourly(now=left_out)

    assert (run.status, run.errors) == ("ok", "")
    weather = f"'weather.home' is left out from {D0} on: {LEFT_RAW}"
    assert sorted(run.details["waiting"]) == sorted([NODOMAIN, UNTAGGED, weather])
    [alert] = Alert.objects.all()
    said = message(run.pk, [NODOMAIN, UNTAGGED, weather])
    assert (alert.kind, alert.run, alert.message, alert.cleared) == (
        "entities_left_out", None, said, None)  # fmt: skip
    result = alerts.check_alerts()  # delivered by the next check, as the others
    assert result.delivered == [alert.pk]
    [body] = [r.json() for r in replay_server.calls("POST", HOOK)]
    assert (body["kind"], body["operation"], body["run_id"], body["message"]) == (
        "entities_left_out", "downsample_hourly", None, said)  # fmt: skip
    client = token_client("ops")
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["kind_label"], shown["operation_label"]) == (
        "tiered entities left out, their points kept raw", "raw -> hourly")  # fmt: skip
    stats = client.get("/retention/stats").json()
    assert [a["alert_id"] for a in stats["open_alerts"]] == [alert.pk]
    page = admin_client.get(f"/admin/retention/alert/{alert.pk}/delete/", follow=True)
    assert (
        "the next raw -&gt; hourly run would raise it again and send it to the webhook again. "
        "It is cleared once a raw -&gt; hourly run of the whole range (the nightly one) leaves "
        "no entity out."
    ) in page.content.decode()

    # The day is done: the weather's states in it stay raw, named by the next run.
    again = tiers.downsample_hourly(now=left_out)

    assert (again.status, again.errors) == ("ok", "")
    alert.refresh_from_db()
    kept = f"weather.home: 1 raw point of {D0} kept raw: {LEFT_RAW}"
    assert (alert.message, alert.cleared) == (message(again.pk, [NODOMAIN, UNTAGGED, kept]), None)
    assert alerts.check_alerts().raised == [] and len(replay_server.calls("POST", HOOK)) == 1

    Entity.objects.filter(entity_id__in=["nodomain", "weather.home"]).update(tiered=False)
    some = tiers.downsample_hourly(D0, D0 + DAY, now=left_out)  # leaves one out: current
    alert.refresh_from_db()
    assert (alert.message, alert.cleared) == (message(some.pk, [UNTAGGED]), None)

    Entity.objects.filter(entity_id="sensor.garage_power\\").update(tiered=False)
    days = tiers.downsample_hourly(D0, D0 + DAY, now=left_out)  # some days: not all entities
    assert (days.status, days.details["waiting"]) == ("ok", [])
    alert.refresh_from_db()
    assert alert.cleared is None

    nightly = tiers.downsample_hourly(now=left_out)

    assert (nightly.status, nightly.details["waiting"]) == ("ok", [])
    alert.refresh_from_db()
    assert alert.cleared is not None
    assert client.get("/retention/alerts").json()["open"] == []
    assert alerts.check_alerts().raised == [] and len(replay_server.calls("POST", HOOK)) == 1


def test_a_dry_run_leaves_the_alert_as_it_is(left_out):
    # A dry run reads no fields: it cannot tell whether an attribute leaves an entity out.
    tiers.downsample_hourly(now=left_out)
    [alert] = Alert.objects.all()
    Entity.objects.update(tiered=False)

    dry = tiers.downsample_hourly(now=left_out, dry_run=True)

    assert dry.status == "dry_run"
    alert.refresh_from_db()
    assert alert.cleared is None


def test_a_run_that_leaves_the_done_days_to_a_later_run_does_not_clear_it(left_out):
    # The daily tier's lock held, the run does not read the raw points left in the days done
    # (late points, the weather's states): it cannot tell whether the attribute is still there.
    Entity.objects.filter(entity_id__in=["nodomain", "sensor.garage_power\\"]).delete()
    tiers.downsample_hourly(now=left_out)
    [alert] = Alert.objects.all()
    daily = run_lock(RetentionRun.Operation.DOWNSAMPLE_DAILY, owner="a test's daily run")
    assert daily.acquire()
    try:
        held = tiers.downsample_hourly(now=left_out)
    finally:
        daily.release()

    assert (held.status, held.details["late_points"]) == ("ok", 0)
    assert held.details["waiting"][0].startswith("late points not folded in: ")
    alert.refresh_from_db()
    assert alert.cleared is None

    again = tiers.downsample_hourly(now=left_out)

    kept = f"weather.home: 1 raw point of {D0} kept raw: {LEFT_RAW}"
    alert.refresh_from_db()
    assert (alert.message, alert.cleared) == (message(again.pk, [kept]), None)
