"""Backfill of a Home Assistant meter after an outage, from HA's own recorder.

`GET /api/history/period/<start>?filter_entity_id=<a>,<b>&end_time=<end>&minimal_response`
(HA's REST API docs) answers one list per entity, oldest first: the first entry a full state
(`entity_id`, `attributes` with the unit, `last_changed`, `last_updated`), the others only
`state` and `last_changed` (that is what `minimal_response` leaves). HA records a state when it
changes, so each entry is a real value at the time HA recorded it; the first is the state in
effect at `start` (HA stamps it with `start`, asked to the whole second). The same time again
is an overwrite in InfluxDB, never a second point. HA's recorder keeps 10 days by default
(`purge_keep_days`); the adapter asks at most the last day (HomeAssistantMeterAdapter.history).
"""

from datetime import datetime

from collectors.answers import Answer
from collectors.base import Credentials
from collectors.smart_meter import ha_states
from enrich.time_span import ha_time

PROVIDER = "home_assistant"


def recorded(
    base: str,
    credentials: Credentials,
    entities: dict[str, dict[str, tuple[int, int]]],
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[float, datetime]]]:
    """(value in W or kWh, time) of every state HA recorded for each entity in [start, end]."""
    # asked from the whole second (_iso), where HA stamps the state in effect then
    start = start.replace(microsecond=0)
    url = f"{base}/api/history/period/{ha_time(start)}"
    params = {
        "filter_entity_id": ",".join(entities),
        "end_time": ha_time(end),
        "minimal_response": "",
    }
    body = ha_states.get(url, credentials, params=params)
    answer = Answer(PROVIDER, url)
    found: dict[str, list[tuple[float, datetime]]] = {}
    for i, states in enumerate(answer.items({"history": body}, "history", "the history")):
        if not isinstance(states, list) or not states:
            raise answer.bad(f"history[{i}] should be a list of states", body)
        entity = answer.text(states[0], "entity_id", f"history[{i}][0]")
        if entity not in entities:
            continue  # not asked for
        units = entities[entity]
        unit = ha_states.declared_unit(answer, entity, states[0])  # the first is a full state
        ha_states.check_unit(entity, unit, units)
        values = found.setdefault(entity, [])
        for state in states:
            unit = ha_states.unit_of(state) or unit  # minimal entries carry no attributes
            ha_states.check_unit(entity, unit, units)
            reading = ha_states.value(answer, entity, state, str(unit), units)
            if reading is not None and start <= reading[1] <= end:
                values.append(reading)
    return found
