"""The OpenAPI schema (/api/schema/) tells the truth about the answers a client gets: every GET
of the schema is asked for real (PostgreSQL, Redis, InfluxDB, the replayed provider answers)
on a populated install, for its answer and for each of its errors docs/api.md names (400, 404,
409, 503), and each answer's status is one the schema declares for that operation, its content
type one declared for that status, and its body valid against that status's schema
(tests.support.schema_check: no field the schema does not name). The install is tests.support.
schema_install's; test_schema_parameters.py asks each parameter at its declared edges,
test_schema_bad_state.py the answers of an install in a bad state."""

import json

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from enrich import influx
from retention.models import RetentionRun
from tests.support.ports import free_port
from tests.support.schema_check import as_json_schema, asked, mismatch
from tests.support.schema_install import ASKED, SERIES, first_answers

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("own_throttle_counts", "many_reads"),
]

# With InfluxDB out of reach (a port nothing listens on).
ASKED_INFLUX_DOWN = {
    "/api/health/": [("", 503)],
    "/api/carbon/series": [("?site={site}", 503)],
    "/api/pricing/slots": [("?site={site}", 503)],
    "/api/pricing/windows": [("?hours=1&site={site}", 503)],
    "/api/plan": [("?hours=1&site={site}", 503)],
    "/api/series": [(f"?entity_id=sensor.fridge_power&{SERIES}", 503)],
    "/retention/metrics": [("", 503)],
    # Answered from what can be read, saying what cannot.
    "/api/enrichment/current": [("?site={site}", 200)],
    "/api/plan/loads": [("?site={site}", 200)],
    "/retention/stats": [("", 200)],
}


def test_every_answer_of_every_get_is_what_the_schema_declares(install, settings):
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    gets = {path for path, operations in document["paths"].items() if "get" in operations}
    assert gets == set(ASKED), f"GETs of the schema not asked here: {gets ^ set(ASKED)}"
    wrong = asked(client, document, ASKED, filled)
    # Anyone: health without each service's detail.
    wrong += asked(APIClient(), document, {"/api/health/": [("", 200)]}, filled)
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = f"http://127.0.0.1:{free_port()}", 1.0
    influx.reset_timeseries()
    try:
        wrong += asked(client, document, ASKED_INFLUX_DOWN, filled)
    finally:
        influx.reset_timeseries()
    assert not wrong, "\n".join(wrong)


def test_the_errors_of_access_of_every_get_are_what_the_schema_declares(install, settings):
    """docs/api.md: an unknown token is a 401 ("Invalid token."), a read over the throttle a
    429 with Retry-After, on every endpoint (health is not throttled)."""
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    stranger = APIClient(HTTP_AUTHORIZATION="Token nope")
    wrong = asked(stranger, document, first_answers(401, {}), filled)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/hour"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    assert client.get("/retention/stats").status_code == 200  # the hour's one read
    wrong += asked(client, document, first_answers(429, {"/api/health/": 200}), filled)
    assert not wrong, "\n".join(wrong)


def test_the_token_endpoint_s_answers_are_what_the_schema_declares(install):
    """`POST /api/token/`: `username`, `password` -> `{"token": ...}`. Request and answer were
    declared by one serializer, `username`, `password` and `token` all required (write-only
    and read-only, which generated clients such as openapi-python-client do not read): such a
    client had to send a token to get one and failed on an answer without the password."""
    client, _ = install
    document = client.get("/api/schema/?format=json").json()
    get_user_model().objects.create_user("ha", password="pw-ha-123")
    anyone = APIClient()
    wrong = []
    content = document["paths"]["/api/token/"]["post"]["requestBody"]["content"]
    request = as_json_schema(content["application/json"]["schema"], document)
    for error in jsonschema.Draft4Validator(request).iter_errors(
        {"username": "ha", "password": "pw-ha-123"}
    ):
        wrong.append(f"POST /api/token/: the request's body: {error.message}")
    for body, status in (({"username": "ha", "password": "pw-ha-123"}, 200),
                         ({"username": "ha"}, 400)):  # fmt: skip
        answer = anyone.post("/api/token/", body, format="json")
        assert answer.status_code == status, answer.content
        if said := mismatch(document, "/api/token/", answer, "post"):
            wrong.append(f"POST /api/token/ {sorted(body)}: {said}")
    assert not wrong, "\n".join(wrong)


def test_a_read_only_caller_s_403_of_every_changing_endpoint_is_what_the_schema_declares(
    install,
):
    """ "A read-only token asking to change something gets 403": nothing is queued or run."""
    client, _ = install
    document = client.get("/api/schema/?format=json").json()
    changing = [
        path
        for path, operations in document["paths"].items()
        if "post" in operations and path != "/api/token/"
    ]
    assert len(changing) == 5, changing
    wrong = []
    runs = RetentionRun.objects.count()
    for path in changing:
        answer = client.post(path.replace("{name}", "daily_carbon_summary"), {}, format="json")
        if answer.status_code != 403:
            wrong.append(f"POST {path}: asked for a 403, got {answer.status_code}")
        elif said := mismatch(document, path, answer, "post"):
            wrong.append(f"POST {path}: {said}")
    assert not wrong, "\n".join(wrong)
    assert RetentionRun.objects.count() == runs


def test_a_declaration_that_lies_is_named():
    """The check above fails on a schema that contradicts an answer: a status not declared, a
    body of another type, a null where the schema does not allow one."""
    document = {
        "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/X"}}}}}}}},
        "components": {"schemas": {"X": {"type": "object", "properties": {
            "a": {"type": "integer", "nullable": True}, "b": {"type": "string"}}}}},
    }  # fmt: skip

    class Answer(dict):
        def __init__(self, status: int, body) -> None:
            super().__init__({"Content-Type": "application/json"})
            self.status_code, self.content = status, json.dumps(body).encode()

    assert mismatch(document, "/x", Answer(200, {"a": None, "b": "x"})) is None
    assert "declares only ['200']" in mismatch(document, "/x", Answer(404, {}))
    assert "a: 'x' is not valid" in mismatch(document, "/x", Answer(200, {"a": "x"}))
    assert "b: None is not of type 'string'" in mismatch(document, "/x", Answer(200, {"b": None}))
    assert "the body: [] is not of type 'object'" in mismatch(document, "/x", Answer(200, []))


def test_what_every_operation_may_answer_by_http_s_rules_is_said_in_the_schema(
    install, settings, staff
):
    """405, 406, 413 and 415 and `?format=` are said once, in the schema's description
    (`info.description`), where an operation does not declare them: asked for real."""
    client, _ = install
    document = client.get("/api/schema/?format=json").json()
    said = document["info"]["description"]
    big = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    answers = {
        ("delete", "/api/health/"): client.delete("/api/health/"),
        ("get", "/api/sites/"): client.get("/api/sites/", HTTP_ACCEPT="text/csv"),
        ("post", "/api/token/"): APIClient().post("/api/token/", "x", content_type="text/plain"),
        ("post", "/retention/downsample-hourly"): staff.post(
            "/retention/downsample-hourly", big, content_type="application/json"
        ),
    }
    assert [answer.status_code for answer in answers.values()] == [405, 406, 415, 413]
    wrong = [f"{method.upper()} {path}: {answer.status_code} neither declared nor said"
             for (method, path), answer in answers.items()
             if str(answer.status_code) not in document["paths"][path].get(method, {}).get(
                 "responses", {}) and f"{answer.status_code} " not in said]  # fmt: skip
    assert client.get("/api/sites/?format=xml").status_code == 400
    assert not wrong and "`?format=`" in said and "400 naming `format`" in said, (wrong, said)
