"""The hourly tier's reads, counts and deletes of one day, batched across entities.

`ha_source` reads one entity at a time: a day of 50 entities cost some 450 requests (window,
carry-in, hourly chain, counts, deletes). Here each step is one request for a group of
entities of the official layout, with exactly `ha_source`'s results:

- the day's points of every entity in the group: one CSV query (`retention.tiers.window`);
- `carried_in`: the newest point before the day of each entity (`ORDER BY time DESC LIMIT 2`
  per series), with `ha_source`'s rule for ties; `first_times`: where each entity's raw data
  starts (a run given no first day);
- `count_samples`: `ha_source.count_samples` per entity from one COUNT query per group
  (plus one for points with both fields); an entity with several series is counted by
  `ha_source` itself;
- `last_rows_before` (`retention.tiers.rows`): each entity's newest hourly row before the
  day (the carry-in chain), and the newest daily row of those whose hourly row is older than
  the day before (`density.previous_row`);
- `days_with_samples`: the days of a run of days that hold points of each entity (one count
  by day), where the late-point pass (`retention.tiers.late_days`) reads and folds;
- `delete_day`: one DELETE for the day's entities over all their measurements when no other
  series matches the statement (checked by a query just before; else one per measurement),
  tier-scoped with the cross-policy check of the door; then counted again.

Entities of the ingestor layout, and every entity on InfluxDB 2.x, go through `ha_source` one by
one. Groups hold at most GROUP_SIZE entities, so a large home is never read into memory at once.
The hourly tier reads a day's group through `retention.tiers.reader`, one group ahead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import date, datetime

from enrich.influx import get_timeseries
from enrich.influx.bulk import delete_series, supports_csv
from retention.day_ranges import EARLIEST_TIME
from retention.entities import ha_source
from retention.entities.samples import Sample
from retention.entities.sources import raw_measurements, source_of
from retention.models import Entity
from retention.tiers.raw_delete import raw_tags
from retention.tiers.side import Side
from retention.tiers.window import (
    batchable,
    entity_of,
    keyed,
    measurements_of,
    outranked,
    selection,
)
from retention.timeutil import utc_date

logger = logging.getLogger("retention.tiers.runner")

GROUP_SIZE = 100


def official(entities: Iterable[Entity]) -> list[Entity]:
    """The entities read in batches: official layout (`batchable`), InfluxDB 1.x (else,
    entity by entity through ha_source)."""
    from django.conf import settings

    ts = get_timeseries()
    if not supports_csv(ts):
        return []
    skip = outranked(ts, settings.HA_INFLUXDB_DATABASE)
    return [e for e in entities if batchable(e, skip)]


def groups(entities: Sequence[Entity]) -> list[list[Entity]]:
    """The entities in groups of at most GROUP_SIZE (official ones batched, ingestor alone)."""
    batched = official(entities)
    ids = {e.entity_id for e in batched}
    alone = [[e] for e in entities if e.entity_id not in ids]
    return [batched[n : n + GROUP_SIZE] for n in range(0, len(batched), GROUP_SIZE)] + alone


# --- around the day ------------------------------------------------------------------------
def carried_in(entities: Sequence[Entity], start: datetime, database: str
               ) -> dict[str, Sample | None]:  # fmt: skip
    """Each entity's sample in force at `start` (ha_source's carry-in), None when none."""
    batched = official(entities)
    ids = {e.entity_id for e in batched}
    result: dict[str, Sample | None] = {}
    newest: dict[str, list] = {}
    if batched:
        measurements, where, params = selection(batched)
        by_key = keyed(batched)
        query = (
            f"SELECT * FROM {measurements} WHERE time < $start AND {where} "
            'GROUP BY "entity_id", "domain" ORDER BY time DESC LIMIT 2'
        )
        with get_timeseries().query(database, query, {**params, "start": start}) as rows:
            for row in rows:
                entity = entity_of(by_key, row.measurement, row.tags)
                if entity is not None:
                    newest.setdefault(entity.entity_id, []).append(row)
    for entity in entities:
        source = source_of(entity)
        if entity.entity_id not in ids:
            result[entity.entity_id] = ha_source.carried_in_from(source, database, start)
        else:  # two rows per series, newest first
            rows = sorted(newest.get(entity.entity_id, []), key=lambda r: r.time_ns, reverse=True)
            result[entity.entity_id] = ha_source.newest_sample(source, database, rows)
    return result


def first_times(entities: Sequence[Entity], before: datetime, database: str
                ) -> dict[str, datetime | None]:  # fmt: skip
    """Each entity's `ha_source.first_sample_time` before `before`, one query per group."""
    result: dict[str, datetime | None] = {}
    batched = official(entities)
    for group in groups(batched):
        measurements, where, params = selection(group)
        by_key = keyed(group)
        query = (
            f"SELECT * FROM {measurements} WHERE time >= $since AND time < $before AND {where} "
            'GROUP BY "entity_id", "domain" ORDER BY time ASC LIMIT 1'
        )
        params = {**params, "since": EARLIEST_TIME, "before": before}
        with get_timeseries().query(database, query, params) as rows:
            for row in rows:
                entity = entity_of(by_key, row.measurement, row.tags)
                if entity is not None and row.time is not None:
                    known = result.get(entity.entity_id)
                    result[entity.entity_id] = row.time if known is None else min(known, row.time)
    ids = {e.entity_id for e in batched}
    for entity in entities:
        if entity.entity_id not in ids:
            result[entity.entity_id] = ha_source.first_sample_time(
                entity, before, database=database
            )
    return result


