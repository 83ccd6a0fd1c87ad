"""Sites and per-source provider settings, editable in the Django admin."""

import json
import logging
import math
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.dispatch import Signal
from django.utils import timezone

from enrich.crypto import EncryptedTextField, UnreadableSecret
from enrich.readings import tag_problem
from enrich.redis.budget import parse_budget
from enrich.url_problems import header_problem

logger = logging.getLogger(__name__)

# Every data source and the providers that can serve it (names are stable identifiers used in
# settings, environment variables, cache keys and the tags written to InfluxDB).
SOURCES: dict[str, tuple[str, ...]] = {
    "carbon_intensity": ("watttime", "electricitymaps", "uk_carbon_intensity"),
    "electricity_pricing": ("awattar", "tibber", "octopus"),
    "air_quality": ("airnow",),
    "occupancy": ("google_calendar",),
    "smart_meter": ("emporia_vue", "sense", "home_assistant"),
}
# PRD FR9: how often each source is fetched by default.
DEFAULT_INTERVAL_SECONDS = {
    "carbon_intensity": 900,
    "electricity_pricing": 3600,
    "air_quality": 3600,
    "occupancy": 900,
    "smart_meter": 300,
}
SOURCE_CHOICES = [(s, s.replace("_", " ").capitalize()) for s in SOURCES]
SOURCE_LABELS = dict(SOURCE_CHOICES)
PROVIDER_CHOICES = sorted({(p, p) for providers in SOURCES.values() for p in providers})


def in_words(source: str) -> str:
    """A source as a sentence names it: the admin's label in lower case ("air quality"; the id
    air_quality stays in JSON keys and URLs)."""
    return SOURCE_LABELS.get(source, source).lower()


# Names zoneinfo lists that are no place's zone: "localtime" is the host's own (a link to
# /etc/localtime: a site's days would move with the host's setting), "Factory" none at all.
NOT_PLACES = frozenset({"localtime", "Factory"})


def is_zone_name(value: str) -> bool:
    """An IANA time zone name of a place."""
    return value in zoneinfo.available_timezones() and value not in NOT_PLACES


def zone_or_utc(name: str) -> zoneinfo.ZoneInfo:
    """The time zone `name` of a site, UTC when it names no place's zone (a row written past the
    site form, a zone gone from the host's tz database): its times read on UTC's clock."""
    if name and name not in NOT_PLACES:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo("UTC")


def validate_timezone(value: str) -> None:
    if not is_zone_name(value):
        raise ValidationError(f"{value!r} is not an IANA time zone name (e.g. Europe/Berlin).")


def validate_tag_value(value: str) -> None:
    if problem := tag_problem(value):
        raise ValidationError(f"InfluxDB tags cannot hold {problem}, and this name is one.")


