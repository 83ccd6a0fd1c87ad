"""The InfluxQL docs/storage.md gives for reading the hourly tier directly ("In InfluxQL the tiers
are plain measurements: ...") answers what it selects. A power row does not store
`total_energy` (a reader derives it: retention/tiers/layout.py), so the query selecting it got
none for the page's own power sensor."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from enrich.influx import get_timeseries
from retention.tiers import runner as tiers
from tests.support.doc_pages import ROOT

pytestmark = pytest.mark.django_db


def test_the_page_s_tier_query_gives_a_power_sensor_s_energy(ha_db):
    page = " ".join((ROOT / "docs" / "storage.md").read_text().split())
    query = re.search(r"In InfluxQL the tiers are plain measurements: `([^`]+)`", page)[1]
    entity_id = re.search(r"entity_id = '([\w.]+)'", query)[1]
    day = (datetime.now(UTC) - timedelta(days=12)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ha_db.saved_entity("official", entity_id, [(day, 100.0), (day + timedelta(hours=5), 40.0)],
                       unit="W")  # fmt: skip
    assert tiers.downsample_hourly(day.date(), day.date() + timedelta(days=1)).status == "ok"
    rows = list(get_timeseries().query(ha_db.name, query.replace("home_assistant", ha_db.name)))
    assert len(rows) == 24
    energy = [row.values.get("total_energy") for row in rows]
    assert energy[:5] == pytest.approx([0.1] * 5) and energy[5:] == pytest.approx([0.04] * 19)
