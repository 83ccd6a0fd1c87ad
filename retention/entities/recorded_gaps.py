"""The gaps Home Assistant's recorder holds of an official-layout entity, in its timeline.

The official InfluxDB integration writes no point for the states unknown, unavailable and ""
(reference/ha_influx_schema.md), so in InfluxDB an entity's last value holds across them: a
plug unplugged for 3 days at 100 W would add 7.2 kWh. `retention.entities.ha_gaps` records
those spans from Home Assistant's history (`UnavailableSpan`); `merged` puts a gap sample at
the start of each into a timeline, where it stops the value from holding exactly as an HA
Ingestor gap point does (`retention.entities.points`): the value back at the span's end is the
next point, which ends the gap as any point does; a span still open lasts until the next
point. It is `Sample.recorded`: no raw point, so it counts in neither `sample_count` nor
`gap_count` (a day's raw points stay the sum of both, `retention.tiers.timeline`).

The one rule for every reader of raw points: the tiers (`HourlyTier.compute`, through a run's
`RecordedGaps`, read once), the views (`retention.rollups.inputs.entity_parts`) and the
series API (`retention.tiers.series`). The ingestor layout records gap points of its own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db.models import Q

from retention.entities.samples import Sample
from retention.models import Entity, UnavailableSpan
from retention.timeutil import DAY, utc_midnight

Span = tuple[datetime, datetime | None]  # (start, end; None while it lasts)


def spans_of(entity_ids: Iterable[str], start: datetime, end: datetime) -> dict[str, list[Span]]:
    """Each entity's recorded spans that matter in [start, end): begun before `end` and not
    ended before `start`, in time order."""
    found: dict[str, list[Span]] = {}
    ids = list(entity_ids)
    if not ids:
        return found
    query = UnavailableSpan.objects.filter(entity_id__in=ids, start__lt=end).filter(
        Q(end__isnull=True) | Q(end__gt=start)
    )
    for entity_id, span_start, span_end in query.order_by("entity_id", "start").values_list(
        "entity_id", "start", "end"
    ):
        found.setdefault(entity_id, []).append((span_start, span_end))
    return found


def entity_spans(entity: Entity, start: datetime, end: datetime) -> list[Span]:
    """`spans_of` one entity; none for the ingestor layout (it writes gap points)."""
    if entity.layout != Entity.Layout.OFFICIAL:
        return []
    return spans_of([entity.entity_id], start, end).get(entity.entity_id, [])


def merged(samples: Sequence[Sample], spans: Sequence[Span], start: datetime, end: datetime
           ) -> list[Sample]:  # fmt: skip
    """`samples` (time order; those before `start` carried in) with a recorded gap at the start
    of each span in [start, end), and at the start of one begun before `start` when no sample
    came since (the gap is then in force at `start`). A point at a span's very start wins."""
    if not spans:  # the common case: the samples as they are
        return samples if isinstance(samples, list) else list(samples)
    timeline = list(samples)
    times = [sample.time for sample in timeline]
    for span_start, span_end in spans:
        if span_start >= end or (span_end is not None and span_end <= start):
            continue
        position = bisect_left(times, span_start)
        if position < len(times) and times[position] == span_start:
            continue  # a point at that time: it is what Home Assistant had
        if span_start < start and position < len(times) and times[position] < start:
            continue  # a point came since it began: that one is in force at `start`
        timeline.insert(position, Sample(span_start, recorded=True))
        times.insert(position, span_start)
    return timeline


def with_recorded_gaps(entity: Entity, samples: Sequence[Sample], start: datetime,
                       end: datetime) -> list[Sample]:  # fmt: skip
    """`merged` with the entity's recorded spans."""
    return merged(samples, entity_spans(entity, start, end), start, end)


class RecordedGaps:
    """The spans a tier run reads, once (`load`, before its days), so every day of the run,
    computed ahead or in turn, and its rerun after a crash read the same ones."""

    def __init__(self) -> None:
        self._spans: dict[str, list[Span]] = {}
        self._range: tuple[datetime, datetime] | None = None

    def load(self, entities: Iterable[Entity], start: datetime, end: datetime) -> RecordedGaps:
        """Read the entities' spans that matter in [start, end) (in the thread that owns the
        database connection: the views read InfluxDB in threads of their own)."""
        official = [e.entity_id for e in entities if e.layout == Entity.Layout.OFFICIAL]
        self._spans, self._range = spans_of(official, start, end), (start, end)
        return self

    def load_days(self, entities: Iterable[Entity], days: Sequence[date]) -> None:
        """`load` the UTC `days` (ascending; none: nothing read)."""
        if days:
            self.load(entities, utc_midnight(days[0]), utc_midnight(days[-1]) + DAY)

    def merged(self, entity: Entity, samples: Sequence[Sample], start: datetime, end: datetime
               ) -> list[Sample]:  # fmt: skip
        """`merged` with the entity's spans of the run."""
        return merged(samples, self.of(entity, start, end), start, end)

    def of(self, entity: Entity, start: datetime, end: datetime) -> list[Span]:
        """The entity's spans that matter in [start, end) (read now when not loaded)."""
        if self._range is None or not (self._range[0] <= start and end <= self._range[1]):
            return entity_spans(entity, start, end)
        return [
            (span_start, span_end)
            for span_start, span_end in self._spans.get(entity.entity_id, [])
            if span_start < end and (span_end is None or span_end > start)
        ]
