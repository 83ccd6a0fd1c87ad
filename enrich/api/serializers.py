from rest_framework import serializers

from enrich.models import ProviderConfig, Site
from enrich.url_problems import without_login


class ProviderConfigSerializer(serializers.ModelSerializer):
    secret_stored = serializers.BooleanField(source="has_secret", read_only=True)

    class Meta:
        model = ProviderConfig
        # Secrets are never part of an API answer.
        fields = [
            "id",
            "source",
            "provider",
            "enabled",
            "interval_seconds",
            "username",
            "options",
            "secret_stored",
        ]

    def to_representation(self, instance):
        shown = super().to_representation(instance)
        # A URL with a login saved past the admin's refusal (or before it): shown without it.
        options = shown.get("options")
        if isinstance(options, dict):
            shown["options"] = {name: without_login(v) for name, v in options.items()}
        return shown


class SiteSerializer(serializers.ModelSerializer):
    providers = ProviderConfigSerializer(many=True, read_only=True)

    class Meta:
        model = Site
        fields = ["id", *Site.SHOWN, "providers"]
