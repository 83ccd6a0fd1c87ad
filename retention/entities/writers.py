"""Two writers of one entity at once: two Home Assistant instances (a house and a cabin, or an
old and a new install during a migration) writing the same entity id into one database.

Enrich reads every point of an entity's tags as one history (`retention.entities.sources`),
whatever other tags a point has, unless HA_INFLUXDB_TAGS names the tags of the instance it
reads: the InfluxDB integration's `tags:` option (`instance: cabin`) tells the instances apart
in InfluxDB, not in enrich. Two meters of 12000 and 300 kWh
alternating read as a reset and a growth of 11700 kWh at every other point.

`several_writers()` finds them: series of one entity (same measurement and entity tags, other
tags differing) each of which has points inside the other's span. A tag that changed once (a
global tag added mid-history, an area changed) makes series one after the other, and an area
changed and changed back makes series within each other's span without points inside each
other's: neither is two writers. Two instances without a tag telling them apart write one
series, which this cannot see (docs/storage.md, "Two Home Assistant instances").

`record()` keeps discovery's sentence on the entity (`Entity.several_writers`) while it finds
them, cleared once it does not (HA_INFLUXDB_TAGS naming one instance's tags, say):
until then the raw -> hourly run leaves the entity out, its raw points kept
(`retention.tiers.unrecorded`), rather than tiering both instances' points as one history and
deleting them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from enrich.influx import Row, get_timeseries, quote_ident
from retention.entities.points import INGESTOR_MEASUREMENT
from retention.entities.scan import OWN_MEASUREMENTS, full_entity_id
from retention.entities.sources import instance_tags
from retention.models import Entity

STATE_EVENTS = ("state_changed", "")  # the ingestor's event types that are states


@dataclass(frozen=True)
class Series:
    measurement: str
    tags: tuple[tuple[str, str], ...]  # every tag of the series, "" ones left out
    first: datetime
    last: datetime

    def where(self, other: Series) -> tuple[str, dict[str, str]]:
        """InfluxQL selecting this series' points and not `other`'s, and its params: a tag
        only `other` has is empty here (a missing tag compares equal to '')."""
        tags = dict(self.tags)
        tags.update({k: "" for k, _ in other.tags if k not in tags})
        clause = " AND ".join(f"{quote_ident(k)} = $tag{i}" for i, k in enumerate(tags))
        return clause, {f"tag{i}": v for i, v in enumerate(tags.values())}


def _series_of(db: str, measurement: str) -> Iterator[Series]:
    """Each series of `measurement` with its first and newest point time."""
    table = quote_ident(measurement)
    spans: dict[tuple, list[datetime]] = {}
    for order in ("ASC", "DESC"):
        query = f"SELECT * FROM {table} GROUP BY * ORDER BY time {order} LIMIT 1"
        with get_timeseries().query(db, query) as rows:
            for row in rows:
                if row.time is not None:
                    spans.setdefault(_tags(row), []).append(row.time)
    for tags, times in spans.items():
        yield Series(measurement, tags, min(times), max(times))


def _tags(row: Row) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in row.tags.items() if v not in (None, "")))


def _entity(series: Series, layout: str) -> str:
    tags = dict(series.tags)
    if layout == Entity.Layout.INGESTOR:
        if tags.get("event_type", "") not in STATE_EVENTS:
            return ""
        return tags.get("entity_id", "")
    if not (tags.get("domain") and tags.get("entity_id")):
        return ""
    return full_entity_id(tags["domain"], tags["entity_id"])


def _inside(db: str, series: Series, other: Series) -> bool:
    """Whether `series` has a point strictly inside `other`'s span."""
    where, params = series.where(other)
    query = (
        f"SELECT * FROM {quote_ident(series.measurement)} WHERE {where} "
        "AND time > $first AND time < $last LIMIT 1"
    )
    params = {**params, "first": other.first, "last": other.last}
    with get_timeseries().query(db, query, params=params) as rows:
        return any(True for _ in rows)


def several_writers(db: str, layout: str) -> dict[str, str]:
    """Entity id -> a sentence, for each entity whose points come from two writers at once,
    naming the entity, the tags telling them apart, when, and what to do."""
    if layout == Entity.Layout.INGESTOR:
        measurements = [INGESTOR_MEASUREMENT]
    else:
        measurements = [
            m
            for m in get_timeseries().measurements(db)
            if m != INGESTOR_MEASUREMENT and m not in OWN_MEASUREMENTS
        ]
    by_entity: dict[tuple[str, str], list[Series]] = defaultdict(list)
    instance = instance_tags().items()  # HA_INFLUXDB_TAGS: only the instance's points are read
    for measurement in measurements:
        for series in _series_of(db, measurement):
            entity_id = _entity(series, layout)
            if entity_id and instance <= dict(series.tags).items():
                by_entity[(entity_id, measurement)].append(series)
    said: dict[str, str] = {}
    for (entity_id, _), found in sorted(by_entity.items()):
        for a, b in combinations(found, 2):
            if a.first < b.last and b.first < a.last and _inside(db, a, b) and _inside(db, b, a):
                said.setdefault(entity_id, _sentence(entity_id, a, b))
                break
    return said


def record(said: dict[str, str], layout: str) -> None:
    """Keep each sentence on its entity; clear it on the layout's entities no longer named."""
    for entity_id, sentence in said.items():
        found = Entity.objects.filter(entity_id=entity_id).exclude(several_writers=sentence)
        found.update(several_writers=sentence)
    over = Entity.objects.filter(layout=layout).exclude(several_writers="")
    over.exclude(entity_id__in=said).update(several_writers="")


def _sentence(entity_id: str, a: Series, b: Series) -> str:
    first, second = dict(a.tags), dict(b.tags)
    keys = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))

    def tagged(tags: dict[str, str]) -> str:
        return ", ".join(f"{k}={tags.get(k, '')!r}" for k in keys)

    start, end = max(a.first, b.first), min(a.last, b.last)
    either = [t for t in (first, second) if all(t.get(k) for k in keys)]
    setting = ",".join(f"{k}={either[0][k]}" for k in keys) if either else "key=value"
    return (
        f"{entity_id}: two writers at once, points tagged {tagged(first)} and "
        f"{tagged(second)} (measurement {a.measurement!r}) alternate from "
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC. Enrich reads them as one history, "
        "so its tier rows and views mix both (two meters read as resets and growth). Set "
        f"HA_INFLUXDB_TAGS to the tags of the instance enrich reads (HA_INFLUXDB_TAGS={setting}"
        "), or give each Home Assistant instance its own database (the InfluxDB integration's "
        "database:); until then the raw -> hourly run leaves the entity out, its raw points "
        "kept (untick Tiered for the entity, admin → Retention → Entities, to keep it out)."
    )
