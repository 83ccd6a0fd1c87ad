"""One entity spec of each kind enrich publishes, with the names a home's circuit, meter
device and load give it (docs/home_assistant.md's table has a row for each), and the entity id
Home Assistant makes of one on the device "Home"."""

from dataclasses import replace

from collectors.ha_mqtt import entities, storage
from collectors.ha_mqtt.discovery import EntitySpec, slug
from collectors.ha_mqtt.loads import load_spec
from collectors.models import FlexibleLoad

SPECS = [
    *entities.CARBON_FIELDS.values(),
    entities.MOER,
    entities.PEAK,
    entities.WINDOW_START,
    entities.WINDOW_END,
    entities.AQI,
    entities.AQI_CATEGORY,
    entities.OCCUPIED,
    entities.PREPARE_TIME,
    entities.NEXT_ARRIVAL,
    entities.HOME_POWER,
    entities.price_spec("<currency>"),
    replace(entities.HOME_POWER, key="phantom_load_main_panel", name="Phantom load Main panel"),
    replace(entities.HOME_POWER, key="circuit_main_panel_furnace_power", name="Furnace power"),
    *(storage._size_spec(tier) for tier in (*storage.TIERS, "archive")),
    storage.LAST_RUN,
    storage.LAST_RUN_STATUS,
    load_spec(FlexibleLoad(id=1, name="Dishwasher")),
]


def entity_id(spec: EntitySpec) -> str:
    """The entity id Home Assistant makes of `spec` on the device "Home"."""
    return f"{spec.component}.{slug('Home ' + spec.name)}"
