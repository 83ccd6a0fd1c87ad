"""The fields docs/api.md's endpoint table names for the price, plan, carbon and enrichment
endpoints are in their answers (a field renamed or dropped leaves the page naming one no answer
has), and every field of /api/enrichment/current's answer, as its schema names them, is named
in its row (one added to the answer is added to the page), with the plan tests' site collected
from the providers' documented payloads."""

import re
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from collectors.models import FlexibleLoad
from enrich.models import OAuthConnection, ProviderConfig
from tests.support.doc_pages import linked_text
from tests.support.schema_check import as_json_schema, field_names

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

ROOT = Path(__file__).resolve().parents[2]
# (the row's endpoint as the table writes it, the request answering it with every field)
ROWS = {
    "GET /api/enrichment/current?site=<id>": "/api/enrichment/current",
    "GET /api/pricing/windows?hours=N&within=24h&contiguous=true&before=<time>": (
        "/api/pricing/windows?hours=2"
    ),
    "GET /api/plan?hours=N&before=<time>&carbon_price=<per tonne>&kw=<kW>": (
        "/api/plan?hours=2&kw=2&pareto=true"
    ),
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


def row(endpoint: str) -> str:
    """The text of docs/api.md's row of `endpoint`."""
    table = (ROOT / "docs" / "api.md").read_text()
    found = re.search(rf"^\| `{re.escape(endpoint)}` \| (.*) \|$", table, re.M)
    assert found, f"docs/api.md has no row for {endpoint}"
    return found[1]


def referred_rows(text: str) -> list[str]:
    """The rows of the GETs `text` names in code (`/api/plan`: "as `/api/plan` answers")."""
    table = (ROOT / "docs" / "api.md").read_text()
    return [found for path in re.findall(r"`(/api/[\w/]+)`", text)
            for found in re.findall(rf"^\| `GET {re.escape(path)}[?`].* \| (.*) \|$", table, re.M)]  # fmt: skip


def named(text: str) -> set[str]:
    """The names `text` writes as code."""
    return set(re.findall(r"`([a-z][a-z_]*)`", text))


@pytest.fixture
def answering(collected):
    """A budget to show (`used` of `limit`), a load no plan is possible for (`message`,
    `known`: 20 h, where 10.5 h of prices are stored) and one planned, a Google Calendar
    connected."""
    ProviderConfig.objects.filter(provider="octopus").update(options={
        **ProviderConfig.objects.get(provider="octopus").options, "budget": "100/day"})  # fmt: skip
    FlexibleLoad.objects.create(site=collected, name="Boiler", hours=20, deadline=time(7))
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline=time(22))
    calendar = ProviderConfig.objects.create(site=collected, source="occupancy",
                                             provider="google_calendar")  # fmt: skip
    OAuthConnection.objects.create(provider_config=calendar, account_email="home@example.org",
                                   refresh_token="r", calendars=[{"id": "primary"}],
                                   token_expiry=datetime(2026, 5, 1, 13, tzinfo=UTC))  # fmt: skip


@pytest.mark.usefixtures("answering")
def test_every_field_the_table_names_is_in_the_answer(api):
    missing = []
    for endpoint, request in ROWS.items():
        response = api.get(request)
        assert response.status_code == 200, response.content
        missing += [
            f"{endpoint}: {name}" for name in sorted(named(row(endpoint)) - keys(response.json()))
        ]
    assert not missing, missing


@pytest.mark.usefixtures("answering")
def test_every_field_of_each_answer_is_named_in_its_row_or_the_page_it_links(api):
    """Each field of the answer, as its schema names them, is in a code span of the row, of a
    page section the row links to or of the row of a GET it names. Left out were, of /api/enrichment/current, each source's
    `configured` and the budget's `spec`, `period_seconds` and `remaining`. (A provider's
    `value` holds its source's own fields: the pages of the data kinds name them.)"""
    document = api.get("/api/schema/?format=json").json()
    unnamed = []
    for endpoint, request in ROWS.items():
        operation = document["paths"][request.partition("?")[0]]["get"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
        text = row(endpoint)
        text += "".join(map(linked_text, re.findall(r"\]\(([^)#\s]*\.md[^)\s]*)\)", text)))
        text += "".join(referred_rows(text))
        fields = field_names(api.get(request).json(), as_json_schema(answer, document))
        unnamed += [f"{endpoint}: {name}" for name in sorted(fields - named(text))]
    assert not unnamed, "\n".join(unnamed)
