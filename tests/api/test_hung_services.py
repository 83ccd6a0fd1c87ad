"""A Redis or an InfluxDB that takes connections and never answers (a paused container, an
InfluxDB thrashing on a small server), under gunicorn started as the Procfile starts it, with a
short WEB_TIMEOUT: every request gets an answer (a 503 naming the service, or a 200 saying it
does not answer, as for a service that is down; an endpoint queueing a task, the 503 saying the
task could not be queued, its run recorded failed, as for a Redis that refuses connections) and
gunicorn kills no worker.

Each request waited out every call's own timeout: the throttle alone 15 s for a hung Redis
(redis-py's 5 s, three times), each InfluxDB read INFLUXDB_TIMEOUT, far past gunicorn's worker
timeout; gunicorn killed the worker ("WORKER TIMEOUT") and the client's connection dropped."""

from contextlib import nullcontext
from datetime import UTC, date, datetime

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token

from enrich.models import ProviderConfig, Site
from retention.models import ArchiveObject, RetentionRun
from retention.queued import NOT_TAKEN
from tests.support.ports import free_port
from tests.support.proxy import silent_server
from tests.support.web import gunicorn
from tests.support.worker import output

pytestmark = pytest.mark.django_db(transaction=True)

WEB_TIMEOUT = 12  # the least it takes: each hung request ends soon; nothing here is timed
PATHS = ["/api/health/", "/api/enrichment/current", "/api/pricing/slots", "/api/processes/", "/"]
REDIS_DOWN = ("Redis does not answer (it is down, starting, or refuses the connection); try "
              "again later. The server log names the address tried.")  # fmt: skip
INFLUX_DOWN = ("InfluxDB does not answer (it is down, starting or overloaded); try again later. "
               "The server log names the address tried")  # fmt: skip


@pytest.fixture
def caller() -> dict:
    """What a staff user's requests carry: the API token and the session of the status page;
    and a site with a price and a carbon provider."""
    site = Site.objects.create(name="Berlin", latitude=52.5, longitude=13.4,
                               pricing_region="DE", grid_region="DE")  # fmt: skip
    ProviderConfig.objects.create(site=site, source="electricity_pricing", provider="awattar")
    ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                  provider="electricitymaps", api_key="test-em-token")  # fmt: skip
    user = get_user_model().objects.create_user("watcher", is_staff=True)
    browser = Client()
    browser.force_login(user)
    return {
        "headers": {"Authorization": f"Token {Token.objects.create(user=user).key}"},
        "cookies": {"sessionid": browser.cookies["sessionid"].value},
    }


