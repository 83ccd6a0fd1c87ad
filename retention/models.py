"""What the system knows about Home Assistant's entities (the registry); the lifecycle models
of views, tiers and the archive live next to it."""

from datetime import date, timedelta

from django.db import models
from django.utils import timezone

from retention.unavailable import UnavailableRead, UnavailableSpan  # noqa: F401  (its models)


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
    # Home Assistant's device class (motion, occupancy, power, door, ...); "" when it has none.
    device_class = models.CharField(
        max_length=64, blank=True, help_text="Home Assistant's device class, e.g. motion, door"
    )
    friendly_name = models.CharField(max_length=255, blank=True)
    tiered = models.BooleanField(default=True, help_text="Downsampled and archived by retention.")
    # A person's switch, never discovery's (discovery does not touch it, edited or not): off
    # keeps the entity out of the materialized views, a duplicate sensor say
    # (retention.rollups.follow follows the switch). The tiers ignore it: off or on, the
    # entity's raw points are downsampled and deleted on schedule while `tiered`.
    in_views = models.BooleanField(
        default=True,
        verbose_name="count in the views",
        help_text="Counted in the materialized views (daily energy by device, hourly room "
        "activity). Untick it for a duplicate (a plug's power reported by two integrations): "
        "its rows of the views are deleted and its area's activity is computed again without "
        "it. Discovery never ticks it again; retention still downsamples the entity.",
    )
    # Where the raw data lives in Home Assistant's InfluxDB.
    layout = models.CharField(max_length=16, choices=Layout.choices)
    measurement = models.CharField(max_length=255)
    # [{"measurement": "W", "unit": "W"}, {"measurement": "kW", ...}]: retention.entities.sources.
    series = models.JSONField(
        default=list,
        blank=True,
        help_text="Measurements holding the entity's points and the unit written there "
        "(discovery).",
    )
    # True once a person edited friendly_name/kind/area/unit/device_class/tiered: discovery
    # keeps those then.
    edited = models.BooleanField(default=False)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    discovered = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Raw states a day, measured by discovery over the last raw days (retention.tiers.density);
    # None: not measured. A measured entity keeps the states of a day that has no more of
    # them than the hourly rows that would replace them.
    states_per_day = models.FloatField(
        null=True, blank=True, help_text="Measured raw states per day (discovery)."
    )
    # None while Home Assistant has it, or was never asked (retention.entities.gone).
    gone_from_ha = models.DateTimeField(
        null=True,
        blank=True,
        verbose_name="gone from Home Assistant",
        help_text="When discovery first found the entity missing from Home Assistant's states "
        "(cleared when it is back).",
    )
    several_writers = models.TextField(  # retention.entities.writers; retention.tiers.unrecorded
        blank=True,
        default="",
        verbose_name="written by two instances",
        help_text="Discovery's finding while two Home Assistant instances write the entity at "
        "once: the raw -> hourly run leaves it out, its raw points kept (cleared once it is over).",
    )

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


class RetentionRun(models.Model):
    """Every retention operation: downsampling, view refresh, archive, restore."""

    class Operation(models.TextChoices):
        DOWNSAMPLE_HOURLY = "downsample_hourly", "raw -> hourly"
        DOWNSAMPLE_DAILY = "downsample_daily", "hourly -> daily"
        VIEW_REFRESH = "view_refresh", "materialized view refresh"
        ARCHIVE = "archive", "archive"
        RESTORE = "restore", "restore from archive"

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        OK = "ok", "ok"
        FAILED = "failed", "failed"
        DRY_RUN = "dry_run", "dry run"
        SKIPPED = "skipped", "skipped (another run holds the lock)"

    operation = models.CharField(max_length=32, choices=Operation.choices, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started = models.DateTimeField(db_index=True)
    finished = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    range_start = models.DateTimeField(null=True, blank=True)
    range_end = models.DateTimeField(null=True, blank=True)
    records_processed = models.BigIntegerField(default=0)
    records_deleted = models.BigIntegerField(default=0)
    # Measured from InfluxDB's own size accounting (enrich.influx.sizes) before and after.
    storage_before_bytes = models.BigIntegerField("storage before (bytes)", null=True, blank=True)
    storage_after_bytes = models.BigIntegerField("storage after (bytes)", null=True, blank=True)
    storage_freed_mb = models.FloatField(
        null=True, blank=True, verbose_name="freed MB (right after the run)"
    )
    # Measured again once InfluxDB compacted the shards the run touched (retention.stats.settle):
    # right after a run, deleted data is still on disk as tombstones.
    storage_settled_bytes = models.BigIntegerField("storage settled (bytes)", null=True, blank=True)
    storage_settled_freed_mb = models.FloatField(
        null=True, blank=True, verbose_name="freed MB (settled)"
    )
    storage_settled_at = models.DateTimeField(null=True, blank=True)
    errors = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["operation", "status", "-started"])]

    @property
    def view(self) -> str | None:
        """The view a refresh or rebuild ran for (the refreshes of the views, one after
        another, read alike but for it); None for other runs."""
        if self.operation != self.Operation.VIEW_REFRESH:
            return None
        return (self.details or {}).get("view")

    def __str__(self) -> str:
        # As the lists label and show them: "archive · failed · 2026-03-01 08:00".
        started = timezone.localtime(self.started)
        return f"{self.get_operation_display()} · {self.get_status_display()} · {started:%Y-%m-%d %H:%M}"


