"""Raw -> hourly with Home Assistant data that is odd but occurs (found by fuzzing): readings
near the largest float, tag values InfluxDB escapes, a `value` field of another type than
another measurement's, an entity id without a domain or one the tier rows' tag cannot hold,
states written within one microsecond (nanosecond times). Real InfluxDB; days are UTC, T0 =
2024-03-04 00:00 UTC (a Monday: a new shard group of the default policy starts there); a point
from 1970 (a clock not yet set)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from enrich.readings import Reading
from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.models import Entity, RetentionRun
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, is_own_field, read_rows
from tests.retention.conftest import T0, NanoReading
from tests.support.tier_runs import storage

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
D0 = T0.date()


def point(measurement: str, entity_id: str, seconds: float, **fields) -> Reading:
    domain, _, object_id = entity_id.partition(".")
    tags = {"domain": domain, "entity_id": object_id}
    return Reading(measurement, fields, T0 + timedelta(seconds=seconds), tags)


def nano_point(entity_id: str, seconds: float, nanos: int, value: float) -> NanoReading:
    domain, _, object_id = entity_id.partition(".")
    tags = {"domain": domain, "entity_id": object_id}
    return NanoReading("W", {"value": value}, T0 + timedelta(seconds=seconds), tags, nanos)


def hours(entity_id: str) -> dict:
    rows = read_rows(HOURLY_RP, T0 - DAY, T0 + 2 * DAY, entity_id).get(entity_id, [])
    return {row.start: {k: v for k, v in row.fields.items() if not is_own_field(k)} for row in rows}


def downsample_day() -> None:
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert (run.status, run.errors) == ("ok", "")


def test_a_reading_near_the_largest_float_holds_nothing_and_the_day_is_downsampled(ha_db):
    # 1e308 W x 1800 s overflowed to inf: the mean was NaN, which InfluxDB refuses, so every
    # run failed on this day ("avg_value: nan cannot be stored") and nothing was downsampled.
    entity = ha_db.saved_entity(
        "official", "sensor.glitch_power", [(0, 100), (1800, 1e308), (3600, 50)], unit="W"
    )
    other = ha_db.saved_entity("official", "sensor.fine_power", [(0, 10)], unit="W")
    downsample_day()
    first = hours(entity.entity_id)[T0]
    assert first["sample_count"] == 2
    assert (first["coverage_seconds"], first["avg_value"], first["max_value"]) == (1800, 100, 100)
    assert hours(entity.entity_id)[T0 + timedelta(hours=1)]["avg_value"] == 50
    assert len(hours(other.entity_id)) == 24
    assert count_samples(entity, T0, T0 + DAY) == 0


@pytest.mark.parametrize("object_id", ["with space", "eq=x", "comma,id", "back\\slash"])
def test_tag_values_influxdb_escapes_are_read_whole(ha_db, object_id):
    # InfluxDB's CSV answer escapes them in its tags cell: a space was not matched (the
    # day's states were read as none and later folded in as "late points", losing their
    # time-weighted value), '=' or ',' failed every run ("cannot be split"); a backslash,
    # not escaped, must stay readable too.
    entity_id = f"sensor.{object_id}"
    ha_db.write([point("W", entity_id, 0, value=100.0), point("W", "sensor.plain", 0, value=5.0)])
    report = discover()
    assert report.created == 2
    downsample_day()
    got = hours(entity_id)
    assert len(got) == 24
    assert got[T0]["sample_count"] == 1
    assert all(row["avg_value"] == 100 and row["coverage_seconds"] == 3600 for row in got.values())
    assert count_samples(Entity.objects.get(entity_id=entity_id), T0, T0 + DAY) == 0


def test_a_boolean_value_beside_numeric_measurements_is_not_left_out(ha_db):
    # A query over several measurements answers `value` as float only: the boolean points
    # of the other measurement vanished from the read and the count alike.
    ha_db.write(
        [
            point("binary_sensor.door", "binary_sensor.door", 0, value=True),
            point("binary_sensor.door", "binary_sensor.door", 600, value=False),
            point("W", "sensor.oven_power", 0, value=100.0),
        ]
    )
    discover()
    downsample_day()
    got = hours("binary_sensor.door")
    assert len(got) == 24
    assert (got[T0]["sample_count"], got[T0]["on_seconds"], got[T0]["state_changes"]) == (2, 600, 1)
    assert got[T0 + timedelta(hours=1)]["coverage_seconds"] == 3600


def test_a_string_value_in_a_new_shard_is_aggregated_before_it_is_deleted(ha_db):
    # The week before T0 `value` of °C is a float, from T0 on a string: in a group with a
    # float `value` elsewhere the strings were invisible to the read and to the count, the
    # day verified with 0 points and its raw points were deleted without ever being counted.
    ha_db.write([point("°C", "sensor.room_temperature", -3 * 86400, value=20.0)])
    ha_db.write(
        [
            point("°C", "sensor.room_temperature", 1800, value="21.5"),
            point("°C", "sensor.room_temperature", 5400, value="22.5"),
            point("W", "sensor.oven_power", 0, value=100.0),
        ]
    )
    discover()
    downsample_day()
    got = hours("sensor.room_temperature")
    assert (got[T0]["sample_count"], got[T0 + timedelta(hours=1)]["sample_count"]) == (1, 1)
    assert got[T0]["avg_value"] == pytest.approx((20.0 + 21.5) / 2)
    assert got[T0 + timedelta(hours=1)]["avg_value"] == pytest.approx((21.5 + 22.5) / 2)
    assert got[T0 + timedelta(hours=2)]["avg_value"] == 22.5


def test_an_entity_id_without_a_domain_is_left_out_and_named(ha_db):
    # Typed so in the admin (or found before discovery skipped such series): the run raised
    # IndexError for every day and downsampled nothing.
    fine = ha_db.saved_entity("official", "sensor.fine_power", [(0, 10)], unit="W")
    Entity.objects.create(entity_id="nodomain", kind="power", unit="W", layout="official",
                          measurement="W")  # fmt: skip
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert (run.status, run.errors) == ("ok", "")
    assert any("'nodomain'" in note for note in run.details["waiting"])
    assert len(hours(fine.entity_id)) == 24


# The entity_id tag an AsSent point is made with: its line carries the object id instead.
STAND_IN = "x"


@dataclass(frozen=True)
class AsSent(Reading):
    """A point in the line another writer sent: its object id escaped so (`\\ ` for a space),
    which enrich's own escaping would refuse (its entity_id tag is STAND_IN until the line)."""

    object_id: str = ""

    def to_line(self) -> str:
        escaped = self.object_id.replace(" ", "\\ ")
        return super().to_line().replace(f"entity_id={STAND_IN} ", f"entity_id={escaped} ")


