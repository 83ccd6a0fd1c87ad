"""What docs/storage.md says of the retention machinery in numbers and schedules, checked
against the code: the locks' lifetimes, the retries, the limits of the history and alert lists,
the archive's object minimums, when and on which queue each beat entry it names runs, the
fields of the daily metrics point, the keys of the alert webhook's JSON and the columns of an
archive file. A constant or a schedule changed in the code leaves the page telling users what
no run does."""

import re

import pytest

from tests.support.doc_pages import ROOT

PAGE = " ".join((ROOT / "docs" / "storage.md").read_text().split())


def minutes(seconds: float) -> str:
    return f"{seconds / 60:g}"


def phrases() -> list[str]:
    """Each phrase as the page must say it, its number taken from the code."""
    from django.conf import settings

    from retention import liveness
    from retention.archive import lock as archive_lock
    from retention.archive.plan import MIN_OBJECT_BYTES, MIN_STORAGE_DAYS
    from retention.archive.reader import READ_ATTEMPTS
    from retention.entities.gone import NAMED
    from retention.rollups import lock as view_lock
    from retention.stats.alerts import DELIVERY_WINDOW, DETECTION_WINDOW
    from retention.stats.api import DEFAULT_DAYS, MAX_RUNS
    from retention.stats.status_api import MAX_ALERTS
    from retention.tiers.chunks import LOCK_TTL_SECONDS
    from retention.tiers.pending import DELETE_BATCH_DAYS
    from retention.tiers.reads import GROUP_SIZE
    from retention.tiers.summary import SUMMARY_NOTES

    view_limit = max(
        settings.TASK_TIME_LIMITS[t][1]
        for t in (
            "retention.refresh_views",
            "retention.rebuild_view",
            "retention.follow_view_edits",
        )
    )
    retry = settings.RETENTION_RETRY_SECONDS
    tries = [retry * 2**n for n in range(3)]  # the tasks' max_retries: 3
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    words = {5: "five", 7: "seven"}
    return [
        # locks
        f"frees itself {minutes(view_lock.LOCK_SECONDS - view_limit)} minutes after the view "
        "tasks' hard time limit",
        f"A killed run's lock expires after {minutes(LOCK_TTL_SECONDS)} minutes",
        f"holds the archive lock ({minutes(archive_lock.LOCK_SECONDS)} minutes, renewed",
        f"a crashed run's lock expires after {minutes(archive_lock.LOCK_SECONDS)} minutes",
        f"frees itself within {minutes(archive_lock.LOCK_SECONDS)} minutes",
        f"(waited for up to {minutes(archive_lock.DAILY_WAIT_SECONDS)} minutes)",
        "expires a minute after its last renewal" if liveness.ALIVE_SECONDS == 60 else "?",
        f"renews it every {liveness.ALIVE_SECONDS / 4:g} s",
        # retries
        f"({tries[0]:g} s, then {tries[1]:g} and {tries[2]:,g} s: about "
        f"{minutes(sum(tries))} minutes in all)",
        f"({retry:g} s, doubling, 3 times",
        f"visibility timeout ({visibility // 3600} h {visibility % 3600 // 60} min)",
        # tier runs
        f"A day is read for up to {GROUP_SIZE} entities at once",
        f"up to {words[DELETE_BATCH_DAYS]} consecutive days in one statement",
        f"names the first {SUMMARY_NOTES} notes",
        # history and alerts
        f"(1–365, default {DEFAULT_DAYS})",
        f"(more than {MAX_RUNS:,} runs)",
        f"the newest {MAX_ALERTS}, with `count` and `truncated`",
        f"for up to {DELIVERY_WINDOW.total_seconds() / 3600:g} hours",
        f"Runs that started more than {DETECTION_WINDOW.days} days before a check are history",
        f"It names the first {words[NAMED]} and counts the rest",
        # archive
        f"at least **{MIN_OBJECT_BYTES // 1024} KB** and for at least **{MIN_STORAGE_DAYS} days**",
        f"read again ({READ_ATTEMPTS} tries)",
    ]


def test_the_numbers_the_storage_page_gives_are_the_code_s():
    missing = [phrase for phrase in phrases() if phrase not in PAGE]
    assert not missing, f"docs/storage.md does not say (as the code does): {missing}"


