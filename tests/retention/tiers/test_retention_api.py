"""POST /retention/downsample-hourly and /retention/downsample-daily against the real services:
auth, 400s naming the parameter, and runs and dry runs queued to a real Celery worker and
followed at their poll URL."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from retention.entities.ha_source import count_samples
from retention.models import RetentionRun, TierChunk
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support import worker as support
from tests.support.api import assert_400_naming_only, token_client

pytestmark = pytest.mark.influxdb

HOURLY = "/retention/downsample-hourly"
DAILY = "/retention/downsample-daily"
D0 = T0.date()
DAY = timedelta(days=1)


@pytest.fixture
def client(db):
    return token_client("ha-api", staff=True)  # the retention triggers need staff


@pytest.mark.django_db
def test_authentication_is_required():
    for url in (HOURLY, DAILY):
        assert APIClient().post(url, {"dry_run": True}, format="json").status_code == 401
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize(
    ("url", "body", "parameter", "message"),
    [
        (
            HOURLY,
            {"start": "2024-13-01"},
            "start",
            "'2024-13-01' is not valid: expected a date that exists (a month from 01 to 12)",
        ),
        (
            HOURLY,
            {"end": "yesterday"},
            "end",
            "'yesterday' is not valid: expected a date as YYYY-MM-DD",
        ),
        (HOURLY, {"start": "2024-03-05", "end": "2024-03-04"}, "end", "must be after start"),
        (HOURLY, {"start": "2024-03-05", "end": "2024-03-05"}, "end", "end is exclusive"),
        (HOURLY, {"dry_run": "maybe"}, "dry_run", "'maybe' is not valid: expected true or false"),
        (DAILY, {"start": "2024-03-04", "dry_run": 3}, "dry_run", "expected true or false"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, url, body, parameter, message):
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert message in str(response.json()[parameter])
    assert not RetentionRun.objects.exists()


def test_end_beyond_the_horizon_is_refused_with_the_rule(client):
    today = datetime.now(UTC).date()
    response = client.post(HOURLY, {"end": str(today)}, format="json")
    assert response.status_code == 400
    assert "only raw data older than 7 days" in response.json()["end"]
    response = client.post(DAILY, {"start": str(today - timedelta(days=30))})  # a form body
    assert response.status_code == 400
    assert "only hourly data older than 90 days" in response.json()["start"]


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.mark.parametrize("url", [HOURLY, DAILY])
@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        ("dry_run=", FORM, "given empty"),
        ('{"dry_run": ""}', JSON, "given empty"),
        ('{"dry_run": null}', JSON, "given as null"),
        ('{"start": "2024-03-04", "dry_run": ""}', JSON, "given empty"),
    ],
)
def test_an_empty_or_null_dry_run_is_a_400_not_a_real_run(client, url, body, content_type, said):
    # An empty dry_run was read as false: a real run, which deletes raw points once tiered.
    response = client.post(url, body, content_type=content_type)
    assert_400_naming_only(response, "dry_run", f"{said}: send true or false")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("url", [HOURLY, DAILY])
@pytest.mark.parametrize(
    ("body", "content_type", "name", "said"),
    [
        ('{"start": null, "dry_run": true}', JSON, "start", "given as null"),
        ('{"start": "", "end": "2024-03-05"}', JSON, "start", "given empty"),
        ("start=&dry_run=true", FORM, "start", "given empty"),
        ('{"start": "2024-03-04", "end": null}', JSON, "end", "given as null"),
        ("end=%20", FORM, "end", "given empty"),
    ],
)
def test_an_empty_or_null_start_or_end_is_a_400_not_the_whole_history(
    client, url, body, content_type, name, said
):
    # Read as left out: a run (or dry run) over all the data older than the horizon.
    response = client.post(url, body, content_type=content_type)
    assert_400_naming_only(response, name, f"{said}: send a day as YYYY-MM-DD (leaving {name} out")
    assert not RetentionRun.objects.exists()


@pytest.mark.parametrize("url", [HOURLY, DAILY])
@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("dry_run=true&dry_run=false", "dry_run"),
        ("dry_run=true&start=2024-03-01&start=2024-03-02&start=2024-03-03", "start"),
    ],
)
def test_a_form_field_given_more_than_once_is_a_400_naming_it(client, url, body, name):
    # The last value won: dry_run=true&dry_run=false started a real run.
    response = client.post(url, body, content_type=FORM)
    times = body.count(f"{name}=")
    assert_400_naming_only(response, name, f"given {times} times: give it once.")
    assert not RetentionRun.objects.exists()


def test_a_multipart_field_given_twice_is_a_400_naming_it(client):
    response = client.post(HOURLY, {"dry_run": ["true", "false"]}, format="multipart")
    assert_400_naming_only(response, "dry_run", "given 2 times: give it once.")
    assert not RetentionRun.objects.exists()


def worker_env(settings) -> dict[str, str]:
    return {
        "HA_INFLUXDB_DATABASE": settings.HA_INFLUXDB_DATABASE,
        "TIER_DATABASE": settings.TIER_DATABASE,
        "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
    }


@pytest.mark.django_db(transaction=True)
def test_dry_run_is_queued_reports_what_would_happen_and_changes_nothing(ha_db, settings):
    """A dry run reads every entity's points of every day due: a worker does it."""
    api = token_client("ha-dry", staff=True)
    entity = ha_db.write_entity(
        "official", "sensor.iron_power", [(n * 60, n) for n in range(50)], unit="W"
    )
    entity.save()
    with support.celery_worker("tiers-dry", **worker_env(settings)) as worker:
        response = api.post(
            HOURLY, {"start": str(D0), "end": str(D0 + DAY), "dry_run": True}, format="json"
        )
        assert response.status_code == 202
        answer = response.json()
        assert answer["status"] == "queued" and answer["dry_run"] is True
        run = support.followed(api, answer, worker)
    assert run["status"] == "dry_run" and run["records_processed"] == 50
    report = run["details"]
    assert report["entities"] == ["sensor.iron_power"]
    assert report["days"] == [{"day": str(D0), "raw_points": 50}]
    assert report["would_delete_points"] == 50 and report["source_points"] == 50
    if report["source_bytes"]:
        assert report["bytes_per_point"] == pytest.approx(report["source_bytes"] / 50)
    assert report["dry_run"] is True and report["queued_by"] == "ha-dry"
    assert count_samples(entity, T0, T0 + DAY) == 50
    assert not TierChunk.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_dry_runs_on_a_fresh_install_report_the_first_run_and_create_nothing(ha_db, settings):
    """No tier retention policy yet (the first real run creates them). Before, the daily dry
    run's poll said failed: "retention policy not found: enrich_hourly"."""
    from enrich.influx import get_timeseries

    api = token_client("ha-fresh", staff=True)
    ha_db.write_entity("official", "sensor.kettle_power", [(0, 2000), (120, 0)], unit="W").save()
    creates = [f"{ha_db.name}/enrich_hourly", f"{ha_db.name}/enrich_daily"]
    with support.celery_worker("tiers-fresh", **worker_env(settings)) as worker:
        daily = support.followed(api, api.post(DAILY, {"dry_run": True}).json(), worker)
        body = {"start": str(D0), "end": str(D0 + DAY), "dry_run": True}
        hourly = support.followed(api, api.post(HOURLY, body).json(), worker)
    assert (daily["status"], daily["errors"]) == ("dry_run", "")
    assert (daily["details"]["days"], daily["details"]["hourly_rows"]) == ([], 0)
    assert daily["details"]["creates_retention_policies"] == creates
    assert daily["details"]["days_in_range"] == 0
    assert hourly["status"] == "dry_run" and hourly["records_processed"] == 2
    assert hourly["details"]["creates_retention_policies"] == creates
    report = hourly["details"]
    assert (report["days_in_range"], report["days_with_nothing"]) == (1, 0)
    assert "nothing_tiered" not in report and "nothing_tiered" not in daily["details"]
    assert [p.name for p in get_timeseries().retention_policies(ha_db.name)] == ["autogen"]
    assert not TierChunk.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_refused_by_a_retention_policy_says_why(ha_db, settings):
    from enrich.influx import get_timeseries, quote_ident

    get_timeseries().execute(
        None, f"ALTER RETENTION POLICY autogen ON {quote_ident(ha_db.name)} DURATION 7d"
    )
    api = token_client("ha-refused", staff=True)
    with support.celery_worker("tiers-refused", **worker_env(settings)) as worker:
        response = api.post(DAILY, {"dry_run": "true"})
        assert response.status_code == 202
        run = support.followed(api, response.json(), worker)
    assert run["status"] == "failed"
    assert "Retention policy 'autogen'" in run["errors"] and "DURATION INF" in run["errors"]


