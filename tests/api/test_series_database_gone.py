"""GET /api/series when InfluxDB lacks what a day is read from: the tiers' database
(TIER_DATABASE dropped or misspelt), a tier's retention policy (dropped), Home Assistant's
database. The 503 names what is gone by its setting, not the database's name, which the server
log holds; it said only "InfluxDB refused the read; the server log says why"."""

import logging
import uuid
from datetime import date

import pytest

from retention.models import Entity, TierChunk
from tests.support.doc_pages import flat
from tests.support.isolation import fresh_database

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts")]

URL = ("/api/series?entity_id=sensor.fridge_power&start=2026-04-01T00:00:00Z"
       "&end=2026-04-03T00:00:00Z")  # fmt: skip
NO_TIER_DATABASE = (
    "The series cannot be read: InfluxDB does not have the database TIER_DATABASE names; check "
    "TIER_DATABASE, and whether the database was dropped. The server log names it."
)
NO_TIER_POLICY = (
    "The series cannot be read: InfluxDB has no retention policy enrich_hourly in the database "
    "TIER_DATABASE names; check TIER_DATABASE, and whether the policy was dropped. The server log "
    "names the database."
)


@pytest.fixture
def fridge(settings):
    """Home Assistant's database (no points) and a registered entity whose first day is in the
    hourly tier."""
    with fresh_database("series_ha") as ha:
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = ha
        Entity.objects.create(entity_id="sensor.fridge_power", kind="power", layout="official",
                              measurement="W")  # fmt: skip
        TierChunk.objects.create(tier="hourly", day=date(2026, 4, 1), state="verified")
        yield ha


def refused(client, caplog, database: str) -> str:
    """The 503's detail, checked without the database's name, which the log keeps."""
    with caplog.at_level(logging.ERROR, logger="enrich.api.influx_down"):
        answer = client.get(URL)
    assert answer.status_code == 503, answer.content
    assert database not in answer.content.decode()
    assert any(database in record.getMessage() for record in caplog.records), caplog.text
    return answer.json()["detail"]


def test_a_tier_database_influxdb_does_not_have_is_named_by_its_setting(
    fridge, staff, settings, caplog
):
    settings.TIER_DATABASE = missing = f"no_such_tiers_{uuid.uuid4().hex[:8]}"
    assert refused(staff, caplog, missing) == NO_TIER_DATABASE


def test_a_tier_policy_its_database_lacks_is_named_with_the_setting(
    fridge, staff, settings, caplog
):
    with fresh_database("series_tiers") as tiers:  # no enrich_hourly, enrich_daily in it
        settings.TIER_DATABASE = tiers
        assert refused(staff, caplog, tiers) == NO_TIER_POLICY


def test_home_assistant_s_database_gone_is_named_by_its_setting(fridge, staff, settings, caplog):
    TierChunk.objects.all().delete()  # every day raw, read from Home Assistant's database
    settings.HA_INFLUXDB_DATABASE = missing = f"no_such_ha_{uuid.uuid4().hex[:8]}"
    assert refused(staff, caplog, missing) == (
        "The series cannot be read: InfluxDB does not have the database HA_INFLUXDB_DATABASE "
        "names; check HA_INFLUXDB_DATABASE, and whether the database was dropped. The server log "
        "names it."
    )


def test_the_api_page_quotes_the_answer():
    assert f'`{{"detail": "{NO_TIER_POLICY}"}}`' in flat("docs/api.md")
