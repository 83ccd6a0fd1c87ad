"""The MQTT door: the one place that talks to an MQTT broker (paho-mqtt)."""
