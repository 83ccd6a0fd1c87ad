"""The beat while its Redis, the Celery broker and result store (and the store of its signs of
life), is out of reach: a redis-server of the test's own (tests.support.redis_server) stopped
under the real beat process. Each due task says in one line that it was not sent, the first
with the whole error, and the beat goes on ticking; once Redis answers again it says so and
sends the due tasks. Each due task held the beat up about 20 s with an ERROR line a second
("Connection to Redis lost: Retry (n/20)", the result store subscribing to a result the beat
never reads), then a CRITICAL "The Celery application must be restarted" and a "Message
Error" with the stack and a traceback."""

import os
import re

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.support import worker
from tests.support.redis_server import OwnRedis, asking_once

pytestmark = pytest.mark.django_db(transaction=True)
SINCE = r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"


def test_each_due_task_says_in_one_line_it_was_not_sent_and_the_beat_resumes(tmp_path):
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="Every second", task="collectors.write_current_prices",
                                interval=every, expire_seconds=50)  # fmt: skip
    redis = OwnRedis()
    env = {**os.environ, "DATABASE_URL": worker.test_database_url(), "CELERY_SKIP_CHECKS": "1",
           "REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url,
           "CELERY_RESULT_BACKEND": redis.url}  # fmt: skip
    beat = worker.started(["celery", "-A", "config", "beat", "-l", "info", "--pidfile=", "-s",
                           str(tmp_path / "schedule"), "--max-interval", "1"], env,
                          tmp_path / "beat.log")  # fmt: skip
    try:
        worker.until(lambda: "Sending due task Every second" in worker._tail(beat), beat)
        redis.stop()
        worker.until(lambda: worker._tail(beat).count("was not sent") >= 3, beat)
        redis.start()  # empty: a Redis restarted without its data
        worker.until(lambda: asking_once(redis.url).llen("collectors") >= 2, beat)
    finally:
        worker.stop(beat)
        beat.log.close()
        redis.stop()
    log = (tmp_path / "beat.log").read_text()

    assert "Traceback" not in log and "CRITICAL" not in log and "Message Error" not in log, log
    assert "Connection to Redis lost" not in log, log
    [error] = [e for e in worker.logged(log, "ERROR") if e.startswith("Beat: 'Every second'")]
    assert error.startswith(
        f"Beat: 'Every second' was not sent: the Celery broker ({redis.url}) cannot be reached; "
        "each due task says so in one line until it answers again (beat sends each at its next "
        "due time): Error 111 connecting to "
    ), error
    still = [w for w in worker.logged(log, "WARNING") if "was not sent" in w]
    assert len(still) >= 2, log
    assert all(re.fullmatch(rf"Beat: 'Every second' was not sent: the Celery broker still "
                            rf"cannot be reached {SINCE}", w) for w in still), still  # fmt: skip
    back = [i for i in worker.logged(log, "INFO") if "answers again" in i]
    assert back == ["Beat: the Celery broker answers again; due tasks are sent"], log
