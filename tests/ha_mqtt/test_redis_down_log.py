"""What a worker's log says while the Home Assistant publication (mqtt.publish_states, every
minute) cannot reach Redis, the store of its lock and of what it published (a redis-server of
the test's own stopped under the worker, tests.support.redis_outage; its Celery broker and
results are the tests' Redis): one ERROR line when it first meets the outage, naming REDIS_URL,
one WARNING line per later publication, and one line when Redis answers again, after which it
publishes by itself. Each publication logged the same WARNING, redis-py's own "Error 111
connecting to ..." without REDIS_URL, after a WARNING that its deliveries were not counted."""

import pytest

from config.celery import app
from tests.ha_mqtt.conftest import process_env
from tests.support.redis_outage import over_an_outage, said_in_one_line_a_run
from tests.support.worker import logged, wait_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]
NOTHING = "nothing is published this time"


def publications(times: int) -> list[str]:
    """mqtt.publish_states sent `times` times: the status of each run."""
    return [app.send_task("mqtt.publish_states").get(timeout=60)["status"] for _ in range(times)]


def test_a_redis_outage_is_one_line_a_publication_and_it_resumes(topics, subscriber):
    def started(worker) -> None:
        """The publication at the worker's start is over before Redis stops."""
        assert subscriber.wait_for(lambda m: m.get(topics.status) == "online", 60)
        wait_idle(worker)

    outage = over_an_outage(publications, "mqtt-redis-down", process_env(), started)
    log = outage.log
    assert outage.up == ["ok"], log
    assert (outage.down, outage.back) == (["redis_unavailable"] * 3, ["ok"] * 2), log
    said_in_one_line_a_run(outage, "mqtt", NOTHING, later=2)
    assert sum("deliveries are not counted" in w for w in logged(log, "WARNING")) == 1, log