@pytest.mark.parametrize("object_id", ["c:\\ drive_power", "garage_power\\ "])
def test_an_id_the_tier_rows_cannot_be_tagged_with_stays_raw_and_the_rest_is_tiered(
    ha_db, object_id
):
    # InfluxDB holds these ids (Home Assistant's client writes an id ending in a backslash
    # as "garage_power\\ "), the tier rows' entity_id tag cannot (enrich.readings.tag_problem):
    # the run failed on writing the entity's rows, so no entity at all was downsampled.
    tags = {"domain": "sensor", "entity_id": STAND_IN}
    ha_db.write([AsSent("W", {"value": 100.0}, T0, tags, object_id),
                 point("W", "sensor.plain", 0, value=5.0)])  # fmt: skip
    assert discover().created == 2
    odd = Entity.objects.get(entity_id=f"sensor.{object_id}")
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert (run.status, run.errors) == ("ok", "")
    assert run.details["waiting"] == [
        f"{odd.entity_id!r} cannot be the entity_id tag of the tier rows, which cannot hold a "
        "backslash at its end or before a comma, '=' or a space: left out, its points stay raw "
        "(give the entity another id where its points are written)"
    ]
    assert len(hours("sensor.plain")) == 24
    assert (hours(odd.entity_id), count_samples(odd, T0, T0 + DAY)) == ({}, 1)


def test_a_dry_run_names_the_entity_ids_the_run_leaves_out(ha_db, capsys):
    # Every tiered entity with such an id: the dry run reported 0 points of 0 days and said
    # nothing about why, while the run noted them (and that no entity was tiered, wrongly).
    for entity_id in ("nodomain", "sensor."):
        Entity.objects.create(entity_id=entity_id, kind="power", unit="W", layout="official",
                              measurement="W")  # fmt: skip
    notes = [
        f"{entity_id!r} is not of the form domain.object_id: left out; delete it in the admin "
        "(discovery registers the entity under its full id)"
        for entity_id in ("nodomain", "sensor.")
    ]
    dry = tiers.downsample_hourly(D0, D0 + DAY, dry_run=True)
    assert (dry.status, dry.details["waiting"], dry.details["days"]) == ("dry_run", notes, [])
    assert "nothing_tiered" not in dry.details
    assert all(note in tiers.summary(dry) for note in notes)
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY), "--dry-run")
    out = capsys.readouterr().out
    assert all(out.count(note) == 1 for note in notes)
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert (run.status, run.details["waiting"]) == ("ok", notes)


