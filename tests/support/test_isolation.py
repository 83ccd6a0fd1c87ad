"""The tests' default InfluxDB databases (tests.support.isolation): no test owns them, so a test
without a database of its own fails at once, every time, instead of passing only when an
earlier test (in pytest-xdist's order of the day) happened to create `enrich` (or
`home_assistant`, `enrich_demo`, `enrich_restore`)."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings

from enrich.influx import InfluxWriteError, get_timeseries
from enrich.readings import Reading
from tests.support.isolation import DEFAULTS, UNOWNED, created_unowned
from tests.support.startup import ROOT, load_settings

pytestmark = pytest.mark.influxdb

POINT = Reading(
    "carbon_intensity", {"carbon_intensity_gco2_kwh": 120.0}, datetime(2026, 1, 1, tzinfo=UTC), {}
)


def test_a_write_to_the_default_database_fails_naming_it():
    name = settings.INFLUXDB_DATABASE
    assert name.startswith(UNOWNED) and name not in get_timeseries().databases()
    with pytest.raises(InfluxWriteError, match=f'database not found: "{name}"'):
        get_timeseries().write(name, [POINT])


@pytest.mark.parametrize("setting", DEFAULTS)
def test_each_default_database_is_unowned(setting):
    name = getattr(settings, setting)
    assert name.startswith(UNOWNED) and name not in get_timeseries().databases()
    assert len({getattr(settings, each) for each in DEFAULTS}) == len(DEFAULTS)


def test_the_tiers_default_to_home_assistants_unowned_database():
    assert settings.TIER_DATABASE == settings.HA_INFLUXDB_DATABASE


def test_the_processes_a_test_starts_have_the_same_defaults():
    names = [*DEFAULTS, "TIER_DATABASE"]
    shown = load_settings(show=f"*(getattr(settings, name) for name in {names!r})")
    assert shown.stdout.split() == [getattr(settings, name) for name in names], shown.stderr


def test_a_created_default_database_is_told_by_its_setting_and_dropped():
    tag = uuid.uuid4().hex[:12]  # not this process's names: its own check stays quiet
    names = {setting: f"{UNOWNED}_{tag}_{n}" for n, setting in enumerate(DEFAULTS)}
    ts = get_timeseries()
    assert created_unowned(names) == []
    ts.create_database(names["HA_INFLUXDB_DATABASE"])
    ts.create_database(names["RESTORE_INFLUXDB_DATABASE"])
    assert created_unowned(names) == ["HA_INFLUXDB_DATABASE", "RESTORE_INFLUXDB_DATABASE"]
    assert not set(names.values()) & set(ts.databases())


RUN = """
from django.conf import settings

from enrich.influx import get_timeseries
from tests.support.test_isolation import POINT


def test_sets_up_the_default_database():
    get_timeseries().create_database(settings.INFLUXDB_DATABASE)


def test_writes_there_after_it():
    get_timeseries().write(settings.INFLUXDB_DATABASE, [POINT])
"""


def test_under_xdist_the_test_that_created_it_is_named_and_the_next_one_fails(tmp_path):
    """Two tests in one pytest-xdist worker: the second passed only because the first created
    the default database; the first is named, and the second fails as it would alone."""
    (tmp_path / "test_run.py").write_text(RUN)
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # A run of its own with tests/conftest.py, in one worker (gw0, as in `make test`).
    command = [sys.executable, "-m", "pytest", "-c", "pyproject.toml", "-p", "no:cacheprovider"]
    command += ["--rootdir", str(tmp_path), "-n", "1", "-q", str(tmp_path / "test_run.py")]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    said = run.stdout + run.stderr
    assert "test_run.py::test_sets_up_the_default_database created the default InfluxDB" in said
    assert "FAILED" in said and "test_writes_there_after_it" in said
    assert 'database not found: "no_test_owns_this_default_' in said
    assert "1 failed, 1 passed, 1 error" in said, said
