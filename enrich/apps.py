from django.apps import AppConfig


class EnrichConfig(AppConfig):
    name = "enrich"
    verbose_name = "Enrichment"