def test_a_run_prints_the_entity_ids_it_leaves_out(ha_db, capsys):
    # The run noted them in its details only: its command printed "ok; 0 day(s), 0 entities".
    for entity_id in ("nodomain", "sensor."):
        Entity.objects.create(entity_id=entity_id, kind="power", unit="W", layout="official",
                              measurement="W")  # fmt: skip
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY))
    run = RetentionRun.objects.get()
    assert capsys.readouterr().out == (
        f"raw -> hourly run {run.pk}: ok; 0 days, 0 entities, 0 raw points -> 0 hourly "
        f"rows, 0 deleted; {storage(run)}; 'nodomain' is not of the form domain.object_id: left "
        "out; delete it in the admin (discovery registers the entity under its full id); "
        "'sensor.' is not of the form domain.object_id: left out; delete it in the admin "
        "(discovery registers the entity under its full id); "
        f"{run.duration_seconds:.1f} s\n"
    )


def test_a_run_with_many_notes_prints_the_first_five(ha_db, capsys):
    # A note per entity: with hundreds of entities the summary printed one line of hundreds
    # of notes. It names five and how many more; the run's details keep them all.
    ids = [f"nodomain{n}" for n in range(7)]
    for entity_id in ids:
        Entity.objects.create(entity_id=entity_id, kind="power", unit="W", layout="official",
                              measurement="W")  # fmt: skip
    call_command("downsample_hourly", "--start", str(D0), "--end", str(D0 + DAY))
    run = RetentionRun.objects.get()
    notes = [
        f"{entity_id!r} is not of the form domain.object_id: left out; delete it in the admin "
        "(discovery registers the entity under its full id)"
        for entity_id in ids
    ]
    assert run.details["waiting"] == notes
    assert capsys.readouterr().out == (
        f"raw -> hourly run {run.pk}: ok; 0 days, 0 entities, 0 raw points -> 0 hourly "
        f"rows, 0 deleted; {storage(run)}; {'; '.join(notes[:5])}; … and 2 more (see the run's "
        f"details.waiting); {run.duration_seconds:.1f} s\n"
    )


def test_a_point_from_1970_is_no_start_and_stays_raw(ha_db, settings):
    # A Raspberry Pi writes 1970 times until NTP sets its clock: discovery took that point as
    # first seen, and a scheduled hourly run started there, walking every day since 1970
    # (and the views' refresh from first_seen likewise).
    unset_clock = datetime(1970, 1, 1, 0, 0, 12, tzinfo=UTC)
    pi = {"domain": "sensor", "entity_id": "pi_power"}
    ha_db.write([Reading("W", {"value": 7.0}, unset_clock, pi)])
    ha_db.write([point("W", "sensor.pi_power", s, value=float(s)) for s in (0, 1800, 90000)])
    discover()
    entity = Entity.objects.get(entity_id="sensor.pi_power")
    assert (entity.first_seen, entity.last_seen) == (T0, T0 + timedelta(seconds=90000))

    now = T0 + timedelta(days=settings.RETENTION_RAW_DAYS + 1, hours=12)  # only D0 is due
    run = tiers.downsample_hourly(now=now)
    assert (run.status, run.errors) == ("ok", "")
    assert (run.range_start, run.range_end) == (None, None)  # the scheduled run's own start
    got = hours(entity.entity_id)
    assert sorted(got)[0] == T0 and len(got) == 24  # D0's hours, none before
    assert (got[T0]["avg_value"], got[T0]["coverage_seconds"]) == (900.0, 3600)
    assert count_samples(entity, unset_clock, unset_clock + DAY) == 1  # never deleted


def test_two_states_within_one_microsecond_count_twice(ha_db):
    # InfluxDB keeps them apart (and counts both); the tiers took them for one state written
    # twice, so the rows accounted for one point fewer than InfluxDB counted: every hourly run
    # failed on the day ("3 raw points ... account for 2") and downsampled nothing at all.
    ha_db.write([point("W", "sensor.oven_power", 0, value=100.0),
                 nano_point("sensor.oven_power", 1800, 123, 200.0),
                 nano_point("sensor.oven_power", 1800, 456, 300.0),
                 point("W", "sensor.plain", 0, value=5.0)])  # fmt: skip
    discover()
    downsample_day()
    first = hours("sensor.oven_power")[T0]
    assert first["sample_count"] == 3
    assert first["avg_value"] == (100 * 1800 + 300 * 1800) / 3600  # the later one holds
    assert (first["min_value"], first["last_value"]) == (100, 300)
    assert len(hours("sensor.plain")) == 24
    assert count_samples(Entity.objects.get(entity_id="sensor.oven_power"), T0, T0 + DAY) == 0


