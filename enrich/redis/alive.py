"""The beat's and the workers' signs of life, kept in Redis (settings REDIS_URL).

The beat records each tick (enrich.beat_scheduler), every worker its node name and queues every
few seconds (enrich.worker_alive); the beat's healthcheck (`manage.py check_beat`) and the status
page (/api/processes/) read them. Each is a JSON object with `at`, the Unix time it was written.
"""

import json
import logging
import time
from collections.abc import Callable

from enrich.redis.client import RedisUnavailable, get_redis, make_key, reachable

logger = logging.getLogger(__name__)
WHAT = "The record of the beat's and workers' signs of life"
RETRY_AFTER = 60.0  # seconds without a try after Redis did not answer


class Recorder:
    """Runs a record call, but not within RETRY_AFTER seconds of one Redis did not answer: each
    try may wait seconds for Redis, and the beat's and worker's loops must go on. A failure is
    logged once until a record succeeds again."""

    def __init__(self, who: str) -> None:
        self.who = who
        self.paused_until = float("-inf")
        self.said = False

    def __call__(self, record: Callable[[], None]) -> None:
        if time.monotonic() < self.paused_until:
            return
        try:
            record()
        except RedisUnavailable as exc:
            self.paused_until = time.monotonic() + RETRY_AFTER
            if not self.said:
                logger.warning("%s: its signs of life are not recorded (its healthcheck and the "
                               "status page will say it stopped): %s", self.who, exc)  # fmt: skip
                self.said = True
            return
        self.said = False


def _beat_key() -> str:
    return make_key("alive", "beat")


def _workers_key() -> str:
    return make_key("alive", "workers")


def record_beat(**about) -> None:
    """The beat ticked now; `about` (host, pid) is kept with the time."""
    with reachable(WHAT):
        get_redis().set(_beat_key(), json.dumps({"at": time.time(), **about}))


def last_beat() -> dict | None:
    """The beat's last tick ({"at": Unix time, ...}), or None if none was recorded."""
    with reachable(WHAT):
        raw = get_redis().get(_beat_key())
    return json.loads(raw) if raw else None


def record_worker(node: str, queues: list[str]) -> None:
    """The worker `node` (celery's name, e.g. collectors@host) is up, consuming `queues`."""
    with reachable(WHAT):
        get_redis().hset(_workers_key(), node, json.dumps({"at": time.time(), "queues": queues}))


def forget_worker(node: str) -> None:
    """The worker `node` stopped on purpose (a warm shutdown): it is not missed."""
    with reachable(WHAT):
        get_redis().hdel(_workers_key(), node)


def workers(forget_after: float) -> dict[str, dict]:
    """{node: {"at", "queues"}} of the workers heard from within `forget_after` seconds; older
    ones (e.g. a container recreated under another name) are forgotten."""
    with reachable(WHAT):
        client = get_redis()
        seen = {node: json.loads(raw) for node, raw in client.hgetall(_workers_key()).items()}
        old = [node for node, said in seen.items() if time.time() - said["at"] > forget_after]
        if old:
            client.hdel(_workers_key(), *old)
    return {node: said for node, said in seen.items() if node not in old}
