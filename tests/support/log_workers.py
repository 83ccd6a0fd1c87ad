"""Python processes standing in for worker processes, for code that must log a change once
however many workers see it: each runs a snippet of code after a header that keeps what the
snippet logs, and prints that as JSON. A Redis barrier lets them start at the same moment."""

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from enrich.redis.client import get_redis

ROOT = Path(__file__).resolve().parents[2]

# What the snippet finds: `records` ([level, message] of each record of the logger argv[1]
# at level argv[2] or above), `args` (its own arguments), and `wait_for_go()`, to call once
# it has imported what it needs.
HEADER = """
import json, logging, sys
from enrich.redis.client import get_redis

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append([record.levelname, record.getMessage()])
logger = logging.getLogger(sys.argv[1])
logger.addHandler(Keep())
logger.setLevel(sys.argv[2])
args = sys.argv[4:]

def wait_for_go():
    barrier = sys.argv[3]
    if barrier:
        get_redis().rpush(barrier + ":ready", 1)
        assert get_redis().blpop(barrier + ":go", timeout=60), "no go signal"
"""


def start(
    snippet: str, *, logger: str, level: str, prefix: str, barrier: str = "", args: Sequence[str]
) -> subprocess.Popen:
    """A process running `snippet` with the Redis key prefix `prefix`; with a `barrier` its
    wait_for_go() waits for `release`."""
    env = os.environ.copy() | {"REDIS_KEY_PREFIX": prefix}
    return subprocess.Popen(
        [sys.executable, "-c", HEADER + snippet, logger, level, barrier, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def release(barrier: str, workers: Sequence[subprocess.Popen]) -> None:
    """Once every worker waits at `barrier` (connected, its code imported), let all go."""
    client = get_redis()
    for _ in workers:
        assert client.blpop(f"{barrier}:ready", timeout=60), "a worker did not start"
    client.rpush(f"{barrier}:go", *[1] * len(workers))


def records(worker: subprocess.Popen) -> list[list[str]]:
    """What the worker printed: the records it kept, after it ended without an error."""
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    return json.loads(out)
