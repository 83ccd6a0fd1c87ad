"""Messages and numbers the pages quote word for word, made by the code that prints them: the
day readers' refusals (docs/api.md), the error of an MQTT root another enrich owns
(docs/home_assistant.md), the status page's answer to a site that is none
(docs/status_page.md), the retention policy minimums the tier runs check, the warning of a raw
policy short of failed nights, the archive's lock messages, what an archive run with nothing
due says, a tier or archive run's retry that cannot be queued, a view's run without Redis and
every operation and status a run in the history can have (docs/storage.md). A message reworded
in the code, or a default changed, leaves the page quoting what nobody sees any more."""

import io
import math
import re
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict

from enrich.api import params
from enrich.models import Site
from tests.support.doc_pages import DEFAULTS, ROOT, flat
from tests.support.setup_form import no_site_page


def refusal(reader, raw: str) -> str:
    with pytest.raises(params.Refused) as refused:
        reader(QueryDict(f"start={raw}"), "start")
    return refused.value.text


@pytest.mark.parametrize(
    ("raw", "reader"),
    [
        ("20260101", params.day),
        ("2026-02-30", params.day),
        ("2026-1-1", params.day_or_moment),
        ("2026-02-30T00:00:00Z", params.moment),
    ],
)
def test_the_api_page_quotes_what_the_day_readers_answer(raw, reader):
    assert f"(`{refusal(reader, raw)}`" in flat("docs/api.md")


def test_the_api_page_quotes_the_month_a_day_that_is_none_names():
    said = refusal(params.day, "2026-13-01")
    assert "expected a date that exists (a month from 01 to 12)" in said
    assert "2026-13-01: `a month from 01 to 12`" in flat("docs/api.md")


def test_the_home_assistant_page_quotes_the_error_of_a_root_another_enrich_owns():
    from collectors.ha_mqtt.owner import taken_message
    from enrich.mqtt.broker import Endpoint

    endpoint = Endpoint.parse("mqtt://homeassistant.local:1883")
    message = taken_message("enrich", {"instance": "3f…", "host": "nas"}, endpoint)
    # The worker logs it as "mqtt: <message>" (collectors.ha_mqtt.tasks).
    assert f"\nmqtt: {message}\n" in (ROOT / "docs" / "home_assistant.md").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "status"), [("7", 404), ("abc", 400)]
)  # fmt: skip
def test_the_status_page_page_quotes_the_answer_to_a_site_that_is_none(client, asked, status):
    # Its id given, not the sequence's: an id of 7 (tests before in this database) made the
    # quoted "no site with id 7" a 200.
    Site.objects.create(pk=1, name="Flat", latitude=52.5, longitude=13.4)
    client.force_login(User.objects.create_user("reader", password="x"))
    response = client.get("/", {"site": asked})
    assert response.status_code == status
    said, _links = no_site_page(response)
    assert f'("{said}")' in flat("docs/status_page.md")


def test_the_storage_page_gives_the_retention_policy_minimums_the_tier_runs_check():
    from retention.tiers.safety import ARCHIVE_WAIT_DAYS, COMPOSE_WAIT_DAYS

    margin = DEFAULTS["RETENTION_LATE_MARGIN_HOURS"] / 24
    hourly = math.ceil(DEFAULTS["RETENTION_HOURLY_DAYS"] + COMPOSE_WAIT_DAYS + margin)
    daily = math.ceil(DEFAULTS["RETENTION_DAILY_DAYS"] + ARCHIVE_WAIT_DAYS + margin)
    page = flat("docs/storage.md")
    assert (
        f"`RETENTION_HOURLY_DAYS` + {COMPOSE_WAIT_DAYS} days + the late margin ({hourly} days "
        "by default"
    ) in page
    assert (
        f"`RETENTION_DAILY_DAYS` + {ARCHIVE_WAIT_DAYS} days + the late margin ({daily} days by "
        "default)"
    ) in page
    assert f"or at least the {daily} days [the tier runs check]" in page


