"""Fill the entity registry from what Home Assistant wrote to InfluxDB.

`discover()` scans the database in the configured layout, or detects it
(`retention.entities.scan`: what is found per entity and how its kind, unit and device class
are worked out), and upserts an `Entity` row per entity found.

A row a person edited (`edited=True`, set by the admin) keeps its name, kind, area, unit,
device class and tiered flag (a name a person gave a sensor without a device class decides
whether the room activity counts it). Its unit is kept as a correction only when it differs
from the one Home Assistant wrote: one that is Home Assistant's own (the person edited the
name, say) follows Home Assistant's switch to another unit, else the new points would be read
in the old unit unconverted (2 kW as 2 W). The others follow Home Assistant: in the HA Ingestor
layout an entity taken out of its area there (no `area` tag on its newest point, while the
writer records areas) loses it here too; the official layout has no areas, so discovery keeps
the one set. Where the data lives (layout, measurement, series)
and the seen-times are always refreshed. first_seen only moves back and last_seen only forward:
retention deletes old raw points, which must not make an entity look younger. For the same
reason `series` (every measurement holding the entity's points, with the unit written there)
only grows: a measurement whose points retention already deleted stays listed (reading it
costs nothing), and the unit of a measurement found again is the one written there last (a
weather entity's attribute units likewise).

A change to a registered entity that the materialized views read (its kind, unit, area,
device class, name, measurement, an older measurement found) is noted in the same transaction and, once committed,
followed by the views (`retention.rollups.follow`): one follow-up per view at the end of the
discovery, named in the report. A new entity needs none: the next refresh fills its history.

The areas can also come from Home Assistant's own registries: `retention.entities.areas`.
With HA_URL and HA_TOKEN, discovery also asks Home Assistant which entities it still has and
marks the others gone (`retention.entities.gone`), in a sentence of the report.
Entities two Home Assistant instances write at once, told apart by a tag, are named in the
report with that tag and what to do, and the sentence is kept on the entity
(`Entity.several_writers`): the raw -> hourly run leaves it out till then
(`retention.entities.writers`).
"""

from __future__ import annotations

import logging
from collections import Counter
from copy import copy
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from enrich.errors import Permanent
from enrich.influx import get_timeseries
from enrich.wording import counted
from retention.entities import ha_database
from retention.entities.gone import check_presence
from retention.entities.scan import Found, detect_layout, scan, settled_kind
from retention.entities.units import Units
from retention.entities.writers import record as record_writers
from retention.entities.writers import several_writers
from retention.models import Entity
from retention.rollups.follow import gather, note_edit
from retention.rollups.tasks import Queued, follow_up_on_commit

LAYOUTS = ("official", "ingestor", "auto")

logger = logging.getLogger(__name__)


class DiscoveryError(Permanent):
    """Discovery cannot run as asked (bad layout, missing database); says what to do."""


@dataclass
class DiscoveryReport:
    database: str
    layout: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kinds: Counter = field(default_factory=Counter)  # registry kind of each entity found
    created_ids: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # entities the registry cannot hold, why
    noted: dict[str, set[str]] = field(default_factory=dict)  # view -> keys the changes touch
    queued: list[Queued] = field(default_factory=list)  # their follow-up, once committed
    in_ha: str = ""  # which entities Home Assistant no longer has (retention.entities.gone)
    writers: list[str] = field(default_factory=list)  # entities two writers write at once
    empty: str = ""  # nothing found: what the database holds, and where Home Assistant's are

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.kinds.items())) or "none"
        return (
            f"Discovered {counted(self.total, 'entity', 'entities')} in {self.database!r} "
            f"({self.layout} layout): "
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged.\n"
            f"By kind: {kinds}."
            + "".join(f"\nSkipped: {why}" for why in self.skipped)
            + (f"\nWarning: {self.empty}" if self.empty else "")
            + "".join(f"\nWarning: {said}" for said in self.writers)
            + "".join(f"\n{queued}" for queued in self.queued)
            + (f"\n{self.in_ha}" if self.in_ha else "")
        )


