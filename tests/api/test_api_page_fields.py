"""The fields docs/api.md's endpoint table names for the price, plan, carbon and enrichment
endpoints are in their answers (a field renamed or dropped leaves the page naming one no answer
has), with the plan tests' site collected from the providers' documented payloads."""

import re
from datetime import time
from pathlib import Path

import pytest

from collectors.models import FlexibleLoad
from enrich.models import ProviderConfig

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ROOT = Path(__file__).resolve().parents[2]
# (the row's endpoint as the table writes it, the request answering it with every field)
ROWS = {
    "GET /api/enrichment/current?site=<id>": "/api/enrichment/current",
    "GET /api/pricing/windows?hours=N&within=24h&contiguous=true&before=<time>": (
        "/api/pricing/windows?hours=2"
    ),
    "GET /api/plan?hours=N&before=<time>&carbon_price=<per tonne>&kw=<kW>": "/api/plan?hours=2",
    "GET /api/plan/loads?site=<id>": "/api/plan/loads",
    "GET /api/pricing/slots?site=<id>&within=48h": "/api/pricing/slots",
    "GET /api/carbon/series?site=<id>&hours=24": "/api/carbon/series",
}


def keys(answer) -> set[str]:
    """Every key of a JSON answer, at any depth."""
    if isinstance(answer, dict):
        return set(answer) | {k for value in answer.values() for k in keys(value)}
    if isinstance(answer, list):
        return {k for value in answer for k in keys(value)}
    return set()


def test_every_field_the_table_names_is_in_the_answer(collected, api):
    # A budget to show (`used` of `limit`), and a load no plan is possible for (`message`,
    # `known`: 20 h, where 10.5 h of prices are stored).
    ProviderConfig.objects.filter(provider="octopus").update(options={
        **ProviderConfig.objects.get(provider="octopus").options, "budget": "100/day"})  # fmt: skip
    FlexibleLoad.objects.create(site=collected, name="Boiler", hours=20, deadline=time(7))
    table = (ROOT / "docs" / "api.md").read_text()
    missing = []
    for endpoint, request in ROWS.items():
        row = re.search(rf"^\| `{re.escape(endpoint)}` \| (.*) \|$", table, re.M)
        assert row, f"docs/api.md has no row for {endpoint}"
        named = set(re.findall(r"`([a-z][a-z_]*)`", row[1]))
        response = api.get(request)
        assert response.status_code == 200, response.content
        missing += [f"{endpoint}: {name}" for name in sorted(named - keys(response.json()))]
    assert not missing, missing