class TierChunk(models.Model):
    """Progress of one tier transition for one UTC day, so a killed run resumes where it was."""

    class Tier(models.TextChoices):
        HOURLY = "hourly", "raw -> hourly"
        DAILY = "daily", "hourly -> daily"

    class State(models.TextChoices):
        WRITTEN = "written", "aggregates written"
        VERIFIED = "verified", "aggregates read back and checked"
        DELETED = "deleted", "source data deleted"

    tier = models.CharField(max_length=16, choices=Tier.choices)
    day = models.DateField()
    state = models.CharField(max_length=16, choices=State.choices)
    entities = models.PositiveIntegerField(default=0)
    source_points = models.BigIntegerField(default=0)
    aggregate_points = models.BigIntegerField(default=0)
    # Daily tier only: the verified daily rows (entity_id -> kind and fields), kept until the
    # day's hourly rows are deleted. InfluxDB 1.x deletes across retention policies, so
    # deleting the hourly row at midnight also removes the daily row at midnight; it is
    # written again from here, also after a crash in between.
    pending_rows = models.JSONField(default=dict, blank=True)
    # Hourly tier only: entities whose raw states of the day were kept instead of hourly rows
    # (fewer states than rows, see retention.tiers.density); never folded in as late points.
    kept_raw = models.JSONField(default=list, blank=True)
    # Hourly tier only: entities whose delete statement of the day ran while the day is still
    # "verified"; raw points of theirs found there afterwards are late points, not leftovers.
    raw_deleted = models.JSONField(default=list, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tier", "day"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "day"], name="one_chunk_per_tier_day")
        ]

    def __str__(self) -> str:
        return f"{self.tier} {self.day}"


class ViewState(models.Model):
    """Bookkeeping of incremental view refreshes."""

    view = models.CharField(max_length=64, unique=True)
    last_refreshed = models.DateTimeField(null=True, blank=True)
    # Data written before this time has been folded into the view (minus the late margin).
    watermark = models.DateTimeField(null=True, blank=True)


class ViewFollowUp(models.Model):
    """Rows of a materialized view that an edit of the entity registry (or the deletion of an
    entity) changed: computed again by the view's next follow-up run or refresh
    (retention.rollups.follow), then deleted."""

    view = models.CharField(max_length=64)
    key = models.CharField(
        max_length=255,
        help_text="entity_id (daily_energy_by_device) or area (hourly_room_activity)",
    )
    since = models.DateTimeField(
        null=True, blank=True, help_text="Computed again from here: the entity's first_seen."
    )
    edit = models.CharField(max_length=500, help_text="What was edited.")
    # Deleted or kept out (`Entity.in_views` off): an entity that is gone or kept out, an area
    # left without sensors the views count, loses all its rows, also before the horizon.
    deleted = models.BooleanField(
        default=False, help_text="An entity of the key was deleted or kept out of the views."
    )
    unit_before = models.CharField(max_length=32, blank=True, default="")  # rollups.tier_kinds
    noted = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["noted"]
        indexes = [models.Index(fields=["view"])]

    def __str__(self) -> str:
        return f"{self.view} {self.key}"


class DailyEnergyByDevice(models.Model):
    entity_id = models.CharField(max_length=255)
    date = models.DateField()
    total_kwh = models.FloatField("total (kWh)")
    avg_power = models.FloatField(null=True, help_text="W, time-weighted")
    peak_power = models.FloatField(null=True, help_text="W")
    cost = models.FloatField(null=True)
    currency = models.CharField(max_length=8, blank=True)
    cost_source = models.CharField(
        max_length=16, blank=True, help_text="price_slots, flat_tariff, mixed or none"
    )
    partial = models.BooleanField(default=False, help_text="The day is not over yet.")
    source_points = models.PositiveIntegerField(
        null=True,
        help_text="raw points of the day it was built from (empty: unknown)",
    )
    refreshed = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "daily_energy_by_device"
        verbose_name_plural = "daily energy by device rows"
        constraints = [
            models.UniqueConstraint(fields=["entity_id", "date"], name="daily_energy_entity_date")
        ]
        indexes = [models.Index(fields=["date"])]


