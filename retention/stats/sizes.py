"""The tiers' sizes on disk: what InfluxDB's own accounting (`TimeSeries.sizes()`) says each
tier holds, or why a tier was not measured (its database or retention policy missing).
GET /retention/stats (`retention.stats.measure`) and the storage entities show them."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from enrich.influx import get_timeseries
from retention.models import RetentionRun
from retention.schema import DAILY_RP, HOURLY_RP

TIER_RPS = (HOURLY_RP, DAILY_RP)
TIER_RUNS = Q(operation__in=(RetentionRun.Operation.DOWNSAMPLE_HOURLY,
                             RetentionRun.Operation.DOWNSAMPLE_DAILY))  # fmt: skip


@dataclass(frozen=True)
class TierSize:
    """Bytes of one tier: the (database, retention policy) pairs it is made of. `bytes` is
    None when its database does not exist (`reason` says which): that is not a measured 0.
    `note` says why a measured 0 is one (a TIER_DATABASE no tier run has created yet)."""

    name: str
    database: str
    retention_policies: tuple[str, ...]
    bytes: int | None
    reason: str = ""
    note: str = ""


# The setting naming each tier's database (what to check when it does not exist).
TIER_SETTINGS = {
    "raw": "HA_INFLUXDB_DATABASE",
    "hourly": "TIER_DATABASE",
    "daily": "TIER_DATABASE",
    "enrichment": "INFLUXDB_DATABASE",
}


def tier_sizes(
    sizes: Mapping[tuple[str, str], int],
    databases: Collection[str],
    tiers_created: bool = True,
    policies: Collection[str] | None = None,
) -> dict[str, TierSize]:
    """raw, hourly, daily and enrichment tiers out of `TimeSeries.sizes()`; `databases` are
    the databases InfluxDB has (`TimeSeries.databases()`); `tiers_created`: whether a tier
    run has created TIER_DATABASE and its policies (`tier_database_created`); `policies`: the
    retention policies TIER_DATABASE has (None: not checked).

    raw = every retention policy of Home Assistant's database except the tiers'; hourly and
    daily = `enrich_hourly`/`enrich_daily` of TIER_DATABASE; enrichment = INFLUXDB_DATABASE.
    A pair is counted in one tier only (the first that claims it, in that order). A tier
    whose database or retention policy does not exist is not measured (bytes None); one that
    exists without shards holds 0 bytes, and so do hourly and daily while no tier run has
    created their policies or TIER_DATABASE (the runs create them where they write).
    """
    ha_db, tier_db = settings.HA_INFLUXDB_DATABASE, settings.TIER_DATABASE
    claims = {
        "raw": lambda db, rp: db == ha_db and not (db == tier_db and rp in TIER_RPS),
        "hourly": lambda db, rp: db == tier_db and rp == HOURLY_RP,
        "daily": lambda db, rp: db == tier_db and rp == DAILY_RP,
        "enrichment": lambda db, rp: db == settings.INFLUXDB_DATABASE,
    }
    claimed: set[tuple[str, str]] = set()
    tiers = {}
    for name, claims_pair in claims.items():
        database = getattr(settings, TIER_SETTINGS[name])
        missing = _missing(name, database, databases, policies)
        if missing and _not_created_yet(name, database in databases, tiers_created):
            note = (
                f"InfluxDB has no {missing} (TIER_DATABASE) yet: no tier run has created it, "
                "so the tier holds nothing; the first downsampling run creates it"
            )
            tiers[name] = TierSize(name, database, (), 0, note=note)
            continue
        if missing:
            tiers[name] = TierSize(
                name, database, (), None, _missing_reason(name, database, missing)
            )
            continue
        pairs = sorted(k for k in sizes if k not in claimed and claims_pair(*k))
        claimed.update(pairs)
        tiers[name] = TierSize(
            name, database, tuple(rp for _, rp in pairs), sum(sizes[p] for p in pairs)
        )
    return tiers


TIER_RP = {"hourly": HOURLY_RP, "daily": DAILY_RP}


def _missing(name: str, database: str, databases: Collection[str], policies) -> str:
    """What InfluxDB lacks of the tier `name` ("" = nothing): its database or its policy."""
    if database not in databases:
        return f"database {database!r}"
    if name in TIER_RP and policies is not None and TIER_RP[name] not in policies:
        return f"retention policy {TIER_RP[name]!r} in database {database!r}"
    return ""


def _missing_reason(name: str, database: str, missing: str) -> str:
    setting = TIER_SETTINGS[name]
    if not missing.startswith("database"):  # a tier run created it: someone dropped it
        return (
            f"InfluxDB has no {missing} ({setting}), which a tier run created: it was dropped, "
            f"and the {name} rows with it, or {setting} names another database since; the "
            f"{name} tier was not measured (the next raw -> hourly run creates it again, empty)"
        )
    if setting == "TIER_DATABASE" and database == settings.HA_INFLUXDB_DATABASE:
        setting = "HA_INFLUXDB_DATABASE, which holds the tiers too"  # e.g. TIER_DATABASE empty
    return (
        f"InfluxDB has no {missing} ({setting}): the {name} tier was not measured; check the "
        "setting's spelling"
    )


def _not_created_yet(tier: str, exists: bool, tiers_created: bool) -> bool:
    """A tier's database or policy a tier run creates and none has yet (the HA database,
    holding the tiers, is not: a run creates only their policies in it)."""
    separate = settings.TIER_DATABASE != settings.HA_INFLUXDB_DATABASE
    return tier in TIER_RP and (separate or exists) and not tiers_created


def tier_database_created() -> bool:
    """Whether a real tier run got as far as creating TIER_DATABASE (`ensure_tiers`, just
    before it measures `storage_before_bytes`)."""
    return RetentionRun.objects.filter(TIER_RUNS, storage_before_bytes__isnull=False).exists()


def measure_tiers() -> dict[str, TierSize]:
    """`tier_sizes` of what InfluxDB reports now (TimeseriesError when it cannot be read)."""
    ts = get_timeseries()
    databases = ts.databases()
    tier_db = settings.TIER_DATABASE
    policies = [p.name for p in ts.retention_policies(tier_db)] if tier_db in databases else None
    return tier_sizes(ts.sizes(), databases, tier_database_created(), policies)
