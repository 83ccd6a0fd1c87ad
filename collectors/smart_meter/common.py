"""What the smart-meter adapters share: the reading builders, target parameters, units.

Two measurements (DESIGN.md): `smart_meter` (whole home or one metering device: tags
`meter_type`, `device`, `provider`, `site`; fields `total_power_w`, `daily_kwh`, and
`phantom_load_w` written by the after-write hook) and `smart_meter_circuit` (one circuit: the
same tags plus `circuit`; fields `power_w`, `percentage`, and the hook's `phantom_load_w`).
`meter_type` is the METER_TYPE that selected the adapter; `site` is the name of the site whose
provider config collected it, so two homes (e.g. two HA meters both called "home") never share
a series. Values are W and kWh; a field the meter did not report is left out, never filled in.
"""

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from collectors.base import ConfigError, Credentials, SiteInfo, Target
from enrich.readings import Reading

MEASUREMENT = "smart_meter"
CIRCUIT_MEASUREMENT = "smart_meter_circuit"
DEFAULT_HIGH_POWER_W = 10_000.0
DEFAULT_PHANTOM_NIGHTS = 7
# The answer's key listing the circuits whose state the meter still has (Home Assistant's
# meter: every circuit HA gave a value for at that poll, as {"device", "circuit", "time" of its
# state}): a state holds until it changes, so HA's circuit entities carry it however old it is.
CIRCUIT_STATES = "circuit_states"
# The options every meter reads (watch_params); each meter adapter adds its own.
METER_OPTIONS = frozenset({"high_power_w", "phantom_nights"})


def account(credentials: Credentials) -> str:
    """The account a login belongs to (the e-mail, case and spaces ignored): a saved session
    is used only for it."""
    return credentials.username.strip().lower()


