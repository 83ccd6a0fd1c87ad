"""What the tiers store (retention.tiers.layout): shard groups sized to each tier's data, and rows
without derivable fields that read back whole."""

import pytest

from enrich.influx import duration_seconds, get_timeseries, quote_ident
from retention.tiers.layout import (
    DAILY_RP,
    HOURLY_RP,
    compact,
    expand,
    shard_duration,
    tier_policies,
)
from retention.tiers.safety import ensure_tiers

POWER = {
    "sample_count": 60,
    "coverage_seconds": 3600.0,
    "gap_count": 0,
    "avg_value": 123.456789,
    "min_value": 80.5,
    "max_value": 190.25,
    "last_value": 101.5,
    "total_energy": 123.456789 * 3600.0 / 3.6e6,
    "carry_value": 101.5,
}


def shards(database: str) -> dict[str, str]:
    shown = get_timeseries().query(database, f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
    return {row.values["name"]: row.values["shardGroupDuration"] for row in shown}


def test_shard_groups_cover_each_tiers_span_in_whole_weeks(settings):
    assert (shard_duration(90), shard_duration(365), shard_duration(3)) == ("13w", "53w", "1w")
    settings.RETENTION_HOURLY_DAYS, settings.RETENTION_DAILY_DAYS = 30, 400
    assert {t.name: t.shard_duration for t in tier_policies()} == {
        HOURLY_RP: "5w",
        DAILY_RP: "58w",
    }


@pytest.mark.influxdb
def test_new_tiers_get_long_shard_groups_and_existing_ones_are_altered(ha_db):
    ensure_tiers()
    assert shards(ha_db.name) == {
        "autogen": "168h0m0s",  # Home Assistant's own policy is left alone
        HOURLY_RP: f"{13 * 168}h0m0s",
        DAILY_RP: f"{53 * 168}h0m0s",
    }
    # An install from before: the tiers with InfluxDB's default 7-day shard groups.
    ts = get_timeseries()
    for name in (HOURLY_RP, DAILY_RP):
        ts.execute(
            None,
            f"ALTER RETENTION POLICY {name} ON {quote_ident(ha_db.name)} SHARD DURATION 1w",
        )
    assert set(shards(ha_db.name).values()) == {"168h0m0s"}
    ensure_tiers()
    assert shards(ha_db.name)[HOURLY_RP] == f"{13 * 168}h0m0s"
    assert shards(ha_db.name)[DAILY_RP] == f"{53 * 168}h0m0s"
    policies = {p.name: p for p in ts.retention_policies(ha_db.name)}
    assert duration_seconds(policies[HOURLY_RP].shard_duration) == 13 * 7 * 86400
    assert policies["autogen"].default and policies[HOURLY_RP].seconds is None
    assert not policies[HOURLY_RP].default and not policies[DAILY_RP].default


def test_a_power_row_is_written_without_what_a_reader_derives():
    written = compact(HOURLY_RP, POWER, "power")
    assert written == {
        "sample_count": 60,
        "coverage_seconds": 3600.0,
        "avg_value": 123.456789,
        "min_value": 80.5,
        "max_value": 190.25,
        "last_value": 101.5,
    }
    back = expand(HOURLY_RP, written, "power")
    assert back.keys() == POWER.keys()
    assert back["total_energy"] == pytest.approx(POWER["total_energy"], rel=1e-12)
    assert {k: v for k, v in back.items() if k != "total_energy"} == {
        k: v for k, v in POWER.items() if k != "total_energy"
    }


@pytest.mark.parametrize(
    ("rp", "kind", "fields"),
    [
        # the sample in force at the hour's end had no value (state only): a marker says so
        (HOURLY_RP, "power", {**POWER, "carry_state": "idle", "carry_value": None}),
        # a gap was in force: nothing is derived
        (HOURLY_RP, "power", {**POWER, "carry_value": None, "carry_gap": 1, "gap_count": 2}),
        # a meter that only grew: max_value = last_value; energy is stored (not derivable)
        (HOURLY_RP, "energy", {"sample_count": 12, "coverage_seconds": 3600.0, "gap_count": 0,
                               "avg_value": 10.2, "min_value": 10.0, "max_value": 10.5,
                               "last_value": 10.5, "total_energy": 0.5, "carry_value": 10.5}),
        # no reading in force at all: last_value from before, no max to derive
        (HOURLY_RP, "numeric", {"sample_count": 0, "coverage_seconds": 0.0, "gap_count": 1,
                                "last_value": 20.5, "carry_gap": 1}),
        (HOURLY_RP, "binary", {"sample_count": 2, "coverage_seconds": 3600.0, "gap_count": 0,
                               "state_changes": 2, "last_state": "off", "on_seconds": 610.0,
                               "carry_value": 0.0, "carry_state": "off"}),
        (HOURLY_RP, "weather", {"sample_count": 6, "coverage_seconds": 3600.0, "gap_count": 0,
                                "state_changes": 0, "last_state": "cloudy",
                                "temperature_mean": 11.5,
                                "temperature_coverage_seconds": 3600.0,
                                "humidity_mean": 70.0, "humidity_coverage_seconds": 1800.0,
                                "carry_state": "cloudy", "carry_attr_temperature": 11.0}),
        # a daily row keeps its carry fields as they are (a day composed from kept states)
        (DAILY_RP, "power", {**POWER, "carry_value": 101.5, "carry_state": "on"}),
    ],
)  # fmt: skip
def test_rows_read_back_whole(rp, kind, fields):
    # (Aggregate.to_fields always writes gap_count; absent on read means 0.)
    fields = {k: v for k, v in fields.items() if v is not None}
    written = compact(rp, fields, kind)
    assert len(written) <= len(fields) + 1  # at most one marker more
    back = expand(rp, written, kind)
    assert back.keys() == fields.keys()
    for name, value in fields.items():
        assert back[name] == (
            pytest.approx(value, rel=1e-12) if name == "total_energy" else value
        ), name
