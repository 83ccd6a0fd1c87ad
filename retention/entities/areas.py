"""Each registry entity's area from Home Assistant's own registries.

`import_ha_areas()` asks Home Assistant (HA_URL, HA_TOKEN) for every entity's area with one
`POST /api/template`: the REST API has no entity registry, but templates see it
(`areas()`, `area_entities()` — which includes entities inheriting their device's area —
and `area_name()`), and which entities it has (`GET /api/states`): one it has in no area loses
its area, one it no longer has keeps it. An area that changes for a motion, occupancy or presence sensor moves
its rows of hourly_room_activity: noted with the change, followed once the import is
committed (`retention.rollups.follow`), named in the report.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from copy import copy
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from enrich import http
from enrich.wording import counted
from retention.entities.gone import PresenceError, fetch_ha_entity_ids
from retention.models import Entity
from retention.rollups.follow import gather, note_edit
from retention.rollups.tasks import Queued, follow_up_on_commit


class AreaImportError(Exception):
    """Home Assistant's areas could not be imported; says what to check."""


# One rendering gives every entity that has an area (its own, or its device's) and the
# area's name, as JSON pairs. Whitespace control keeps the output pure JSON.
AREAS_TEMPLATE = (
    "{%- set ns = namespace(pairs=[]) -%}"
    "{%- for area in areas() -%}"
    "{%- for entity_id in area_entities(area) -%}"
    "{%- set ns.pairs = ns.pairs + [[entity_id, area_name(area)]] -%}"
    "{%- endfor -%}"
    "{%- endfor -%}"
    "{{ ns.pairs | tojson }}"
)


@dataclass
class AreaImportReport:
    areas_known: int = 0  # entities Home Assistant gave an area (in its registry)
    updated: int = 0
    unchanged: int = 0
    kept_edited: int = 0  # a person set the area in the admin: left alone
    without_area: int = 0  # registry entities Home Assistant knows no area for, left alone
    cleared: int = 0  # of the updated: in no area in Home Assistant any more
    noted: dict[str, set[str]] = field(default_factory=dict)  # view -> areas the changes touch
    queued: list[Queued] = field(default_factory=list)  # their follow-up, once committed

    def __str__(self) -> str:
        return (
            f"Areas from Home Assistant: {counted(self.areas_known, 'entity', 'entities')} "
            f"{'has' if self.areas_known == 1 else 'have'} an area there; "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.kept_edited} kept "
            f"(edited in the admin), {self.without_area} without an area in Home Assistant."
            + (f" Cleared: {self.cleared} in no area there any more." if self.cleared else "")
        ) + "".join(f"\n{queued}" for queued in self.queued)


def fetch_ha_areas(url: str, token: str) -> dict[str, str]:
    """entity_id -> area name, for every entity that has an area in Home Assistant."""
    endpoint = url.rstrip("/") + "/api/template"
    try:
        response = http.request(
            "home_assistant",
            "POST",
            endpoint,
            json={"template": AREAS_TEMPLATE},
            headers={"Authorization": f"Bearer {token}"},
        )
    except http.AuthError as exc:
        raise AreaImportError(
            f"Home Assistant at {url} refused the token (HTTP {exc.status}). Set HA_TOKEN to "
            "a long-lived access token of an admin user (Profile > Security in Home "
            "Assistant): rendering templates needs one."
        ) from exc
    except http.HttpError as exc:
        raise AreaImportError(f"Could not read areas from Home Assistant at {url}: {exc}") from exc
    try:
        pairs = json.loads(response.text)
        areas = {str(entity_id): str(name) for entity_id, name in pairs if name}
    except (ValueError, TypeError) as exc:
        raise AreaImportError(
            f"Home Assistant at {url} answered {endpoint} with something other than the "
            f"expected JSON list of [entity_id, area] pairs (starts: {response.text[:200]!r}). "
            "Check that HA_URL points at Home Assistant itself (e.g. http://homeassistant."
            "local:8123), not at a proxy page."
        ) from exc
    return areas


def ha_access(url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """Home Assistant's URL and token (HA_URL, HA_TOKEN by default); an AreaImportError naming
    the one not set."""
    url = (url if url is not None else settings.HA_URL).rstrip("/")
    token = token if token is not None else settings.HA_TOKEN
    if not url or not token:
        missing = " and ".join(n for n, v in (("HA_URL", url), ("HA_TOKEN", token)) if not v)
        raise AreaImportError(
            f"{missing} not set: importing areas needs Home Assistant's URL (HA_URL, e.g. "
            "http://homeassistant.local:8123) and a long-lived access token of an admin user "
            "(HA_TOKEN)."
        )
    return url, token


def import_ha_areas(
    url: str | None = None, token: str | None = None, new: Collection[str] = ()
) -> AreaImportReport:
    """Set each registry entity's area from Home Assistant (HA_URL, HA_TOKEN by default).
    Entities edited in the admin keep theirs. An entity Home Assistant still has
    (`GET /api/states`) in no area there loses its area; one it no longer has, or all when
    that list cannot be read, keep theirs.
    `new`: ids the discovery just before registered; no view has read them yet (the next
    refresh fills their history), so their areas need no follow-up."""
    url, token = ha_access(url, token)
    areas = fetch_ha_areas(url, token)
    try:
        present = fetch_ha_entity_ids(url, token)
    except PresenceError:
        present = set()  # which entities Home Assistant has is unknown: no area is cleared
    report = AreaImportReport(areas_known=len(areas))
    with transaction.atomic():
        for entity in Entity.objects.select_for_update().order_by("entity_id"):
            area = areas.get(entity.entity_id)
            if area is None and (entity.entity_id not in present or not entity.area):
                report.without_area += 1
            elif entity.edited:
                report.kept_edited += 1
            elif entity.area == area:
                report.unchanged += 1
            else:
                before = copy(entity)
                entity.area = area or ""
                entity.save(update_fields=["area", "updated"])
                report.updated += 1
                report.cleared += not area
                if entity.entity_id not in new:
                    gather(report.noted, note_edit(before, entity))
        report.queued = follow_up_on_commit(report.noted, "area import from Home Assistant")
    return report
