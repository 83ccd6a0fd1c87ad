"""The OpenAPI schema (/api/schema/) tells the truth about the answers a client gets: every GET
of the schema is asked for real (PostgreSQL, Redis, InfluxDB, the replayed provider answers)
on a populated install, for its answer and for each of its errors docs/api.md names (400, 404,
409, 503), and each answer's status is one the schema declares for that operation, its content
type one declared for that status, and its body valid against that status's schema (its
`$ref`s resolved, `nullable` read as OpenAPI 3.0 means it, by jsonschema). Each parameter's
declared type, enum, minimum and maximum are those its endpoint reads: asked at their edges."""

import json
from datetime import UTC, date, datetime, timedelta

import jsonschema
import pytest
import yaml
from django.contrib.auth import get_user_model
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework.test import APIClient

from collectors.models import FlexibleLoad
from enrich import influx
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig, Site
from enrich.readings import Reading
from enrich.redis import alive
from enrich.schedules import ENTRY_NAMES
from retention import models as stored
from retention.models import Alert, ArchiveObject, Entity, RetentionRun
from retention.schema import METRICS_MEASUREMENT
from retention.stats.metrics import record_metrics
from retention.stats.status_api import SERIES_UNITS
from retention.tiers import runner as tiers
from retention.timeutil import floor_day
from tests.support import configs
from tests.support.beat import store_zone
from tests.support.plan import NOW
from tests.support.ports import free_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("own_throttle_counts", "many_reads"),
]

SERIES = "start=2026-04-30T00:00:00Z&end=2026-05-01T00:00:00Z"

# (query, status) of each GET: `{run}`, `{bare}` (a site without providers) and `{odd}` (an
# entity whose registry entry has no layout) are filled in from the populated install.
ASKED = {
    "/api/health/": [("", 200)],
    "/api/processes/": [("", 200)],
    "/api/sites/": [("", 200), ("?enabled=true", 200), ("?enabled=maybe", 400)],
    "/api/enrichment/current": [
        ("?site={site}", 200),
        ("?site=abc", 400),
        ("", 400),
        ("?site=999999", 404),
    ],  # fmt: skip
    "/api/pricing/windows": [
        ("?hours=1&site={site}", 200),
        ("?hours=1&contiguous=false&site={site}", 200),
        ("?hours=1&contiguous=false&max_windows=2&before=2026-05-01T20:00:00Z&site={site}", 200),
        ("?hours=0&site={site}", 400),
        ("?hours=1&site=999999", 404),
        ("?hours=1&site={bare}", 409),
    ],  # fmt: skip
    "/api/pricing/slots": [
        ("?site={site}", 200),
        ("?within=1h&site={site}", 200),
        ("?within=1x&site={site}", 400),
        ("?site=999999", 404),
        ("?site={bare}", 409),
    ],  # fmt: skip
    "/api/plan": [
        ("?hours=1&site={site}", 200),
        ("?hours=1&carbon_price=100&kw=2&site={site}", 200),
        ("?hours=1&pareto=true&kw=2&site={site}", 200),
        ("?hours=1&kw=2&site={priced}", 200),
        ("?hours=1&kw=0&site={site}", 400),
        ("?hours=1&site=999999", 404),
        ("?hours=1&site={bare}", 409),
        ("?hours=20&before=2026-05-02T12:00:00Z&site={site}", 409),  # prices end at 23:00
    ],  # fmt: skip
    "/api/plan/loads": [("?site={site}", 200), ("?site=0", 400), ("?site=999999", 404)],
    "/api/carbon/series": [
        ("?site={site}", 200),
        ("?site={uncollected}", 200),
        ("?hours=0&site={site}", 400),
        ("?site=999999", 404),
        ("?site={bare}", 409),
    ],  # fmt: skip
    "/api/series": [
        (f"?entity_id=sensor.fridge_power&{SERIES}", 200),
        ("?entity_id=sensor.fridge_power&start=2026-04-29T00:00:00Z&end=2026-05-01T00:00:00Z", 200),
        (f"?entity_id=sensor.fridge_power&{SERIES}&resolution=raw", 400),
        (f"?entity_id=sensor.nobody&{SERIES}", 404),
        (f"?entity_id={{odd}}&{SERIES}", 409),
    ],  # fmt: skip
    "/api/views/{name}": [
        ("daily_carbon_summary", 200),
        ("daily_energy_by_device", 200),
        ("hourly_room_activity", 200),
        ("hourly_room_activity?area=x", 200),
        ("daily_energy_by_device?start=2026-1-1", 400),
        ("nope", 404),
    ],
    "/retention/metrics": [("", 200), ("?days=0", 400)],
    "/retention/alerts": [("", 200), ("?days=0", 400)],
    "/retention/archive/years": [("", 200)],
    "/retention/stats": [("", 200)],
    "/retention/history": [
        ("", 200),
        ("?days=365", 200),  # the runs of the install, started before NOW (1 May)
        ("?days=365&type=archive&status=failed", 200),
        ("?days=0", 400),
    ],
    "/retention/runs/{run_id}": [("{run}", 200), ("abc", 400), ("999999", 404)],
    "/api/schema/": [("?format=json", 200), ("?format=json&lang=xx", 400)],
    "/api/docs/": [("", 200), ("?lang=xx", 400)],
}
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


