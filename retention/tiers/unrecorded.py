"""Entities whose points Home Assistant writes to a measurement discovery has not recorded yet.

Home Assistant's InfluxDB integration puts an entity's points in another measurement after a
change of its settings (`measurement_attr: entity_id`, `override_measurement`,
`default_measurement`, `domain__device_class` and a new device class, a new unit). Discovery
adds that measurement to the entity's series and every read, count and delete covers it; until
it has, the raw -> hourly run would aggregate the entity's days from the measurements it knows
(a meter's growth and a sensor's energy missing the points written elsewhere: its value held
on), and the points of the new measurement would come in as late points, whose energy and
means are never counted (`retention.tiers.late`). Such an entity is left out of the run (and
its dry run), named with what to do, and its raw points stay; once discovery has run, the next
run tiers its days with all their points.

Likewise an entity two Home Assistant instances write at once (`Entity.several_writers`, kept
by discovery: `retention.entities.writers`) is left out with discovery's sentence, its raw
points kept: tiered, both instances' points would be read as one history (two meters as
resets and growth) and then deleted. The first run after a discovery that no longer finds them
(HA_INFLUXDB_TAGS set to one instance's tags, say) tiers it.
"""

from __future__ import annotations

import logging

from enrich.influx import InfluxQueryError
from retention.entities import ha_source
from retention.models import Entity
from retention.tiers.chunks import Outcome

logger = logging.getLogger("retention.tiers.runner")


def leave_out(entities: list[Entity], outcome: Outcome, database: str) -> list[Entity]:
    """`entities` but those two instances write and those with points in a measurement
    discovery has not recorded, each noted in `outcome` (its `waiting`, and the alert
    `entities_left_out`)."""
    entities = [entity for entity in entities if not _two_writers(entity, outcome)]
    try:
        found = ha_source.unrecorded_measurements(entities, database=database)
    except InfluxQueryError as exc:  # a server that refuses the index query: tiered as listed
        logger.warning("downsample_hourly: the measurements of the entities not checked: %s", exc)
        return entities
    for entity_id, places in sorted(found.items()):
        named = ", ".join(f"{m!r} (since {first:%Y-%m-%d %H:%M} UTC)"
                          for m, first in sorted(places.items()))  # fmt: skip
        note = (
            f"{entity_id!r} is left out: Home Assistant's InfluxDB integration writes its points "
            f"to the measurement {named}, which discovery has not recorded yet (its "
            "measurement settings changed: measurement_attr, override_measurement, "
            "default_measurement, or the entity's unit or device class); tiered without them, "
            "its days would miss those points. Its raw points stay as they are. Run discovery "
            "(manage.py discover_entities, or the beat entry 'Discover Home Assistant "
            "entities'): the next run tiers it with all its points"
        )
        outcome.leave_out(entity_id, note)
        logger.warning("downsample_hourly: %s", note)
    return [entity for entity in entities if entity.entity_id not in found]


def _two_writers(entity: Entity, outcome: Outcome) -> bool:
    if not entity.several_writers:
        return False
    note = (
        f"{entity.entity_id!r} is left out: {entity.several_writers} Its raw points stay as they "
        "are; the first run after a discovery that no longer finds two writers tiers it"
    )
    outcome.leave_out(entity.entity_id, note)
    logger.warning("downsample_hourly: %s", note)
    return True
