"""One row per collection run: what happened, what was written, what was served instead."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from enrich.models import SOURCE_CHOICES, in_words
from enrich.time_span import whole_minutes

# The most a flexible load (admin) or a plan request (/api/plan) may give: far above any real
# load or carbon price, low enough that every figure of a plan stays a finite number.
MAX_LOAD_KW = 100_000
MAX_CARBON_PRICE = 1_000_000  # currency per tonne of CO2


class CollectorRun(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "fetched and written"
        # Some of it written (the latest without its backfill, prices ending before now): the
        # next run asks again (FetchResult.current, collectors.pipeline).
        PARTIAL = "partial", "written in part; asked again next run"
        CACHED = "cached", "fresh cache, no call"
        NO_DATA = "no_data", "API had no data"
        # No call: the budget is used up, a wait the provider asked for with HTTP 429 runs
        # (collectors.rate_limits), or the budget's lowered cadence has the next call later
        # (collectors.cadence); its `served` says which, and what it served instead (the last
        # good answer, or nothing: a first run has none).
        BUDGET = "budget", "no call: budget or rate limit"
        FAILED = "failed", "failed"

    # Labelled as the provider configs label it ("Carbon intensity"; the id stays in the API).
    source = models.CharField(max_length=32, choices=SOURCE_CHOICES)
    provider = models.CharField(max_length=32)
    target = models.CharField(max_length=200, help_text="Region / zone / tariff / location.")
    started = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField("duration (ms)", default=0)
    status = models.CharField(max_length=16, choices=Status.choices)
    points_written = models.PositiveIntegerField(default=0)
    backfill_from = models.DateTimeField(null=True, blank=True)
    served = models.CharField(max_length=200, blank=True, help_text="What was served instead.")
    error = models.TextField(blank=True)
    # The error as a person reads it (the status page): a failure's message without its error
    # class, which `error` keeps for the admin and the API.
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["source", "provider", "target", "status", "-started"])]

    def __str__(self) -> str:
        # The status and time as the list shows them (its label, the admin's time zone).
        started = timezone.localtime(self.started)
        return f"{self.feed} · {self.get_status_display()} · {started:%Y-%m-%d %H:%M}"

    @property
    def feed(self) -> str:
        """What the run fetched, as the admin names it: "carbon intensity/electricitymaps/DE"."""
        return f"{in_words(self.source)}/{self.provider}/{self.target}"


def whole_minutes_of_hours(value: float) -> None:
    """A load runs for whole minutes, as plans are made (1.01 h would end at ...:00:36)."""
    if whole_minutes(value) is None:
        raise ValidationError(
            f"{value:g} hours is not a whole number of minutes: e.g. 1.5 (90 min), 0.75 (45 min)."
        )


class FlexibleLoad(models.Model):
    """A load that can run whenever it is cheapest and cleanest before its deadline (a
    dishwasher, an EV charge, a heat-pump boost); `collectors.pricing.loads.plan_for` plans it
    and its recommended start is what a Home Assistant sensor shows."""

    site = models.ForeignKey("enrich.Site", on_delete=models.CASCADE, related_name="loads")
    name = models.CharField(max_length=100)
    hours = models.FloatField(
        validators=[MinValueValidator(0.25), MaxValueValidator(24), whole_minutes_of_hours],
        help_text="How long it runs, in hours, a whole number of minutes (e.g. 2.5, 0.75).",
    )
    deadline = models.TimeField(
        help_text="Local time (the site's time zone) it must have finished by, e.g. 07:00. The "
        "next one that leaves room for the hours is planned for."
    )
    carbon_price = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_CARBON_PRICE)],
        help_text="Price of a tonne of CO2 in the electricity price's currency (at most "
        f"{MAX_CARBON_PRICE}); empty = PLAN_CARBON_PRICE. 0 plans by price only.",
    )
    kw = models.FloatField(
        "power (kW)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.001), MaxValueValidator(MAX_LOAD_KW)],
        help_text=f"Power in kW (at most {MAX_LOAD_KW}), for cost and emissions in money and "
        "kg (optional).",
    )
    contiguous = models.BooleanField(default=True, help_text="Must run without interruption.")
    max_windows = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="When it may be interrupted: at most this many windows (empty = no limit).",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="one_load_name_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.site} · {self.name}"


class CircuitKey(models.Model):
    """A key one circuit of a site was given, kept for good (collectors.circuit_keys): its tag
    in InfluxDB, where the meter's names can clash, or its Home Assistant entity key. A circuit
    that comes later, or back after a pause, never takes a key another circuit holds."""

    site = models.ForeignKey("enrich.Site", on_delete=models.CASCADE, related_name="circuit_keys")
    scope = models.CharField(
        max_length=200,
        help_text="Where the key is unique: 'ha_mqtt' (entity keys), '<provider>/<device>' "
        "(circuit tags of one meter device).",
    )
    key = models.TextField()
    owner = models.TextField(help_text="Who holds it, as JSON: e.g. [channel, name].")
    given = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["site", "scope", "key"]
        constraints = [
            models.UniqueConstraint(fields=["site", "scope", "key"], name="one_owner_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.site} · {self.scope} · {self.key}"


class MqttInstance(models.Model):
    """Which enrich this is on an MQTT broker: one row, made at its first publication. Every
    process of one enrich (one database) publishes under its id; another enrich's id on the
    broker under the same MQTT_TOPIC_ROOT stops publishing (collectors.ha_mqtt.owner)."""

    instance = models.CharField(max_length=32, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.instance
