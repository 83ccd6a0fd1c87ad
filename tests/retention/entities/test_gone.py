"""Entities Home Assistant no longer has: discovery asks its `GET /api/states` (replayed by the
local server from a documented payload) and marks them gone; the admin shows it; an alert
names those still counted in the views until none is left."""

import copy
import logging
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from retention.entities.discovery import discover
from retention.entities.tasks import discover_entities
from retention.models import Alert, Entity
from retention.stats import alerts
from tests.support.admin_deletes import delete_in_the_admin
from tests.support.api import token_client
from tests.support.ha_silence import (  # noqa: F401  (fixture)
    HA_SILENCE_UNCHECKED,
    ha_silence_unchecked,
)
from tests.support.replay import load_fixture

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb, HA_SILENCE_UNCHECKED]

STATES = "/api/states"
HOOK = "/api/webhook/enrich_alerts"


@pytest.fixture
def ha(settings, replay_server):
    """Home Assistant's REST API on the replay server, with HA_URL and HA_TOKEN set."""
    settings.HA_URL, settings.HA_TOKEN = replay_server.url, "long-lived-token"
    settings.HTTP_BACKOFF_SECONDS = 0.0
    return replay_server


def states(*extra: str) -> list[dict]:
    """The documented answer (fridge power, hall motion, the sun) plus `extra` entities."""
    listed = load_fixture("home_assistant/states_list.json")
    for entity_id in extra:
        state = copy.deepcopy(listed[0])
        state["entity_id"] = entity_id
        listed.append(state)
    return listed


def write_home(ha_db) -> None:
    ha_db.write_entity("official", "sensor.fridge_power", [(0, 80.0)], unit="W")
    ha_db.write_entity("official", "sensor.old_plug_power", [(0, 100.0)], unit="W")


def gone() -> dict[str, datetime | None]:
    return dict(Entity.objects.values_list("entity_id", "gone_from_ha"))


def make(entity_id: str, **fields) -> Entity:
    defaults = {"kind": "power", "layout": "official", "measurement": "W"}
    return Entity.objects.create(entity_id=entity_id, **{**defaults, **fields})


def test_discovery_marks_an_entity_home_assistant_no_longer_has_and_clears_it_when_back(ha_db, ha):
    write_home(ha_db)
    ha.add("GET", STATES, json=states())
    before = datetime.now(UTC)

    report = discover(layout="official")

    marks = gone()
    assert marks["sensor.fridge_power"] is None
    first_missed = marks["sensor.old_plug_power"]
    assert first_missed is not None and first_missed >= before
    # One entity, in the singular: it said "1 registry entities".
    assert "Gone from Home Assistant: 1 registry entity (1 newly, 0 back" in str(report)
    assert "1 of them still counted in the views" in str(report)
    [call] = ha.calls("GET", STATES)
    assert call.headers["Authorization"] == "Bearer long-lived-token"

    discover(layout="official")  # still missing: the time it was first found missing stays
    assert gone()["sensor.old_plug_power"] == first_missed

    ha.reset()
    ha.add("GET", STATES, json=states("sensor.old_plug_power"))
    result = discover_entities.run()
    assert gone() == {"sensor.fridge_power": None, "sensor.old_plug_power": None}
    assert "(0 newly, 1 back in Home Assistant)" in result["home_assistant"]


@pytest.mark.parametrize(
    "status, answer",
    [(401, {"message": "Invalid authentication"}), (500, {"message": "boom"}), (200, [])],
    ids=["refused", "server-error", "empty-list"],
)
def test_a_failed_or_refused_call_marks_nothing(ha_db, ha, status, answer, caplog):
    write_home(ha_db)
    discover(layout="official")  # registered while HA has no route: nothing marked
    was_gone = datetime(2026, 5, 1, tzinfo=UTC)
    Entity.objects.filter(entity_id="sensor.fridge_power").update(gone_from_ha=was_gone)
    ha.reset()
    ha.add("GET", STATES, status, json=answer)

    with caplog.at_level(logging.ERROR, logger="retention.entities.gone"):
        report = discover(layout="official")

    assert gone() == {"sensor.fridge_power": was_gone, "sensor.old_plug_power": None}
    assert "Home Assistant not asked which entities it still has" in str(report)
    assert "Nothing changed." in str(report)
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_without_ha_url_or_token_nothing_is_asked_and_nothing_changes(ha_db, ha, settings):
    write_home(ha_db)
    ha.add("GET", STATES, json=states())
    settings.HA_URL = ""
    discover(layout="official")
    was_gone = datetime(2026, 5, 1, tzinfo=UTC)
    Entity.objects.filter(entity_id="sensor.old_plug_power").update(gone_from_ha=was_gone)
    for url, token in (("", "long-lived-token"), (ha.url, "")):
        settings.HA_URL, settings.HA_TOKEN = url, token
        report = discover(layout="official")
        assert "Home Assistant" not in str(report)
    assert ha.requests == []
    assert gone() == {"sensor.fridge_power": None, "sensor.old_plug_power": was_gone}


