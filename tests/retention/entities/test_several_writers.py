"""Two Home Assistant instances writing one entity into one database (a house and a cabin told
apart by the InfluxDB integration's global `tags:`), in both layouts of the real InfluxDB:
discovery names the entity and the tag, keeps it on the entity, and the raw -> hourly run leaves
the entity out (its raw points kept, the alert open) until HA_INFLUXDB_TAGS selects one; a tag
added mid-history, or an area changed and changed back, is one writer and says nothing.
T0 = 2024-03-04 00:00 UTC."""

from datetime import timedelta

import pytest

from enrich.influx import get_timeseries
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.entities.tasks import discover_entities
from retention.models import Alert, DailyEnergyByDevice, Entity
from retention.rollups.materialized import ENERGY, rebuild_view
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0, ingestor_readings, official_readings
from tests.retention.rollups.conftest import enrich_db, own_locks  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
DAY = timedelta(days=1)

WRITERS = {"official": official_readings, "ingestor": ingestor_readings}


def meter(start: float, points: range, first: float, step: float) -> list[tuple]:
    return [(start + 600 * i, first + step * i) for i in points]


def test_two_instances_tagged_apart_are_named_with_their_tag(ha_db, layout, settings, caplog):
    write = WRITERS[layout]
    house = meter(30, range(36), 12000.0, 0.5)  # every 10 min from 00:00:30 to 05:50:30
    cabin = meter(330, range(36), 300.0, 0.1)  # five minutes later each
    ha_db.write(write("sensor.energy_total", house, unit="kWh", extra_tags={"instance": "house"}))
    ha_db.write(write("sensor.energy_total", cabin, unit="kWh", extra_tags={"instance": "cabin"}))
    ha_db.write(write("sensor.fridge_power", [(0, 80.0), (600, 0.0)], unit="W"))

    report = discover(layout=layout)

    assert report.created == 2 and Entity.objects.filter(entity_id="sensor.energy_total").exists()
    assert len(report.writers) == 1
    said = report.writers[0]
    assert said.startswith("sensor.energy_total: two writers at once, points tagged ")
    assert "instance='cabin'" in said and "instance='house'" in said
    assert "from 2024-03-04 00:05 to 2024-03-04 05:50 UTC" in said
    assert "(HA_INFLUXDB_TAGS=instance=cabin)" in said and "untick Tiered" in said
    assert f"\nWarning: {said}" in str(report)
    settings.HA_LAYOUT = layout  # the daily task: its result lists it, its log warns
    caplog.clear()
    assert discover_entities.run()["several_writers"] == [said]
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warned == [f"Entity discovery: {said}"]


def test_a_tag_added_mid_history_or_an_area_changed_back_is_one_writer(ha_db, layout):
    write = WRITERS[layout]
    # Home Assistant's `tags: {instance: house}` set at 03:00: a new series, one entity.
    ha_db.write(write("sensor.energy_total", meter(0, range(18), 100.0, 0.5), unit="kWh"))
    tagged = meter(0, range(18, 36), 100.0, 0.5)
    ha_db.write(write("sensor.energy_total", tagged, unit="kWh", extra_tags={"instance": "house"}))
    # A tag that changed and changed back (an area, a tags_attributes name): the second span
    # lies inside the first, without points of the first inside it.
    room = {"room": "Kitchen"}
    ha_db.write(write("sensor.kettle_power", [(0, 5.0), (600, 6.0)], unit="W", extra_tags=room))
    hall = {"room": "Hall"}
    ha_db.write(write("sensor.kettle_power", [(1200, 7.0), (1800, 8.0)], unit="W", extra_tags=hall))
    ha_db.write(write("sensor.kettle_power", [(2400, 9.0)], unit="W", extra_tags=room))
    # A tag set for an hour and taken away: a series of fewer tags around one of more.
    guest = {"guest": "on"}
    ha_db.write(write("sensor.oven_power", [(0, 1.0), (600, 2.0), (4200, 3.0)], unit="W"))
    ha_db.write(
        write(
            "sensor.oven_power", [(1200, 4.0), (1500, 4.5), (1800, 5.0)], unit="W", extra_tags=guest
        )
    )

    report = discover(layout=layout)

    assert report.created == 3 and report.writers == []
    assert "Warning" not in str(report)
    # The tagged points go on from the untagged ones: one meter, 100 -> 117.5, all tiered.
    done = tiers.downsample_hourly(T0.date(), T0.date() + timedelta(days=1))
    assert done.status == "ok", done.errors
    rows = read_rows(HOURLY_RP, T0, T0 + timedelta(days=1), "sensor.energy_total")
    assert round(sum(row.fields["total_energy"] for row in rows["sensor.energy_total"]), 6) == 17.5
    assert count_samples(Entity.objects.get(entity_id="sensor.energy_total"), T0, T0 + DAY) == 0


