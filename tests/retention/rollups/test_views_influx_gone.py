"""The refresh of the materialized views with InfluxDB out of reach (a TCP proxy to the real
InfluxDB, closed), against the real PostgreSQL and Redis. `manage.py refresh_views` stopped at
the first view, naming the views it did not try, while the beat's task went on with the others:
each failed on its own (one failed run and one alert per view for one outage), or, one with
nothing to read, ended ok as if InfluxDB were there. Now both stop at the first view, as for
Redis out of reach: the task's one failed run names the views not refreshed and when the next
refresh comes, with one alert; the command names the views and says to run it again once
InfluxDB answers. Every view keeps its rows and watermark; with InfluxDB back both do the work."""

import re
from html import unescape

import pytest
from django.core.management import call_command

from enrich.schedules import install_schedules
from retention.models import RetentionRun, ViewState
from retention.rollups.materialized import VIEWS, MaterializedViewManager
from retention.rollups.tasks import refresh_views
from retention.stats.alerts import check_alerts, detect
from tests.support.api import token_client
from tests.support.commands import refusal
from tests.support.proxy import influxdb_proxy_fixture  # noqa: F401  (fixture)
from tests.support.views_follow import DAY, energy, every_view_refreshed
from tests.support.webhook import HOOK, posts, webhook_fixture  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

PUMP = "sensor.pump_power"
ALL = "daily_energy_by_device, hourly_room_activity and daily_carbon_summary"


@pytest.fixture
def pump(ha_db, enrich_db, influxdb_proxy):
    """A pump drawing 500 W for the last two days and today; InfluxDB then out of reach."""
    entity = ha_db.saved_entity("official", PUMP, [(DAY, 500)], unit="W")
    influxdb_proxy.close()
    return entity


def test_the_beat_s_refresh_stops_at_the_first_view_with_one_failed_run_naming_them(
    pump, influxdb_proxy
):
    install_schedules()  # the beat entry "Refresh materialized views"
    result = refresh_views.apply().get()
    [run] = RetentionRun.objects.all()  # the first view's: one outage, one failed run
    assert (run.status, run.details["view"]) == ("failed", list(VIEWS)[0]), run.errors
    assert run.errors.startswith(
        f"InfluxUnavailable: Cannot reach InfluxDB at {influxdb_proxy.url}"
    )
    assert (
        f"Nothing was written: {ALL} were not refreshed (the refresh stopped here: they read "
        "that InfluxDB too); the next scheduled run ("
    ) in run.errors, run.errors
    assert run.details["views"] == list(VIEWS)
    assert {name: answer["status"] for name, answer in result.items()} == dict.fromkeys(
        VIEWS, "failed"
    )
    assert {answer["run"] for answer in result.values()} == {run.pk}
    assert not ViewState.objects.exclude(watermark=None).exists()
    [alert] = detect()
    assert alert.run == run and "InfluxUnavailable: Cannot reach InfluxDB" in alert.message

    influxdb_proxy.open()  # the next refresh does the work
    result = refresh_views.apply().get()
    assert {answer["status"] for answer in result.values()} == {"ok"}
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)


def test_refresh_views_stops_the_same_way_naming_the_views_and_to_run_it_again(
    pump, influxdb_proxy, capsys
):
    first, second, third = VIEWS
    said = refusal("refresh_views")
    assert said.startswith(
        f"{first}: the source data cannot be read: Cannot reach InfluxDB at {influxdb_proxy.url}"
    ), said
    assert said.endswith(
        f"{first} was not refreshed: nothing of it was written and its watermark is kept. "
        f"{second} and {third} were not tried: they keep their rows and watermarks. Run this "
        "command again once InfluxDB answers: it refreshes the views."
    ), said
    [run] = RetentionRun.objects.all()  # its record says it as the task's does
    assert run.status == "failed" and run.details["views"] == list(VIEWS), run.errors
    assert f"Nothing was written: {ALL} were not refreshed (the refresh stopped here" in run.errors
    assert not ViewState.objects.exclude(watermark=None).exists()

    influxdb_proxy.open()
    call_command("refresh_views")
    out = capsys.readouterr().out
    assert all(f"{name}: " in out for name in VIEWS), out
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)


