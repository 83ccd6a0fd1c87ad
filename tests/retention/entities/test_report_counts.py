"""What discover_entities and import_ha_areas print counts entities in words: "1 entity",
"1 entity has an area", not "1 entities" or "1 entities have"."""

from retention.entities.areas import AreaImportReport
from retention.entities.discovery import DiscoveryReport


def test_one_entity_discovered_is_said_in_the_singular():
    report = DiscoveryReport(database="home_assistant", layout="official", created=1)
    assert str(report).startswith(
        "Discovered 1 entity in 'home_assistant' (official layout): 1 created, 0 updated, "
        "0 unchanged."
    ), str(report)
    report.unchanged = 1
    assert str(report).startswith("Discovered 2 entities in 'home_assistant'"), str(report)


def test_one_entity_with_an_area_is_said_in_the_singular():
    assert str(AreaImportReport(areas_known=1, updated=1)).startswith(
        "Areas from Home Assistant: 1 entity has an area there; 1 updated, 0 unchanged"
    )
    assert str(AreaImportReport(areas_known=2, unchanged=2)).startswith(
        "Areas from Home Assistant: 2 entities have an area there; 0 updated, 2 unchanged"
    )