def discover(database: str | None = None, layout: str | None = None) -> DiscoveryReport:
    """Scan Home Assistant's InfluxDB and upsert the registry; see the module docstring.

    `database` defaults to HA_INFLUXDB_DATABASE, `layout` to HA_LAYOUT; "auto" detects it.
    """
    database = database or settings.HA_INFLUXDB_DATABASE
    layout = (layout or settings.HA_LAYOUT).lower()
    if layout not in LAYOUTS:
        raise DiscoveryError(
            f"Layout {layout!r} is not known; use one of {', '.join(LAYOUTS)} (HA_LAYOUT or "
            "--layout)."
        )
    databases = get_timeseries().databases()
    if database not in databases:
        raise DiscoveryError(
            f"InfluxDB has no database {database!r}. Set HA_INFLUXDB_DATABASE (or pass "
            "--database) to the database Home Assistant writes to. "
            + ha_database.found_in(databases, layout)
        )
    if layout == "auto":
        layout = detect_layout(database)
    report = DiscoveryReport(database=database, layout=layout)
    found = [item for item in scan(database, layout) if _fits(item, report)]
    layouts = set() if found else ha_database.layouts_in(database)
    if not found and layout not in layouts:
        report.empty = ha_database.empty_message(database, databases, layouts, layout)
        logger.warning("Entity discovery: %s", report.empty)
    with transaction.atomic():
        existing = Entity.objects.select_for_update().in_bulk(
            [f.entity_id for f in found], field_name="entity_id"
        )
        for item in found:
            before = copy(existing.get(item.entity_id))
            outcome, entity = _upsert(item, existing.get(item.entity_id))
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.kinds[entity.kind] += 1
            if outcome == "created":
                report.created_ids.append(entity.entity_id)
            elif outcome == "updated":
                gather(report.noted, note_edit(before, entity, _moved_at(before, item)))
        report.queued = follow_up_on_commit(report.noted, "entity discovery")
    report.in_ha = check_presence()
    writers = several_writers(database, layout)
    record_writers(writers, layout)
    report.writers = list(writers.values())
    for said in report.writers:
        logger.warning("Entity discovery: %s", said)
    return report


def _moved_at(before: Entity, found: Found) -> datetime | None:
    """The entity's first point in the measurement (or layout) it is now read from, when it
    moved there (Home Assistant's unit changed, in the official layout): its rows before were
    computed from the old one, which the registry no longer reads, and are kept."""
    if (before.layout, before.measurement) == (found.layout, found.measurement):
        return None  # computed again from its first_seen
    return found.series_start or found.first_seen


def _series(known: list, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registry's series with those found: known ones first (in their order, as found now:
    the unit, and a weather entity's attribute units, written there last), then the new ones."""
    now = {s["measurement"]: s for s in found}
    merged = [
        now.get(s["measurement"])
        or {"unit": "", **{k: s[k] for k in ("measurement", "unit", "units") if k in s}}
        for s in known or ()
        if isinstance(s, dict) and s.get("measurement")
    ]
    listed = {s["measurement"] for s in merged}
    return merged + [s for s in found if s["measurement"] not in listed]


def _limit(name: str) -> int:
    return Entity._meta.get_field(name).max_length


def _fits(found: Found, report: DiscoveryReport) -> bool:
    """Whether the registry can hold the entity: an id or measurement longer than its column
    is skipped (named in the report; cutting it would point at other points), a longer
    name, unit, device class or area is cut to its column's length."""
    for name in ("entity_id", "measurement"):
        if len(getattr(found, name)) > _limit(name):
            shown = found.entity_id[:80] + ("…" if len(found.entity_id) > 80 else "")
            report.skipped.append(
                f"{shown}: its {name} is {len(getattr(found, name))} characters, the registry "
                f"holds at most {_limit(name)}"
            )
            return False
    for name in ("friendly_name", "unit", "device_class", "area"):
        setattr(found, name, getattr(found, name)[: _limit(name)])
    return True


def _upsert(found: Found, entity: Entity | None) -> tuple[str, Entity]:
    if entity is None:
        fields = asdict(found)
        for name in ("series_start", "attribute_units", "state_class", "numbers", "texts",
                     "area_known"):  # fmt: skip
            del fields[name]  # the others are Entity fields
        entity = Entity.objects.create(**fields)
        return "created", entity
    wanted: dict[str, Any] = {"layout": found.layout, "measurement": found.measurement,
                              "series": _series(entity.series, found.series)}  # fmt: skip
    if found.first_seen and (entity.first_seen is None or found.first_seen < entity.first_seen):
        wanted["first_seen"] = found.first_seen
    if found.last_seen and (entity.last_seen is None or found.last_seen > entity.last_seen):
        wanted["last_seen"] = found.last_seen
    if not entity.edited:
        kind = settled_kind(found, entity.kind)
        wanted.update(kind=kind, unit=found.unit, device_class=found.device_class)
        if found.friendly_name:
            wanted["friendly_name"] = found.friendly_name
        if found.area or found.area_known:  # the official layout has none: keep what was set
            wanted["area"] = found.area
    elif found.unit and entity.unit == Units(entity).now:
        # Kept the unit Home Assistant wrote (no correction of it): follow its switch.
        wanted["unit"] = found.unit
    changed = [name for name, value in wanted.items() if getattr(entity, name) != value]
    if not changed:
        return "unchanged", entity
    for name in changed:
        setattr(entity, name, wanted[name])
    entity.save(update_fields=[*changed, "updated"])
    return "updated", entity
