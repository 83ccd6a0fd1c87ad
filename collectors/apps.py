from django.apps import AppConfig


class CollectorsConfig(AppConfig):
    name = "collectors"
    verbose_name = "Collectors"

    def ready(self) -> None:
        # Home Assistant MQTT: publish after writes and configuration changes (MQTT_URL set).
        from collectors.ha_mqtt import signals  # noqa: F401
        from collectors.registry import unknown_options
        from enrich.models import options_check

        # The admin (ProviderConfig.clean) refuses option names the provider does not read.
        options_check.connect(unknown_options, dispatch_uid="collectors_unknown_options")
