import uuid

import pytest
from django.core.management import CommandError, call_command

from enrich.timeseries import get_timeseries, reset_timeseries

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
