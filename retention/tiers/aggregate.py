"""The `Aggregate`: one entity's summary of one window, the InfluxDB fields it is stored as, and
how the aggregates of finer windows compose exactly into a coarser one (hourly -> daily).

Pure Python, no I/O. `retention.tiers.stepwise` computes an Aggregate from a window of samples
(its module docstring gives the semantics, Home Assistant's long-term statistics); the tiers
write `Aggregate.to_fields()` to InfluxDB, read them back with `Aggregate.from_fields` to
verify, and build daily rows with `compose`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from retention.tiers.timeline import utc_window

KINDS = ("power", "energy", "numeric", "binary", "text", "weather")
VALUE_KINDS = frozenset({"power", "energy", "numeric"})
ENERGY_KINDS = frozenset({"power", "energy"})
WATT_SECONDS_PER_KWH = 3.6e6
MEAN_SUFFIX = "_mean"
COVERAGE_SUFFIX = "_coverage_seconds"

FieldValue = int | float | str
T = TypeVar("T")


@dataclass
class Aggregate:
    """One entity's summary of one window [window_start, window_end).

    Fields that do not apply to the kind, or are unknown (no coverage), are None/empty and
    are left out of `to_fields()`: an unknown is never written as 0.
    """

    window_start: datetime
    window_end: datetime
    kind: str
    sample_count: int = 0
    coverage_seconds: float = 0.0
    gap_count: int = 0
    avg_value: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    last_value: float | None = None
    total_energy: float | None = None
    # An energy meter's cycle at the window end: the last `last_reset` (UTC ISO) of a `total`
    # meter that started a cycle (HA's statistics' last_reset); None when it has none.
    last_reset: str | None = None
    # An energy meter's first reading ever (seconds since the epoch, UTC), on the row of the
    # window it lies in (no reading known before it); None on every other row.
    first_reading_time: float | None = None
    state_changes: int | None = None
    on_seconds: float | None = None
    last_state: str | None = None
    attribute_means: dict[str, float] = field(default_factory=dict)
    attribute_coverage: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_kind(self.kind)
        _check_covered(
            self,
            "attribute means {} have no coverage seconds; every mean needs its coverage so "
            "daily composition stays exact",
        )

    def to_fields(self) -> dict[str, FieldValue]:
        """The InfluxDB fields for this kind: ints for counts, floats for measures, a string
        for last_state; unknown fields omitted."""
        fields: dict[str, FieldValue] = {
            "sample_count": int(self.sample_count),
            "coverage_seconds": float(self.coverage_seconds),
            "gap_count": int(self.gap_count),
        }
        if self.kind in VALUE_KINDS:
            for name in ("avg_value", "min_value", "max_value", "last_value"):
                if (value := getattr(self, name)) is not None:
                    fields[name] = float(value)
            if self.kind in ENERGY_KINDS and self.total_energy is not None:
                fields["total_energy"] = float(self.total_energy)
            if self.kind == "energy" and self.last_reset is not None:
                fields["last_reset"] = str(self.last_reset)
            if self.kind == "energy" and self.first_reading_time is not None:
                fields["first_reading_time"] = float(self.first_reading_time)
            return fields
        if self.state_changes is not None:
            fields["state_changes"] = int(self.state_changes)
        if self.last_state is not None:
            fields["last_state"] = str(self.last_state)
        if self.kind == "binary" and self.on_seconds is not None:
            fields["on_seconds"] = float(self.on_seconds)
        if self.kind == "weather":
            for name in sorted(self.attribute_means):
                fields[name + MEAN_SUFFIX] = float(self.attribute_means[name])
                fields[name + COVERAGE_SUFFIX] = float(self.attribute_coverage[name])
        return fields

    @classmethod
    def from_fields(
        cls,
        kind: str,
        window_start: datetime,
        window_end: datetime,
        fields: Mapping[str, object],
    ) -> Aggregate:
        """An Aggregate from fields read back from InfluxDB. None values are absent fields
        (`SELECT *` returns every field key of the measurement); other keys are ignored."""
        check_kind(kind)
        missing = [n for n in ("sample_count", "coverage_seconds") if fields.get(n) is None]
        if missing:
            one = len(missing) == 1
            named = (
                f"the field{'' if one else 's'} {' and '.join(missing)} {'is' if one else 'are'}"
            )
            raise ValueError(
                f"{kind} aggregate at {window_start.isoformat()}: {named} missing, so this row "
                "was not written by enrich's tiers; delete it and rerun the downsampling for "
                "this window"
            )

        def number(name: str) -> float | None:
            value = fields.get(name)
            return None if value is None else _as_float(value, name)

        def count(name: str) -> int | None:
            value = fields.get(name)
            return None if value is None else int(_as_float(value, name))

        aggregate = cls(
            window_start,
            window_end,
            kind,
            sample_count=count("sample_count") or 0,
            coverage_seconds=number("coverage_seconds") or 0.0,
            gap_count=count("gap_count") or 0,
        )
        if kind in VALUE_KINDS:
            aggregate.avg_value = number("avg_value")
            aggregate.min_value = number("min_value")
            aggregate.max_value = number("max_value")
            aggregate.last_value = number("last_value")
            if kind in ENERGY_KINDS:
                aggregate.total_energy = number("total_energy")
            if kind == "energy" and (last_reset := fields.get("last_reset")) is not None:
                aggregate.last_reset = str(last_reset)
            if kind == "energy":
                aggregate.first_reading_time = number("first_reading_time")
            return aggregate
        aggregate.state_changes = count("state_changes")
        last_state = fields.get("last_state")
        aggregate.last_state = None if last_state is None else str(last_state)
        if kind == "binary":
            aggregate.on_seconds = number("on_seconds")
        if kind == "weather":
            for key, value in fields.items():
                if value is None:
                    continue
                if key.endswith(MEAN_SUFFIX):
                    aggregate.attribute_means[key[: -len(MEAN_SUFFIX)]] = _as_float(value, key)
                elif key.endswith(COVERAGE_SUFFIX):
                    name = key[: -len(COVERAGE_SUFFIX)]
                    aggregate.attribute_coverage[name] = _as_float(value, key)
            _check_covered(
                aggregate,
                f"means of {{}} have no '<attribute>{COVERAGE_SUFFIX}' field; rerun the "
                "downsampling for this window so daily composition can weight them",
            )
            # Coverage without a mean cannot happen in rows we wrote; keep the pairs only.
            aggregate.attribute_coverage = {
                name: aggregate.attribute_coverage[name] for name in aggregate.attribute_means
            }
        return aggregate


def _as_float(value: object, name: str) -> float:
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"aggregate field {name}={value!r} is not a number")


def _check_covered(aggregate: Aggregate, problem: str) -> None:
    """Every attribute mean needs its coverage seconds; else ValueError, `problem` naming them."""
    missing = sorted(set(aggregate.attribute_means) - set(aggregate.attribute_coverage))
    if missing:
        at = aggregate.window_start.isoformat()
        raise ValueError(f"weather aggregate at {at}: {problem.format(missing)}")


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown entity kind {kind!r}: expected one of {', '.join(KINDS)}")


def clamp(mean: float, low: float | None, high: float | None) -> float:
    # Mathematically low <= mean <= high; float rounding of the weighted sum can step an ulp
    # outside (0.1 held everywhere averages to 0.10000000000000002).
    if low is not None and mean < low:
        return low
    if high is not None and mean > high:
        return high
    return mean


# --- Composition (hourly -> daily) ------------------------------------------------------
def compose(
    kind: str, aggregates: Sequence[Aggregate], start: datetime, end: datetime
) -> Aggregate | None:
    """The exact aggregate of [start, end) from the aggregates of finer windows inside it
    (e.g. the day's hourly rows): coverage-weighted means, min of mins, max of maxes, sums of
    counts, coverage, energy and on-seconds, the last known last_value/last_state/last_reset,
    the earliest first_reading_time.
    Windows without a row had nothing in force and no point. None when there are no
    aggregates."""
    check_kind(kind)
    start, end = utc_window(start, end)
    parts = sorted(aggregates, key=lambda part: part.window_start)
    if not parts:
        return None
    previous_end = start
    for part in parts:
        if part.kind != kind:
            raise ValueError(
                f"cannot compose a {part.kind} aggregate ({part.window_start.isoformat()}) "
                f"into a {kind} window"
            )
        if part.window_start < previous_end or part.window_end > end:
            raise ValueError(
                f"aggregate window {part.window_start.isoformat()}–"
                f"{part.window_end.isoformat()} overlaps another one or lies outside "
                f"{start.isoformat()}–{end.isoformat()}: pass each finer window once"
            )
        previous_end = part.window_end

    result = Aggregate(
        start,
        end,
        kind,
        sample_count=sum(part.sample_count for part in parts),
        coverage_seconds=sum(part.coverage_seconds for part in parts),
        gap_count=sum(part.gap_count for part in parts),
    )
    if kind in VALUE_KINDS:
        result.min_value = _known_min(part.min_value for part in parts)
        result.max_value = _known_max(part.max_value for part in parts)
        result.avg_value = _weighted_mean((part.avg_value, part.coverage_seconds) for part in parts)
        if result.avg_value is not None:
            result.avg_value = clamp(result.avg_value, result.min_value, result.max_value)
        result.last_value = _last_known(part.last_value for part in parts)
        if kind in ENERGY_KINDS:
            result.total_energy = _known_sum(part.total_energy for part in parts)
        result.last_reset = _last_known(part.last_reset for part in parts)
        result.first_reading_time = _known_min(part.first_reading_time for part in parts)
        return result
    changes = _known_sum(part.state_changes for part in parts)
    result.state_changes = None if changes is None else int(changes)
    result.last_state = _last_known(part.last_state for part in parts)
    if kind == "binary":
        result.on_seconds = _known_sum(part.on_seconds for part in parts)
    if kind == "weather":
        names = sorted({name for part in parts for name in part.attribute_means})
        for name in names:
            pairs = [
                (part.attribute_means[name], part.attribute_coverage[name])
                for part in parts
                if name in part.attribute_means
            ]
            mean = _weighted_mean(pairs)
            if mean is not None:
                result.attribute_means[name] = mean
                result.attribute_coverage[name] = sum(seconds for _, seconds in pairs)
    return result


def _weighted_mean(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    total = 0.0
    weight = 0.0
    for mean, seconds in pairs:
        if mean is not None and seconds > 0:
            total += mean * seconds
            weight += seconds
    return total / weight if weight > 0 else None


def _known_sum(values: Iterable[float | int | None]) -> float | None:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _known_min(values: Iterable[float | None]) -> float | None:
    return min((value for value in values if value is not None), default=None)


def _known_max(values: Iterable[float | None]) -> float | None:
    return max((value for value in values if value is not None), default=None)


def _last_known(values: Iterable[T | None]) -> T | None:
    last = None
    for value in values:
        if value is not None:
            last = value
    return last