def points_tagged(db: str, layout: str, instance: str) -> int:
    table = "kWh" if layout == "official" else "home_assistant_events"
    query = f'SELECT COUNT(*) FROM "{table}" WHERE "instance" = $instance'
    with get_timeseries().query(db, query, params={"instance": instance}) as rows:
        return max((int(v) for row in rows for v in row.values.values() if v), default=0)


@pytest.mark.usefixtures("enrich_db")
def test_the_instance_named_by_ha_influxdb_tags_is_read_tiered_and_deleted_alone(
    ha_db, layout, settings
):
    settings.HA_INFLUXDB_TAGS = {"instance": "cabin"}
    write = WRITERS[layout]
    house = meter(30, range(288), 12000.0, 0.5)  # two days, every 10 minutes
    cabin = meter(330, range(288), 300.0, 0.1)
    ha_db.write(write("sensor.energy_total", house, unit="kWh", extra_tags={"instance": "house"}))
    ha_db.write(write("sensor.energy_total", cabin, unit="kWh", extra_tags={"instance": "cabin"}))

    report = discover(layout=layout)
    assert report.created == 1 and report.writers == []
    entity = Entity.objects.get()
    assert (entity.first_seen, entity.last_seen) == (
        T0 + timedelta(seconds=330),
        T0 + timedelta(seconds=330 + 600 * 287),
    )

    assert [points_tagged(ha_db.name, layout, place) for place in ("house", "cabin")] == [288, 288]
    done = tiers.downsample_hourly(T0.date(), T0.date() + timedelta(days=1))
    assert done.status == "ok", done.errors
    rows = read_rows(HOURLY_RP, T0, T0 + timedelta(days=1), entity.entity_id)[entity.entity_id]
    assert round(sum(row.fields["total_energy"] for row in rows), 6) == 14.3  # 300 -> 314.3
    assert max(row.fields["max_value"] for row in rows) == 314.3  # no house reading in them
    # The cabin's raw points of the day are replaced by its rows; the house's stay.
    assert points_tagged(ha_db.name, layout, "cabin") == 144  # the second day's
    assert points_tagged(ha_db.name, layout, "house") == 288
    # The view: the tiered day from its rows, the next one from the cabin's raw points.
    rebuild_view(ENERGY, T0.date(), T0.date() + timedelta(days=1), now=T0 + timedelta(days=3))
    days = DailyEnergyByDevice.objects.filter(entity_id=entity.entity_id).order_by("date")
    assert [round(day.total_kwh, 6) for day in days] == [14.3, 14.4]  # to 314.3, to 328.7


@pytest.mark.usefixtures("enrich_db")
def test_an_entity_two_instances_write_is_left_out_of_the_tiers_until_one_is_selected(
    ha_db, layout, settings
):
    write = WRITERS[layout]
    house = meter(30, range(288), 12000.0, 0.5)  # two days, every 10 minutes
    cabin = meter(330, range(288), 300.0, 0.1)
    ha_db.write(write("sensor.energy_total", house, unit="kWh", extra_tags={"instance": "house"}))
    ha_db.write(write("sensor.energy_total", cabin, unit="kWh", extra_tags={"instance": "cabin"}))

    [said] = discover(layout=layout).writers
    assert Entity.objects.get().several_writers == said  # kept on the entity, not just logged
    days = (T0.date(), T0.date() + DAY)
    dry = tiers.downsample_hourly(*days, dry_run=True)
    done = tiers.downsample_hourly(*days)

    assert done.status == "ok", done.errors
    note = (
        f"'sensor.energy_total' is left out: {said} Its raw points stay as they are; the first "
        "run after a discovery that no longer finds two writers tiers it"
    )
    assert done.details["waiting"] == [note] and note in dry.details["waiting"]
    assert read_rows(HOURLY_RP, T0, T0 + DAY, "sensor.energy_total") == {}
    assert (points_tagged(ha_db.name, layout, "house"), points_tagged(ha_db.name, layout, "cabin")) == (288, 288)  # fmt: skip
    alert = Alert.objects.get(kind=Alert.Kind.ENTITIES_LEFT_OUT, cleared=None)
    assert note in alert.message

    settings.HA_INFLUXDB_TAGS = {"instance": "cabin"}  # enrich reads the cabin's points alone
    assert discover(layout=layout).writers == []
    assert Entity.objects.get().several_writers == ""
    done = tiers.downsample_hourly(*days)
    assert done.status == "ok", done.errors
    assert not done.details.get("waiting")
    rows = read_rows(HOURLY_RP, T0, T0 + DAY, "sensor.energy_total")["sensor.energy_total"]
    assert round(sum(row.fields["total_energy"] for row in rows), 6) == 14.3  # 300 -> 314.3
    assert points_tagged(ha_db.name, layout, "cabin") == 144  # the second day's
    assert points_tagged(ha_db.name, layout, "house") == 288
