"""Authentication on every endpoint but health; health reports the real services (in detail
only to an authenticated caller)."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from enrich.models import ProviderConfig, Site
from retention.rollups.materialized import VIEWS

pytestmark = pytest.mark.django_db


@pytest.fixture
def token():
    user = get_user_model().objects.create_user("ops", password="pw-ops-123")
    return Token.objects.create(user=user).key


@pytest.fixture
def client_with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_endpoints_need_a_token():
    response = APIClient().get("/api/sites/")
    assert response.status_code == 401
    assert "credentials were not provided" in response.json()["detail"]
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get("/api/sites/").status_code == 401


def test_token_is_obtained_with_username_and_password(token):
    response = APIClient().post("/api/token/", {"username": "ops", "password": "pw-ops-123"})
    assert response.status_code == 200
    assert response.json() == {"token": token}


def test_sites_list_never_contains_secrets(client_with_token):
    site = Site.objects.create(name="Home", latitude=1, longitude=2)
    ProviderConfig.objects.create(
        site=site, source="air_quality", provider="airnow", api_key="AIRNOW-SECRET"
    )
    response = client_with_token.get("/api/sites/")
    assert response.status_code == 200
    assert "AIRNOW-SECRET" not in response.content.decode()
    [body] = response.json()
    assert body["providers"][0]["provider"] == "airnow"
    assert body["providers"][0]["secret_stored"] is True


def test_sites_list_shows_a_url_option_without_its_login(client_with_token):
    # Saved past the admin, which refuses it (as each run does): it was shown whole.
    site = Site.objects.create(name="Home", latitude=1, longitude=2)
    ProviderConfig.objects.create(
        site=site, source="air_quality", provider="airnow",
        options={"base_url": "https://alice:pw-SECRET-77@proxy.example.org/aq", "zip_code": "98101"},
    )  # fmt: skip
    [body] = client_with_token.get("/api/sites/").json()
    assert body["providers"][0]["options"] == {
        "base_url": "https://proxy.example.org/aq",
        "zip_code": "98101",
    }


def test_invalid_parameter_is_a_400_naming_it(client_with_token):
    response = client_with_token.get("/api/sites/?enabled=maybe")
    assert response.status_code == 400
    assert response.json() == {"enabled": "'maybe' is not valid: expected true or false."}


def test_health_answers_without_auth_with_ok_per_service_only():
    response = APIClient().get("/api/health/")
    body = response.json()
    assert response.status_code == 200, body
    assert body == {
        "ok": True,
        "services": {"database": {"ok": True}, "redis": {"ok": True}, "influxdb": {"ok": True}},
    }


def test_health_reports_each_service_in_detail_to_a_token(client_with_token):
    body = client_with_token.get("/api/health/").json()
    assert body["ok"] is True
    assert set(body["services"]) == {"database", "redis", "influxdb"}
    assert body["services"]["database"]["detail"] == "postgresql"
    assert body["services"]["redis"]["detail"].startswith("redis ")
    assert body["services"]["influxdb"]["detail"].startswith("influxdb 1.")


def test_health_is_503_and_names_the_service_that_is_down(settings, client_with_token):
    from enrich import influx as timeseries

    settings.INFLUXDB_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.INFLUXDB_TIMEOUT = 1.0
    timeseries.reset_timeseries()
    try:
        anonymous = APIClient().get("/api/health/")
        response = client_with_token.get("/api/health/")
    finally:
        timeseries.reset_timeseries()
    # Anyone learns which service is down, but not the error text (addresses, versions).
    assert anonymous.status_code == 503
    assert anonymous.json() == {
        "ok": False,
        "services": {"database": {"ok": True}, "redis": {"ok": True}, "influxdb": {"ok": False}},
    }
    assert b"127.0.0.1:9" not in anonymous.content
    body = response.json()
    assert response.status_code == 503
    assert body["ok"] is False
    assert body["services"]["influxdb"]["ok"] is False
    # The error, its address hidden as in every API answer (enrich.addresses); the server's log
    # names it whole.
    detail = body["services"]["influxdb"]["detail"]
    assert "127.0.0.1:9" not in detail and "[hidden]" in detail, detail
    assert detail.startswith("InfluxUnavailable: "), detail
    assert body["services"]["redis"]["ok"] is True


def test_openapi_schema_and_docs_page_are_served():
    schema = APIClient().get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/sites/" in paths and "/api/health/" in paths
    # Both ways to sign in: a token, an admin's session (enrich.access.SessionAuth was left
    # out, with a warning, before it had its scheme).
    assert set(schema.json()["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}
    assert {"tokenAuth": []} in paths["/api/sites/"]["get"]["security"]
    assert {"cookieAuth": []} in paths["/api/sites/"]["get"]["security"]
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # OPTIONS was a 500: DRF's metadata answer had no template in the page's HTML renderer
    options = APIClient().options("/api/docs/")
    assert (options.status_code, options["Allow"]) == (405, "GET, HEAD")


def test_the_docs_page_names_its_language():
    # Its <html> had no lang: a screen reader guessed the language to read it in.
    page = APIClient().get("/api/docs/").content.decode()
    assert re.findall(r"<html\b[^>]*>", page) == ['<html lang="en">'], page[:200]
    assert '<div id="swagger-ui"></div>' in page


@pytest.mark.parametrize("version", ["%0A", "x%0D%0ALocation:%20/", "2.0", "a%22b"])
def test_the_schema_refuses_a_version_it_does_not_have(version):
    # drf-spectacular's ?version= was written into info.version ("0.1.0 (2.0)") and into the
    # Content-Disposition header, where a newline was a 500 (BadHeaderError); the API has one
    # version, and a read refuses a parameter it does not take (enrich.api.declared).
    refused = APIClient().get(f"/api/schema/?format=json&version={version}")
    assert refused.status_code == 400
    assert refused.json() == {"version": "is not a parameter of GET /api/schema/; use lang."}
    assert "Content-Disposition" not in refused
    schema = APIClient().get("/api/schema/?format=json")
    assert schema.json()["info"]["version"] == settings.SPECTACULAR_SETTINGS["VERSION"]
    assert schema["Content-Disposition"] == 'inline; filename="enrich API.json"'


def test_the_schema_states_the_limits_and_the_400_of_each_operation():
    # Found by schemathesis: a request the schema called valid (site=0, days=0, an unknown view
    # name) was refused, and 400s it said could not happen were answered.
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            if (parameters or "requestBody" in operation) and path != "/api/schema/":
                assert "400" in operation["responses"], (method, path)
            for parameter in parameters:
                if parameter["schema"]["type"] in ("integer", "number"):
                    assert "minimum" in parameter["schema"], (method, path, parameter["name"])
    # An unknown site is a 404 on every endpoint taking `site`, /api/enrichment/current too.
    for path in ("/api/enrichment/current", "/api/carbon/series", "/api/plan/loads"):
        assert "404" in paths[path]["get"]["responses"], path
    history = {p["name"]: p["schema"] for p in paths["/retention/history"]["get"]["parameters"]}
    assert (history["days"]["minimum"], history["days"]["maximum"]) == (1, 365)
    for path, method in (("/api/views/{name}", "get"), ("/api/views/{name}/rebuild", "post")):
        name = next(p for p in paths[path][method]["parameters"] if p["name"] == "name")
        assert sorted(name["schema"]["enum"]) == sorted(VIEWS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-13-01", "a date that exists (a month from 01 to 12), e.g. 2026-11-27"),
        ("2026-02-30", "a date that exists (a day of its month: February 2026 has days 01 to 28), "
         "e.g. 2026-11-27"),
        ("tomorrow", "a date as YYYY-MM-DD, e.g. 2026-11-27"),
        ("2026-1-1", "a date as YYYY-MM-DD, e.g. 2026-11-27"),
    ],
)  # fmt: skip
def test_impossible_or_malformed_dates_are_a_400_not_a_500(raw, expected):
    # 2026-13-01 and 2026-02-30, written YYYY-MM-DD, were told "expected a date as YYYY-MM-DD".
    from rest_framework.exceptions import ValidationError

    from enrich.api import params

    with pytest.raises(ValidationError) as info:
        params.day({"start": raw}, "start")
    assert info.value.detail == {"start": f"'{raw}' is not valid: expected {expected}."}