class HourlyRoomActivity(models.Model):
    area = models.CharField(max_length=100)
    hour = models.DateTimeField()
    day_of_week = models.PositiveSmallIntegerField(help_text="0 = Monday")
    motion_count = models.PositiveIntegerField()
    occupancy_rate = models.FloatField(help_text="0..1")
    partial = models.BooleanField(default=False)
    source_points = models.PositiveIntegerField(
        null=True,
        help_text="the sensors' raw points of the hour it was built from (empty: unknown)",
    )
    refreshed = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hourly_room_activity"
        verbose_name_plural = "hourly room activity rows"
        constraints = [
            models.UniqueConstraint(fields=["area", "hour"], name="room_activity_area_hour")
        ]
        indexes = [models.Index(fields=["hour"]), models.Index(fields=["area", "day_of_week"])]


class DailyCarbonSummary(models.Model):
    date = models.DateField()
    region = models.CharField(max_length=100)
    avg_carbon = models.FloatField(null=True, help_text="gCO2/kWh")
    min_carbon = models.FloatField(null=True)
    max_carbon = models.FloatField(null=True)
    avg_renewable = models.FloatField(null=True, help_text="%")
    partial = models.BooleanField(default=False)
    source_points = models.PositiveIntegerField(
        null=True,
        help_text="carbon points of the day it was built from (empty: unknown)",
    )
    refreshed = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "daily_carbon_summary"
        verbose_name_plural = "daily carbon summaries"
        constraints = [
            models.UniqueConstraint(fields=["date", "region"], name="carbon_date_region")
        ]
        indexes = [models.Index(fields=["region", "date"])]


class ArchiveObject(models.Model):
    """One parquet file in the archive (S3 or the local directory target)."""

    key = models.CharField(
        max_length=500, unique=True, help_text="archives/{year}/data_{date}.parquet"
    )
    target = models.CharField(max_length=16, help_text="s3 or local")
    bucket = models.CharField(max_length=255, blank=True, help_text="S3 bucket or local directory")
    start_date = models.DateField(db_index=True)
    end_date = models.DateField(db_index=True, help_text="Last day the file covers (inclusive).")
    record_count = models.BigIntegerField()
    file_size = models.BigIntegerField(help_text="bytes")
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file")
    compression = models.CharField(max_length=16)
    storage_class = models.CharField(max_length=32, blank=True)
    created = models.DateTimeField()
    verified = models.DateTimeField(null=True, blank=True, help_text="Size and checksum read back.")
    source_deleted = models.DateTimeField(
        null=True, blank=True, help_text="Daily aggregates removed from InfluxDB."
    )
    expired = models.DateTimeField(null=True, blank=True, help_text="Removed after 5 years.")

    class Meta:
        ordering = ["start_date"]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def deleted_days(cls, first: date, last: date, expired: bool = True) -> set[date]:
        """The days of first..last whose daily rows an archive run deleted from InfluxDB once
        their file was verified (`expired`: also those of files since expired)."""
        files = cls.objects.filter(
            source_deleted__isnull=False, start_date__lte=last, end_date__gte=first
        )
        if not expired:
            files = files.filter(expired__isnull=True)
        days: set[date] = set()
        for start, stop in files.values_list("start_date", "end_date"):
            days.update(start + timedelta(n) for n in range((stop - start).days + 1))
        return {day for day in days if first <= day <= last}


class Alert(models.Model):
    """A retention operation that failed or ran too long — one per incident; or a condition
    (no run): entities gone from Home Assistant still counted in the views, Home Assistant
    writing nothing, a tier's policy too short for the step that takes its data on (failed
    runs, a disabled beat entry, no archive target), tiered entities a raw -> hourly run leaves
    out, a tier's policy dropped with its rows (created again by a tier run); till `cleared`."""

    class Kind(models.TextChoices):
        FAILED = "failed", "operation failed"
        OVERRUN = "overrun", "operation ran too long"
        GONE_FROM_HA = "gone_from_ha", "entities gone from Home Assistant still counted"
        RAW_POLICY_SHORT = "raw_policy_short", "raw retention policy too short for failed or paused runs"  # fmt: skip
        HOURLY_POLICY_SHORT = "hourly_policy_short", "hourly retention policy too short for paused runs"  # fmt: skip
        DAILY_POLICY_SHORT = "daily_policy_short", "daily retention policy too short for a paused or unset archive"  # fmt: skip
        ENTITIES_LEFT_OUT = "entities_left_out", "tiered entities left out, their points kept raw"  # fmt: skip
        TIER_POLICY_LOST = "tier_policy_lost", "tier retention policy dropped, its rows lost"
        HA_SILENT = "ha_silent", "Home Assistant writes nothing to InfluxDB"

    run = models.ForeignKey(
        RetentionRun, on_delete=models.CASCADE, related_name="alerts", null=True, blank=True
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    message = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField(null=True, blank=True, help_text="Delivered to the webhook.")
    delivery_error = models.TextField(blank=True)
    # An alert without a run: when its condition was over.
    cleared = models.DateTimeField(null=True, blank=True, help_text="The condition is over.")

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["run", "kind"], name="one_alert_per_incident"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(run__isnull=True, cleared__isnull=True),
                name="one_open_alert_per_condition",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (alert {self.pk})"
