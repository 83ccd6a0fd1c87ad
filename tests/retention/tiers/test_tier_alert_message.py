"""The alert of a tier run that InfluxDB's going away stopped, against the real InfluxDB (behind
a TCP proxy the test closes), Redis and the alerts' webhook receiver. The alert kept the first
500 characters of the run's errors: InfluxDB's connection error filled most of them, and the
message the user received lost what the run did not do and what to do ("… run it again once
InfluxDB is back: it resumes where it stopped."). The error's own text is shortened first: the
sentences after it reach the webhook whole."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from retention import faults
from retention.models import RetentionRun
from retention.stats.alerts import check_alerts
from tests.support.proxy import influxdb_proxy_fixture  # noqa: F401  (fixture)
from tests.support.tier_runs import AFTER_VERIFY, RANGE, three_days
from tests.support.webhook import HOOK, posts, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

AGAIN = (
    "Nothing was deleted for a day whose rows were not verified; run it again once InfluxDB "
    "is back: it resumes where it stopped."
)


@pytest.mark.parametrize(("command", "label", "point"), AFTER_VERIFY)
def test_the_alert_of_a_tier_run_influxdb_stopped_says_to_run_it_again(
    ha_db, influxdb_proxy, monkeypatch, webhook, command, label, point
):
    three_days(ha_db, command)
    webhook.add("POST", HOOK, 200, body="")
    monkeypatch.setattr(faults, "point", lambda name: name == point and influxdb_proxy.close())
    with pytest.raises(CommandError):
        call_command(command, *RANGE)
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed" and run.errors.endswith(AGAIN), run.errors
    assert check_alerts().delivered
    [body] = posts(webhook)
    message = body["message"]
    assert message.startswith(f"Retention operation {label} (run {run.pk}, started "), message
    assert f"InfluxDB became unreachable: Cannot reach InfluxDB at {influxdb_proxy.url}" in message
    assert "Connection refused" in message, message
    assert f"{AGAIN} Retention steps are idempotent" in message, message
