"""An endpoint that queues work, Celery's broker (Redis) out of reach: the 503 says the task
could not be queued and what to do, without the broker's address (host and port), as the
InfluxDB 503s do (enrich.api.influx_down); the run is recorded failed with the whole error, and
the server log holds it too."""

import logging

import pytest

from config.celery import app
from retention.models import RetentionRun
from tests.support.api import token_client
from tests.support.broker import broker_down, empty_queues  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("broker_down")]

ASKS = [
    ("/retention/downsample-hourly", {"start": "2026-01-01", "end": "2026-01-02"}),
    ("/api/views/daily_energy_by_device/rebuild", {"start": "2026-01-01", "end": "2026-01-02"}),
]


@pytest.mark.parametrize(("path", "body"), ASKS)
def test_the_503_names_no_address_and_the_run_and_the_log_keep_the_error(path, body, caplog):
    address = app.conf.broker_url.removeprefix("redis://").split("/")[0]  # 127.0.0.1:<port>
    port = address.rsplit(":", 1)[1]
    with caplog.at_level(logging.ERROR, logger="retention.queued"):
        answer = token_client("ops", staff=True).post(path, body, format="json")

    assert answer.status_code == 503, answer.content
    [run] = RetentionRun.objects.all()
    assert answer.json() == {
        "detail": "The task could not be queued: Redis, the Celery broker, does not take it "
        "(it is down, starting, or refuses the connection). Check that Redis is running, then "
        f"ask again. Run {run.pk} is recorded failed; the server log names the address tried "
        "and the error."
    }
    assert port not in answer.content.decode() and "127.0.0.1" not in answer.content.decode()

    assert (run.status, run.finished is not None) == ("failed", True)
    assert run.errors.startswith("The task could not be queued: "), run.errors
    assert address in run.errors, run.errors  # the whole error, for whoever runs enrich
    logged = [r.getMessage() for r in caplog.records if r.name == "retention.queued"]
    assert len(logged) == 1 and address in logged[0] and f"run {run.pk}" in logged[0], logged


def test_any_reader_of_the_run_gets_its_error_without_the_address_the_admin_whole(admin_client):
    # GET /retention/runs/<id> (the 503's run) and /retention/history showed the error as
    # recorded, "Error 111 connecting to 127.0.0.1:<port>", to any signed-in user.
    address = app.conf.broker_url.removeprefix("redis://").split("/")[0]  # 127.0.0.1:<port>
    token_client("ops", staff=True).post(*ASKS[0], format="json")
    [run] = RetentionRun.objects.all()
    reader = token_client("reader")  # read-only
    shown = reader.get(f"/retention/runs/{run.pk}").json()["errors"]
    assert shown == (
        "The task could not be queued: Redis, the Celery broker, does not take it (it is down, "
        "starting, or refuses the connection): Error 111 connecting to [hidden]. Connection "
        "refused. Check that Redis is running."
    )
    assert reader.get("/retention/history").json()["runs"][0]["errors"] == shown
    assert address in run.errors  # the record keeps it, and the admin shows it (staff)
    page = admin_client.get(f"/admin/retention/retentionrun/{run.pk}/change/").content.decode()
    assert address in page
