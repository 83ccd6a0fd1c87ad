"""Which registry entities Home Assistant no longer has, and the alert while the views count one.

Home Assistant's InfluxDB integration writes nothing when an entity is removed: its last
state stays the newest point in InfluxDB, and the tiers and views carry it forward into every
later day (a power sensor last at 100 W adds 2.4 kWh a day to daily_energy_by_device). So
discovery asks Home Assistant (HA_URL, HA_TOKEN) for its states, one `GET /api/states`, and
sets `Entity.gone_from_ha` on each registry entity missing there (when first found missing;
cleared when it is back). A call that fails or is refused, or an empty list, changes nothing:
an unreachable Home Assistant does not make entities gone. Without HA_URL and HA_TOKEN
nothing is asked.

Nothing is computed differently for a gone entity: the person decides (untick "count in the
views", and "tiered"). Until then `sync_alert()` (retention.stats.alerts' periodic check)
keeps one alert open naming them; it is cleared once none is left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from enrich import http
from enrich.wording import counted
from retention.models import Alert, Entity
from retention.stats import conditions

logger = logging.getLogger(__name__)

NAMED = 5  # entities named in the alert; the others are counted
WHAT_TO_DO = (
    "In the admin (Retention > Entities, filter 'in Home Assistant: no longer'), untick "
    "'count in the views' so {its} last {value} stop{s} counting, and 'tiered' to stop tiering "
    "{it}; or delete {it} from the registry."
)
# The words of WHAT_TO_DO and gone_message for one entity and for several.
ONE = {"it": "it", "its": "its", "value": "value", "s": "s", "is": "is", "Its": "Its"}
SEVERAL = {"it": "them", "its": "their", "value": "values", "s": "", "is": "are", "Its": "Their"}


class PresenceError(Exception):
    """Home Assistant's list of states could not be read; says what to check."""


def ha_get(url: str, token: str, path: str, error: type[Exception],
           params: dict[str, str] | None = None, **patience: Any) -> Any:  # fmt: skip
    """The JSON answer of Home Assistant's REST API at `path` (HA_URL `url`, HA_TOKEN `token`);
    a refused token or a failed call raises `error` saying what to check. `patience`: the
    call's `timeout` and `max_retries`, when not the settings' (enrich.http)."""
    endpoint = url.rstrip("/") + path
    try:
        return http.request_json(
            "home_assistant", "GET", endpoint, params=params,
            headers={"Authorization": f"Bearer {token}"}, **patience,
        )  # fmt: skip
    except http.AuthError as exc:
        raise error(
            f"Home Assistant at {url} refused the token (HTTP {exc.status}); set HA_TOKEN to a "
            "long-lived access token (Profile > Security in Home Assistant)."
        ) from exc
    except http.HttpError as exc:
        raise error(f"Could not read {endpoint}: {exc}") from exc


def fetch_ha_entity_ids(url: str, token: str) -> set[str]:
    """The entity_id of every state Home Assistant has now (`GET /api/states`)."""
    endpoint = url.rstrip("/") + "/api/states"
    states = ha_get(url, token, "/api/states", PresenceError)
    if not isinstance(states, list) or not all(
        isinstance(s, dict) and isinstance(s.get("entity_id"), str) for s in states
    ):
        raise PresenceError(
            f"Home Assistant at {url} answered {endpoint} with something other than a list of "
            "states with an entity_id each; check that HA_URL points at Home Assistant itself."
        )
    if not states:
        raise PresenceError(f"Home Assistant at {url} listed no states at all (still starting?).")
    return {s["entity_id"] for s in states}


def check_presence(now: datetime | None = None) -> str:
    """Mark the registry entities Home Assistant no longer has, clear those it has again;
    the sentence for the discovery report ("" when HA_URL or HA_TOKEN is not set)."""
    url, token = settings.HA_URL, settings.HA_TOKEN
    if not url or not token:
        return ""
    try:
        present = fetch_ha_entity_ids(url, token)
    except PresenceError as exc:
        logger.error("discovery: which entities Home Assistant still has is unknown: %s", exc)
        return f"Home Assistant not asked which entities it still has: {exc} Nothing changed."
    now = now or datetime.now(UTC)
    with transaction.atomic():
        marks = dict(Entity.objects.select_for_update().values_list("entity_id", "gone_from_ha"))
        newly = [e for e, since in marks.items() if since is None and e not in present]
        back = [e for e, since in marks.items() if since is not None and e in present]
        Entity.objects.filter(entity_id__in=newly).update(gone_from_ha=now)
        Entity.objects.filter(entity_id__in=back).update(gone_from_ha=None)
    gone = sum(1 for e in marks if e not in present)
    in_views = Entity.objects.filter(gone_from_ha__isnull=False, in_views=True).count()
    return (
        f"Gone from Home Assistant: {counted(gone, 'registry entity', 'registry entities')} "
        f"({len(newly)} newly, {len(back)} back in Home Assistant), {in_views} of them still "
        "counted in the views."
    )


def gone_message(entity_ids: list[str]) -> str:
    named = ", ".join(entity_ids[:NAMED])
    more = f" and {len(entity_ids) - NAMED} more" if len(entity_ids) > NAMED else ""
    words = ONE if len(entity_ids) == 1 else SEVERAL
    return (
        f"{counted(len(entity_ids), 'entity', 'entities')} Home Assistant no longer has "
        f"{words['is']} still counted in the views: {named}{more}. {words['Its']} last value "
        "in InfluxDB is carried forward into every day (a power sensor's adds energy to "
        f"daily_energy_by_device). {WHAT_TO_DO.format(**words)}"
    )


def sync_alert(now: datetime | None = None) -> list[Alert]:
    """Open the alert when an entity gone from Home Assistant is still counted in the views
    (returned, to be delivered), keep its message current, clear it once none is left."""
    now = now or datetime.now(UTC)
    still = Entity.objects.filter(gone_from_ha__isnull=False, in_views=True)
    entity_ids = list(still.order_by("entity_id").values_list("entity_id", flat=True))
    message = gone_message(entity_ids) if entity_ids else ""
    return conditions.sync(Alert.Kind.GONE_FROM_HA, message, now)