def test_the_alert_list_s_days_are_what_the_page_says(client, django_user_model):
    """`GET /retention/alerts`: "`days` days (1–3650, default 30; ...)"."""
    match = re.search(r"lists the open ones and those of the last `days` days \(1–(\d+), "
                      r"default (\d+);", PAGE)  # fmt: skip
    assert match, "docs/storage.md no longer gives the alert list's days"
    client.force_login(django_user_model.objects.create_superuser("sd", "sd@x.test", "pw"))
    assert client.get("/retention/alerts").json()["days"] == int(match[2])
    assert client.get(f"/retention/alerts?days={match[1]}").status_code == 200
    assert client.get(f"/retention/alerts?days={int(match[1]) + 1}").status_code == 400


def test_the_beat_entries_the_storage_page_names_run_when_and_on_the_queue_it_says():
    """ "Downsample raw to hourly" at 02:00, **Archive daily aggregates** ... on Sundays at 03:00,
    Every 5 minutes (beat entry "Check retention alerts", task `retention.check_alerts`, queue
    `default`): the time nearest to the name is the entry's, a task and queue given beside it
    are its own."""
    from config.queues import queue_of
    from config.schedule import SCHEDULE

    wrong, named, timed = [], set(), set()
    for entry in SCHEDULE:
        for found in re.finditer(
            rf'"{re.escape(entry.name)}"|\*\*{re.escape(entry.name)}\*\*', PAGE
        ):
            named.add(entry.name)
            before, after = (
                PAGE[max(0, found.start() - 60) : found.start()],
                PAGE[found.end() :][:90],
            )
            # a time after the name is its own ("..." at 02:30); else the one just before it
            times = (
                re.findall(r"\d\d:\d\d", after[:40])[:1] or re.findall(r"\d\d:\d\d", before)[-1:]
            )
            minute, hour, _, _, weekday = (entry.crontab or "- - - - -").split()
            if entry.every_seconds:
                said, expected = re.search(r"Every (\d+) minutes", before), entry.every_seconds
                said = said and int(said[1]) * 60
            elif not hour.isdigit():
                said = re.search(r"crontab `([^`]+)`", after)
                said, expected = said and said[1], entry.crontab
            elif times:
                said, expected = times[0], f"{int(hour):02}:{int(minute):02}"
            else:
                continue  # named without a time (the dry run's advice to run discovery)
            timed.add(entry.name)
            if said != expected:
                wrong.append(f"{entry.name}: the page says {said!r}, the schedule {expected!r}")
            if weekday == "0" and "Sundays" not in after[:40]:
                wrong.append(f"{entry.name}: runs on Sundays, the page does not say so")
            task = re.match(r" \((?:daily at [^,]*, )?task `([\w.]+)`", after)
            if task and task[1] != entry.task:
                wrong.append(f"{entry.name}: the page says task {task[1]}, it is {entry.task}")
    for task, queue in re.findall(r"task `([\w.]+)`[^)]*?queue `(\w+)`", PAGE):
        if queue_of(task) != queue:
            wrong.append(f"{task}: the page says queue {queue}, it runs on {queue_of(task)}")
    assert len(named) >= 8 and timed == named and not wrong, (named - timed, wrong)


def test_the_metrics_point_holds_the_fields_the_page_lists():
    """ "the same figures are written to InfluxDB measurement `retention_metrics` ...:
    `current_db_size_gb`, ..., and `unmeasured`": every figure known, the point holds those
    fields and no other (`unmeasured` only when one is not)."""
    from datetime import UTC, datetime

    from retention.stats.metrics import metrics_reading

    listed = PAGE.split("measurement `retention_metrics` in")[1].split("Trends:")[0]
    listed = listed.split("(a rerun the same day replaces it):")[1].split(" (what could not")[0]
    size = {"value": 1.0, "bytes": 2**30}
    tiers = {tier: dict(size) for tier in ("raw", "hourly", "daily", "enrichment")}
    stats = {
        "current_db_size_gb": {**size, "tiers": tiers},
        "archive_size_gb": {**size, "objects": 3},
        "raw_bytes_per_point": {"value": 10.0, "points": 1000},
        "raw_points_removed": {"value": 50},
        "raw_equivalent_size_gb": {"value": 2.0},
        "storage_saved_gb": size,
        "reduction_percentage": {"value": 50.0},
        "annual_cost_savings": {"value": 0.5},
        "open_alerts": [],
    }
    point = metrics_reading(stats, datetime(2026, 1, 1, tzinfo=UTC))
    assert set(re.findall(r"`(\w+)`", listed)) == {*point.fields, "unmeasured"}
    stats["annual_cost_savings"] = {"value": None, "reason": "no price"}
    assert "unmeasured" in metrics_reading(stats, datetime(2026, 1, 1, tzinfo=UTC)).fields


