from rest_framework import serializers

from enrich.models import ProviderConfig, Site


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


class SiteSerializer(serializers.ModelSerializer):
    providers = ProviderConfigSerializer(many=True, read_only=True)

    class Meta:
        model = Site
        fields = ["id", *Site.SHOWN, "providers"]
