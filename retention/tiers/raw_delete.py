"""Deleting an entity's raw points of a time range from Home Assistant's database, in either
layout, scoped by measurement and tags (`delete_raw`), in every measurement holding them
(`raw_measurements`: a sensor whose unit changed has points in `W` and `kW`): the hourly tier
after verification, late points once folded in, and kept raw states once the daily rows hold
them."""

from __future__ import annotations

import logging
from datetime import datetime
from itertools import product

from enrich.influx import get_timeseries
from retention.entities import ha_source
from retention.entities.sources import instance_tags, raw_measurements
from retention.models import Entity

logger = logging.getLogger(__name__)


def raw_tags(entity: Entity) -> list[dict[str, str]]:
    """Tag sets selecting the entity's raw points for a delete (see ha_source's layouts)."""
    instance = instance_tags()  # HA_INFLUXDB_TAGS: the other instances' points stay
    if entity.layout == Entity.Layout.OFFICIAL:
        return [{"entity_id": entity.object_id, "domain": entity.domain, **instance}]
    # Ingestor: only state events are samples; a missing event_type tag compares equal to ''.
    return [
        {"entity_id": entity.entity_id, "event_type": "state_changed", **instance},
        {"entity_id": entity.entity_id, "event_type": "", **instance},
    ]


def delete_raw(entity: Entity, start: datetime, end: datetime, database: str, raw_rp: str,
               present: int | None = None) -> int:  # fmt: skip
    """Delete the entity's raw points in [start, end) of `database`'s retention policy
    `raw_rp` (`present`: how many there are, if just counted); returns how many were deleted.
    `TimeSeries.delete` tries again when InfluxDB 1.x answers "engine is closed"."""
    if present is None:
        present = ha_source.count_samples(entity, start, end, database=database)
    if present == 0:
        return 0
    left = present
    for measurement, tags in product(raw_measurements(entity), raw_tags(entity)):
        get_timeseries().delete(database, start, end, measurement=measurement, tags=tags,
                                retention_policy=raw_rp)  # fmt: skip
        left = ha_source.count_samples(entity, start, end, database=database)
        if not left:
            break
    if left:
        logger.warning(
            "%s: %d raw points in %s – %s are still there after the delete (written "
            "meanwhile?); the next run takes them in as late points",
            entity.entity_id, left, start.isoformat(), end.isoformat(),
        )  # fmt: skip
    return max(present - left, 0)
