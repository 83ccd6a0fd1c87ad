"""What the system knows about Home Assistant's entities (the registry); the lifecycle models
of views, tiers and the archive live next to it."""

from django.db import models


class Entity(models.Model):
    """One Home Assistant entity, as found in InfluxDB (discovery) and corrected in the admin."""

    class Kind(models.TextChoices):
        POWER = "power", "power (W)"
        ENERGY = "energy", "cumulative energy (kWh)"
        BINARY = "binary", "binary (motion/occupancy/on-off)"
        NUMERIC = "numeric", "numeric measurement"
        WEATHER = "weather", "weather"
        TEXT = "text", "text state"

    class Layout(models.TextChoices):
        OFFICIAL = "official", "HA InfluxDB integration"
        INGESTOR = "ingestor", "HA Ingestor"

    entity_id = models.CharField(max_length=255, unique=True, help_text="Full id: domain.object_id")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    area = models.CharField(max_length=100, blank=True, db_index=True)
    unit = models.CharField(max_length=32, blank=True)
    friendly_name = models.CharField(max_length=255, blank=True)
    tiered = models.BooleanField(default=True, help_text="Downsampled and archived by retention.")
    # Where the raw data lives in Home Assistant's InfluxDB.
    layout = models.CharField(max_length=16, choices=Layout.choices)
    measurement = models.CharField(max_length=255)
    # True once a person edited kind/area/unit/tiered: discovery never overwrites those then.
    edited = models.BooleanField(default=False)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    discovered = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["entity_id"]
        verbose_name_plural = "entities"

    def __str__(self) -> str:
        return self.entity_id

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    @property
    def object_id(self) -> str:
        return self.entity_id.split(".", 1)[1]
