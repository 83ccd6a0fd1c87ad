from django.apps import AppConfig


class CollectorsConfig(AppConfig):
    name = "collectors"
    verbose_name = "Collectors"

    def ready(self) -> None:
        # Home Assistant MQTT: publish after writes and configuration changes (MQTT_URL set).
        from collectors.ha_mqtt import signals  # noqa: F401
