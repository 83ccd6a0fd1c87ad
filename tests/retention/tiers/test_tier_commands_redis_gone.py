"""`downsample_hourly` and `downsample_daily` with Redis (the store of the tier's lock: a
redis-server of the test's own) out of reach before the command starts or once its first day is
verified, against the real InfluxDB: the command stops with the message, naming REDIS_URL, that
nothing unverified was deleted and to run it again; with Redis back, it finishes."""

import pytest
from django.core.management import call_command

from retention.entities.ha_source import count_samples
from retention.models import RetentionRun
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0
from tests.support.commands import refusal
from tests.support.tier_runs import DAY, DAYS, ENTITY, RANGE, three_days, tier_rows

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("downsample_hourly", None),  # before the command takes the tier's lock
        ("downsample_hourly", "hourly:after_verify"),  # the first day verified, none deleted
        ("downsample_daily", None),
        ("downsample_daily", "daily:after_verify"),
    ],
)
def test_redis_gone_stops_a_tier_command_saying_nothing_unverified_was_deleted(
    ha_db, commands_redis, command, point
):
    """The command died with a traceback ending in RedisUnavailable (it caught only InfluxDB out
    of reach). Now it exits with the message; raw points (or hourly rows) are all still there;
    run again with Redis back, it resumes and finishes."""
    hourly = command == "downsample_hourly"
    entity, source = three_days(ha_db, command)  # source: what the run deletes once verified
    raw = count_samples(entity, T0, T0 + DAYS * DAY) if hourly else None
    before = source()
    commands_redis.stop_at(point)
    said = refusal(command, *RANGE)
    assert said.startswith(commands_redis.unavailable("The lock of the tier runs")), said
    assert said.endswith(
        "Nothing unverified was deleted; the days done so far stay done. Run this command again "
        "once Redis is back: it resumes where it stopped."
    ), said
    run = RetentionRun.objects.filter(operation=command).latest("pk")
    assert run.status == "failed" and run.errors.startswith("RedisUnavailable: "), run.errors
    assert source() == before  # nothing deleted
    written = tier_rows(HOURLY_RP if hourly else DAILY_RP)  # the first day's rows, verified
    assert written == (0 if point is None else 24 if hourly else 1)

    commands_redis.back()
    call_command(command, *RANGE)
    assert RetentionRun.objects.filter(operation=command).latest("pk").status == "ok"
    assert count_samples(entity, T0, T0 + DAYS * DAY) == 0
    if hourly:
        rows = read_rows(HOURLY_RP, T0, T0 + DAYS * DAY, ENTITY)[ENTITY]
        assert len(rows) == DAYS * 24 and sum(row.points for row in rows) == raw
    else:
        assert tier_rows(DAILY_RP) == DAYS and tier_rows(HOURLY_RP) == 0
