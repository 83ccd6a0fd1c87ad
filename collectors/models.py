"""One row per collection run: what happened, what was written, what was served instead."""

from django.db import models


class CollectorRun(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "fetched and written"
        PARTIAL = "partial", "latest written, backfill failed (asked again next run)"
        CACHED = "cached", "fresh cache, no call"
        NO_DATA = "no_data", "API had no data"
        BUDGET = "budget", "budget used up, cache served"
        FAILED = "failed", "failed, last good served"

    source = models.CharField(max_length=32)
    provider = models.CharField(max_length=32)
    target = models.CharField(max_length=200, help_text="Region / zone / tariff / location.")
    started = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices)
    points_written = models.PositiveIntegerField(default=0)
    backfill_from = models.DateTimeField(null=True, blank=True)
    served = models.CharField(max_length=200, blank=True, help_text="What was served instead.")
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["source", "provider", "target", "status", "-started"])]

    def __str__(self) -> str:
        return f"{self.source}/{self.provider}/{self.target} {self.status} {self.started:%Y-%m-%d %H:%M}"
