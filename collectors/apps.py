from django.apps import AppConfig


class CollectorsConfig(AppConfig):
    name = "collectors"
    verbose_name = "Collectors"

    def ready(self) -> None:
        # Home Assistant MQTT: publish after writes and configuration changes (MQTT_URL set).
        from collectors.ha_mqtt import signals  # noqa: F401
        from collectors.pipeline import forget_login, settings_problem
        from collectors.registry import refused_options, unknown_options
        from collectors.site_series import tagged_measurements
        from enrich.models import collect_check, options_check, secrets_cleared, site_series

        # The admin (ProviderConfig.clean) refuses option names the provider does not read.
        options_check.connect(unknown_options, dispatch_uid="collectors_unknown_options")
        # ... and values its adapter can tell no collection could use.
        options_check.connect(refused_options, dispatch_uid="collectors_refused_options")
        # ... and says which saved configs cannot collect, and why.
        collect_check.connect(settings_problem, dispatch_uid="collectors_settings_problem")
        # ... and removes the logins saved for a config whose secrets a user cleared.
        secrets_cleared.connect(forget_login, dispatch_uid="collectors_forget_login")
        # ... and names the series a site's rename would split.
        site_series.connect(tagged_measurements, dispatch_uid="collectors_site_series")