@pytest.mark.django_db(transaction=True)
def test_a_dry_run_warns_of_a_raw_policy_short_of_a_week_of_failed_nights(ha_db, settings):
    """A 9-day raw policy passes the check (RETENTION_RAW_DAYS=7 + a day + the margin) but two
    failed nights lose points: the poll said nothing of it."""
    from enrich.influx import get_timeseries, quote_ident

    ha_db.write_entity("official", "sensor.grill_power", [(0, 900), (60, 0)], unit="W").save()
    get_timeseries().execute(  # after the write: InfluxDB refuses points older than 9 days
        None, f"ALTER RETENTION POLICY autogen ON {quote_ident(ha_db.name)} DURATION 9d"
    )
    api = token_client("ha-slack", staff=True)
    body = {"start": str(D0), "end": str(D0 + DAY), "dry_run": True}
    with support.celery_worker("tiers-slack", **worker_env(settings)) as worker:
        run = support.followed(api, api.post(HOURLY, body).json(), worker)
    assert (run["status"], run["records_processed"]) == ("dry_run", 2)
    [warning] = run["details"]["warnings"]
    assert warning.startswith("Retention policy 'autogen' of ") and "keeps data 9d" in warning
    assert "but 1 failed night (InfluxDB down," in warning
    assert warning.endswith("or to at least 16d to allow for 7 failed nights.")