def test_the_admin_filters_shows_and_explains_entities_gone_from_home_assistant(admin_client):
    make("sensor.fridge_power")
    plug = make("sensor.old_plug_power", gone_from_ha=datetime(2026, 5, 1, 1, 30, tzinfo=UTC))
    changelist = reverse("admin:retention_entity_changelist")

    no_longer = admin_client.get(changelist, {"in_ha": "no"}).content.decode()
    assert "sensor.old_plug_power" in no_longer and "sensor.fridge_power" not in no_longer
    assert '<td class="field-in_home_assistant">no longer (since 2026-05-01)</td>' in no_longer
    still = admin_client.get(changelist, {"in_ha": "yes"}).content.decode()
    assert "sensor.fridge_power" in still and "sensor.old_plug_power" not in still
    assert '<td class="field-in_home_assistant">yes</td>' in still
    assert "in Home Assistant" in still and "no longer" in still  # the filter's choices

    page = admin_client.get(reverse("admin:retention_entity_change", args=[plug.pk]))
    text = page.content.decode()
    assert "Home Assistant no longer has this entity" in text
    assert "Untick &#x27;count in the views&#x27; so its last value stops" in text
    assert "May 1, 2026" in text or "2026-05-01" in text  # when it was first found missing


def test_the_alert_names_gone_entities_still_counted_and_clears_when_none_is_left(
    settings, replay_server, admin_client
):
    settings.ALERT_WEBHOOK_URL = replay_server.url_for(HOOK)
    replay_server.add("POST", HOOK, 200, body="")
    client = token_client("ops")
    since = datetime(2026, 5, 1, tzinfo=UTC)
    make("sensor.fridge_power")
    make("sensor.old_plug_power", gone_from_ha=since)
    make("sensor.spare_power", gone_from_ha=since, in_views=False)  # already kept out

    first = alerts.check_alerts()

    [alert] = Alert.objects.all()
    assert first.raised == [alert.pk] and first.delivered == [alert.pk]
    assert alert.kind == "gone_from_ha" and alert.run is None
    assert alert.message.startswith(  # in the singular: it said "1 entities ... are ... Their"
        "1 entity Home Assistant no longer has is still counted in the views: "
        "sensor.old_plug_power. Its last value in InfluxDB is carried forward into every day"
    )
    assert alert.message.endswith(
        "untick 'count in the views' so its last value stops counting, and 'tiered' to stop "
        "tiering it; or delete it from the registry."
    )
    [body] = [r.json() for r in replay_server.calls("POST", HOOK)]
    assert (body["kind"], body["operation"], body["run_id"]) == (
        "gone_from_ha",
        "discover_entities",
        None,
    )
    [shown] = client.get("/retention/alerts").json()["open"]
    assert (shown["alert_id"], shown["operation_type"]) == (alert.pk, "discover_entities")
    assert (shown["kind_label"], shown["operation_label"]) == (
        "entities gone from Home Assistant still counted",
        "entity discovery",
    )
    assert [a["alert_id"] for a in client.get("/retention/stats").json()["open_alerts"]] == [
        alert.pk
    ]

    for n in range(6):  # more of them: the same alert names the first five and counts the rest
        make(f"sensor.plug_{n}_power", gone_from_ha=since)
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.message.startswith(
        "7 entities Home Assistant no longer has are still counted in the views: "
        "sensor.old_plug_power, sensor.plug_0_power, sensor.plug_1_power, sensor.plug_2_power, "
        "sensor.plug_3_power and 2 more. Their last value in InfluxDB is carried forward"
    )
    assert alert.message.endswith(
        "untick 'count in the views' so their last values stop counting, and 'tiered' to stop "
        "tiering them; or delete them from the registry."
    )
    assert len(replay_server.calls("POST", HOOK)) == 1  # not delivered twice
    listed = admin_client.get("/admin/retention/alert/").content.decode()
    assert 'class="field-operation">entity discovery<' in listed  # in words, not its id
    detail = admin_client.get(f"/admin/retention/alert/{alert.pk}/change/").content.decode()
    assert "sensor.plug_3_power and 2 more" in detail

    Entity.objects.filter(gone_from_ha__isnull=False).update(in_views=False)
    assert alerts.check_alerts().raised == []
    alert.refresh_from_db()
    assert alert.cleared is not None
    listed = client.get("/retention/alerts").json()
    assert listed["open"] == []
    assert [a["cleared"] is not None for a in listed["history"]] == [True]

    Entity.objects.filter(entity_id="sensor.old_plug_power").update(in_views=True)
    [again] = alerts.check_alerts().raised  # counted again: a new incident
    assert again != alert.pk and Alert.objects.get(pk=again).cleared is None


def test_the_admin_keeps_the_open_alert_naming_the_check_that_raises_it_again(admin_client):
    # The alert check (every 5 minutes) raises the alert of gone entities, not discovery: the
    # admin named "the next discovery", which runs once a night.
    call_command("install_schedules")
    make("sensor.old_plug_power", gone_from_ha=datetime(2026, 5, 1, tzinfo=UTC))
    [raised] = alerts.check_alerts().raised
    alert = Alert.objects.get(pk=raised)

    said = delete_in_the_admin(admin_client, alert)

    assert said[0].startswith(
        f"{alert} cannot be deleted: its condition is not over: the alert check (every 5 "
        "minutes) would raise it again and send it to the webhook again."
    )
    Alert.objects.filter(pk=alert.pk).delete()  # deleted all the same: the next check's doing
    [again] = alerts.check_alerts().raised
    assert again != alert.pk and Alert.objects.get(pk=again).kind == "gone_from_ha"
