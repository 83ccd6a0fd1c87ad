"""The collector pipeline end to end: real PostgreSQL, Redis, InfluxDB and a replayed API.

AirNow stands in for any provider: the pipeline only sees the adapter contract.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline, tasks
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from enrich.redis.client import get_redis
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH, inside_an_hour, observed_in
from tests.support import configs

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]
NOW = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)  # the fixture's observation is 10:00Z
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def airnow_config(replay_server):
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    return configs.airnow(site, replay_server.url, api_key="AIRNOW-KEY-123", interval_seconds=3600)


def ok_answer(server):
    server.add(
        "GET", AIRNOW_CURRENT_PATH, json=server.load_fixture("airnow/observation_current.json")
    )


def stored_points(ts, database):
    return list(ts.query(database, 'SELECT * FROM "air_quality" GROUP BY *'))


def test_fetch_writes_the_data_with_its_own_timestamps_and_records_the_run(
    isolated, settings, airnow_config, replay_server
):
    ok_answer(replay_server)
    outcome = pipeline.collect(airnow_config, now=NOW)
    assert outcome.status == "ok" and outcome.points_written > 0
    rows = stored_points(isolated, settings.INFLUXDB_DATABASE)
    assert len(rows) == outcome.points_written
    assert {r.time for r in rows} == {datetime(2026, 10, 8, 10, 0, tzinfo=UTC)}
    overall = [r for r in rows if r.tags["parameter"] == "overall"]
    assert len(overall) == 1 and overall[0].tags["provider"] == "airnow"
    run = CollectorRun.objects.get()
    assert (run.status, run.points_written, run.target) == (
        "ok",
        outcome.points_written,
        "47.60,-122.33",
    )
    assert run.error == "" and run.started == NOW


def test_rerun_overwrites_instead_of_duplicating(isolated, settings, airnow_config, replay_server):
    ok_answer(replay_server)
    first = pipeline.collect(airnow_config, now=NOW)
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # force a second call
    second = pipeline.collect(airnow_config, now=NOW + timedelta(minutes=5))
    assert first.status == second.status == "ok"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2
    assert len(stored_points(isolated, settings.INFLUXDB_DATABASE)) == first.points_written


def test_fresh_cache_means_no_call(isolated, airnow_config, replay_server):
    moment = inside_an_hour()
    hour = moment.replace(minute=0, second=0, microsecond=0)
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=observed_in(replay_server, hour))
    pipeline.collect(airnow_config, now=moment)
    outcome = pipeline.collect(airnow_config, now=moment + timedelta(seconds=1))
    assert outcome.status == "cached"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1
    assert list(CollectorRun.objects.values_list("status", flat=True)) == ["cached", "ok"]


def test_failure_serves_last_good_marked_stale_and_writes_nothing(
    isolated, settings, airnow_config, replay_server, caplog
):
    ok_answer(replay_server)
    earlier = datetime.now(UTC) - timedelta(hours=2)  # older than the 1 h TTL
    pipeline.collect(airnow_config, now=earlier)
    before = len(stored_points(isolated, settings.INFLUXDB_DATABASE))
    replay_server.reset()
    replay_server.add("GET", AIRNOW_CURRENT_PATH, status=503, body="upstream down")
    with caplog.at_level(logging.ERROR, logger="collectors"):
        outcome = pipeline.collect(airnow_config)
    assert outcome.status == "failed" and outcome.transient
    assert "last good answer from" in outcome.served and "stale" in outcome.served
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2  # 1 + HTTP_MAX_RETRIES
    assert len(stored_points(isolated, settings.INFLUXDB_DATABASE)) == before
    [message] = [
        r.getMessage()
        for r in caplog.records
        if r.name == "collectors" and r.levelno >= logging.ERROR
    ]
    assert "air_quality/airnow 47.60,-122.33 failed: TransientError" in message
    assert "served last good answer" in message
    assert "AIRNOW-KEY-123" not in caplog.text
    run = CollectorRun.objects.filter(status="failed").get()
    assert "TransientError" in run.error and run.points_written == 0


@pytest.mark.parametrize(
    ("fixture", "said"),
    [
        ("web_service_error_no_data.json", "No data was found for the requested location"),
        ("observation_empty.json", "AirNow returned no observations for 47.60,-122.33"),
    ],
)
def test_no_data_says_why_on_the_run_record(
    isolated, settings, airnow_config, replay_server, fixture, said
):
    """AirNow answering that it has nothing here writes nothing, keeps the last good answer,
    and the run record (admin, status page's last_run) says what AirNow said."""
    ok_answer(replay_server)
    pipeline.collect(airnow_config, now=NOW)
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:cache:*"):
        get_redis().delete(key)  # the next hour's fetch
    replay_server.reset()
    body = replay_server.load_fixture(f"airnow/{fixture}")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=body)

    outcome = pipeline.collect(airnow_config, now=NOW + timedelta(hours=1))

    assert (outcome.status, outcome.points_written) == ("no_data", 0)
    assert "last good answer from" in outcome.served
    run = CollectorRun.objects.filter(status="no_data").get()
    assert said in run.error