def minute(moment: datetime) -> datetime:
    """The start of the minute (UTC) a moment falls in: the meters' own time grid."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class Seconds:
    """An option giving a number of seconds, `options[name]` (`default` when absent): a finite
    number (a numeric string too), more than 0 (with `zero`, 0 or more) and at most `most`;
    `read` raises a ConfigError naming options.<name> for anything else."""

    name: str
    default: float
    most: float
    who: str  # the meter, as the error names it
    zero: bool = False

    def read(self, options: Mapping[str, Any]) -> float:
        value = options.get(self.name, self.default)
        number = math.nan  # refused below: every comparison with NaN is false (inf is > most)
        if not isinstance(value, bool) and isinstance(value, int | float | str):
            try:
                number = float(value)
            except (ValueError, OverflowError):
                pass
        above_floor = number >= 0 if self.zero else number > 0
        if not (above_floor and number <= self.most):
            floor = "0 or more" if self.zero else "more than 0"
            raise ConfigError(
                f"{self.who}: options.{self.name} {value!r} is not valid: give a number of "
                f"seconds, {floor} and at most {self.most:g} (default {self.default:g})."
            )
        return number


def _positive(options: Mapping[str, Any], name: str, default: float) -> float:
    """A finite number above 0: Infinity (JSON's, or 1e400) never alerted, NaN neither, and a
    number past a float's range raised OverflowError out of the run."""
    value = options.get(name, default)
    number = math.nan  # refused below, as Seconds.read does
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            pass
    if not 0 < number < math.inf:
        raise ConfigError(f"Smart meter option {name}={value!r} must be a finite number above 0.")
    return number


def watch_options(options: Mapping[str, Any]) -> tuple[int, float]:
    """The options every meter reads (METER_OPTIONS), checked: how many nights the phantom
    load's baseline spans, and the high-consumption threshold (W)."""
    nights = _positive(options, "phantom_nights", DEFAULT_PHANTOM_NIGHTS)
    if nights != int(nights) or nights > 60:
        raise ConfigError(f"Smart meter option phantom_nights={nights:g} must be a whole 1..60.")
    return int(nights), _positive(options, "high_power_w", DEFAULT_HIGH_POWER_W)


def watch_params(site: SiteInfo, credentials: Credentials) -> dict[str, Any]:
    """What the after-write hook needs (it sees only the target): the site's time zone for
    the 3 a.m. baseline, how many nights it spans, and the high-consumption threshold."""
    nights, high_power_w = watch_options(credentials.options)
    return {
        "site": site.name,
        "timezone": site.timezone or "UTC",
        "phantom_nights": nights,
        "high_power_w": high_power_w,
    }


def tags(target: Target, device: str, **extra: str) -> dict[str, str]:
    """The tags of a meter series; `site` keeps two homes' meters apart."""
    found = {"meter_type": target.provider, "device": device, "provider": target.provider}
    if target.params.get("site"):
        found["site"] = str(target.params["site"])
    return {**found, **extra}


def stored_where(
    target: Target, since: datetime, until: datetime, upto: str = "<"
) -> tuple[str, dict]:
    """InfluxQL's WHERE (and its parameters) for the target's points in [since, until) (`upto`
    "<=": [since, until]) of its provider, and of its site where the target names one."""
    where = f'"provider" = $provider AND time >= $since AND time {upto} $until'
    params: dict[str, object] = {"provider": target.provider, "since": since, "until": until}
    if target.params.get("site"):
        where += ' AND "site" = $site'
        params["site"] = str(target.params["site"])
    return where, params


def home_reading(
    tag_set: Mapping[str, str], time: datetime, total_power_w: float, daily_kwh: float | None = None
) -> Reading:
    fields: dict[str, float] = {"total_power_w": float(total_power_w)}
    if daily_kwh is not None:
        fields["daily_kwh"] = float(daily_kwh)
    return Reading(MEASUREMENT, fields, time, dict(tag_set))


def circuit_reading(
    tag_set: Mapping[str, str],
    circuit: str,
    time: datetime,
    power_w: float,
    percentage: float | None = None,
) -> Reading:
    fields: dict[str, float] = {"power_w": float(power_w)}
    if percentage is not None:
        fields["percentage"] = float(percentage)
    return Reading(CIRCUIT_MEASUREMENT, fields, time, {**tag_set, "circuit": circuit})


def share(power_w: float, total_w: float | None) -> float | None:
    """A circuit's share of the whole home in %, when the whole home draws power at all."""
    if total_w is None or total_w <= 0:
        return None
    return power_w / total_w * 100.0


def current(
    readings: list[Reading],
    asked_at: datetime,
    top_level: set[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The headline for /api/enrichment/current: each device's newest whole-home values, the
    sum over `top_level` devices (their `device_gid`, else their name; all when None: nested
    plugs are inside their parent's mains) as `total_power_w` (a device's `daily_kwh` with
    `daily_kwh_time`, its own time), the data's time (`asked_at`
    only when the meter had nothing) and the `site` tag its series carry (the site whose
    config collected them: the Home Assistant entities read them back by it). A device is one
    series: two of one name (Emporia Vues or plugs named alike in one account) are
    `<name> (<device_gid>)` each, with their own values, counted in the total if top-level."""
    series: dict[tuple[str, str], dict[str, Any]] = {}
    newest: datetime | None = None
    for reading in sorted(readings, key=lambda r: r.time):
        newest = reading.time if newest is None or reading.time > newest else newest
        if reading.measurement == MEASUREMENT:
            gid = reading.tags.get("device_gid", "")
            entry = series.setdefault((reading.tags["device"], gid), {})
            entry.update(reading.fields)
            entry["time"] = reading.time.isoformat()
            if "daily_kwh" in reading.fields:  # its own time (HA's energy sensor: another state's)
                entry["daily_kwh_time"] = entry["time"]
            if gid:
                entry["device_gid"] = gid
    named = Counter(name for name, _ in series)
    devices = {
        (name if named[name] == 1 else device_key(name, gid)): entry
        for (name, gid), entry in series.items()
    }
    totals = [
        d["total_power_w"]
        for (name, gid), d in series.items()
        if "total_power_w" in d and (top_level is None or (gid or name) in top_level)
    ]
    headline: dict[str, Any] = {"devices": devices, **extra}
    if totals:
        headline["total_power_w"] = sum(totals)
    headline["time"] = (newest or asked_at).isoformat()
    site = next((r.tags["site"] for r in readings if r.tags.get("site")), None)
    if site is not None:
        headline["site"] = site
    return headline


def device_key(name: str, gid: str) -> str:
    """A device's key in the headline's `devices` where another device has its name."""
    return f"{name} ({gid})" if gid else name


def save_session(config: Any, previous: Credentials, renewed: Credentials) -> None:
    """Adapter.on_renewed of Sense and Emporia (SavedSession): keep the login session an adapter obtained (encrypted in
    ProviderConfig.session), so the next run, on any worker and after a restart, starts from
    it instead of logging in again."""
    if renewed.session and renewed.session != previous.session:
        config.save_session(renewed.session)


class WatchedMeter:
    """A meter adapter's after_write: the high-power and phantom-load watch, which keeps its
    baselines in Redis (collectors.smart_meter.watch)."""

    def after_write(self, target: Any, result: Any) -> None:
        from collectors.smart_meter.watch import after_write

        after_write(target, result)


class SavedSession:
    """A meter adapter's on_renewed: the login session it obtained is saved (save_session);
    its forget_login removes it."""

    def on_renewed(self, config: Any, previous: Credentials, renewed: Credentials) -> None:
        save_session(config, previous, renewed)

    def forget_login(self, config: Any) -> list[str]:
        if not config.session:
            return []
        config.save_session({})
        return ["the saved login session"]


class AppAccount:
    """A meter read through its maker's cloud with the e-mail and password of its app: the
    target and the budget (budget_scope "login") are that account."""

    source: str
    provider: str
    label: str  # how messages name the meter, e.g. "Emporia Vue"
    app: str  # whose app's login it takes, e.g. "Emporia"

    def budget_key(self, target: Target, credentials: Credentials) -> str | None:
        return account(credentials)

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        # The account is the e-mail stripped: one of spaces only is no e-mail at all.
        if not account(credentials) or not credentials.password:
            raise ConfigError(
                f"{self.label} needs the e-mail and password of the {self.app} app: set "
                "METER_USERNAME and METER_PASSWORD, or enter them in the provider settings."
            )
        params = watch_params(site, credentials)
        return Target(self.source, self.provider, account(credentials), params)
