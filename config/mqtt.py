"""Settings of the Home Assistant entities over MQTT discovery (collectors.ha_mqtt), read by
config.settings; off while MQTT_URL is empty."""

from django.core.exceptions import ImproperlyConfigured

from config.environment import env, number
from enrich.mqtt.address import split
from enrich.time_span import whole_minutes
from enrich.url_problems import beyond_address

MQTT_URL = env.str("MQTT_URL", default="").strip()
_parts, _port = split(MQTT_URL)
_shown = MQTT_URL.split("@")[-1]  # without a password
# A host holding a space ("home assistant.local") failed each minute's publication to resolve.
_host = (_parts and _parts.hostname) or ""
if MQTT_URL and not (
    MQTT_URL.startswith(("mqtt://", "mqtts://"))
    and _host
    and all(c.isprintable() and not c.isspace() for c in _host)
):
    raise ImproperlyConfigured(
        f"MQTT_URL={_shown!r} must start with mqtt:// or mqtts:// and name a host "
        "(e.g. mqtt://user:password@homeassistant.local:1883), or be empty to publish nothing."
    )
if MQTT_URL and _port == 0:  # else the publication fails on it each minute, or goes to 1883
    raise ImproperlyConfigured(
        f"MQTT_URL={_shown!r} has an invalid port: give one from 1 to 65535, or "
        "none (1883; mqtts: 8883)."
    )
# A topic written after the port was ignored: enrich publishes under MQTT_DISCOVERY_PREFIX and
# MQTT_TOPIC_ROOT whatever it says (manage.py mqtt_remove_entities refuses it in --url too).
if MQTT_URL and beyond_address(_parts):
    raise ImproperlyConfigured(
        f"MQTT_URL={_shown!r} names a path or query: a broker's URL has none (the topics are "
        "MQTT_DISCOVERY_PREFIX's and MQTT_TOPIC_ROOT's); give it without, e.g. "
        "mqtt://user:password@homeassistant.local:1883."
    )
# The password of a broker URL given to `manage.py mqtt_remove_entities --url` without one, so
# that no password stands in its command line (which every user of the machine can read).
MQTT_PASSWORD = env.str("MQTT_PASSWORD", default="")
MQTT_DISCOVERY_PREFIX = env.str("MQTT_DISCOVERY_PREFIX", default="homeassistant").strip().strip("/")
MQTT_TOPIC_ROOT = env.str("MQTT_TOPIC_ROOT", default="enrich").strip().strip("/")
# Every topic enrich publishes starts with one of these: MQTT forbids the wildcards + and # in a
# published topic (paho refuses each publication), Home Assistant's discovery prefix is a
# non-empty publish topic (mqtt/util.py valid_publish_topic), and an empty root made every
# topic start with "/" ("/status", "/site_1/price/state") and every unique id with "_site_1".
for _name, _value, _what in (
    (
        "MQTT_DISCOVERY_PREFIX",
        MQTT_DISCOVERY_PREFIX,
        "Home Assistant's discovery prefix (default homeassistant)",
    ),
    ("MQTT_TOPIC_ROOT", MQTT_TOPIC_ROOT, "the root of enrich's own topics (default enrich)"),
):
    if "+" in _value or "#" in _value:
        raise ImproperlyConfigured(
            f"{_name}={_value!r} must not contain the MQTT wildcards + or #: it starts the "
            "topics enrich publishes to."
        )
    if not _value:
        raise ImproperlyConfigured(f"{_name} is empty: set it to {_what}.")
MQTT_CHEAPEST_WINDOW_HOURS = number("MQTT_CHEAPEST_WINDOW_HOURS", 2, float)
if not 1 / 60 <= MQTT_CHEAPEST_WINDOW_HOURS <= 24 or not whole_minutes(MQTT_CHEAPEST_WINDOW_HOURS):
    raise ImproperlyConfigured(
        f"MQTT_CHEAPEST_WINDOW_HOURS={MQTT_CHEAPEST_WINDOW_HOURS:g} must be a whole number of "
        "minutes from one minute (0.0167) to 24 hours, e.g. 2 or 1.5."
    )
# Home Assistant shows every entity unavailable once no process has published for this long
# (enrich.mqtt.presence). A publication runs every minute: below about two minutes one late
# publication already turns the entities unavailable.
MQTT_OFFLINE_AFTER_SECONDS = number("MQTT_OFFLINE_AFTER_SECONDS", 180)
if not 1 <= MQTT_OFFLINE_AFTER_SECONDS <= 86400:
    raise ImproperlyConfigured(
        f"MQTT_OFFLINE_AFTER_SECONDS={MQTT_OFFLINE_AFTER_SECONDS} must be between 1 and 86400 "
        "(seconds without a publication before Home Assistant shows enrich offline; 180 "
        "by default)."
    )
