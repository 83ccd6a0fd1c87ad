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