def test_late_states_within_one_microsecond_are_both_counted(ha_db):
    # Folded into their hour's row as one: the row counted one of the two raw points it
    # deleted.
    ha_db.write([point("W", "sensor.oven_power", 0, value=100.0)])
    discover()
    downsample_day()
    ha_db.write([nano_point("sensor.oven_power", 5 * 3600, 100, 20.0),
                 nano_point("sensor.oven_power", 5 * 3600, 200, 30.0)])  # fmt: skip
    run = tiers.downsample_hourly(D0, D0 + DAY)
    assert (run.status, run.details["late_points"], run.records_deleted) == ("ok", 2, 2)
    late = hours("sensor.oven_power")[T0 + timedelta(hours=5)]
    assert (late["sample_count"], late["max_value"]) == (2, 100)
    assert sum(row["sample_count"] for row in hours("sensor.oven_power").values()) == 3


def test_an_attribute_name_influxdb_cannot_hold_leaves_its_entity_raw_and_the_rest_is_tiered(
    ha_db, caplog
):
    # A weather entity's JSON attribute key ending in a backslash: the field carry_attr_<key>
    # of its hourly rows cannot be written, and the write refused the whole day's batch: the
    # run failed for every entity, nothing downsampled, every night again.
    weather = ha_db.saved_entity(
        "ingestor", "weather.home",
        [(0, "sunny", {"temperature": 5.0}), (43200, "rainy", {"temperature": 7.0}),
         (86400, "cloudy", {"temperature": 6.0, "odd\\": 1.0}),
         (86400 + 3600, "cloudy", {"temperature": 4.0, "odd\\": 2.0})],
        kind="weather",
    )  # fmt: skip
    plain = ha_db.saved_entity("ingestor", "sensor.oven_power", [(0, 100.0), (86400, 50.0)],
                               unit="W")  # fmt: skip
    note = (
        "'weather.home' is left out from 2024-03-05 on: its hourly rows would hold the field "
        "'carry_attr_odd\\\\', and a field name cannot hold a backslash at its end; its raw "
        "points stay as they are (the other entities are tiered). Leave the attribute out "
        "where Home Assistant writes it (the InfluxDB integration's ignore_attributes), or "
        "untick the entity's tiered in the admin"
    )

    run = tiers.downsample_hourly(D0, D0 + 2 * DAY)

    assert (run.status, run.errors, run.details["waiting"]) == ("ok", "", [note])
    assert note in tiers.summary(run)
    assert len(hours(plain.entity_id)) == 48  # both days tiered, read back and verified
    assert count_samples(plain, T0, T0 + 2 * DAY) == 0
    first = hours(weather.entity_id)  # the day before the attribute, tiered as ever
    assert sorted(first) == [T0 + timedelta(hours=h) for h in range(24)]
    assert first[T0]["temperature_mean"] == 5.0
    assert count_samples(weather, T0, T0 + DAY) == 0
    assert count_samples(weather, T0 + DAY, T0 + 2 * DAY) == 2  # kept raw, none deleted
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"downsample_hourly: {note}" in logged

    again = tiers.downsample_hourly(D0, D0 + 2 * DAY)  # the day is done: its points look late

    assert (again.status, again.errors) == ("ok", "")
    assert again.details["waiting"] == [
        (
            "weather.home: 2 raw points of 2024-03-05 kept raw: its hourly rows would hold the field "
            "'carry_attr_odd\\\\', and a field name cannot hold a backslash at its end; its raw "
            "points stay as they are (the other entities are tiered). Leave the attribute out "
            "where Home Assistant writes it (the InfluxDB integration's ignore_attributes), or "
            "untick the entity's tiered in the admin"
        )
    ]
    assert count_samples(weather, T0 + DAY, T0 + 2 * DAY) == 2
    assert sorted(hours(weather.entity_id)) == sorted(first)  # nothing invented for the day


def test_a_late_point_with_such_an_attribute_is_folded_into_the_rows_of_its_day(ha_db):
    # Late points are folded into the stored rows by their counts, minima and maxima, never
    # their attributes: the field InfluxDB cannot hold is not written, the point is not kept.
    weather = ha_db.saved_entity("ingestor", "weather.home",
                                 [(0, "sunny", {"temperature": 5.0})], kind="weather")  # fmt: skip
    downsample_day()
    ha_db.write_entity("ingestor", "weather.home",
                       [(43200 + 600, "rainy", {"temperature": 7.0, "odd\\": 1.0})])  # fmt: skip

    run = tiers.downsample_hourly(D0, D0 + DAY)

    assert (run.status, run.errors, run.details["late_points"]) == ("ok", "", 1)
    assert "waiting" not in run.details or run.details["waiting"] == []
    assert hours(weather.entity_id)[T0 + timedelta(hours=12)]["sample_count"] == 1
    assert count_samples(weather, T0, T0 + DAY) == 0
