"""A sample: one state Home Assistant wrote for an entity, normalised across both layouts.

Home Assistant writes a state when it changes, so samples are irregular and a value holds
until the next one (step function). `value` is the numeric state when there is one (on/off
as 1/0); `state` the string state when there is one; `attributes` the numeric attributes
(weather: temperature, humidity, pressure, wind_speed, ...). An energy meter's samples also
carry the meter attributes Home Assistant's statistics follow (`retention.tiers.stepwise`):
`state_class` as written ("total", "total_increasing", ...; None when the point has none) and
`last_reset` in UTC ISO form (`points.last_reset_of`; None when absent or not a time).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True, slots=True)  # slots: made and read millions of times a run
class Sample:
    time: datetime
    value: float | None = None
    state: str | None = None
    attributes: dict[str, float] = field(default_factory=dict)
    # Nanoseconds past `time`'s microsecond (InfluxDB keeps them, datetime cannot): two points
    # written within one microsecond are two states, not one written twice.
    nanos: int = 0
    state_class: str | None = None
    last_reset: str | None = None
    # A gap Home Assistant's recorder holds and InfluxDB has no point of (`recorded_gaps`): it
    # stops the value from holding, as a gap point does, but is no raw point to count.
    recorded: bool = False

    @property
    def instant(self) -> tuple[datetime, int]:
        """The sample's time to the nanosecond: samples at the same instant are one state."""
        return self.time, self.nanos

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError(f"sample time {self.time!r} has no timezone")


_new = object.__new__
_set_time, _set_value, _set_state, _set_attributes, _set_nanos = (
    Sample.time.__set__,  # type: ignore[attr-defined]  # the slots' own descriptors
    Sample.value.__set__,  # type: ignore[attr-defined]
    Sample.state.__set__,  # type: ignore[attr-defined]
    Sample.attributes.__set__,  # type: ignore[attr-defined]
    Sample.nanos.__set__,  # type: ignore[attr-defined]
)
_set_state_class, _set_last_reset, _set_recorded = (
    Sample.state_class.__set__,  # type: ignore[attr-defined]
    Sample.last_reset.__set__,  # type: ignore[attr-defined]
    Sample.recorded.__set__,  # type: ignore[attr-defined]
)


def aware_sample(
    time: datetime,
    value: float | None,
    state: str | None,
    attributes: dict[str, float],
    nanos: int = 0,
) -> Sample:
    """`Sample(time, value, state, attributes)` for a `time` known to be timezone-aware (a
    bulk reader's): the same frozen sample, made in about half the time, without the check."""
    sample = _new(Sample)
    _set_time(sample, time)
    _set_value(sample, value)
    _set_state(sample, state)
    _set_attributes(sample, attributes)
    _set_nanos(sample, nanos)
    _set_state_class(sample, None)
    _set_last_reset(sample, None)
    _set_recorded(sample, False)
    return sample


def at_nanos(sample: Sample, nanos: int) -> Sample:
    """The sample with `nanos` past its time's microsecond (of a point's epoch-ns time)."""
    return sample if nanos == sample.nanos else replace(sample, nanos=nanos)
