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


def test_the_docs_say_which_local_services_ask_no_password():
    """The InfluxDB and Mosquitto that scripts/services.sh starts take anyone on loopback: the
    deployment docs say so, and that they listen on 127.0.0.1 only."""
    script = (ROOT / "scripts" / "services.sh").read_text()
    influxdb = (ROOT / "scripts" / "influxdb.conf.template").read_text()
    assert "allow_anonymous true" in script and "listener %s 127.0.0.1" in script
    assert (
        "auth-enabled = false" in influxdb and 'bind-address = "127.0.0.1:@HTTP_PORT@"' in influxdb
    )
    assert "--bind 127.0.0.1" in script  # Redis, without requirepass
    rows = {
        line.split("|")[1].strip(): line
        for line in (ROOT / "docs" / "deployment.md").read_text().splitlines()
        if line.startswith("| ")
    }
    assert "on 127.0.0.1 without authentication" in rows["InfluxDB"]
    assert "accepting anonymous clients" in rows[next(r for r in rows if r.startswith("Mosquitto"))]
    docs = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    assert (
        "Redis, InfluxDB and Mosquitto started here listen on 127.0.0.1 only and ask no password"
        in docs
    )
