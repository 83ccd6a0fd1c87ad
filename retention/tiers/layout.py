"""What the tiers store, sized to their data: shard group durations and compact rows.

Shard groups. InfluxDB gives a retention policy of duration INF 7-day shard groups. Every shard
repeats the index of every series key (measurement, tags, field) it holds and its own files,
so in 7-day groups the tiers' few rows per entity and day would be mostly shard overhead (the
daily tier about 180 bytes per row). `enrich_hourly` holds about RETENTION_HOURLY_DAYS of rows and
`enrich_daily` about RETENTION_DAILY_DAYS, so each gets shard groups that long (in whole
weeks): a tier's data then lies in one or two shards. `ensure_tiers` creates the policies so and
alters existing ones (only shard groups created afterwards get the new duration; the data in
old ones stays where it is until the tiers delete it).

Compact rows. A row is written without the fields a reader can derive, and read back with
them put in again (`compact` on write, `expand` on read, both in `retention.tiers.rows`), so
every reader sees the full row and verification compares full rows:
- `gap_count` 0 (no gap: the field is absent);
- `max_value` equal to `last_value` in a window with coverage (a meter that only grows);
- on power rows, `total_energy` when `avg_value` x `coverage_seconds` / 3.6e6 gives it (to
  1e-12 relative: the mean is the integral divided by the coverage);
- on hourly rows, `carry_value` equal to `last_value`, `carry_state` equal to `last_state` and
  `carry_last_reset` equal to `last_reset` (the sample in force at the window end is almost
  always the last one in it). When the sample in force has no value (state, last_reset) but
  the row has a `last_value` (`last_state`, `last_reset`), the marker `carry_value_none`
  (`carry_state_none`, `carry_last_reset_none`) = 1 says so;
- `<attribute>_coverage_seconds` equal to the row's `coverage_seconds` (the attribute was there
  whenever the state was).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.conf import settings

from enrich.influx import RetentionTier
from retention.schema import DAILY_RP, HOURLY_RP
from retention.tiers.aggregate import COVERAGE_SUFFIX, MEAN_SUFFIX, WATT_SECONDS_PER_KWH

# (carry field, the row field it usually equals) on hourly rows.
CARRY_PAIRS = (
    ("carry_value", "last_value"),
    ("carry_state", "last_state"),
    ("carry_last_reset", "last_reset"),
)
NONE_SUFFIX = "_none"
# A power row's total_energy is left out when avg_value x coverage_seconds gives it to this.
ENERGY_REL = 1e-12


def shard_duration(days: float) -> str:
    """A shard group duration covering `days` (whole weeks, at least one)."""
    return f"{max(1, math.ceil(days / 7))}w"


def tier_policies() -> list[RetentionTier]:
    """The tiers' retention policies: INF (enrich deletes only verified data itself), with
    shard groups as long as the data each tier holds."""
    daily_days = getattr(settings, "RETENTION_DAILY_DAYS", 365)
    return [
        RetentionTier(
            HOURLY_RP, "INF", shard_duration=shard_duration(settings.RETENTION_HOURLY_DAYS)
        ),
        RetentionTier(DAILY_RP, "INF", shard_duration=shard_duration(daily_days)),
    ]


def _covered(fields: Mapping[str, object]) -> bool:
    """A reading was in force for a while: then min_value and max_value are known."""
    return float(fields.get("coverage_seconds") or 0) > 0  # type: ignore[arg-type]


def _energy(fields: Mapping[str, object]) -> float | None:
    """A power row's kWh from its time-weighted mean and coverage (None when not both)."""
    avg, coverage = fields.get("avg_value"), fields.get("coverage_seconds")
    if avg is None or coverage is None:
        return None
    return float(avg) * float(coverage) / WATT_SECONDS_PER_KWH  # type: ignore[arg-type]


def compact(rp: str, fields: Mapping[str, object], kind: str = "") -> dict[str, object]:
    """The fields to write: without those `expand` puts back (see the module docstring)."""
    out = dict(fields)
    if _covered(out) and "last_value" in out and out.get("max_value") == out["last_value"]:
        del out["max_value"]  # e.g. every hour of a meter that only grows
    energy = out.get("total_energy")
    if kind == "power" and isinstance(energy, float) and (derived := _energy(out)) is not None:
        if math.isclose(derived, energy, rel_tol=ENERGY_REL, abs_tol=1e-15):
            del out["total_energy"]
    if out.get("gap_count") == 0:
        del out["gap_count"]
    coverage = out.get("coverage_seconds")
    for name in [n for n in out if n.endswith(MEAN_SUFFIX)]:
        attribute = name[: -len(MEAN_SUFFIX)] + COVERAGE_SUFFIX
        if attribute in out and coverage is not None and out[attribute] == coverage:
            del out[attribute]
    if rp == HOURLY_RP and not out.get("carry_gap"):
        for carry, last in CARRY_PAIRS:
            if last not in out:
                continue
            if carry not in out:
                out[carry + NONE_SUFFIX] = 1
            elif type(out[carry]) is type(out[last]) and out[carry] == out[last]:
                del out[carry]
    return out


def expand(rp: str, fields: Mapping[str, object], kind: str = "") -> dict[str, object]:
    """The full fields of a row as `compact` wrote it (a full row comes back unchanged)."""
    out = dict(fields)
    if _covered(out) and out.get("max_value") is None and out.get("last_value") is not None:
        out["max_value"] = out["last_value"]
    if kind == "power" and out.get("total_energy") is None:
        if (derived := _energy(out)) is not None:
            out["total_energy"] = derived
    if "sample_count" in out and out.get("gap_count") is None:
        out["gap_count"] = 0
    coverage = out.get("coverage_seconds")
    for name in [n for n in out if n.endswith(MEAN_SUFFIX) and out[n] is not None]:
        attribute = name[: -len(MEAN_SUFFIX)] + COVERAGE_SUFFIX
        if out.get(attribute) is None and coverage is not None:
            out[attribute] = coverage
    if rp == HOURLY_RP and not out.get("carry_gap"):
        for carry, last in CARRY_PAIRS:
            if out.pop(carry + NONE_SUFFIX, None):
                continue
            if out.get(carry) is None and out.get(last) is not None:
                out[carry] = out[last]
    for carry, _ in CARRY_PAIRS:
        out.pop(carry + NONE_SUFFIX, None)
    return out
