"""Retention tiers as the gateway creates and lists them (1.x retention policies, 2.x buckets
mapped as `db/rp`), and the shards that hold their data.

A database always has the tier `autogen` (infinite duration), as InfluxDB 1.x creates it; it
is the default unless another tier is marked default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from enrich.influx.influxql import duration_seconds, format_duration

DEFAULT_TIER = "autogen"


@dataclass(frozen=True)
class RetentionTier:
    """A retention policy (1.x) or bucket mapped as `db/rp` (2.x)."""

    name: str
    duration: str  # InfluxQL duration ("7d", "90d") or "INF"
    default: bool = False
    # Time span of one shard group ("52w"); None: InfluxDB's default for the duration (7 days
    # for INF). Applied when the tier is created; an existing tier keeps its own.
    shard_duration: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a retention tier needs a name")
        duration_seconds(self.duration)  # validates: the duration is put into InfluxQL as is
        if self.shard_duration is not None and not duration_seconds(self.shard_duration):
            raise ValueError(f"shard_duration={self.shard_duration!r}: use a duration like 52w")

    @property
    def seconds(self) -> int | None:
        """Duration in seconds; None means kept forever."""
        return duration_seconds(self.duration)

    @property
    def shard_seconds(self) -> int | None:
        """Shard group span in seconds; None where it is not known (InfluxDB's default)."""
        return duration_seconds(self.shard_duration) if self.shard_duration else None


class Shard(NamedTuple):
    """One shard as InfluxDB 1.x reports it (times as RFC 3339 text, e.g. 2024-03-04T00:00:00Z)."""

    database: str
    retention_policy: str
    disk_bytes: int
    cache_bytes: int
    start: str
    end: str


def shown_shard_duration(shown: object) -> str | None:
    """SHOW RETENTION POLICIES' shardGroupDuration ("168h0m0s") as a tier's shard_duration."""
    seconds = duration_seconds(str(shown or "0s"))
    return format_duration(seconds) if seconds else None


def shards_differ(wanted: RetentionTier, have: RetentionTier) -> bool:
    """True when `wanted` names a shard group duration other than the existing tier's."""
    if wanted.shard_duration is None or have.shard_duration is None:
        return False
    return duration_seconds(wanted.shard_duration) != duration_seconds(have.shard_duration)


def check_tiers(tiers: Sequence[RetentionTier]) -> tuple[list[RetentionTier], bool]:
    """The tiers to ensure, and whether `autogen` was added implicitly (then it becomes
    the default only in a database that has no default yet)."""
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise ValueError(f"retention tiers named twice: {names}")
    if sum(t.default for t in tiers) > 1:
        raise ValueError("at most one retention tier can be the default")
    if DEFAULT_TIER in names:
        return list(tiers), False
    # InfluxDB 1.x always has it; 2.x gets it too, so both behave alike.
    has_default = any(t.default for t in tiers)
    return [RetentionTier(DEFAULT_TIER, "INF", default=not has_default), *tiers], True
