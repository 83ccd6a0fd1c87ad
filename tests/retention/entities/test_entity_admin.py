"""The entity registry's admin page as a person uses it: what they may correct, and what is
discovery's (where the entity's points are)."""

import pytest
from django.urls import reverse

from retention.entities.discovery import discover
from retention.models import Entity
from tests.support.views_follow import edit_in_the_admin

pytestmark = pytest.mark.django_db


def test_where_an_entitys_points_are_is_discoverys_and_read_only(ha_db, admin_client):
    # The entity id, layout and measurement were editable: a fridge renamed to
    # "sensor.kitchen_fridge_power" here pointed at no points, and the next discovery
    # registered sensor.fridge_power again without the area set here (both counted in the
    # views); a measurement typed here was read until discovery put its own back.
    ha_db.write_entity("official", "sensor.fridge_power", [(0, 80.0), (60, 95.5)], unit="W")
    discover(layout="official")
    fridge = Entity.objects.get()
    edit_in_the_admin(admin_client, fridge, entity_id="sensor.kitchen_fridge_power",
                      layout="ingestor", measurement="kW", area="Kitchen")  # fmt: skip
    discover(layout="official")
    [fridge] = Entity.objects.all()
    assert (fridge.entity_id, fridge.layout, fridge.measurement, fridge.area, fridge.edited) == (
        "sensor.fridge_power", "official", "W", "Kitchen", True)  # fmt: skip
    page = admin_client.get(reverse("admin:retention_entity_change", args=[fridge.pk]))
    form = page.context["adminform"].form
    assert {"entity_id", "layout", "measurement"}.isdisjoint(form.fields)
    assert {"friendly_name", "kind", "area", "unit", "device_class", "tiered", "in_views",
            "edited"} <= set(form.fields)  # fmt: skip
    assert "sensor.fridge_power" in page.content.decode()  # shown, not editable


def test_an_entity_added_by_hand_names_where_its_points_are(admin_client):
    form = {"entity_id": "sensor.heat_pump_power", "kind": "power", "layout": "official",
            "measurement": "W", "tiered": "on", "in_views": "on"}  # fmt: skip
    page = admin_client.post(reverse("admin:retention_entity_add"), form)
    assert page.status_code == 302, page.content.decode()[:2000]
    added = Entity.objects.get()
    assert (added.entity_id, added.layout, added.measurement) == (
        "sensor.heat_pump_power",
        "official",
        "W",
    )


def test_handing_entities_back_to_discovery_counts_those_it_changed(admin_client):
    # "2 entities are managed by discovery again" of one edited entity and one never edited.
    fridge = Entity.objects.create(entity_id="sensor.fridge_power", kind="power",
                                   layout="official", measurement="W", edited=True)  # fmt: skip
    kettle = Entity.objects.create(entity_id="sensor.kettle_power", kind="power",
                                   layout="official", measurement="W")  # fmt: skip
    url = reverse("admin:retention_entity_changelist")
    form = {"action": "return_to_discovery", "_selected_action": [fridge.pk, kettle.pk]}
    page = admin_client.post(url, form, follow=True)
    assert [str(m) for m in page.context["messages"]] == [
        "1 entity managed by discovery again; the next `manage.py discover_entities` run "
        "updates its name, kind, unit, device class and area. 1 entity managed by it already."
    ]  # its, of one entity: it said "updates their name"
    assert not Entity.objects.filter(edited=True).exists()


@pytest.mark.parametrize("entity_id", ["nodomain", "sensor.", ".kitchen_power"])
def test_an_entity_added_by_hand_without_domain_or_object_id_is_refused(admin_client, entity_id):
    # Saved: the tiers and views found no points of it, and their notes said to fix its id
    # in the admin, where it is read-only now.
    form = {"entity_id": entity_id, "kind": "power", "layout": "official", "measurement": "W"}
    page = admin_client.post(reverse("admin:retention_entity_add"), form)
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["entity_id"] == [
        "Give Home Assistant's full entity id, domain.object_id (e.g. sensor.kitchen_power)."
    ]
    assert not Entity.objects.exists()


# Names InfluxDB cannot hold (what each field is to InfluxDB, what the name holds).
UNHELD = {"sensor.heat\npump": ("entity_id", "tag", "a line break"),
          "sensor.heat_pump\\": ("entity_id", "tag", "a backslash at its end"),
          "W\nh": ("measurement", "measurement name", "a line break"),
          "kW\rh": ("measurement", "measurement name", "a line break")}  # fmt: skip


@pytest.mark.parametrize("value", UNHELD)
def test_an_entity_added_by_hand_under_a_name_influxdb_cannot_hold_is_refused(admin_client, value):
    # Saved: no point has such a name, and each query naming the measurement failed to parse.
    field, what, problem = UNHELD[value]
    form = {"entity_id": "sensor.heat_pump", "kind": "power", "layout": "official",
            "measurement": "W", field: value}  # fmt: skip
    page = admin_client.post(reverse("admin:retention_entity_add"), form)
    assert page.status_code == 200
    [shown] = page.context["adminform"].form.errors[field]
    assert shown.startswith(f"An InfluxDB {what} cannot hold {problem}"), shown
    assert shown.endswith(": give it as InfluxDB shows it."), shown
    assert not Entity.objects.exists()
