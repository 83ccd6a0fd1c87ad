"""Home Assistant's `rest` sensor turning an answer of enrich into a state, for the recipes of
docs/home_assistant.md.

The steps are those of homeassistant/components/rest/sensor.py
`RestSensor._update_from_rest_data` (Home Assistant 2025.5 and later): the `availability`
template first, strict, its result parsed and read as a boolean (helpers/
trigger_template_entity.py `_render_availability_template`, `result_as_boolean`); when false
the sensor is unavailable and the value is neither rendered nor read. Otherwise
`value_template` is rendered to a stripped string (`ValueTemplate.async_render_as_value_
template`), and a `timestamp` sensor parses that string as a time with an offset or logs
"rendered invalid timestamp" and shows `unknown` (sensor/helpers.py
`async_parse_date_datetime`); a sensor with a unit of measurement expects a number, and a value
that is none fails the state's write with an error naming "the non-numeric value"
(sensor/__init__.py, `SensorEntity.state`). The templates run on Jinja2's sandbox as Home
Assistant's do; its own filters and functions are left out (the value templates read here use
none).
"""

import ast
import json
from datetime import datetime, time, timedelta
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.support.ha_recipes import yaml_blocks

STRICT = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
LENIENT = ImmutableSandboxedEnvironment(undefined=Undefined)


def documented_resources(page: str) -> list[dict]:
    """Every resource of Home Assistant's `rest` integration in a ```yaml block of docs/`page`."""
    return [
        each
        for config in yaml_blocks(page)
        if isinstance(config, dict)
        for each in config.get("rest", [])
    ]


def documented_sensor(page: str, name: str) -> dict:
    """The REST sensor called `name` in a ```yaml block of docs/`page`."""
    for resource in documented_resources(page):
        for sensor in resource.get("sensor", []):
            if sensor["name"] == name:
                return sensor
    raise AssertionError(f"docs/{page} has no REST sensor named {name!r}")


def resource_url(resource: dict, now: datetime) -> str:
    """The URL Home Assistant asks for `resource`: its `resource`, or its `resource_template`
    rendered at `now` (aware, in Home Assistant's time zone) with the template functions the
    recipes use: `now()`, `today_at()`, `timedelta` and Jinja's `urlencode` filter."""
    if "resource" in resource:
        return resource["resource"]

    def today_at(clock: str = "00:00") -> datetime:
        return datetime.combine(now.date(), time.fromisoformat(clock), now.tzinfo)

    functions = {"now": lambda: now, "today_at": today_at, "timedelta": timedelta}
    return STRICT.from_string(resource["resource_template"]).render(functions).strip()


def rest_sensor(sensor: dict, body: str) -> tuple[str, list[str]]:
    """(the state Home Assistant shows, what it logs) for `sensor` reading the answer `body`."""
    variables: dict[str, Any] = {"value": body}
    try:
        variables["value_json"] = json.loads(body)
    except ValueError:
        pass
    if "availability" in sensor:
        rendered = STRICT.from_string(sensor["availability"]).render(variables)
        if not _as_boolean(_parsed(rendered)):
            return "unavailable", []
    value = body
    if "value_template" in sensor:
        value = LENIENT.from_string(sensor["value_template"]).render(variables).strip()
    if "unit_of_measurement" in sensor:  # a number is expected (sensor/__init__.py `state`)
        try:
            return str(float(value)), []
        except ValueError:
            return value, [f"has the non-numeric value: {value!r}"]
    if sensor.get("device_class") != "timestamp":
        return value, []
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "unknown", [f"rendered invalid timestamp: {value}"]
    if moment.tzinfo is None:
        return "unknown", [f"rendered timestamp without timezone: {value}"]
    return moment.isoformat(), []


def _parsed(rendered: str) -> Any:
    """A rendered template's result as Home Assistant parses it: a Python literal or the text."""
    try:
        return ast.literal_eval(rendered)
    except (ValueError, SyntaxError):
        return rendered


def _as_boolean(result: Any) -> bool:
    """Home Assistant's result_as_boolean (config_validation.boolean; anything else: False)."""
    if isinstance(result, bool):
        return result
    if isinstance(result, int | float):
        return result != 0
    return isinstance(result, str) and result.strip().lower() in (
        "1",
        "true",
        "yes",
        "on",
        "enable",
    )