def test_the_webhook_json_the_page_shows_has_the_payload_s_keys():
    import json
    from datetime import UTC, datetime

    from retention.models import Alert, RetentionRun
    from retention.stats.alerts import payload

    shown = re.search(r"```json\n(.*?)```", (ROOT / "docs" / "storage.md").read_text(), re.S)
    now = datetime(2026, 5, 17, 2, 5, tzinfo=UTC)
    run = RetentionRun(pk=42, operation="downsample_hourly", status="failed", started=now)
    alert = Alert(pk=7, run=run, kind="failed", message="…", created=now)
    assert json.loads(shown[1]).keys() == payload(alert, now).keys()


def test_the_columns_of_an_archive_file_come_in_the_order_the_page_gives():
    """ "columns `time` ..., `entity_id`, `kind`, then in every file the fields of all kinds, in
    this order: `sample_count`, ...; then every other field the file's rows hold, sorted by
    name": a weather row's means and a meter's `last_reset` and `carry_*` come after them."""
    from datetime import UTC, datetime

    from retention.archive.format import field_types, rows_to_table

    said = PAGE.split("then in every file the fields of all kinds, in this order: ")[1]
    said = re.findall(r"`(\w+)`", said.split(";")[0])
    day = datetime(2023, 1, 1, tzinfo=UTC)
    rows = [
        {"time": day, "entity_id": "weather.home", "kind": "weather", "sample_count": 3,
         "temperature_mean": 20.0, "temperature_unit": "°C", "last_state": "sunny"},
        {"time": day, "entity_id": "sensor.grid", "kind": "energy", "sample_count": 4,
         "last_value": 2.0, "last_reset": "2023-01-01T00:00:00+00:00", "carry_value": 1.0},
    ]  # fmt: skip
    influx = {
        "temperature_unit": "string",
        "last_reset": "string",
        "carry_value": "float",
        "temperature_mean": "float",
        "unused_field": "float",
    }  # as SHOW FIELD KEYS lists
    table = rows_to_table(rows, field_types(influx))
    others = ["carry_value", "last_reset", "temperature_mean", "temperature_unit"]
    assert table.column_names == ["time", "entity_id", "kind", *said, *others]


@pytest.mark.django_db
def test_the_influxql_the_page_compares_with_asks_for_the_days_the_rest_query_does():
    """ "The same question asked of the raw data in InfluxQL": the REST example's `start` and
    `end` are dates, both included; the InfluxQL's `time` bounds must span those same days."""
    from datetime import date, timedelta

    from retention.models import DailyEnergyByDevice
    from tests.support.api import token_client

    rest = re.search(r"GET (/api/views/daily_energy_by_device\?\S+)", PAGE)[1]
    since, until = re.search(r"WHERE time >= '(\S+?)T00:00:00Z' AND time < '(\S+?)T00:00:00Z'",
                             PAGE).groups()  # fmt: skip
    entity = re.search(r"entity_id=([\w.]+)", rest)[1]
    first = date.fromisoformat(since)
    for n in range(-5, 40):
        DailyEnergyByDevice.objects.create(entity_id=entity, date=first + timedelta(n), total_kwh=1)
    answered = [row["date"] for row in token_client("sd").get(rest).json()["rows"]]
    asked = (date.fromisoformat(until) - first).days
    assert answered == [str(first + timedelta(n)) for n in range(asked)]


def test_the_archive_s_monthly_cost_the_page_gives_is_its_bytes_at_the_price_it_gives():
    """ "a 50-entity home's year is ~440 KB ... about 0.0002 cents per month, and five years
    stay under a thousandth of a cent per month", at the page's "$0.004 per GB-month"."""
    costs = PAGE.split("### Costs")[1].split("### Restore")[0]
    price = float(re.search(r"\$([\d.]+) per GB-month", costs)[1])
    year_kb = int(re.search(r"a 50-entity home's year is ~(\d+) KB", costs)[1])
    said = float(re.search(r"about ([\d.]+) cents per month", costs)[1])
    cents = year_kb * 1024 / 2**30 * price * 100  # GB = 2^30 bytes, as AWS bills
    assert round(cents, 4) == said
    assert "five years stay under a thousandth of a cent per month" in costs
    assert 5 * cents < 0.001


def test_the_webhook_s_kinds_the_page_lists_are_every_kind_of_alert():
    """ "`kind` is `failed` or `overrun` for a run's alert, ... for the alerts of a condition":
    the automations matching `trigger.json.kind` meet every kind an alert can have."""
    from retention.models import Alert

    said = PAGE.split("`kind` is ")[1].split("; `duration_seconds`")[0]
    assert set(re.findall(r"`(\w+)`", said)) == set(Alert.Kind.values)
