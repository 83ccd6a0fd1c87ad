"""Safety of the tiers: horizons, retention policies that must not drop data before it is
downsampled, the tier retention policies themselves, and the day range a person asks for.

Used by `retention.tiers.runner` before every run (`check_retention_policies()`), by the API and the
commands (`check_range`), and by anyone who wants to know whether the InfluxDB retention
settings are safe (`check_retention_policies()` returns the problems, [] when safe).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from enrich.api.params import Refused, as_day
from enrich.influx import (
    InfluxQueryError,
    RetentionTier,
    duration_seconds,
    get_timeseries,
    quote_ident,
)
from enrich.wording import counted
from retention.day_ranges import RangeError, check_span
from retention.models import RetentionRun
from retention.tiers.layout import tier_policies
from retention.tiers.rows import DAILY_RP, HOURLY_RP
from retention.timeutil import utc_date, utc_midnight


class TierError(Exception):
    """A tier run cannot go on; the message says what was wrong and what to do."""


class VerificationFailed(TierError):
    """Rows read back differ from what was written or do not account for the source data."""


# --- Horizons, retention policies ----------------------------------------------------------
def hourly_horizon(now: datetime | None = None) -> date:
    """The first UTC day whose raw data is NOT downsampled yet (days before it are)."""
    now = now or datetime.now(UTC)
    margin = timedelta(hours=settings.RETENTION_LATE_MARGIN_HOURS)
    return utc_date(now - timedelta(days=settings.RETENTION_RAW_DAYS) - margin)


def daily_horizon(now: datetime | None = None) -> date:
    """The first UTC day whose hourly rows are NOT composed into daily ones yet."""
    now = now or datetime.now(UTC)
    margin = timedelta(hours=settings.RETENTION_LATE_MARGIN_HOURS)
    return utc_date(now - timedelta(days=settings.RETENTION_HOURLY_DAYS) - margin)


def nothing_due(
    operation: str, horizon: date, asked: tuple[date, date | None] | None = None
) -> str:
    """Why a run found no day to do (every day before `horizon` is done, or holds nothing
    tiered) and when the next one comes due: the horizon moves a day at the UTC midnight
    RETENTION_RAW_DAYS (hourly tier) or RETENTION_HOURLY_DAYS (daily tier) days and
    RETENTION_LATE_MARGIN_HOURS hours back. `asked`: the days [start, end) a run was given
    (--start/--end, the API's start/end), each done or not due yet."""
    hourly = operation == RetentionRun.Operation.DOWNSAMPLE_HOURLY
    days = settings.RETENTION_RAW_DAYS if hourly else settings.RETENTION_HOURLY_DAYS
    kept = "raw points" if hourly else "hourly rows"
    due = utc_midnight(horizon + timedelta(days=1)) + timedelta(
        days=days, hours=settings.RETENTION_LATE_MARGIN_HOURS
    )
    why = f"{kept} are kept {counted(days, 'day')}, and {settings.RETENTION_LATE_MARGIN_HOURS:g} h"
    why += " for late points"
    if asked is None:
        return none_due("day", horizon, "is done (or holds nothing tiered)", str(horizon), due, why)
    return _asked_done(asked, horizon, f"{horizon} comes due at {due:%Y-%m-%d %H:%M} UTC ({why})")


def _asked_done(asked: tuple[date, date | None], horizon: date, next_due: str) -> str:
    """The days asked are done (a run does a done day once), those from `horizon` not due."""
    start, end = asked
    last = (end or horizon) - timedelta(days=1)
    days = str(start) if last <= start else f"{start} to {last}"
    if start >= horizon:
        return f"no day asked ({days}) was due yet: {next_due}"
    if end is not None and end <= horizon:
        return f"no day asked ({days}) was due: each is done already (a run does a day once)"
    return (
        f"no day asked ({days}) was due: each before {horizon} is done already (a run does a "
        f"day once), and {next_due}"
    )


def none_due(unit: str, horizon: date, done: str, next_due: str, due: datetime, why: str) -> str:
    """How a run that found no `unit` due says why and when `next_due` (the `unit` from
    `horizon`) comes due: the tier runs' words (`nothing_due`), and the archive's
    (retention.archive.plan.nothing_due)."""
    return (
        f"no {unit} was due: every {unit} before {horizon} {done}; {next_due} comes due at "
        f"{due:%Y-%m-%d %H:%M} UTC ({why})"
    )


def raw_retention_policy() -> str:
    """The retention policy Home Assistant writes to: the default one of its database."""
    database = settings.HA_INFLUXDB_DATABASE
    policies = get_timeseries().retention_policies(database)
    for policy in policies:
        if policy.default:
            return policy.name
    raise TierError(
        f"InfluxDB database {database!r} has no default retention policy, so it is unclear "
        "where Home Assistant's raw data is. Make the one Home Assistant writes to the default "
        f"(ALTER RETENTION POLICY ... ON {quote_ident(database)} DEFAULT)."
    )


def policies_of(database: str) -> dict[str, RetentionTier] | None:
    try:
        return {p.name: p for p in get_timeseries().retention_policies(database)}
    except InfluxQueryError as exc:
        if "not found" in exc.server_message:
            return None
        raise


def missing_tiers() -> list[str]:
    """The tiers' retention policies TIER_DATABASE does not have yet (all of them where the
    database is missing): what the first run creates (`ensure_tiers`) and a dry run must not
    read (InfluxDB answers "retention policy not found")."""
    existing = policies_of(settings.TIER_DATABASE) or {}
    return [tier.name for tier in tier_policies() if tier.name not in existing]


# How long a daily row may wait in enrich_daily for the archive after RETENTION_DAILY_DAYS
# (retention.archive.plan): a year's rows are written once the year has closed (up to 366 days),
# rows found again in a range whose file is younger than 90 days wait until it is 90 days old,
# and the weekly run may wait for its lock (retried, then failed: retention.busy) or fail for
# other reasons: 4 weeks.
ARCHIVE_WAIT_DAYS = 366 + 90 + 28
# How long an hourly row may wait for the daily tier after RETENTION_HOURLY_DAYS: its nightly
# run may fail for some nights in a row, on an error or because another run (an hourly run
# folding late points, the archive deleting, a run started by hand) held its lock past its
# retries (retention.busy; a run of the command is skipped then): a week.
COMPOSE_WAIT_DAYS = 7
COMPOSE_WAIT = (
    f"composed: they wait for the daily tier up to {COMPOSE_WAIT_DAYS} days longer (its "
    "nightly run may fail, also when another run holds its lock past its retries)"
)
# How long raw points may wait for the hourly tier after they are due: the nightly raw ->
# hourly run may fail for some nights in a row (InfluxDB down, another run holding its lock past
# its retries: retention.busy), as the daily tier's may: a week, as COMPOSE_WAIT_DAYS. The raw
# policy's hard minimum allows for none (a longer one would refuse every run of an install whose
# policy is 9 days, and HA's policy would then drop everything untiered); short of this slack a
# run goes on and warns (retention.tiers.slack).
RAW_WAIT_DAYS = COMPOSE_WAIT_DAYS
ARCHIVE_WAIT = (
    f"archived: they wait for the archive up to {ARCHIVE_WAIT_DAYS} days longer (a year's rows "
    "are written once the year has closed, a file younger than 90 days is never rewritten, a "
    "weekly run may fail, also when another run holds its lock past its retries)"
)


def check_retention_policies() -> list[str]:
    """Problems that would let InfluxDB drop data before it is downsampled ([] = safe).

    Raw data must stay RETENTION_RAW_DAYS + 1 day (plus the late margin) in its retention
    policy; enrich_hourly and enrich_daily, if someone gave them a duration, longer than their
    tier horizon plus COMPOSE_WAIT_DAYS and ARCHIVE_WAIT_DAYS."""
    problems: list[str] = []
    margin_days = settings.RETENTION_LATE_MARGIN_HOURS / 24
    ha_db, tier_db = settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE
    daily_days = getattr(settings, "RETENTION_DAILY_DAYS", 365)
    if daily_days <= settings.RETENTION_HOURLY_DAYS:
        problems.append(
            f"RETENTION_DAILY_DAYS={daily_days} must be more than RETENTION_HOURLY_DAYS="
            f"{settings.RETENTION_HOURLY_DAYS}: daily rows are made from hourly rows older "
            "than that."
        )
    ha_policies = policies_of(ha_db)
    if ha_policies is None:
        return [
            *problems,
            f"Home Assistant's InfluxDB database {ha_db!r} does not exist: check "
            "HA_INFLUXDB_DATABASE (and INFLUXDB_URL).",
        ]
    needed_days = raw_needed_days()
    for policy in raw_policies(ha_policies):
        if policy.seconds < needed_days * 86400:
            problems.append(
                f"Retention policy {policy.name!r} of {ha_db!r} (Home Assistant's raw data) "
                f"drops data after {policy.duration}, before it is downsampled "
                f"(RETENTION_RAW_DAYS={settings.RETENTION_RAW_DAYS} plus a day and the "
                f"{settings.RETENTION_LATE_MARGIN_HOURS:g} h late margin). "
                f"{lengthen(policy.name, needed_days)}, or lower RETENTION_RAW_DAYS."
            )
    tier_policies = ha_policies if tier_db == ha_db else (policies_of(tier_db) or {})
    for name, horizon_days, setting, wait_days, why in (
        (
            HOURLY_RP,
            settings.RETENTION_HOURLY_DAYS,
            "RETENTION_HOURLY_DAYS",
            COMPOSE_WAIT_DAYS,
            COMPOSE_WAIT,
        ),
        (DAILY_RP, daily_days, "RETENTION_DAILY_DAYS", ARCHIVE_WAIT_DAYS, ARCHIVE_WAIT),
    ):
        policy = tier_policies.get(name)
        if policy is None or policy.seconds is None:
            continue
        needed = horizon_days + wait_days + margin_days
        if policy.seconds < needed * 86400:
            problems.append(
                f"Retention policy {name!r} of {tier_db!r} drops rows after "
                f"{policy.duration}, before they are {why} ({setting}={horizon_days}). enrich "
                f"creates it with duration INF and deletes only verified data itself: set it "
                f"back (ALTER RETENTION POLICY {quote_ident(name)} ON {quote_ident(tier_db)} "
                f"DURATION INF) or to at least {math.ceil(needed)}d."
            )
    return problems


def raw_needed_days() -> float:
    """How old the oldest point of a UTC day is when its first nightly run takes it: the raw
    policy's hard minimum (RETENTION_RAW_DAYS + the day + the late margin)."""
    return settings.RETENTION_RAW_DAYS + 1 + settings.RETENTION_LATE_MARGIN_HOURS / 24


def raw_policies(policies: dict[str, RetentionTier]) -> list[RetentionTier]:
    """The default policies of Home Assistant's database that have a duration (not INF)."""
    return [p for p in policies.values() if p.default and p.seconds is not None]


def infinite(name: str, database: str | None = None) -> str:
    """INF for the policy `name` of `database` (Home Assistant's), and how to set it."""
    database = database or settings.HA_INFLUXDB_DATABASE
    return (
        f"INF (ALTER RETENTION POLICY {quote_ident(name)} ON {quote_ident(database)} DURATION "
        "INF; on InfluxDB 2.x the bucket's retention to 'never')"
    )


def lengthen(name: str, days: float) -> str:
    """What to run to lengthen the raw policy `name` to at least `days`."""
    return f"Set its duration to {infinite(name)} or to at least {math.ceil(days)}d"


def ensure_tiers() -> list[str]:
    """Create enrich_hourly and enrich_daily (INF, never the default) where missing, with
    shard groups sized to their data (`tier_layout`); give existing ones those shard groups.
    Returns the names of the policies it created ([] when none was missing)."""
    ts = get_timeseries()
    database = settings.TIER_DATABASE
    existing = policies_of(database) or {}
    wanted = tier_policies()
    created = [tier.name for tier in wanted if tier.name not in existing]
    if all(_same_shards(existing.get(tier.name), tier) for tier in wanted):
        return created
    # Other existing policies are passed as they are, which leaves them (and the default) alone.
    ours = {tier.name for tier in wanted}
    others = [policy for name, policy in existing.items() if name not in ours]
    # A duration someone gave a tier (check_retention_policies allows long enough ones) stays;
    # InfluxDB refuses shard groups longer than it.
    kept = []
    for tier in wanted:
        have = existing.get(tier.name)
        if have is None:
            kept.append(tier)
            continue
        shards = duration_seconds(tier.shard_duration or "INF")
        fits = have.seconds is None or (shards is not None and shards <= have.seconds)
        kept.append(
            RetentionTier(
                tier.name, have.duration, have.default, tier.shard_duration if fits else None
            )
        )
    ts.create_database(database, tiers=[*others, *kept])
    return created


def _same_shards(have: RetentionTier | None, wanted: RetentionTier) -> bool:
    if have is None:
        return False
    if have.shard_duration is None or wanted.shard_duration is None:
        return True  # InfluxDB 2.x does not report it: set when the bucket was made
    return duration_seconds(have.shard_duration) == duration_seconds(wanted.shard_duration)


# --- The range a person asks for ------------------------------------------------------------
def check_range(
    operation: str, start: str | date | None, end: str | date | None, now: datetime | None = None
) -> tuple[date | None, date | None]:
    """Parse and check a run's `start`/`end` (UTC days as YYYY-MM-DD, read by
    enrich.api.params.as_day; start inclusive, end exclusive; none before
    retention.day_ranges.EARLIEST_DAY). Raises RangeError naming the parameter."""
    days: dict[str, date | None] = {}
    for name, value in (("start", start), ("end", end)):
        try:
            if isinstance(value, date):
                value = value.isoformat()
            days[name] = None if value is None or value == "" else as_day(name, value)
        except Refused as exc:
            raise RangeError(name, exc.text) from None
    first, stop = days["start"], days["end"]
    if first is not None and stop is not None and first >= stop:
        raise RangeError(
            "end",
            f"end {stop} must be after start {first} (end is exclusive: start=2024-03-04, "
            "end=2024-03-05 is the one day 2024-03-04).",
        )
    hourly = operation == RetentionRun.Operation.DOWNSAMPLE_HOURLY
    horizon = hourly_horizon(now) if hourly else daily_horizon(now)
    days_setting = (
        ("RETENTION_RAW_DAYS", settings.RETENTION_RAW_DAYS)
        if hourly
        else ("RETENTION_HOURLY_DAYS", settings.RETENTION_HOURLY_DAYS)
    )
    what = "raw data" if hourly else "hourly data"
    rule = (
        f"only {what} older than {days_setting[1]} days ({days_setting[0]}, plus "
        f"{settings.RETENTION_LATE_MARGIN_HOURS:g} h late margin) is downsampled"
    )
    if stop is not None and stop > horizon:
        raise RangeError(
            "end", f"end {stop} is too recent: {rule}, so end can be {horizon} at the latest."
        )
    if first is not None and first >= horizon:
        raise RangeError(
            "start",
            f"start {first} is too recent: {rule}; the newest day allowed is "
            f"{horizon - timedelta(days=1)}.",
        )
    check_span(first, stop, end_inclusive=False, limited=False)
    return first, stop