@pytest.mark.parametrize(
    ("fixture", "said"),
    [
        ("web_service_error_no_data.json",
         "AirNow has no current observation: No data was found for the requested location"),
        ("observation_empty.json", "AirNow returned no observations for 47.60,-122.33"),
    ],
)  # fmt: skip
def test_no_data_is_logged_once(isolated, airnow_config, replay_server, caplog, fixture, said):
    """One line says the API had no data, and what it said, once."""
    body = replay_server.load_fixture(f"airnow/{fixture}")
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=body)

    with caplog.at_level(logging.INFO):
        outcome = pipeline.collect(airnow_config, now=NOW)

    assert outcome.status == "no_data"
    assert [r.getMessage() for r in caplog.records if said in r.getMessage()] == [
        f"collect: air_quality/airnow 47.60,-122.33: the API had no data ({said})"
    ]
    assert said in CollectorRun.objects.get().error


def test_permanent_failure_is_not_retried_and_says_what_to_do(
    isolated, airnow_config, replay_server
):
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        status=401,
        json=replay_server.load_fixture("airnow/web_service_error_invalid_key.json"),
    )
    outcome = pipeline.collect(airnow_config, now=NOW)
    assert outcome.status == "failed" and not outcome.transient
    assert len(replay_server.calls()) == 1
    assert "AuthError" in outcome.error and "nothing (no earlier answer)" == outcome.served


def test_used_up_budget_skips_the_call_and_serves_the_cache(
    isolated, airnow_config, replay_server, caplog
):
    ok_answer(replay_server)
    airnow_config.options = {**airnow_config.options, "budget": "1/hour"}
    airnow_config.save()
    pipeline.collect(airnow_config, now=datetime.now(UTC) - timedelta(hours=2))
    with caplog.at_level(logging.WARNING, logger="collectors"):
        outcome = pipeline.collect(airnow_config)
    assert outcome.status == "budget"
    assert len(replay_server.calls()) == 1
    assert "API budget 1/3600s used up" in caplog.text
    assert outcome.served.startswith("last good answer from")


@pytest.mark.parametrize("budget", ["lots", 123, 1.5, True, ["100/day"], {"n": 100}, "١٠٠/day"])
def test_bad_budget_option_is_a_clear_configuration_failure(
    isolated, airnow_config, replay_server, budget
):
    # Not text (a number, a list) was an AttributeError out of collect; digits are 0-9.
    airnow_config.options = {**airnow_config.options, "budget": budget}
    airnow_config.save()
    outcome = pipeline.collect(airnow_config, now=NOW)
    assert outcome.status == "failed"
    assert "options.budget" in outcome.error and repr(budget) in outcome.error
    assert replay_server.calls() == []


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400", "9" * 400])
def test_a_number_no_double_holds_fails_the_run_naming_the_field(
    isolated, settings, airnow_config, replay_server, token
):
    # Python's JSON reads NaN and Infinity; a 400-digit integer was an OverflowError out of
    # collect (no run recorded), the others failed the write naming InfluxDB's field.
    body = json.dumps(replay_server.load_fixture("airnow/observation_current.json"))
    body = body.replace('"nowcastAQI": 62', f'"nowcastAQI": {token}', 1)
    assert token in body
    replay_server.add("GET", AIRNOW_CURRENT_PATH, body=body, headers=JSON)
    outcome = pipeline.collect(airnow_config, now=NOW)
    assert outcome.status == "failed" and not outcome.transient
    assert "MalformedResponse" in outcome.error
    assert "observation 0: field 'nowcastAQI' should be a finite number" in outcome.error
    assert stored_points(isolated, settings.INFLUXDB_DATABASE) == []
    assert CollectorRun.objects.get().status == "failed"


