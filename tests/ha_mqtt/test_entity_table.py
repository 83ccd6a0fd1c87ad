"""docs/home_assistant.md's table of entities: each entity id is the one Home Assistant makes
of the device ("Home") and the entity's name, with the device class, unit, state class and
entity category of the discovery config enrich publishes for it; every entity enrich can
publish has its row. The config keys the page names with their values are in the configs."""

import re
from pathlib import Path

from collectors.ha_mqtt.discovery import Topics, config_payload
from tests.ha_mqtt.specs import SPECS, entity_id

ROOT = Path(__file__).resolve().parents[2]
NONE = "—"
# What the table writes for the parts of an id that depend on the home (a circuit, a meter
# device, a load, the price's currency), with the names enrich gives such an entity.
EXAMPLES = {"<circuit>": "furnace", "<device>": "main_panel", "<load>": "dishwasher"}


def table_rows() -> dict[str, list[str]]:
    """entity id -> [device_class, unit, state_class, entity_category] as the table gives
    them; `sensor.home_storage_raw`, `_hourly`: one row for each."""
    text = (ROOT / "docs" / "home_assistant.md").read_text()
    table = text[text.index("| entity | device_class |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:
        ids, *cells = [cell.strip().strip("`") for cell in line.strip("|").split(" | ")[:5]]
        first, *more = re.findall(r"`?([\w.<>]+)`?", ids)
        for entity in [first, *(first.rsplit("_", 1)[0] + suffix for suffix in more)]:
            for placeholder, example in EXAMPLES.items():
                entity = entity.replace(placeholder, example)
            rows[entity] = cells
    return rows


def published(spec) -> tuple[str, list[str]]:
    """The entity id Home Assistant makes of the spec on the device "Home", and its columns."""
    config = config_payload(Topics("homeassistant", "enrich"), 1, "Home", spec)
    columns = [config.get(name, NONE) for name in ("device_class", "unit_of_measurement",
                                                   "state_class", "entity_category")]  # fmt: skip
    return entity_id(spec), columns


def test_the_entity_table_names_each_entity_as_home_assistant_does():
    rows = table_rows()
    wrong = []
    for spec in SPECS:
        entity, columns = published(spec)
        if entity not in rows:
            wrong.append(f"{entity}: no row (rows: {sorted(rows)})")
        elif (given := rows.pop(entity)) != columns:
            wrong.append(f"{entity}: the table gives {given}, enrich {columns}")
    assert not wrong, wrong
    assert not rows, f"rows of no entity enrich publishes: {sorted(rows)}"


def test_the_config_keys_the_page_gives_are_in_the_configs():
    """`availability_mode: all` (an entity is available only when both topics say so) in every
    config, `suggested_display_precision: 0` in those of the carbon intensities (gCO2/kWh) and
    the AQI, and in no other."""
    text = (ROOT / "docs" / "home_assistant.md").read_text()
    assert "`availability_mode: all`" in text and "`suggested_display_precision: 0`" in text
    configs = [config_payload(Topics("homeassistant", "enrich"), 1, "Home", s) for s in SPECS]
    assert {config["availability_mode"] for config in configs} == {"all"}
    whole = [c["name"] for c in configs if c.get("suggested_display_precision") == 0]
    carbon_and_aqi = [c["name"] for c in configs
                      if c.get("unit_of_measurement") == "gCO2/kWh" or c.get("device_class") == "aqi"]  # fmt: skip
    assert whole == carbon_and_aqi and len(whole) == 4, whole