@pytest.mark.influxdb
@pytest.mark.django_db  # the warning reads whether the raw -> hourly beat entry is enabled
def test_the_storage_page_quotes_the_warning_of_a_raw_policy_short_of_failed_nights(settings):
    """A 9-day raw policy with the defaults, in Home Assistant's database of the default name
    (the test's own database, renamed in the quote)."""
    from enrich.influx import get_timeseries, quote_ident
    from retention.tiers.safety import RAW_WAIT_DAYS
    from retention.tiers.slack import check_raw_slack
    from tests.support.isolation import fresh_database

    default = DEFAULTS["HA_INFLUXDB_DATABASE"]
    for name in ("RETENTION_RAW_DAYS", "RETENTION_LATE_MARGIN_HOURS"):
        setattr(settings, name, DEFAULTS[name])
    with fresh_database("docs_raw") as database:
        settings.HA_INFLUXDB_DATABASE = database
        get_timeseries().execute(
            None, f"ALTER RETENTION POLICY autogen ON {quote_ident(database)} DURATION 9d"
        )
        [warning] = check_raw_slack()
    warning = warning.replace(repr(database), repr(default))
    warning = warning.replace(quote_ident(database), quote_ident(default))
    page = flat("docs/storage.md")
    assert f'"{warning}"' in page
    margin = DEFAULTS["RETENTION_LATE_MARGIN_HOURS"] / 24
    soft = math.ceil(DEFAULTS["RETENTION_RAW_DAYS"] + 1 + RAW_WAIT_DAYS + margin)
    assert f"late margin + {RAW_WAIT_DAYS} days ({soft} days by default" in page


@pytest.mark.influxdb
@pytest.mark.django_db
def test_the_storage_page_quotes_the_warning_of_the_raw_to_hourly_entry_disabled(settings):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from enrich.influx import get_timeseries, quote_ident
    from retention.tiers.slack import check_raw_slack
    from tests.support.isolation import fresh_database

    call_command("install_schedules", stdout=io.StringIO())
    PeriodicTask.objects.filter(task="retention.downsample_hourly").update(enabled=False)
    with fresh_database("docs_raw") as database:
        settings.HA_INFLUXDB_DATABASE = database
        get_timeseries().execute(
            None, f"ALTER RETENTION POLICY autogen ON {quote_ident(database)} DURATION 30d"
        )
        [warning] = check_raw_slack()
    quoted = warning[warning.index("keeps data 30d") : warning.index(" (ALTER RETENTION")]
    assert f'"… {quoted} (…)."' in flat("docs/storage.md")


@pytest.mark.influxdb
@pytest.mark.django_db
def test_the_storage_page_quotes_the_warnings_of_the_tier_policies_past_a_paused_step(settings):
    """enrich_hourly of 180d under a disabled hourly -> daily entry, enrich_daily of 1000d with
    no archive target, in a database of Home Assistant's default name (renamed in the quote)."""
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from enrich.influx import get_timeseries, quote_ident
    from retention.tiers import safety, slack
    from tests.support.isolation import fresh_database

    call_command("install_schedules", stdout=io.StringIO())
    PeriodicTask.objects.filter(task="retention.downsample_daily").update(enabled=False)
    settings.S3_ARCHIVE_BUCKET, settings.ARCHIVE_LOCAL_DIR = "", None
    default = DEFAULTS["HA_INFLUXDB_DATABASE"]
    with fresh_database("docs_tiers") as database:
        settings.HA_INFLUXDB_DATABASE = settings.TIER_DATABASE = database
        safety.ensure_tiers()
        for name, duration in (("enrich_hourly", "180d"), ("enrich_daily", "1000d")):
            get_timeseries().execute(
                None,
                f"ALTER RETENTION POLICY {name} ON {quote_ident(database)} DURATION {duration}",
            )
        _, hourly, daily = (slack.check_slack(step) for step in slack.STEPS)
    page = flat("docs/storage.md")
    [hourly], [daily] = (
        [w.replace(repr(database), repr(default)) for w in said] for said in (hourly, daily)
    )
    assert f'"{hourly[: hourly.index(" (ALTER RETENTION")]} (…)."' in page
    assert (
        f'"… {daily[daily.index("(the daily tier)") : daily.index(" (ALTER RETENTION")]} (…)."'
        in page
    )


@pytest.mark.django_db
def test_the_storage_page_quotes_what_an_archive_run_finding_the_lock_taken_says(settings):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from enrich.redis.lock import RunLock
    from retention.archive.errors import ArchiveBusy
    from retention.archive.lock import NAME, WAITS, lock_held
    from retention.busy import busy, next_scheduled_run

    crontab = CrontabSchedule.objects.create(minute="0", hour="3", day_of_week="0")
    PeriodicTask.objects.create(name="Archive daily aggregates", task=WAITS.task, crontab=crontab)
    lock = RunLock(*NAME, owner="restore run 12", ttl_seconds=60)
    assert lock.acquire()
    try:
        error = busy(ArchiveBusy, lock_held(), WAITS)
        said = f"{type(error).__name__}: {error}"
    finally:
        lock.release()
    start, _since, rest = said.partition(" since ")
    assert start == "ArchiveBusy: the archive's lock is held by restore run 12"
    assert "; nothing done yet. " in rest
    page = flat("docs/storage.md")
    assert f'("{start} since …; nothing done yet …")' in page
    when = next_scheduled_run(WAITS.task)
    assert when is not None and when.astimezone(UTC).strftime("%a %H:%M") == "Sun 03:00"
    assert f"the next scheduled run ({when:%a} " in said and "UTC) archives what is due" in said
    quoted = datetime(2026, 12, 13, 3, tzinfo=UTC)
    quote = f'("… the next scheduled run ({quoted:%a %Y-%m-%d %H:%M} UTC) archives what is due"'
    assert quote in page