def as_json_schema(node, document: dict):
    """`node` of the OpenAPI 3.0 `document` as JSON Schema: each `$ref` replaced by what it
    points to, and `nullable: true` read as "or null"."""
    if isinstance(node, list):
        return [as_json_schema(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if ref := node.get("$ref"):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return as_json_schema(target, document)
    schema = {key: as_json_schema(value, document) for key, value in node.items()}
    if schema.pop("nullable", False):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def mismatch(document: dict, path: str, answer, method: str = "get") -> str | None:
    """What the schema's operation (`method`, `path`) says that `answer` contradicts, or None."""
    responses = document["paths"][path][method]["responses"]
    status = str(answer.status_code)
    if status not in responses:
        return f"answered {status}, the schema declares only {sorted(responses)}"
    content = responses[status].get("content", {})
    kind = answer["Content-Type"].partition(";")[0]
    if kind not in content:
        return f"{status} answered as {kind}, the schema declares {sorted(content)}"
    if not kind.endswith("json"):
        return None
    schema = as_json_schema(content[kind].get("schema", {}), document)
    errors = sorted(
        jsonschema.Draft4Validator(schema).iter_errors(json.loads(answer.content)),
        key=lambda error: list(error.absolute_path),
    )
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "the body"
        return f"{status}: {where}: {errors[0].message[:300]} ({len(errors)} errors)"
    return None


def url(path: str, query: str, filled: dict) -> str:
    query = query.format(**filled)
    if "{" in path:
        return path[: path.index("{")] + query
    return path + query


@pytest.fixture
def install(collected, replay_server, settings, tmp_path):
    """The plan tests' site with prices and carbon collected (the carbon provider's budget one
    that cannot be read), an air quality provider, a Google Calendar never connected, a site
    with none, one with the same prices and no carbon, one whose carbon provider never
    collected, a flexible load planned and one with too little stored, retention runs (one
    with an alert, one of a view), an alert of a condition, an archive object, two registry
    entities (the fridge's first day downsampled to hourly rows), an archive folder, rows of
    each view, a beat and a worker alive, a schedule the beat leaves out and one disabled,
    two days of storage metrics; a signed-in client (a read-only user's, as Home Assistant's)."""
    settings.ARCHIVE_LOCAL_DIR, settings.S3_ARCHIVE_BUCKET = tmp_path / "archive", ""
    configs.airnow(collected, replay_server.url)
    # /api/enrichment/current's other providers' shapes: a budget that cannot be read, an
    # OAuth connection (none yet) of a config that cannot be collected.
    carbon = ProviderConfig.objects.get(site=collected, source="carbon_intensity")
    carbon.options = {**carbon.options, "budget": "lots"}
    carbon.save()
    ProviderConfig.objects.create(site=collected, source="occupancy", provider="google_calendar")
    bare = Site.objects.create(name="Bare", latitude=52.5, longitude=13.4)
    # Twyford's stored prices, no carbon: a plan on price alone.
    priced = Site.objects.create(name="Priced", latitude=51.48, longitude=-0.86,
                                 timezone="Europe/London", pricing_region="C")  # fmt: skip
    ProviderConfig.objects.create(site=priced, source="electricity_pricing", provider="octopus",
                                  options={"base_url": replay_server.url})  # fmt: skip
    # A carbon provider never collected: no carbon series, the reason why.
    uncollected = Site.objects.create(name="Uncollected", latitude=51.48, longitude=-0.86)
    ProviderConfig.objects.create(site=uncollected, source="carbon_intensity",
                                  provider="uk_carbon_intensity")  # fmt: skip
    FlexibleLoad.objects.create(site=collected, name="Dishwasher", hours=2, deadline="07:00")
    # One no plan fits: its next deadline (07:00 on 3 May) lies past the stored prices.
    FlexibleLoad.objects.create(site=collected, name="Laundry", hours=24, deadline="07:00")
    started = NOW - timedelta(hours=2)
    run = RetentionRun.objects.create(
        operation="downsample_hourly", status="ok", started=started, finished=NOW,
        duration_seconds=3.5, records_processed=120, details={"entities": 1},
    )  # fmt: skip
    failed = RetentionRun.objects.create(
        operation="archive", status="failed", started=started, errors="S3 refused"
    )
    Alert.objects.create(run=failed, kind="failed", message="S3 refused")
    Alert.objects.create(kind="gone_from_ha", message="sensor.old is gone", sent=NOW,
                         delivery_error="the webhook refused it", cleared=NOW)  # fmt: skip
    ArchiveObject.objects.create(
        key="archives/2024/data_2024-03-01.parquet", target="local", start_date=date(2024, 3, 1),
        end_date=date(2024, 3, 1), record_count=24, file_size=2048, checksum="0" * 64,
        compression="snappy", created=NOW,
    )  # fmt: skip
    RetentionRun.objects.create(operation="view_refresh", status="ok", started=started,
                                details={"view": "daily_carbon_summary"})  # fmt: skip
    Entity.objects.create(entity_id="sensor.fridge_power", kind="power", layout="official",
                          measurement="W", unit="W", area="Kitchen")  # fmt: skip
    settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = settings.INFLUXDB_DATABASE
    fridge = [Reading("W", {"value": watts}, NOW - timedelta(days=1, hours=hour),
                      {"domain": "sensor", "entity_id": "fridge_power"})
              for hour, watts in ((20, 80.0), (10, 1.5), (3, 95.0))]  # fmt: skip
    get_timeseries().write(settings.INFLUXDB_DATABASE, fridge)
    # The first of its days held as hourly rows: a series of raw points and tier rows.
    assert tiers.downsample_hourly(date(2026, 4, 29), date(2026, 4, 30)).status == "ok"
    # A row of each view, one of them with every value that can be null null.
    stored.DailyEnergyByDevice.objects.create(
        entity_id="sensor.fridge_power", date=date(2026, 4, 29), total_kwh=1.2, avg_power=50.0,
        peak_power=95.0, cost=0.3, currency="GBP", cost_source="price_slots", source_points=3,
    )  # fmt: skip
    stored.DailyEnergyByDevice.objects.create(
        entity_id="sensor.oven_power", date=date(2026, 4, 29), total_kwh=0.0, cost_source="none",
        partial=True,
    )  # fmt: skip
    stored.HourlyRoomActivity.objects.create(
        area="Kitchen", hour=NOW - timedelta(hours=3), day_of_week=4, motion_count=2,
        occupancy_rate=0.5,
    )  # fmt: skip
    stored.DailyCarbonSummary.objects.create(
        date=date(2026, 4, 29), region="South England", avg_carbon=150.0, min_carbon=90.0,
        max_carbon=210.0, avg_renewable=40.0, source_points=48,
    )  # fmt: skip
    stored.DailyCarbonSummary.objects.create(date=date(2026, 4, 30), region="South England")
    stored.ViewState.objects.create(view="daily_carbon_summary", last_refreshed=NOW, watermark=NOW)
    # /api/processes/: a beat and a worker alive, a task on a crontab whose zone this host
    # cannot load, one of enrich's own entries disabled in the admin.
    alive.record_beat(host="beat-host", pid=1)
    alive.record_worker("collectors@host", ["collectors"])
    away = CrontabSchedule.objects.create(minute="5", hour="*", timezone="UTC")
    PeriodicTask.objects.create(name="Hourly away", task="enrich.check_services", crontab=away)
    store_zone(away, "Mars/Base")
    PeriodicTask.objects.create(name=min(ENTRY_NAMES), task="enrich.check_services",
                                crontab=away, enabled=False)  # fmt: skip
    # /retention/metrics: today's point as the daily task writes it, yesterday's all measured.
    record_metrics()
    sizes = dict.fromkeys(SERIES_UNITS, 1024)
    yesterday = floor_day(datetime.now(UTC)) - timedelta(days=1)
    measured = {**sizes, "reduction_percentage": 12.5}
    get_timeseries().write(
        settings.INFLUXDB_DATABASE, [Reading(METRICS_MEASUREMENT, measured, yesterday)]
    )
    odd = Entity.objects.create(entity_id="sensor.odd", kind="power", layout="", measurement="W")
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("home-assistant"))
    filled = {"run": run.pk, "bare": bare.pk, "priced": priced.pk, "odd": odd.entity_id,
              "uncollected": uncollected.pk, "site": collected.pk}  # fmt: skip
    return client, filled


def asked(client, document: dict, cases: dict, filled: dict) -> list[str]:
    wrong = []
    for path, queries in cases.items():
        for query, status in queries:
            answer = client.get(url(path, query, filled))
            where = f"GET {url(path, query, filled)}"
            if answer.status_code != status:
                wrong.append(f"{where}: asked for a {status}, got {answer.status_code}")
            elif said := mismatch(document, path, answer):
                wrong.append(f"{where}: {said}")
    return wrong


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


def first_answers(status: int, but: dict[str, int]) -> dict:
    """Each GET's first query, asked for `status` (`but`: another for the paths named)."""
    return {path: [(queries[0][0], but.get(path, status))] for path, queries in ASKED.items()}


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


def refused(answer, parameter: dict) -> bool:
    """Whether `answer` is a 400 naming the parameter (JSON, or the docs page's plain text),
    or for a part of the path that names one of a list a 404 (an unknown view's)."""
    name = parameter["name"]
    if "enum" in parameter["schema"] and parameter["in"] == "path":
        return answer.status_code == 404
    if answer.status_code != 400:
        return False
    if answer["Content-Type"].startswith("text/plain"):
        return answer.content.decode().startswith(f"{name}: ")
    return name in yaml.safe_load(answer.content)  # JSON, or the schema's YAML


def limits(schema: dict) -> list[tuple[str, bool]]:
    """(value, refused) of what a parameter's schema lets through and what it does not: each
    enum value and one outside, true, false and one neither, a number's declared edges and
    just past them (an integer's past the largest id with no maximum declared)."""
    kind = schema.get("type")
    if "enum" in schema:
        return [(value, False) for value in schema["enum"]] + [("zz-none-of-them", True)]
    if kind == "boolean":
        return [("true", False), ("false", False), ("maybe", True)]
    if kind not in ("integer", "number"):
        return []
    step = 1 if kind == "integer" else 1 / 120  # half a minute below the shortest `hours`

    def written(value) -> str:
        return str(value) if kind == "integer" else f"{value:.16g}"

    said = [("1.5", True)] if kind == "integer" else []
    if (low := schema.get("minimum")) is not None:
        if schema.get("exclusiveMinimum"):
            said.append((written(low), True))
        else:
            said += [(written(low), False), (written(low - step), True)]
    if (high := schema.get("maximum")) is not None:
        said += [(written(high), False), (written(high + step), True)]
    else:
        said.append((str(2**63) if kind == "integer" else "1" + "0" * 300, False))
    return said


# The probes' own base query where a parameter's declared maximum holds only with another
# given (docs/api.md: `hours` at most `within`, and on /api/plan at most 24 without `before`),
# or only on one of the views.
EDGES = {
    "/api/pricing/windows": "?hours=1&within=366d&site={site}",
    "/api/plan": "?hours=1&before=2199-01-01T00:00:00Z&site={site}",
    "/api/views/{name}": "hourly_room_activity",  # the view `day_of_week` filters
}


def test_each_parameter_s_declared_type_and_limits_are_those_the_endpoint_reads(install):
    """A value outside a parameter's declared type, enum, minimum or maximum is a 400 naming
    it; an enum value or a boolean the schema lists is taken; a number with no declared
    maximum is not refused for its size (the schema would call a refused request valid)."""
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    wrong = []
    for path, queries in ASKED.items():
        base = EDGES.get(path) or next(query for query, status in queries if status == 200)
        for parameter in document["paths"][path]["get"].get("parameters", []):
            name = parameter["name"]
            for value, refuse in limits(parameter["schema"]):
                if parameter["in"] == "path":
                    where = path.replace(f"{{{name}}}", value)
                    if "{" in where:  # the view's name: its rows' base query
                        where = where.replace("{run_id}", str(filled["run"]))
                else:
                    base_path = url(path, base, filled)
                    kept = [p for p in base_path.partition("?")[2].split("&") if p and
                            not p.startswith(f"{name}=")]  # fmt: skip
                    where = base_path.partition("?")[0] + "?" + "&".join(kept + [f"{name}={value}"])
                answer = client.get(where)
                if refused(answer, parameter) != refuse:
                    said = "refused" if refuse else "taken"
                    wrong.append(f"GET {where}: the schema says {said}, answered "
                                 f"{answer.status_code} {answer.content[:200]!r}")  # fmt: skip
    assert not wrong, "\n".join(wrong)
