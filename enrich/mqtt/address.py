"""MQTT_URL read without paho: the settings check it in every process at its start, most of
which never connect to a broker (broker.py, which imports paho, connects)."""

from urllib.parse import SplitResult, urlsplit


def split(url: str) -> tuple[SplitResult | None, int | None]:
    """`url` split (None: it is no URL, e.g. "mqtt://[::1" with its IPv6 host left open) and
    its port: None when none is given (1883; mqtts: 8883), 0 when the one given is none a broker
    listens on (not a number, over 65535, or ":0", which urllib reads as none given). The one
    reading of MQTT_URL: the settings' check (config/mqtt.py) and each connection's."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, None
    try:
        return parts, parts.port
    except ValueError:
        return parts, 0


def beyond_address(parts: SplitResult) -> bool:
    """Whether `parts` name a path (beyond a lone "/"), a query or a fragment: a broker's URL
    has none, and a topic written there (mosquitto_sub -L takes one) would be ignored, as the
    topics are MQTT_DISCOVERY_PREFIX's and MQTT_TOPIC_ROOT's. The one rule of MQTT_URL's check
    (config/mqtt.py) and of `manage.py mqtt_remove_entities --url`."""
    return parts.path not in ("", "/") or bool(parts.query or parts.fragment)