class Site(models.Model):
    """A home: where it is, which grid it sits on, which tariff region it buys from."""

    # What the admin's list and the REST API show of a site.
    SHOWN = (
        "name",
        "latitude",
        "longitude",
        "timezone",
        "grid_region",
        "pricing_region",
        "enabled",
    )

    # Written as a tag of the smart meters' points: what InfluxDB tags can hold.
    name = models.CharField(max_length=100, unique=True, validators=[validate_tag_value])
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    grid_region = models.CharField(
        max_length=64,
        blank=True,
        help_text="Grid zone/region of the carbon provider: WattTime region (CAISO_NORTH), "
        "Electricity Maps zone (DE), UK region id or postcode outward code.",
    )
    pricing_region = models.CharField(
        max_length=64,
        blank=True,
        help_text="Tariff region: aWATTar country (DE/AT), Octopus region letter (A-P).",
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        # Hung on Site because every deployment has one; it is what enrich.access checks.
        permissions = [("trigger_work", "Can change data and start work through the API")]

    def __str__(self) -> str:
        return self.name

    def other_zone_note(self) -> str:
        """What a site whose time zone is not TIME_ZONE is told ("" for one that is): the
        materialized views count TIME_ZONE's days (retention.timeutil), not the site's."""
        if self.timezone == settings.TIME_ZONE:
            return ""
        return (f"{self}: its time zone is {self.timezone}, but the materialized views "
                "(daily_energy_by_device, hourly_room_activity, daily_carbon_summary) count the "
                f"days of TIME_ZONE, {settings.TIME_ZONE}. For them to count this site's days, "
                f"set TIME_ZONE={self.timezone} in enrich's environment (.env), restart enrich, "
                "and rebuild the days they hold (manage.py rebuild_view).")  # fmt: skip


MAX_OPTIONS_DEPTH = 32  # options are flat settings; a deeper value is a mistake

# Sent by ProviderConfig.clean() with `config`, once the source, provider and options are
# valid JSON: each receiver returns what is wrong with the options ("" when nothing). The
# collectors app answers with the option names its adapter reads, and with the values its
# option parsers refuse, as a run would (collectors.apps).
options_check = Signal()
# Sent by the admin for a saved config (`config`): each receiver returns what keeps it from
# collecting with its settings ("" when nothing). The collectors app answers with the error a
# collection would fail with before any call (collectors.pipeline.settings_problem).
collect_check = Signal()
# Sent by the admin when a user cleared a config's secrets (`config`): each receiver removes
# the logins saved for it (sessions, tokens) and returns what it removed, as a list of phrases.
# The collectors app answers with the config's adapter (collectors.pipeline.forget_login).
secrets_cleared = Signal()
# Sent by the admin before it renames a site (`name`, the name it has): each receiver returns
# the InfluxDB measurements holding points tagged with that name (tag `site`), which a rename
# splits. The collectors app answers for the meters and occupancy (collectors.site_series).
site_series = Signal()


class ProviderConfig(models.Model):
    """Which provider serves a source for a site, how often, with which credentials."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="providers")
    source = models.CharField(max_length=32, choices=SOURCE_CHOICES)
    provider = models.CharField(max_length=32, choices=PROVIDER_CHOICES)
    enabled = models.BooleanField(default=True)
    # Named for the REST API's field (GET /api/sites/), which keeps its name; what it does:
    interval_seconds = models.PositiveIntegerField(
        "fetch window (seconds)",
        default=900,
        validators=[MinValueValidator(60)],
        help_text=(
            "How far back each fetch asks the API for, and the fetch spacing the API budget "
            "check assumes. How often fetches run is set by the beat schedule (Periodic tasks) "
            "and the cache TTL (CACHE_TTL_*_SECONDS), not here."
        ),
    )
    username = models.CharField(max_length=200, blank=True)
    # Secrets: encrypted at rest, never displayed back in the admin.
    api_key = EncryptedTextField("API key", blank=True, help_text="API key or token.")
    password = EncryptedTextField(blank=True)
    options = models.JSONField(
        default=dict, blank=True, help_text='Provider options, e.g. {"base_url": "..."}.'
    )
    # Tokens a provider handed out at login (JSON, encrypted), kept so a worker restart does not
    # need a new login (which, for an account with multi-factor authentication, needs a person).
    session = EncryptedTextField(blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site__name", "source", "provider"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "source", "provider"], name="one_provider_per_source"
            )
        ]

    def __str__(self) -> str:
        # The source as the admin labels it; the provider stays its id (the choices show it).
        return f"{self.site} · {in_words(self.source)} · {self.provider}"

    def clean(self) -> None:
        allowed = SOURCES.get(self.source, ())
        if self.source and self.provider and self.provider not in allowed:  # blank: "required"
            raise ValidationError(
                {
                    "provider": f"{self.provider!r} does not serve {in_words(self.source)}; "
                    f"choose one of: {', '.join(allowed)}."
                }
            )
        if isinstance(self.api_key, str):  # not an UnreadableSecret kept as it is
            if problem := header_problem(self.api_key):  # every run would fail on sending it
                raise ValidationError({"api_key": f"An API key is sent in an HTTP header or "
                                       f"login, which cannot carry {problem}: enter the key "
                                       "as the provider shows it."})  # fmt: skip
        if not isinstance(self.options, dict):
            raise ValidationError({"options": "Options must be a JSON object."})
        if problem := _options_problem(self.options):
            raise ValidationError({"options": f"Options cannot hold {problem}."})
        for _receiver, problem in options_check.send(sender=ProviderConfig, config=self):
            if problem:
                raise ValidationError({"options": problem})
        if budget := self.options.get("budget"):  # empty: the provider's own
            try:
                parse_budget(budget)
            except ValueError as exc:  # every run would fail on it
                raise ValidationError({"options": f"options.budget: {exc}"}) from None

    def collect_problem(self) -> str:
        """What keeps this config from collecting with its settings ("" when nothing)."""
        answers = collect_check.send(sender=ProviderConfig, config=self)
        return " ".join(problem for _receiver, problem in answers if problem)

    @property
    def has_secret(self) -> bool:
        return bool(self.api_key or self.password)

    def saved_session(self) -> dict:
        """The saved login session ({} when none, or when it cannot be read or decrypted: a new
        login)."""
        if not self.session:
            return {}
        if isinstance(self.session, UnreadableSecret):
            logger.warning(
                "%s: the saved login session %s; logging in again", self, self.session.reason
            )
            return {}
        try:
            data = json.loads(self.session)
        except ValueError:
            logger.warning("%s: the saved login session is not JSON; ignoring it", self)
            return {}
        return data if isinstance(data, dict) else {}

    def save_session(self, data: dict) -> None:
        """Save a login session ({}: remove it). A session is not saved once the config's
        secrets were cleared (or it was deleted) since it was read: a fetch running while a
        user clears them must not store that account's login again."""
        self.session = json.dumps(dict(data), sort_keys=True) if data else ""
        self.updated = timezone.now()
        rows = ProviderConfig.objects.filter(pk=self.pk)
        if data:
            rows = rows.exclude(api_key="", password="")
        if not rows.update(session=self.session, updated=self.updated):
            there = ProviderConfig.objects.filter(pk=self.pk).exists()
            why = "its secrets were cleared" if there else "it was deleted"  # in the admin
            logger.info("%s: %s; the login session is not saved", self, why)


class OAuthConnection(models.Model):
    """A Google account connected through the OAuth setup page (or GOOGLE_REFRESH_TOKEN) for
    one site's calendar provider. Tokens are encrypted at rest; the status says whether the
    refresh token still works."""

    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    STATUS_CHOICES = [(CONNECTED, "connected"), (NEEDS_RECONNECT, "needs reconnect")]
    # A site with no connection (no row) yet: the API's status and the pages' words for it.
    NOT_CONNECTED, NOT_CONNECTED_LABEL = "not_connected", "not connected"
    ORIGIN_CHOICES = [("consent", "setup page"), ("environment", "GOOGLE_REFRESH_TOKEN")]

    provider_config = models.OneToOneField(
        ProviderConfig, on_delete=models.CASCADE, related_name="oauth_connection"
    )
    origin = models.CharField(max_length=16, choices=ORIGIN_CHOICES, default="consent")
    account_email = models.CharField(max_length=254, blank=True)
    calendars = models.JSONField(
        default=list, blank=True, help_text="Connected calendars: [{id, summary, primary}]."
    )
    scopes = models.TextField(blank=True, help_text="Scopes Google granted, space-separated.")
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    token_expiry = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=CONNECTED)
    last_error = models.TextField(blank=True)
    last_refreshed = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_config__site__name"]
        verbose_name = "OAuth connection"

    def __str__(self) -> str:
        who = self.account_email or "Google account"
        return f"{self.provider_config.site} · {who} · {self.get_status_display()}"