def test_a_name_no_tag_can_hold_leaves_out_its_points_only(
    isolated, settings, airnow_config, replay_server, caplog
):
    # A name from the provider's side (here AirNow's reporting area of the ozone monitor) is
    # a tag; ending in a backslash it cannot be written. The whole batch was refused, every
    # run: the site's air quality was lost until AirNow renamed the area.
    answer = replay_server.load_fixture("airnow/observation_current.json")
    ozone = next(o for o in answer if o["parameterName"] == "O3")
    ozone["reportingAreaName"] = "Seattle\\"
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    with caplog.at_level(logging.WARNING, logger="collectors"):
        outcome = pipeline.collect(airnow_config, now=NOW)
    rows = stored_points(isolated, settings.INFLUXDB_DATABASE)
    assert sorted(r.tags["parameter"] for r in rows) == ["PM10", "PM2.5", "overall"]
    assert (outcome.status, outcome.points_written) == ("ok", 3)
    said = "left out 1 point whose tag location='Seattle\\\\' (a backslash at its end"
    assert said in outcome.error and said in CollectorRun.objects.get().error
    assert said in caplog.text


def test_when_every_point_has_such_a_name_the_run_fails_naming_it(
    isolated, settings, airnow_config, replay_server
):
    answer = replay_server.load_fixture("airnow/observation_current.json")
    for observation in answer:
        observation["reportingAreaName"] = "Seattle\nBellevue"
    replay_server.add("GET", AIRNOW_CURRENT_PATH, json=answer)
    outcome = pipeline.collect(airnow_config, now=NOW)
    assert (outcome.status, outcome.points_written, outcome.transient) == ("failed", 0, False)
    assert "left out 4 points whose tag location='Seattle\\nBellevue' (a line break)" in (
        outcome.error
    )
    assert stored_points(isolated, settings.INFLUXDB_DATABASE) == []


def test_influxdb_down_mid_run_loses_nothing_and_is_recorded(
    isolated, settings, airnow_config, replay_server
):
    from enrich.influx import reset_timeseries

    ok_answer(replay_server)
    influxdb = settings.INFLUXDB_URL
    settings.INFLUXDB_URL, settings.INFLUXDB_TIMEOUT = "http://127.0.0.1:9", 1.0
    reset_timeseries()
    try:
        outcome = pipeline.collect(airnow_config, now=NOW)
    finally:
        reset_timeseries()
    assert outcome.status == "failed" and outcome.transient
    assert "InfluxUnavailable" in outcome.error
    # Nothing was cached as fresh: the next run fetches and writes again.
    settings.INFLUXDB_URL = influxdb
    assert pipeline.collect(airnow_config, now=NOW).status == "ok"


def test_backfill_window_reaches_back_to_the_last_success(isolated, airnow_config):
    from collectors.registry import adapter_for

    adapter = adapter_for("air_quality", "airnow")
    target = pipeline.target_for(airnow_config)
    last_ok = NOW - timedelta(hours=5)
    CollectorRun.objects.create(
        source="air_quality", provider="airnow", target=target.key, started=last_ok, status="ok"
    )
    window = pipeline._window(airnow_config, target, NOW)
    if adapter.history is None:  # AirNow keeps no history: the usual interval
        assert window.start == NOW - timedelta(seconds=3600)
    adapter_cls = type(adapter)
    original = adapter_cls.history
    try:
        adapter_cls.history = timedelta(hours=3)
        window = pipeline._window(airnow_config, target, NOW)
        assert window.start == NOW - timedelta(hours=3)  # as far as the API keeps history
        adapter_cls.history = timedelta(days=1)
        window = pipeline._window(airnow_config, target, NOW)
        assert window.start == last_ok
    finally:
        adapter_cls.history = original


