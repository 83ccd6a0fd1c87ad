"""Whether HA_INFLUXDB_DATABASE names a database holding Home Assistant's points.

`problem()` says what is wrong with it ("" when nothing is): InfluxDB has no database of that
name (a typo, or a database Home Assistant has not been given yet), or the database holds no
Home Assistant point in the layout HA_LAYOUT reads (Home Assistant's InfluxDB integration
writes to another database, or in the other layout). Each message names the databases InfluxDB
holds and those holding Home Assistant's points, so it says what to set. A point of Home
Assistant's is one in a measurement with an `entity_id` tag, enrich's own tier rows
(`entity_aggregates`) aside: the official layout's measurements (per unit, or per entity)
and the HA Ingestor's `home_assistant_events`. Read by the `ha_silent` alert
(retention.entities.silent) and by discovery.
"""

from __future__ import annotations

from django.conf import settings

from enrich.influx import InfluxAuthError, InfluxQueryError, get_timeseries
from retention.entities.points import INGESTOR_MEASUREMENT
from retention.models import Entity
from retention.schema import TIER_MEASUREMENT

SETTING = "HA_INFLUXDB_DATABASE"
NAMED = 10  # databases a message names of those InfluxDB holds; it counts the rest
LAYOUT_WORDS = {
    Entity.Layout.OFFICIAL: "the official InfluxDB integration's layout",
    Entity.Layout.INGESTOR: f"the HA Ingestor layout (measurement {INGESTOR_MEASUREMENT})",
    "auto": "either layout",
}


def layouts_in(database: str) -> set[str]:
    """The layouts of the Home Assistant points `database` holds (empty: none); one index query
    (SHOW TAG VALUES, one row per measurement with an `entity_id` tag)."""
    query = 'SHOW TAG VALUES WITH KEY = "entity_id" LIMIT 1'
    with get_timeseries().query(database, query) as rows:
        tables = {row.measurement for row in rows} - {TIER_MEASUREMENT}
    layouts = {Entity.Layout.INGESTOR} if INGESTOR_MEASUREMENT in tables else set()
    if tables - {INGESTOR_MEASUREMENT}:
        layouts.add(Entity.Layout.OFFICIAL)
    return layouts


def with_points(databases: list[str], layout: str) -> list[str]:
    """The databases of `databases` holding Home Assistant's points in `layout` ("auto": in
    either); enrich's own (INFLUXDB_DATABASE, RESTORE_INFLUXDB_DATABASE) and InfluxDB's
    (`_internal`) aside."""
    own = {settings.INFLUXDB_DATABASE, settings.RESTORE_INFLUXDB_DATABASE}
    found = []
    for name in databases:
        if name in own or name.startswith("_"):
            continue
        try:
            if _fits(layout, layouts_in(name)):
                found.append(name)
        except (InfluxQueryError, InfluxAuthError):  # dropped since it was listed, or not ours
            continue
    return found


def _fits(layout: str, layouts: set[str]) -> bool:
    return bool(layouts) if layout == "auto" else layout in layouts


def found_in(databases: list[str], layout: str) -> str:
    """Which databases hold Home Assistant's points in `layout`, and every one InfluxDB holds."""
    return said_found(databases, with_points(databases, layout), layout)


def said_found(databases: list[str], found: list[str], layout: str) -> str:
    """`found` (the databases with Home Assistant's points in `layout`) and `databases` (every
    one InfluxDB holds, the first NAMED) in words."""
    held = ", ".join(databases[:NAMED]) or "none"
    held += f" … and {len(databases) - NAMED} more" if len(databases) > NAMED else ""
    if found:
        return (
            f"Databases with Home Assistant's points in {LAYOUT_WORDS[layout]}: "
            f"{', '.join(found)} (InfluxDB holds: {held})."
        )
    return (
        f"No database holds Home Assistant's points in {LAYOUT_WORDS[layout]} (InfluxDB "
        f"holds: {held})."
    )


FIX = (
    "Set HA_INFLUXDB_DATABASE (.env) to the database Home Assistant's InfluxDB integration "
    "writes to (its `database:`, default home_assistant) and restart enrich"
)


def missing_message(database: str, databases: list[str], found: list[str]) -> str:
    """InfluxDB, holding `databases` (`found` with Home Assistant's points), has no `database`."""
    return (
        f"InfluxDB has no database {database!r} ({SETTING}): enrich reads Home Assistant's "
        "states from there, so discovery and the tier runs fail and the views have nothing to "
        "read. "
        f"{said_found(databases, found, settings.HA_LAYOUT)} {FIX}; or, if Home Assistant is to write to "
        f"{database!r}, create it in InfluxDB and point the integration at it."
    )


def empty_message(database: str, databases: list[str], layouts: set[str], layout: str) -> str:
    """`database` holds Home Assistant's points in `layouts` only, none in `layout`; reads
    which databases do (`found_in`)."""
    if layouts:  # points of the other layout only
        (other,) = layouts
        return (
            f"Home Assistant's InfluxDB database {database!r} ({SETTING}) holds its points in "
            f"{LAYOUT_WORDS[other]}, while HA_LAYOUT={layout} reads {LAYOUT_WORDS[layout]}: "
            f"discovery finds no entity there. Set HA_LAYOUT={other} (.env) and restart enrich."
        )
    return (
        f"Home Assistant's InfluxDB database {database!r} ({SETTING}) holds no Home Assistant "
        "point (no measurement with an entity_id tag): Home Assistant's InfluxDB integration "
        f"writes to another database, or has not written yet. {found_in(databases, layout)} "
        f"{FIX}. Where Home Assistant was only just pointed at {database!r}, this holds until "
        "its first point there."
    )


def problem(database: str | None = None, *, empty: bool = True) -> str:
    """What is wrong with Home Assistant's database (`database`, default HA_INFLUXDB_DATABASE)
    for enrich ("" when nothing is): missing, or (with `empty`) holding no point of Home
    Assistant's in HA_LAYOUT's layout. A TimeseriesError (InfluxDB out of reach) propagates."""
    database = database or settings.HA_INFLUXDB_DATABASE
    databases = get_timeseries().databases()
    if database not in databases:
        return missing_message(database, databases, with_points(databases, settings.HA_LAYOUT))
    if not empty:
        return ""
    layouts = layouts_in(database)
    if _fits(settings.HA_LAYOUT, layouts):
        return ""
    return empty_message(database, databases, layouts, settings.HA_LAYOUT)
