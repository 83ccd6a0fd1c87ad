"""The times Home Assistant's recorder holds an entity as unknown or unavailable, recorded from
its REST API (`retention.entities.ha_gaps`): the official InfluxDB integration writes no point
for those states, so without them an entity's last value would hold across them. The readers
take each span's start as a gap (`retention.entities.recorded_gaps`)."""

from django.db import models
from django.utils import timezone


class UnavailableSpan(models.Model):
    """One stretch of unknown/unavailable states of an entity, as Home Assistant recorded it."""

    entity_id = models.CharField(max_length=255, db_index=True)
    start = models.DateTimeField(
        help_text="When Home Assistant's state became unknown/unavailable."
    )
    end = models.DateTimeField(
        null=True, blank=True, help_text="Its next known state; empty while it lasts."
    )
    state = models.CharField(max_length=20, blank=True, help_text="The state it began with.")
    recorded = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["entity_id", "start"]
        constraints = [
            models.UniqueConstraint(fields=["entity_id", "start"], name="one_span_per_start")
        ]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.state or 'unknown'} from {self.start.isoformat()}"


class UnavailableRead(models.Model):
    """How far Home Assistant's history of an entity has been read for its spans."""

    entity_id = models.CharField(max_length=255, unique=True)
    read_until = models.DateTimeField()