def answered(settings, caller: dict, hung: str) -> dict[str, requests.Response]:
    """Each of PATHS's answers from gunicorn whose service `hung` ("redis", "influxdb") hangs:
    gunicorn killed no worker (a request whose worker it killed raises here: the connection
    dropped); /api/health/ says `hung` alone does not answer; /api/enrichment/current and the
    status page answer."""
    scheme, setting = {"redis": ("redis", "REDIS_URL"), "influxdb": ("http", "INFLUXDB_URL")}[hung]
    with silent_server(scheme) as url:
        env = {"REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, setting: url}
        with gunicorn(WEB_TIMEOUT, **env) as (web, proc):
            answers = {path: requests.get(f"{web}{path}", timeout=120, **caller) for path in PATHS}
            log = output(proc)
    assert "WORKER TIMEOUT" not in log, log
    health = answers["/api/health/"]
    assert health.status_code == 503, health.text
    assert {name: s["ok"] for name, s in health.json()["services"].items()} == {
        "database": True, "redis": hung != "redis", "influxdb": hung != "influxdb",
    }  # fmt: skip
    assert answers["/api/enrichment/current"].status_code == 200
    assert (answers["/"].status_code, "Berlin" in answers["/"].text) == (200, True)
    return answers


def test_a_hung_redis_is_said_in_every_answer(settings, caller):
    answers = answered(settings, caller, "redis")
    sources = answers["/api/enrichment/current"].json()["sources"]
    [carbon] = sources["carbon_intensity"]["providers"]
    assert carbon["message"] == f"the last answer cannot be read: {REDIS_DOWN}"
    [price] = sources["electricity_pricing"]["providers"]
    assert price["budget"]["error"] == f"The API budget of awattar cannot be read: {REDIS_DOWN}"
    slots = answers["/api/pricing/slots"]  # read from InfluxDB, which holds none yet
    assert (slots.status_code, slots.json()["detail"][:25]) == (409, "No awattar prices for DE ")
    processes = answers["/api/processes/"]
    assert (processes.status_code, processes.json()["ok"]) == (200, False), processes.text
    assert "is unavailable: cannot reach Redis at REDIS_URL=[hidden]" in processes.json()["detail"]


def test_a_hung_influxdb_is_said_in_every_answer(settings, caller):
    answers = answered(settings, caller, "influxdb")
    [price] = answers["/api/enrichment/current"].json()["sources"]["electricity_pricing"][
        "providers"
    ]
    assert price["message"] == f"the stored prices cannot be read: {INFLUX_DOWN}; no answer yet"
    slots = answers["/api/pricing/slots"]
    assert (slots.status_code, slots.json()) == (
        503, {"detail": f"The price data cannot be read: {INFLUX_DOWN}."},
    )  # fmt: skip
    assert answers["/api/processes/"].status_code == 200


@pytest.mark.parametrize("redis", ["hung", "refusing"])
def test_a_task_queued_to_a_redis_out_of_reach_is_said_not_queued(settings, caller, redis):
    # Celery's clients waited on a hung broker without end, and its result store retried a
    # Redis out of reach 20 times a second apart: gunicorn killed the worker (or, given the
    # time, a RuntimeError was a 500), the run left "running" for no task.
    refused = nullcontext(f"redis://127.0.0.1:{free_port()}/0")
    with silent_server("redis") if redis == "hung" else refused as url:
        env = {"REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, "REDIS_URL": url}
        with gunicorn(WEB_TIMEOUT, **env) as (web, proc):
            answer = requests.post(f"{web}/retention/downsample-hourly", timeout=120,
                                   json={"start": "2026-01-01", "end": "2026-01-02"},
                                   headers=caller["headers"])  # fmt: skip
            log = output(proc)
    assert "WORKER TIMEOUT" not in log, log
    [run] = RetentionRun.objects.all()
    assert (answer.status_code, answer.json()) == (503, {
        "detail": f"{NOT_TAKEN}. Check that Redis is running, then ask again. Run {run.pk} is "
        "recorded failed; the server log names the address tried and the error.",
    }), answer.text  # fmt: skip
    assert (run.operation, run.status, run.finished is not None) == (
        "downsample_hourly", "failed", True,
    )  # fmt: skip
    assert run.errors.startswith(f"{NOT_TAKEN}: "), run.errors
    [said] = [line for line in log.splitlines() if f"run {run.pk} (" in line]
    assert url.split("/")[2] in said and run.errors in said, log  # the address, the error


def test_a_hung_archive_store_is_said_in_the_storage_figures(settings, caller):
    # /retention/stats lists the archive store: boto3 waited 30 s to read, three tries, and
    # gunicorn killed the worker long before.
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    ArchiveObject.objects.create(key="archives/2022/data_2022-01-01.parquet", bucket="archive",
                                 start_date=date(2022, 1, 1), end_date=date(2022, 12, 31),
                                 record_count=730, file_size=2048, checksum="0" * 64,
                                 compression="zstd", created=moment)  # fmt: skip
    with silent_server() as url:
        env = {"REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX, "S3_ENDPOINT_URL": url,
               "S3_ARCHIVE_BUCKET": "archive", "AWS_ACCESS_KEY": "key",
               "AWS_SECRET_KEY": "secret"}  # fmt: skip
        with gunicorn(WEB_TIMEOUT, **env) as (web, proc):
            answer = requests.get(f"{web}/retention/stats", timeout=120, **caller)
            log = output(proc)
    assert "WORKER TIMEOUT" not in log, log
    assert answer.status_code == 200, answer.text
    archive = answer.json()["archive_size_gb"]
    assert (archive["value"], archive["recorded_bytes"]) == (None, 2048)
    assert archive["reason"].startswith(
        "the archive store could not be listed: Cannot reach the archive store [hidden] while "
        'listing archives/: Read timeout on endpoint URL: "[hidden]"'
    ), archive["reason"]