@pytest.mark.django_db(transaction=True)
def test_queued_run_is_202_and_a_real_worker_executes_it(ha_db, settings):
    api = token_client("ha-worker", staff=True)
    entity = ha_db.write_entity("ingestor", "sensor.dryer_power", [(0, 700), (5400, 0)], unit="W")
    entity.save()
    with support.celery_worker("tiers-api", **worker_env(settings)) as worker:
        response = api.post(HOURLY, {"start": str(D0), "end": str(D0 + DAY)}, format="json")
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "queued" and body["task_id"]
        assert (body["start"], body["end"]) == (str(D0), str(D0 + DAY))
        run = RetentionRun.objects.get(pk=body["run_id"])
        deadline = time.monotonic() + 60
        while run.status == "running":
            assert time.monotonic() < deadline, support.output(worker)
            time.sleep(0.2)
            run.refresh_from_db()
    assert run.status == "ok", run.errors
    assert (run.records_processed, run.records_deleted) == (2, 2)
    assert run.details["queued_by"] == "ha-worker"
    followed = api.get(body["poll"]).json()  # what the caller sees at the poll URL
    assert (followed["run_id"], followed["status"], followed["records_deleted"]) == (
        run.pk,
        "ok",
        2,
    )
    assert followed["details"]["days"] == [str(D0)]
    rows = read_rows(HOURLY_RP, T0, T0 + DAY, entity.entity_id)[entity.entity_id]
    assert rows[0].fields["avg_value"] == 700 and rows[1].fields["max_value"] == 700
    assert count_samples(entity, T0, T0 + DAY) == 0


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_counts_from_when_a_worker_starts_it(ha_db, settings):
    """A run queued while no worker takes it: past ALERT_MAX_DURATION_SECONDS the overrun says
    it is waiting in the queue (not "running ... may be stuck on InfluxDB"); once a worker
    starts it, `started` is that moment and the queueing time is kept in `queued_at`."""
    from retention.stats.alerts import detect

    api = token_client("ha-queued", staff=True)
    ha_db.write_entity("ingestor", "sensor.kettle_power", [(0, 2000), (600, 0)], unit="W").save()
    response = api.post(HOURLY, {"start": str(D0), "end": str(D0 + DAY)}, format="json")
    assert response.status_code == 202
    answer = response.json()
    run = RetentionRun.objects.get(pk=answer["run_id"])
    queued = run.started

    later = queued + timedelta(seconds=settings.ALERT_MAX_DURATION_SECONDS + 60)
    [alert] = detect(later)
    assert alert.kind == "overrun"
    assert f"Retention operation raw -> hourly (run {run.pk}, queued " in alert.message
    assert "has waited 2 h 1 min in the queue" in alert.message
    assert "no worker has started it" in alert.message

    before_start = datetime.now(UTC)
    with support.celery_worker("tiers-queued", **worker_env(settings)) as worker:
        assert support.followed(api, answer, worker)["status"] == "ok"
    run.refresh_from_db()
    assert run.details["queued_at"] == queued.isoformat()
    assert before_start <= run.started <= run.finished