def _options_problem(options: dict[str, Any]) -> str:
    """What in the options PostgreSQL cannot store (`_unstorable`), naming the option that
    holds it ("" when nothing)."""
    for name, value in options.items():
        if problem := _unstorable(name) or _unstorable(value, depth=2):
            return f"{problem}. Correct option {name!r}"
    return ""


def _unstorable(value: Any, depth: int = 1) -> str:
    """What in a JSON value PostgreSQL cannot store ("" when nothing): NaN or an infinity
    (JSON has neither, Python's parser reads them), a NUL character or a lone surrogate, or
    objects and lists nested deeper than MAX_OPTIONS_DEPTH, the options object being the first
    (the encoder's recursion would fail on save). `depth`: the value's level, were it an
    object or a list (an empty one counts: nothing below it is needed to be too deep)."""
    if isinstance(value, dict | list) and depth > MAX_OPTIONS_DEPTH:
        return (f"objects or lists nested more than {MAX_OPTIONS_DEPTH} deep (the options "
                "object is the first)")  # fmt: skip
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} (NaN and infinities are not JSON numbers)"
    if isinstance(value, str):
        if "\x00" in value:
            return "a NUL character (\\u0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone surrogate (\\ud800-\\udfff), which is no character"
    if isinstance(value, dict):
        parts = [*value, *value.values()]
    elif isinstance(value, list):
        parts = value
    else:
        return ""
    return next(filter(None, (_unstorable(part, depth + 1) for part in parts)), "")


class WrittenSince(models.Model):
    """The earliest time of the points the collectors wrote to a measurement of the
    enrichment database since a reader last took the note (`enrich.written`): a backfill after
    an outage writes points far older than the run, which a reader of recent data alone (the
    materialized views' refresh) would never see."""

    measurement = models.CharField(max_length=200, unique=True)
    earliest = models.DateTimeField()
    # Raised by every write noted: a reader forgets only the note it read.
    version = models.PositiveBigIntegerField(default=1)

    class Meta:
        verbose_name_plural = "written since"

    def __str__(self) -> str:
        return f"{self.measurement}: points from {self.earliest.isoformat()} written"