def test_dispatch_makes_one_call_per_target_not_per_site(isolated, airnow_config, replay_server):
    for n in range(5):  # five neighbours in the same place
        site = Site.objects.create(name=f"neighbour {n}", latitude=47.6049, longitude=-122.3301)
        configs.airnow(site, replay_server.url)
    far = Site.objects.create(name="far", latitude=40.0, longitude=-105.0)
    configs.airnow(far, replay_server.url)
    chosen = tasks.configs_by_target("air_quality")
    assert sorted(key for _, key in chosen) == ["40.00,-105.00", "47.60,-122.33"]


def test_dispatch_records_a_bad_site_and_keeps_the_others(isolated, airnow_config):
    bad = Site.objects.create(name="nowhere", latitude=0, longitude=0)
    ProviderConfig.objects.create(site=bad, source="air_quality", provider="airnow", api_key="k")
    chosen = tasks.configs_by_target("air_quality")
    assert [key for _, key in chosen] == ["47.60,-122.33"]
    run = CollectorRun.objects.get(status="failed")
    assert "no usable coordinates" in run.error and run.target == f"site:{bad.pk}"


def test_dispatch_records_a_site_whose_options_are_no_object_and_keeps_the_others(
    isolated, airnow_config
):
    # Written past the admin's form (which refuses them): a ValueError stopped the dispatch of
    # every site of the source.
    odd = Site.objects.create(name="odd", latitude=40.0, longitude=-105.0)
    config = ProviderConfig.objects.create(site=odd, source="air_quality", provider="airnow",
                                           api_key="k")  # fmt: skip
    ProviderConfig.objects.filter(pk=config.pk).update(options="not an object")
    chosen = tasks.configs_by_target("air_quality")
    assert [key for _, key in chosen] == ["47.60,-122.33"]
    run = CollectorRun.objects.get(status="failed")
    assert run.target == f"site:{odd.pk}"
    assert run.error.startswith('options must be a JSON object, not "not an object"')


def test_an_answer_about_to_expire_does_not_skip_the_next_cycle(
    isolated, airnow_config, replay_server
):
    """Beat runs a source about one TTL apart: an answer expiring within the slack is refetched."""
    ok_answer(replay_server)
    ttl = 3600  # air quality
    pipeline.collect(airnow_config, now=datetime.now(UTC) - timedelta(seconds=ttl - 20))
    outcome = pipeline.collect(airnow_config)
    assert outcome.status == "ok"
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 2


def test_a_secret_no_key_decrypts_fails_only_its_own_site(
    isolated, settings, airnow_config, replay_server
):
    ok_answer(replay_server)
    valid_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "bG9zdC1rZXktbG9zdC1rZXktbG9zdC1rZXktbG9zdC0="  # since lost
    lost = ProviderConfig.objects.create(
        site=Site.objects.create(name="Denver", latitude=39.74, longitude=-104.99),
        source="air_quality",
        provider="airnow",
        api_key="KEY-SAVED-WITH-A-LOST-KEY",
        options={"base_url": replay_server.url},
    )
    settings.FIELD_ENCRYPTION_KEY = valid_key

    chosen = tasks.configs_by_target("air_quality")  # loading every site's row works
    assert list(chosen.values()) == [airnow_config]
    assert pipeline.collect(airnow_config, now=NOW).status == "ok"
    failed = CollectorRun.objects.get(status="failed")
    assert (failed.provider, failed.target) == ("airnow", f"site:{lost.site_id}")
    assert failed.error == (
        "FIELD_ENCRYPTION_KEY cannot decrypt enrich.ProviderConfig.api_key of "
        f"Denver · air quality · airnow (id {lost.pk}); re-enter the secret in the admin, or "
        "add the key it was saved with to FIELD_ENCRYPTION_KEY (comma-separated, newest first)."
    )
    # A collect already queued for it fails the same way, calling nothing.
    outcome = pipeline.collect(ProviderConfig.objects.get(pk=lost.pk), now=NOW)
    assert outcome.status == "failed" and "cannot decrypt" in outcome.error
    assert len(replay_server.calls("GET", AIRNOW_CURRENT_PATH)) == 1
