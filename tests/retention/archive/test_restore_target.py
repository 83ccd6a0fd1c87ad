"""A restore writes only into RESTORE_INFLUXDB_DATABASE or RESTORE_ALLOWED_DATABASES, never into
Home Assistant's, the tier or enrich's own database: checked by the function, the API (400
naming `database`) and the command (an error, nothing written)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from retention.archive.restore_target import RestoreTargetRefused, restore_database
from retention.models import RetentionRun


@pytest.fixture(autouse=True)
def databases(settings):
    settings.HA_INFLUXDB_DATABASE = "home_assistant"
    settings.TIER_DATABASE = "enrich_tiers"
    settings.INFLUXDB_DATABASE = "enrich"
    settings.RESTORE_INFLUXDB_DATABASE = "enrich_restore"
    settings.RESTORE_ALLOWED_DATABASES = ["restore_2023", "home_assistant"]


def test_the_restore_database_and_the_allow_list_are_accepted():
    assert restore_database(None) == "enrich_restore"
    assert restore_database("") == "enrich_restore"
    assert restore_database("enrich_restore") == "enrich_restore"
    assert restore_database("restore_2023") == "restore_2023"


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("home_assistant", "is Home Assistant's database (HA_INFLUXDB_DATABASE)"),
        ("enrich_tiers", "is the tier database (TIER_DATABASE), which the archive empties"),
        ("enrich", "is enrich's own database (INFLUXDB_DATABASE)"),
    ],
)
def test_live_databases_are_refused_even_when_listed(name, why):
    with pytest.raises(RestoreTargetRefused, match=re.escape(f"'{name}' {why}")) as refused:
        restore_database(name)
    # The message offers the databases that may be used.
    assert "'enrich_restore', 'restore_2023'" in str(refused.value)


def test_an_unlisted_database_is_refused_with_the_way_to_allow_it():
    with pytest.raises(RestoreTargetRefused, match="add it to RESTORE_ALLOWED_DATABASES"):
        restore_database("somewhere_else")


def test_the_tier_reason_wins_when_the_tiers_live_in_home_assistants_database(settings):
    settings.TIER_DATABASE = "home_assistant"
    with pytest.raises(RestoreTargetRefused, match="is the tier database"):
        restore_database("home_assistant")


def test_a_restore_database_set_to_a_live_one_is_refused(settings):
    settings.RESTORE_INFLUXDB_DATABASE = "home_assistant"
    with pytest.raises(RestoreTargetRefused, match="Home Assistant's database"):
        restore_database(None)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["home_assistant", "enrich_tiers", "enrich", "elsewhere"])
def test_the_api_answers_400_naming_database_and_restores_nothing(name):
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("ops", is_staff=True))
    body = {"start_date": "2023-01-01", "end_date": "2023-01-31", "database": name}
    response = client.post("/retention/restore", body, format="json")
    assert response.status_code == 400
    assert f"'{name}' is" in response.json()["database"]
    assert not RetentionRun.objects.exists()


@pytest.mark.django_db
def test_the_command_refuses_with_the_reason_and_restores_nothing():
    with pytest.raises(CommandError, match="'enrich' is enrich's own database"):
        call_command("restore_from_archive", "2023-01-01", "2023-01-31", "--database", "enrich")
    with pytest.raises(
        CommandError,
        match="end_date '9999-12-31' is not valid: expected a date from 1900-01-01 to 2199-12-31",
    ):
        call_command("restore_from_archive", "2023-01-01", "9999-12-31")
    assert not RetentionRun.objects.exists()
