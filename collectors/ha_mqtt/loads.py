"""One Home Assistant sensor per enabled flexible load (admin: Collectors -> Flexible loads).

Its state is the load's recommended start (device_class `timestamp`, ISO 8601 with offset),
from `collectors.pricing.loads.plan_for`: the same answer `GET /api/plan` gives now for the
load's hours, next deadline and carbon price. The attributes are what an automation needs
besides the start: when the window ends, the windows of a split plan, the average price (with
`vat_included` and `price_basis`: what the price is) and gCO2/kWh, where the prices compared
end (`prices_until`: the end of the last stored slot starting before the deadline; earlier
when prices are not published that far), the carbon price used, whether hours without a
carbon forecast used the last known value, where the carbon data starts when that is after
now (`carbon_known_from`; `carbon_message` then says what that left unplanned), and
`starts_now` (the best window starts at this moment, which a time trigger at the state would
miss).

While running now is best the start is held (`collectors.ha_mqtt.held`): the one published
last time, with the plan made from it, as long as that plan still starts then and its first
window has not ended. A plan made from now would start at each publication's moment.

Nothing that moves with the clock alone: Home Assistant records every attribute change, and the
sensor is republished every minute. So no `planned_at` (the publication time: HA's
`last_changed` / `last_updated` already say when the plan last changed) and no comparison with
running now: running from now takes a minute less of the running slot at each publication, so
those figures change every minute while the plan stays the same; GET /api/plan gives them for
the moment it is asked. And the reason without a plan says "between now and <deadline>", not
the publication's time as GET /api/plan does ("between now (2026-12-06T10:58:00.045006+00:00)
and ..."): the sensor stays available then, so that was a recorded change every minute.

When no plan is possible (no price provider, too little stored, InfluxDB unreadable) the
sensor stays available with the state unknown (payload `None`) and the reason in its
attributes: Home Assistant hides the attributes of an unavailable entity, and the reason is
what the user needs to see. No start is ever made up.

The entity's key holds the load's primary key, so its unique id survives renames; a deleted
or disabled load is no longer wanted and the publisher removes it like any other entity.
"""

from datetime import datetime
from typing import Any

from collectors.ha_mqtt.discovery import UNKNOWN, EntitySpec, EntityState
from collectors.ha_mqtt.held import HeldStarts, held_key
from collectors.models import FlexibleLoad
from collectors.pricing.loads import plan_for
from enrich.models import Site

# Figures of the chosen window copied into the attributes under the same names as /api/plan
# (cost and emissions_kg are null without the load's kw).
PLAN_FIELDS = (
    "end",
    "windows_used",
    "penalty_cost",
    "penalty_percent",
    "average_price",
    "currency",
    "unit",
    "average_carbon",
    "carbon_unit",
    "carbon_price",
    "carbon_price_unit",
    "carbon_last_known_hours",
    "kw",
    "kwh",
    "cost",
    "emissions_kg",
    "provider",
    "region",
    "vat_included",
    "price_basis",
    "prices_until",
)


def load_spec(load: FlexibleLoad) -> EntitySpec:
    return EntitySpec(
        f"load_{load.pk}_start", f"{load.name} recommended start", device_class="timestamp"
    )


def _starts_now(found: dict[str, Any]) -> bool:
    plan = found["plan"]
    return plan is not None and plan["start"] == plan["now"]


def held_plan(load: FlexibleLoad, now: datetime, held: HeldStarts | None) -> dict[str, Any]:
    """`plan_for(load, now)`; while that says run now, the plan from the start published last
    time if it still starts then and its first window has not ended; its message says "now"
    without the time (both: the module docstring)."""
    found = plan_for(load, now, name_moment=False)
    if held is None:
        return found
    key = held_key(load.site_id, load_spec(load).key)
    since = held.earlier(key, now) if _starts_now(found) else None
    if since is not None:
        earlier = plan_for(load, since, name_moment=False)
        if _starts_now(earlier):
            first = earlier["plan"]["windows"][0]
            found = earlier if now < datetime.fromisoformat(first["end"]) else found
    if found["plan"] is not None:
        held.publish(key, found["plan"]["start"])
    return found


def load_state(load: FlexibleLoad, now: datetime, held: HeldStarts | None = None) -> EntityState:
    found = held_plan(load, now, held)
    about: dict[str, Any] = {
        "load": load.name,
        "load_id": load.pk,
        "hours": load.hours,
        "before": found["before"],
        "contiguous": load.contiguous,
        "max_windows": load.max_windows,
    }
    plan = found["plan"]
    if plan is None:
        known = {"known": found["known"]} if found["known"] else {}
        return EntityState(load_spec(load), UNKNOWN, {**about, **known, "reason": found["message"]})
    about |= {name: plan.get(name) for name in PLAN_FIELDS}
    about["windows"] = [{"start": w["start"], "end": w["end"]} for w in plan["windows"]]
    # Running now is best: the start is this very moment, already past for a time trigger.
    about["starts_now"] = plan["start"] == plan["now"]
    carbon = plan["carbon"]
    about |= {
        "carbon_known": carbon["known"],
        "carbon_provider": carbon["provider"],
        "carbon_forecast_until": carbon["forecast_until"],
        "carbon_known_from": carbon["known_from"],
        "carbon_carried_forward": plan["carbon_last_known_hours"] > 0,
    }
    if carbon["message"]:
        about["carbon_message"] = carbon["message"]
    return EntityState(load_spec(load), plan["start"], about)


def load_states(site: Site, now: datetime, held: HeldStarts | None = None) -> list[EntityState]:
    """The sensors of the site's enabled loads, in name order."""
    loads = FlexibleLoad.objects.filter(site=site, enabled=True).select_related("site")
    return [load_state(load, now, held) for load in loads.order_by("name", "pk")]