@pytest.mark.django_db
def test_the_storage_page_quotes_what_a_nightly_tier_run_finding_its_lock_taken_says():
    from enrich.schedules import install_schedules
    from retention.busy import busy, next_scheduled_run
    from retention.models import RetentionRun
    from retention.tiers.chunks import WAITS, TierBusy, lock_taken

    install_schedules()  # "Downsample hourly to daily", 02:30 UTC
    daily = RetentionRun.Operation.DOWNSAMPLE_DAILY
    holder = "raw -> hourly run 9 folding late points since 2026-12-06T02:00:00+00:00"
    error = busy(TierBusy, lock_taken(daily, holder), WAITS[daily])
    said = f"{type(error).__name__}: {error}"
    start = said.partition(" since ")[0]
    page = flat("docs/storage.md")
    assert f'("{start} since …; nothing done yet …")' in page
    when = next_scheduled_run(WAITS[daily].task)
    assert when is not None and when.astimezone(UTC).strftime("%H:%M") == "02:30"
    does = "composes the hourly rows due"
    assert f"the next scheduled run ({when.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC) {does}" in said
    quoted = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
    assert f'("… the next scheduled run ({quoted:%a %Y-%m-%d %H:%M} UTC) {does}")' in page


@pytest.mark.django_db
def test_the_storage_page_quotes_what_an_archive_run_with_nothing_due_says(settings):
    from retention.archive.plan import nothing_due
    from retention.models import ArchiveObject

    for name in ("ARCHIVE_PERIOD", "RETENTION_DAILY_DAYS"):
        setattr(settings, name, DEFAULTS[name])
    cutoff = date(2025, 12, 5)  # today 2026-12-05
    none_yet = nothing_due(cutoff)
    ArchiveObject.objects.create(
        key="archives/2024/data_2024-01-01.parquet", start_date=date(2024, 1, 1),
        end_date=date(2024, 12, 31), record_count=1, file_size=1, checksum="0" * 64,
        compression="gzip", created=datetime.now(UTC),
    )  # fmt: skip
    said = nothing_due(cutoff)
    page = flat("docs/storage.md")
    assert f': "{said}" ("holds no daily row" alone while nothing is archived yet)' in page
    assert none_yet == said.replace("is archived (or holds no daily row)", "holds no daily row")


def history_paragraph(storage_page: str) -> str:
    """storage.md's paragraph on `GET /retention/history`: what a listed run holds."""
    start = "`GET /retention/history?days=30&type=<operation>&status=<status>` "
    return storage_page.split(start)[1].split("\n\n")[0]


def test_the_storage_page_names_every_operation_and_status_of_a_retention_run():
    """The history's `type` and `status` take every operation and status of a RetentionRun: its
    paragraph lists them all (a new retention step's operation too)."""
    from retention.models import RetentionRun

    text = (ROOT / "docs" / "storage.md").read_text()
    named = set(re.findall(r"`([a-z_]+)`", history_paragraph(text)))
    kinds = {*RetentionRun.Operation.values, *RetentionRun.Status.values}
    assert sorted(kinds - named) == []


@pytest.mark.django_db
def test_the_storage_page_names_every_field_of_a_retention_run_where_it_lists_them():
    """/retention/history's runs and the stats' last runs are `run_summary`'s fields; the page
    named neither `run_id` nor the labels and days of a last run."""
    from retention.models import RetentionRun
    from retention.stats.history import run_summary

    run = RetentionRun.objects.create(
        operation=RetentionRun.Operation.ARCHIVE, started=datetime.now(UTC)
    )
    fields = set(run_summary(run))
    text = (ROOT / "docs" / "storage.md").read_text()
    history = history_paragraph(text)
    last_runs = next(line for line in text.splitlines() if line.startswith("| `last_downsample"))
    for where, said in (("/retention/history", history), ("the stats' last runs", last_runs)):
        named = set(re.findall(r"`([a-z_]+)`", said))
        assert fields <= named, f"{where} leaves out {sorted(fields - named)}"


