"""What a worker's log says while the service health check (enrich.check_services, every 5
minutes; the same check answers GET /api/health/, which monitors poll every few seconds)
cannot reach Redis (a redis-server of the test's own stopped under the worker, tests.support.
redis_outage; its Celery broker and results are the tests' Redis): one ERROR line when it
first meets the outage, naming REDIS_URL, one WARNING line per later check, and one line when
Redis answers again; each check's answer still says Redis does not answer, in redis-py's words.
Each check logged the same ERROR, redis-py's "Error 111 connecting to ..." without REDIS_URL."""

import pytest

from config.celery import app
from enrich.health import REDIS_DOWN
from tests.support.redis_outage import over_an_outage, said_in_one_line_a_run

pytestmark = pytest.mark.django_db(transaction=True)


def checks(times: int) -> list[dict]:
    """enrich.check_services sent `times` times: what each said of Redis."""
    runs = [app.send_task("enrich.check_services").get(timeout=60) for _ in range(times)]
    return [run["services"]["redis"] for run in runs]


def test_a_redis_outage_is_one_line_a_health_check():
    outage = over_an_outage(checks, "health-redis-down", {})
    log = outage.log
    assert [redis["ok"] for redis in outage.up + outage.down + outage.back] == [
        True, False, False, False, True, True], log  # fmt: skip
    assert all(redis["detail"].startswith("ConnectionError: Error 111 connecting to ")
               for redis in outage.down), outage.down  # fmt: skip
    said_in_one_line_a_run(outage, "health", REDIS_DOWN, later=2)
