"""AQI category memory against the real Redis at REDIS_URL, across calls and OS processes."""

import json
import logging
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from collectors.air_quality.airnow import AirNowAdapter
from collectors.air_quality.categories import memory_key, note_category_change
from collectors.base import Credentials, FetchResult, SiteInfo, Target, Window
from enrich.redis.client import get_redis
from tests.support import log_workers

TARGET = Target("air_quality", "airnow", "47.60,-122.33", {"latitude": 47.6, "longitude": -122.33})
LOGGER = "collectors.air_quality"

# A worker process (tests/support/log_workers.py): notes each observation given as a JSON
# argument and prints the INFO and WARNING records it logged.
WORKER = """
from collectors.air_quality.categories import note_category_change
from collectors.base import FetchResult, Target

wait_for_go()
target = Target("air_quality", "airnow", "47.60,-122.33", {})
for current in args:
    note_category_change(target, FetchResult([], json.loads(current)))
print(json.dumps([r for r in records if r[0] in ("INFO", "WARNING")]))
"""


@pytest.fixture(autouse=True)
def capture(caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)


@pytest.fixture
def prefix(settings):
    """A key prefix of this test alone (also for its worker processes); keys deleted after."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.REDIS_KEY_PREFIX = prefix
    yield prefix
    client = get_redis()
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def current(category: str, aqi: float, hour: int = 10) -> dict:
    return {
        "aqi": aqi,
        "category": category,
        "category_number": 1 if category == "Good" else 2,
        "location": "Seattle-Bellevue-Kent Valley",
        "time": f"2026-10-08T{hour:02d}:00:00+00:00",
        "endpoint": "current",
    }


def note(category: str, aqi: float, hour: int = 10) -> None:
    note_category_change(TARGET, FetchResult([], current(category, aqi, hour)))


def logged(caplog) -> list[tuple[str, str]]:
    return [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name == LOGGER and r.levelno >= logging.INFO
    ]


def run_worker(prefix: str, barrier: str, *observations: dict) -> subprocess.Popen:
    args = [json.dumps(o) for o in observations]
    return log_workers.start(
        WORKER, logger=LOGGER, level="DEBUG", prefix=prefix, barrier=barrier, args=args
    )


def test_first_observation_is_logged_at_info_without_change(prefix, caplog):
    note("Good", 37)

    assert logged(caplog) == [
        ("INFO", "AQI category for Seattle-Bellevue-Kent Valley is Good (AQI 37)")
    ]
    key = memory_key(TARGET)
    assert key == f"{prefix}:aqi_category:airnow:47.60%2C-122.33"
    assert get_redis().hget(key, "category") == "Good"
    assert get_redis().ttl(key) == -1  # no expiry: remembered until the category changes


def test_unchanged_category_logs_nothing(prefix, caplog):
    note("Good", 37, hour=9)
    caplog.clear()
    note("Good", 44, hour=10)
    assert logged(caplog) == []


def test_change_is_logged_once_at_warning_even_when_noted_twice(prefix, caplog):
    note("Good", 37, hour=9)
    caplog.clear()

    note("Moderate", 62, hour=10)
    note("Moderate", 62, hour=10)

    assert logged(caplog) == [
        (
            "WARNING",
            "AQI category changed for Seattle-Bellevue-Kent Valley: Good -> Moderate (AQI 62)",
        )
    ]
    assert get_redis().hget(memory_key(TARGET), "category") == "Moderate"


def test_an_older_observation_does_not_flip_the_category_back(prefix, caplog):
    note("Moderate", 62, hour=10)
    caplog.clear()

    note("Good", 37, hour=9)  # a slow worker's older answer
    note("Moderate", 64, hour=11)

    assert logged(caplog) == []
    assert get_redis().hget(memory_key(TARGET), "category") == "Moderate"


def test_no_data_answers_leave_the_memory_alone(prefix, caplog):
    note("Good", 37)
    caplog.clear()

    no_data = {"no_data": True, "message": "AirNow returned no observations", "time": None}
    note_category_change(TARGET, FetchResult([], no_data))

    assert logged(caplog) == []
    assert get_redis().hget(memory_key(TARGET), "category") == "Good"


def test_targets_are_remembered_separately(prefix, caplog):
    other = Target("air_quality", "airnow", "34.07,-118.23", {})
    note("Good", 37)
    caplog.clear()

    note_category_change(
        other, FetchResult([], current("Moderate", 58) | {"location": "Central LA CO"})
    )

    assert logged(caplog) == [("INFO", "AQI category for Central LA CO is Moderate (AQI 58)")]


def test_adapter_result_feeds_the_memory(prefix, caplog, replay_server, settings):
    settings.HTTP_MAX_RETRIES = 0
    replay_server.add(
        "GET",
        "/aq/observation/current/ziplatlong/",
        json=replay_server.load_fixture("airnow/observation_current.json"),
    )
    adapter = AirNowAdapter()
    credentials = Credentials(
        api_key="test-airnow-key-123", options={"base_url": replay_server.url}
    )
    target = adapter.target(SiteInfo("home", 47.6021, -122.3290), credentials)
    note("Good", 37, hour=9)
    caplog.clear()

    now = datetime(2026, 10, 8, 10, 40, tzinfo=UTC)
    result = adapter.fetch(target, credentials, Window(now - timedelta(hours=1), now, now))
    note_category_change(target, result)

    assert target == TARGET
    assert logged(caplog) == [
        (
            "WARNING",
            "AQI category changed for Seattle-Bellevue-Kent Valley: Good -> Moderate (AQI 62)",
        )
    ]


def test_two_worker_processes_log_the_same_change_exactly_once(prefix):
    note("Good", 37, hour=9)
    barrier = f"{prefix}:barrier"
    workers = [run_worker(prefix, barrier, current("Moderate", 62, hour=10)) for _ in range(2)]
    log_workers.release(barrier, workers)  # both are connected and waiting: together

    outputs = [log_workers.records(worker) for worker in workers]

    warnings = [message for records in outputs for level, message in records if level == "WARNING"]
    assert warnings == [
        "AQI category changed for Seattle-Bellevue-Kent Valley: Good -> Moderate (AQI 62)"
    ]
    assert sorted(len(records) for records in outputs) == [0, 1]
    assert get_redis().hget(memory_key(TARGET), "category") == "Moderate"


def test_the_category_is_remembered_after_a_restart(prefix, caplog):
    note("Good", 37, hour=9)
    assert [level for level, _ in logged(caplog)] == ["INFO"]

    # A new Python process (a restarted worker) knows the category: no "first" INFO for
    # the same category, and the change is a WARNING from Good.
    restarted = run_worker(
        prefix, "", current("Good", 40, hour=10), current("Moderate", 62, hour=11)
    )

    assert log_workers.records(restarted) == [
        [
            "WARNING",
            "AQI category changed for Seattle-Bellevue-Kent Valley: Good -> Moderate (AQI 62)",
        ]
    ]