def test_refreshing_every_view_from_python_stops_at_the_first_view_as_the_beat_does(
    pump, influxdb_proxy
):
    """`MaterializedViewManager().refresh()` (every view, `refresh_all`) went on view after
    view: a failed run (and an alert) per view for one outage, and a view with nothing to read
    ok as if InfluxDB were there. It stops at the first view as the beat's refresh does: one
    failed run, the last of those it returns, naming the views not refreshed, one alert."""
    install_schedules()
    runs = MaterializedViewManager().refresh()
    [run] = RetentionRun.objects.all()
    assert runs == [run] and (run.status, run.details["view"]) == ("failed", list(VIEWS)[0])
    assert run.details["views"] == list(VIEWS), run.errors
    assert f"Nothing was written: {ALL} were not refreshed (the refresh stopped here" in run.errors
    assert not ViewState.objects.exclude(watermark=None).exists()
    assert [alert.run for alert in detect()] == [run]  # one outage, one alert

    influxdb_proxy.open()
    every_view_refreshed()  # the next refresh does the work
    assert energy()[(PUMP, DAY.date())] == pytest.approx(12.0)


def test_the_alert_the_user_receives_names_the_views_not_refreshed_and_the_next_refresh(
    pump, influxdb_proxy, webhook, admin_client
):
    """The alert kept the first 500 characters of the run's errors: InfluxDB's connection error
    (its URL, the query's, the connection pool's text) filled them, and the webhook's message
    ended at "Nothing was written…", without the views not refreshed or when the next refresh
    comes. The error's own text is shortened instead, keeping its start (where) and its end
    (why); the sentences after it reach the user whole, in the webhook and the admin alike."""
    webhook.add("POST", HOOK, 200, body="")
    install_schedules()
    refresh_views.apply().get()
    [run] = RetentionRun.objects.all()
    assert check_alerts().delivered
    [body] = posts(webhook)
    message = body["message"]
    assert f"InfluxUnavailable: Cannot reach InfluxDB at {influxdb_proxy.url}" in message
    assert "Connection refused" in message and "Check INFLUXDB_URL" in message, message
    said = run.errors[run.errors.index("Nothing was written: ") :]
    assert said.startswith(f"Nothing was written: {ALL} were not refreshed")
    assert f"{said} Retention steps are idempotent" in message, message
    assert re.search(r"the next scheduled run \(\w{3} [-\d]{10} \d\d:00 UTC\) refreshes", message)
    page = admin_client.get(f"/admin/retention/alert/{body['alert_id']}/change/")
    assert said in " ".join(unescape(page.content.decode()).split())


def test_api_readers_get_the_run_s_error_without_influxdb_s_address_the_admin_whole(
    pump, influxdb_proxy, settings, admin_client
):
    """The run's errors and its alert's message, as any signed-in user reads them (the run,
    the history, the alerts, the status page's storage panels, which read them), named
    InfluxDB's address ("Cannot reach InfluxDB at http://127.0.0.1:…", "host='127.0.0.1',
    port=…") and database. They say what failed and what to do without them; the run's record,
    which the admin (staff) shows, keeps the whole error."""
    install_schedules()
    refresh_views.apply().get()
    [run] = RetentionRun.objects.all()
    [alert] = detect()
    address = influxdb_proxy.url.removeprefix("http://")  # 127.0.0.1:<port>
    assert address in run.errors and address in alert.message  # the record: the whole error
    reader = token_client("reader")  # read-only
    answers = {
        path: reader.get(path)
        for path in (f"/retention/runs/{run.pk}", "/retention/history", "/retention/alerts")
    }
    port = re.compile(rf"(?<!\d){address.split(':')[1]}(?!\d)")  # not inside a longer number
    for path, answer in answers.items():
        shown = answer.content.decode()
        assert answer.status_code == 200, (path, shown)
        # the port on its own: a run's duration (0.0337797... s) may hold its digits
        assert not port.search(shown) and "127.0.0.1" not in shown, (path, shown)
        assert f"'{settings.HA_INFLUXDB_DATABASE}'" not in shown, (path, shown)
    errors = answers[f"/retention/runs/{run.pk}"].json()["errors"]
    assert errors.startswith("InfluxUnavailable: Cannot reach InfluxDB at [hidden] while "), errors
    assert "Check INFLUXDB_URL and that influxd is running." in errors, errors
    assert f"Nothing was written: {ALL} were not refreshed" in errors, errors
    assert answers["/retention/history"].json()["runs"][0]["errors"] == errors
    [listed] = answers["/retention/alerts"].json()["open"]
    assert "Cannot reach InfluxDB at [hidden]" in listed["message"], listed
    page = admin_client.get(f"/admin/retention/retentionrun/{run.pk}/change/")
    assert address in page.content.decode()  # staff: the whole error
