import uuid

import pytest
from django.core.management import CommandError, call_command

from enrich.influx import get_timeseries, reset_timeseries

pytestmark = pytest.mark.influxdb


def test_creates_the_enrichment_database(settings, capsys):
    name = f"test_setup_{uuid.uuid4().hex[:8]}"
    settings.INFLUXDB_DATABASE = name
    ts = get_timeseries()
    try:
        call_command("setup_influxdb")
        assert name in ts.databases()
        assert f"database {name!r} ready" in capsys.readouterr().out
        call_command("setup_influxdb")  # idempotent
    finally:
        ts.drop_database(name)


def test_version_mismatch_is_refused_with_the_setting_named(settings):
    settings.INFLUXDB_VERSION = "2"
    settings.INFLUXDB_TOKEN, settings.INFLUXDB_ORG = "t", "o"
    reset_timeseries()
    try:
        with pytest.raises(CommandError, match="INFLUXDB_VERSION"):
            call_command("setup_influxdb")
    finally:
        reset_timeseries()


def test_warns_when_home_assistants_database_is_missing(settings, capsys):
    name = f"test_setup_{uuid.uuid4().hex[:8]}"
    settings.INFLUXDB_DATABASE = name
    settings.HA_INFLUXDB_DATABASE = f"missing_{uuid.uuid4().hex[:8]}"
    try:
        call_command("setup_influxdb")
    finally:
        get_timeseries().drop_database(name)
    err = capsys.readouterr().err
    assert (
        f"WARNING retention: Home Assistant's InfluxDB database {settings.HA_INFLUXDB_DATABASE!r} does not exist"
        in err
    )


def test_warns_when_a_retention_policy_would_drop_raw_data_too_early(settings, capsys):
    from enrich.influx import RetentionTier

    name = f"test_setup_{uuid.uuid4().hex[:8]}"
    ha = f"test_setup_ha_{uuid.uuid4().hex[:8]}"
    settings.INFLUXDB_DATABASE = name
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = ha
    ts = get_timeseries()
    ts.create_database(ha, tiers=[RetentionTier("three_days", "3d", default=True)])
    try:
        call_command("setup_influxdb")
    finally:
        ts.drop_database(ha)
        ts.drop_database(name)
    err = capsys.readouterr().err
    assert "WARNING retention:" in err and "three_days" in err