# --- counts and deletes ----------------------------------------------------------------------
def count_samples(entities: Sequence[Entity], start: datetime, end: datetime, database: str
                  ) -> dict[str, int]:  # fmt: skip
    """`ha_source.count_samples` of each entity in [start, end), batched."""
    counts: dict[str, int] = {}
    batched = official(entities)
    ids = {e.entity_id for e in batched}
    single: list[Entity] = [e for e in entities if e.entity_id not in ids]
    for group in groups(batched):
        measurements, where, params = selection(group)
        by_key = keyed(group)
        window = f"WHERE time >= $start AND time < $end AND {where}"
        params = {**params, "start": start, "end": end}
        per_entity: dict[str, list[dict]] = {}
        query = f'SELECT COUNT("value"), COUNT("state") FROM {measurements} {window} GROUP BY *'
        with get_timeseries().query(database, query, params) as rows:
            for row in rows:
                entity = entity_of(by_key, row.measurement, row.tags)
                if entity is not None:
                    per_entity.setdefault(entity.entity_id, []).append(row.values)
        both: list[Entity] = []
        for entity in group:
            found = per_entity.get(entity.entity_id, [])
            if len(found) > 1:
                single.append(entity)  # several series: ha_source reads the points
                continue
            values = found[0] if found else {}
            first, second = int(values.get("count") or 0), int(values.get("count_1") or 0)
            counts[entity.entity_id] = first + second
            if first and second:
                both.append(entity)
        if both:
            measurements, where, params = selection(both)
            query = (
                f'SELECT COUNT("value") FROM {measurements} WHERE time >= $start AND '
                f'time < $end AND {where} AND "state" =~ /./ GROUP BY "entity_id", "domain"'
            )
            by_key = keyed(both)
            with get_timeseries().query(database, query, {**params, "start": start, "end": end}
                                        ) as rows:  # fmt: skip
                for row in rows:
                    entity = entity_of(by_key, row.measurement, row.tags)
                    if entity is not None:
                        counts[entity.entity_id] -= int(row.values.get("count") or 0)
    for entity in single:
        counts[entity.entity_id] = ha_source.count_samples(entity, start, end, database=database)
    return counts


def days_with_samples(entities: Sequence[Entity], start: datetime, end: datetime,
                      database: str) -> dict[str, set[date]]:  # fmt: skip
    """The UTC days in [start, end) holding raw points with a value or a state of each of the
    official `entities` (those `count_samples` counts), one count by day per group."""
    found: dict[str, set[date]] = {}
    for group in groups(official(entities)):
        measurements, where, params = selection(group)
        by_key = keyed(group)
        query = (
            f'SELECT COUNT("value"), COUNT("state") FROM {measurements} WHERE time >= $start '
            f'AND time < $end AND {where} GROUP BY time(1d), "entity_id", "domain" fill(none)'
        )
        with get_timeseries().query(database, query, {**params, "start": start, "end": end}
                                    ) as rows:  # fmt: skip
            for row in rows:
                entity = entity_of(by_key, row.measurement, row.tags)
                if entity is not None and (row.values.get("count") or row.values.get("count_1")):
                    found.setdefault(entity.entity_id, set()).add(utc_date(row.time))
    return found