@pytest.mark.django_db
def test_the_api_page_names_every_field_of_an_alert():
    from retention.models import Alert
    from retention.stats.alerts import alert_summary

    alert = Alert.objects.create(kind=Alert.Kind.FAILED, message="Retention operation ...")
    row = next(
        line
        for line in (ROOT / "docs" / "api.md").read_text().splitlines()
        if line.startswith("| `GET /retention/alerts")
    )
    missing = set(alert_summary(alert)) - set(re.findall(r"`([a-z_]+)`", row))
    assert not missing, f"docs/api.md's /retention/alerts row leaves out {sorted(missing)}"


def _not_queued_quote(which: str) -> tuple[str, datetime, str]:
    """The lock, the next scheduled run's time the page quotes, and what that run does, of a
    tier run (raw -> hourly) or an archive run."""
    from retention.archive import lock as archive
    from retention.models import RetentionRun
    from retention.tiers.chunks import WAITS
    from retention.tiers.runner import LOCK

    if which == "tier":
        does = WAITS[RetentionRun.Operation.DOWNSAMPLE_HOURLY].does
        return LOCK, datetime(2026, 12, 6, 2, 0, tzinfo=UTC), does
    return archive.LOCK, datetime(2026, 12, 13, 3, 0, tzinfo=UTC), archive.WAITS.does


@pytest.mark.parametrize("which", ["tier", "archive"])
def test_the_storage_page_quotes_what_a_run_whose_retry_cannot_be_queued_says(which):
    from enrich.redis.client import RedisUnavailable
    from retention.task_records import NOT_QUEUED

    lock, quoted, does = _not_queued_quote(which)
    error = RedisUnavailable("…", "…", lock)
    said = NOT_QUEUED.format(
        error=f"{type(error).__name__}: {error}", retry="1 of 3", broker="…", cause="…", then=""
    )
    start = said.partition(" Start Redis ")[0]
    tail = said.partition(" Not tried ")[2]
    next_run = f"the next scheduled run ({quoted:%a %Y-%m-%d %H:%M} UTC) {does}"
    assert f'("{start} … Not tried {tail}{next_run}. …")' in flat("docs/storage.md")


@pytest.mark.django_db
def test_the_storage_page_quotes_what_a_view_s_run_without_redis_says():
    from enrich.redis.client import RedisUnavailable
    from enrich.schedules import install_schedules
    from retention.rollups.lock import failure, lock_what

    install_schedules()  # the beat entry "Refresh materialized views"
    view = "daily_energy_by_device"
    said = failure(RedisUnavailable("…", "…", lock_what(view)), view, "incremental")
    said = re.sub(r"\(\w{3} [-\d]{10} \d\d:\d\d UTC\)", "(Sat 2026-12-05 20:00 UTC)", said)
    start, _, rest = said.partition(" Start Redis ")
    assert f'("{start} … {rest.partition("REDIS_URL. ")[2]}")' in flat("docs/storage.md")


def test_the_storage_page_quotes_the_alert_of_home_assistant_silent(settings):
    """Home Assistant's database of the default name, silent past the default HA_SILENT_HOURS."""
    from retention.entities.silent import silent_message

    settings.HA_INFLUXDB_DATABASE = DEFAULTS["HA_INFLUXDB_DATABASE"]
    newest = datetime(2026, 5, 17, 1, 40, tzinfo=UTC)
    said = silent_message(
        newest, datetime(2026, 5, 17, 9, 5, tzinfo=UTC), DEFAULTS["HA_SILENT_HOURS"]
    )
    assert f'"{said}"' in flat("docs/storage.md")


def test_the_storage_page_quotes_the_alert_of_a_misspelt_home_assistant_database(settings):
    """HA_INFLUXDB_DATABASE misspelt, Home Assistant's points in the default database."""
    from retention.entities.ha_database import missing_message

    settings.HA_LAYOUT = DEFAULTS["HA_LAYOUT"]
    ha = DEFAULTS["HA_INFLUXDB_DATABASE"]
    said = missing_message("home_assitant", ["_internal", DEFAULTS["INFLUXDB_DATABASE"], ha], [ha])
    assert f'"{said}"' in flat("docs/storage.md")


def test_the_storage_page_quotes_what_a_full_archive_directory_is_said_as():
    import errno

    from retention.archive.local import LocalStorage

    key = "archives/2022/data_2022-01-01.parquet"
    full = OSError(errno.ENOSPC, "No space left on device")
    said = LocalStorage("/srv/enrich/archive")._unwritable(key, full)
    assert f"{key}: StorageRefused: {said}" in flat("docs/storage.md")


def test_the_storage_page_quotes_what_influxdb_on_a_full_disk_is_said_as():
    from enrich.influx.errors import disk_full

    wal = "engine: error writing WAL entry: write …: no space left on device"
    said = disk_full(wal, "http://127.0.0.1:8086")
    assert f"{wal}.{said} …" in flat("docs/storage.md")
