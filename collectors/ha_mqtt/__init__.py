"""Home Assistant entities over MQTT discovery: one HA device per site (see docs/home_assistant.md)."""
