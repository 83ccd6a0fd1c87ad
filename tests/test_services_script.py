"""scripts/services.sh: what it starts keeps what a user would expect of it."""

import os
import subprocess
from pathlib import Path

import redis

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[1]


def _services(port: int) -> None:
    env = dict(os.environ, ENRICH_REDIS_PORT=str(port))
    done = subprocess.run(
        ["scripts/services.sh", "redis"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_redis_it_starts_keeps_its_data_across_a_restart():
    # The last good answers, the API budgets and the remembered refusals live in Redis: a
    # Redis started without snapshots lost them at every reboot, so an API failing after one
    # served nothing, and a day's budget started again from zero.
    port = free_port()  # a Redis of its own: the shared one is never stopped
    dump = ROOT / "var" / "redis" / f"dump-{port}.rdb"
    client = redis.Redis(port=port, decode_responses=True)
    try:
        _services(port)
        client.set("enrich:cache:last-good:carbon_intensity", "312 gCO2/kWh")
        client.shutdown()  # as at a reboot (SIGTERM): no explicit SAVE
        _services(port)
        assert client.get("enrich:cache:last-good:carbon_intensity") == "312 gCO2/kWh"
    finally:
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass
        dump.unlink(missing_ok=True)
