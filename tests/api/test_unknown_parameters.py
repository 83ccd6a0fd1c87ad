"""A read (GET) given a query parameter it does not take is a 400 naming it and listing those it
takes, on every endpoint of the schema: dropped, a mistyped `befor=` of /api/plan answered 200
with a plan for the default deadline (now + 24 h), and a Home Assistant REST sensor showed a
plan nobody asked for. What an endpoint takes is what its schema declares (enrich.api.declared):
the list in each message is the schema's, so they cannot drift."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from enrich.models import Site
from retention.rollups.api import FILTERS
from retention.rollups.materialized import VIEWS
from tests.support.api import assert_400_naming_only
from tests.support.doc_pages import ROOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_throttle_counts", "many_reads")]

TYPO = "duraton"
# A value for the path parameter of a run's page (the views' rows: each view's own filters).
RUN_ID = ("{run_id}", "1")


@pytest.fixture
def reader() -> APIClient:
    """A read-only user's client, as Home Assistant's."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("home-assistant"))
    return client


def _schema() -> dict:
    return APIClient().get("/api/schema/?format=json").json()


def _query_names(operation: dict) -> set[str]:
    """The query parameters the schema declares, but DRF's `format`, which every read takes."""
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"} - {"format"}


def _listed(said: str, path: str) -> set[str] | None:
    """The names a refusal lists ("... GET <path>; use a, b." or "...; it takes none."); None
    when it is not such a refusal."""
    head = f"is not a parameter of GET {path}; "
    if not said.startswith(head) or not said.endswith("."):
        return None
    takes = said[len(head) : -1]
    if takes == "it takes none":
        return set()
    return set(takes.removeprefix("use ").split(", ")) if takes.startswith("use ") else None


def test_every_read_refuses_a_parameter_it_does_not_take_naming_it_and_listing_the_schema_s(reader):
    wrong = []
    reads = {path: ops["get"] for path, ops in _schema()["paths"].items() if "get" in ops}
    assert {"/api/plan", "/api/pricing/windows", "/retention/history", "/api/health/"} <= set(reads)
    for path, operation in reads.items():
        if path == "/api/views/{name}":
            continue  # each view its own filters: below
        where = path.replace(*RUN_ID)
        # The schema's own format, JSON (YAML by default); the docs page answers in plain text.
        query = f"?{TYPO}=3h" + ("&format=json" if path == "/api/schema/" else "")
        answer = reader.get(where + query)
        if path == "/api/docs/":
            name, _, said = answer.content.decode().partition(": ")
            body = {name: said}
        else:
            body = answer.json()
        listed = _listed(body.get(TYPO, ""), where) if list(body) == [TYPO] else None
        if answer.status_code != 400 or listed != _query_names(operation):
            wrong.append(
                f"GET {where}{query}: {answer.status_code} {str(body)[:200]}, not a refusal "
                f"naming {TYPO} and listing {sorted(_query_names(operation))}"
            )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("view", VIEWS)
def test_each_view_s_rows_refuse_a_parameter_that_is_none_of_its_filters(reader, view):
    answer = reader.get(f"/api/views/{view}?{TYPO}=3h")
    assert answer.status_code == 400
    assert answer.json() == {TYPO: f"is not a filter of {view}; use {', '.join(FILTERS[view])}."}


def test_the_views_rows_declare_in_the_schema_every_filter_of_every_view():
    operation = _schema()["paths"]["/api/views/{name}"]["get"]
    assert set(_query_names(operation)) == {name for names in FILTERS.values() for name in names}


# Each answered as if the parameter was not given: 200 for its default (409 for the prices and
# carbon the site has none of, 404 for the run that is not there).
MISTYPED = {
    "/api/plan?hours=3&duraton=3h": "duraton",
    "/api/plan?hours=3&befor=2026-12-07T07:00:00Z": "befor",
    "/api/pricing/windows?hours=3&whithin=48h": "whithin",
    "/api/pricing/slots?within=48h&hours=3": "hours",
    "/api/carbon/series?hour=48": "hour",
    "/api/enrichment/current?site_id=1": "site_id",
    "/api/plan/loads?load=1": "load",
    "/api/sites/?enable=true": "enable",
    "/retention/history?day=7": "day",
    "/retention/metrics?site=1": "site",
    "/retention/alerts?open=true": "open",
    "/retention/stats?days=7": "days",
    "/retention/archive/years?year=2026": "year",
    "/api/processes/?site=1": "site",
    "/api/health/?verbose=1": "verbose",
    "/retention/runs/1?details=false": "details",
}


@pytest.mark.parametrize("url", MISTYPED)
def test_a_mistyped_parameter_is_a_400_naming_it_before_anything_is_read(reader, url):
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    said = f"is not a parameter of GET {url.partition('?')[0]}; "
    assert_400_naming_only(reader.get(url), MISTYPED[url], said)
    assert reader.head(url).status_code == 400


def test_the_schema_s_error_is_written_in_the_format_asked(reader):
    said = "is not a parameter of GET /api/schema/; use lang."
    as_json = reader.get(f"/api/schema/?format=json&{TYPO}=1")
    assert (as_json.status_code, as_json.json()) == (400, {TYPO: said})
    as_yaml = reader.get(f"/api/schema/?{TYPO}=1")
    assert (as_yaml.status_code, as_yaml.content.decode()) == (400, f"{TYPO}: {said}\n")


def test_drf_s_format_and_the_declared_parameters_are_taken(reader):
    assert reader.get("/api/health/?format=json").status_code == 200
    # The browsable page says it in its own format too.
    page = reader.get("/api/health/?format=api&verbose=1")
    assert (page.status_code, page["Content-Type"]) == (400, "text/html; charset=utf-8")
    assert b"is not a parameter of GET /api/health/; it takes none." in page.content
    assert (
        reader.get("/retention/history?days=7&type=archive&status=ok&format=json").status_code
        == 200
    )
    # A POST reads its query string with its body (params.fields): its own words, as before.
    staff = APIClient()
    staff.force_authenticate(get_user_model().objects.create_user("ops", is_staff=True))
    refused = staff.post("/retention/archive?dryrun=true")
    assert refused.json() == {"dryrun": "is not a field of POST /retention/archive; use dry_run."}


def test_docs_api_md_quotes_what_the_api_answers(reader):
    """Each refusal docs/api.md quotes (`{"<name>": "is not a parameter of GET <path>; ..."}`, a
    view's "is not a filter of <view>; ...") is the API's answer to that name."""
    page = " ".join((ROOT / "docs/api.md").read_text().split())
    quoted = re.findall(
        r'\{"(\w+)": "(is not a (?:parameter of GET (\S+)|filter of (\w+));[^"]*)"\}', page
    )
    assert len(quoted) >= 4
    for name, said, path, view in quoted:
        answer = reader.get(f"{path or f'/api/views/{view}'}?{name}=1")
        assert (answer.status_code, answer.json()) == (400, {name: said})