def delete_tagged(database: str, start: datetime, end: datetime, measurement: str,
                  tag_sets: Sequence[dict[str, str]], rp: str | None,
                  after_first: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Delete the points of `measurement` in [start, end) with one of `tag_sets`, GROUP_SIZE
    sets a statement (`delete_series`; with `rp`, tier-scoped and checked by the door)."""
    for n in range(0, len(tag_sets), GROUP_SIZE):
        part = tag_sets[n : n + GROUP_SIZE]
        delete_series(get_timeseries(), database, start, end, [measurement], part, rp)
        if n == 0 and after_first is not None:
            after_first()


def delete_official(entities: Sequence[Entity], start: datetime, end: datetime, database: str,
                    rp: str, after_first: Callable[[], None],
                    alone: dict[frozenset[str], bool] | None = None,
                    done: Callable[[list[Entity]], None] = lambda _: None) -> None:  # fmt: skip
    """Delete the raw points of official `entities` in [start, end) (retried by the door when
    1.x answers "engine is closed"); `done` gets the entities of each statement once it ran, then
    `after_first` runs after the first statement (fault injection).
    One statement deletes every listed tag set from every listed measurement: it is used
    when the window holds no other series that it would match, else one per measurement.
    `alone` holds that check's answers for groups of entities (`alone_groups`), asked while
    the day was verified; a group inside one of them takes its answer, others are asked now."""
    ts = get_timeseries()
    parts: list[tuple[list[str], list[Entity]]] = []
    for n in range(0, len(entities), GROUP_SIZE):
        group = list(entities[n : n + GROUP_SIZE])
        ids = {e.entity_id for e in group}
        known = next((ok for checked, ok in (alone or {}).items() if ids <= checked), None)
        if known if known is not None else _only_these(group, start, end, database):
            parts.append((measurements_of(group), group))
        else:
            for measurement in measurements_of(group):
                parts.append(([measurement], [e for e in group if measurement in
                                              raw_measurements(e)]))  # fmt: skip
    for n, (measurements, group) in enumerate(parts):
        tag_sets = [tags for e in group for tags in raw_tags(e)]  # HA_INFLUXDB_TAGS too
        delete_series(ts, database, start, end, measurements, tag_sets, rp)
        done(group)
        if n == 0:
            after_first()


def alone_groups(entities: Sequence[Entity], start: datetime, end: datetime, database: str
                 ) -> dict[frozenset[str], bool]:  # fmt: skip
    """For each group of the official `entities`: whether the window holds no other series
    that one statement deleting them all would match (`_only_these`). It holds for every part
    of a group too: a part selects fewer measurements and tag sets."""
    return {
        frozenset(e.entity_id for e in group): _only_these(group, start, end, database)
        for group in groups(official(entities))
    }


def _only_these(entities: Sequence[Entity], start: datetime, end: datetime, database: str
                ) -> bool:  # fmt: skip
    """Whether every series with points in [start, end) that the entities' measurements
    and tag sets select together is one of the entities'."""
    measurements, where, params = selection(entities)
    query = f"SELECT COUNT(*) FROM {measurements} WHERE time >= $start AND time < $end AND "
    by_key = keyed(entities)
    with get_timeseries().query(database, query + f"{where} GROUP BY *",
                                {**params, "start": start, "end": end}) as rows:  # fmt: skip
        return all(entity_of(by_key, row.measurement, row.tags) is not None for row in rows)


def delete_day(targets: Sequence[tuple[Entity, int]], start: datetime, end: datetime,
               database: str, rp: str, delete_one: Callable[[Entity, int], int],
               after_first: Callable[[], None], side: Side | None = None,
               alone: dict[frozenset[str], bool] | None = None,
               meanwhile: Callable[[], None] = lambda: None,
               done: Callable[[list[Entity]], None] = lambda _: None) -> int:  # fmt: skip
    """Delete the raw points of (entity, points present) in [start, end) (`delete_each`);
    returns the points deleted."""
    return sum(delete_each(targets, start, end, database, rp, delete_one, after_first, side,
                           alone, meanwhile, done).values())  # fmt: skip


def delete_each(targets: Sequence[tuple[Entity, int]], start: datetime, end: datetime,
                database: str, rp: str, delete_one: Callable[[Entity, int], int],
                after_first: Callable[[], None], side: Side | None = None,
                alone: dict[frozenset[str], bool] | None = None,
                meanwhile: Callable[[], None] = lambda: None,
                done: Callable[[list[Entity]], None] = lambda _: None
                ) -> dict[str, int]:  # fmt: skip
    """Delete the raw points of (entity, points present) in [start, end): official entities
    batched (`delete_official`), the others with `delete_one` (`done`: as there, per entity);
    then run `meanwhile` while the official ones are counted again (on the `side` thread if
    given). Returns the points deleted of each entity; points still there (written
    meanwhile) are left for the late-point pass, with a warning."""
    present = {entity.entity_id: count for entity, count in targets}
    batched = official(entity for entity, _ in targets)
    counting: Future | None = None
    if batched:
        delete_official(batched, start, end, database, rp, after_first, alone, done)
        if side is not None:
            counting = side.submit(count_samples, batched, start, end, database)
    ids = {entity.entity_id for entity in batched}
    deleted: dict[str, int] = {}
    for n, (entity, count) in enumerate(t for t in targets if t[0].entity_id not in ids):
        deleted[entity.entity_id] = delete_one(entity, count)
        done([entity])
        if n == 0 and not batched:
            after_first()
    meanwhile()
    if counting is not None:
        remaining = counting.result()
    else:
        remaining = count_samples(batched, start, end, database) if batched else {}
    for entity in batched:
        if remaining[entity.entity_id]:
            logger.warning(
                "%s: %d raw points in %s – %s are still there after the delete (written "
                "meanwhile?); the next run takes them in as late points",
                entity.entity_id, remaining[entity.entity_id], start.isoformat(),
                end.isoformat(),
            )  # fmt: skip
        deleted[entity.entity_id] = max(present[entity.entity_id] - remaining[entity.entity_id], 0)
    return deleted
