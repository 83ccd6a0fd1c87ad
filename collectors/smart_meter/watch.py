"""After a smart meter answer was written: high-consumption events and the phantom load.

High consumption: a device's `total_power_w` above `high_power_w` (default 10 kW, option
`high_power_w`) starts an event, logged once (WARNING); falling back to or below it ends the
event, logged once (INFO) with its length and peak. The state lives in Redis per device (its
`device_gid` where it has one: two Emporia Vues of one account may share a name; else its name,
one per target) and is read and replaced by one Lua script, so two workers seeing the same
answer log it once, and a reading older than the remembered one (a late worker) changes nothing.

Phantom load: the standby draw, taken as the time-weighted median of the values of site-local
02:30-03:30 (each holds until the next sample, so a meter that writes on change counts each
value for as long as it held: phantom_baselines) on each of the last N nights (option
`phantom_nights`, default 7), for the whole
home of each device and for each circuit, read back from InfluxDB grouped by every tag (one
InfluxDB series each: `site`, `device`, `device_gid`, `circuit`, ..., so two sites' or two
accounts' meters never share a baseline, even with the same device names; only the target's
own site is read). It is computed at most once
per site-local day per target, after 03:30 of that day in the data's own time (the second 03:30
where the clock goes back across it, window_over; a Redis key
claims the day, so one worker does it), stored as `phantom_load_w` at 03:30 local time on the
same series (`smart_meter` / `smart_meter_circuit`), and logged when it differs from the last
reported baseline by more than 10 % and more than 20 W (then that becomes the reported one).
Filtering on the local wall clock keeps DST nights right: a spring-forward night has 30
minutes of 02:30-03:30, a fall-back night 90.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

from collectors.base import FetchResult, Target
from collectors.smart_meter import common
from enrich.influx import TimeseriesError, get_timeseries
from enrich.readings import Reading
from enrich.redis.client import get_redis, make_key, reachable
from enrich.wording import counted

log = logging.getLogger("collectors.smart_meter")

WINDOW = (time(2, 30), time(3, 30))
CARRY = timedelta(days=1)  # how far back the value in effect when a night's samples begin is read
MINUTE = timedelta(minutes=1)
CHANGE_RATIO, CHANGE_WATTS = 0.10, 20.0
BATCH = 1000  # readings per Redis round trip of the high-consumption script

# KEYS[1] = the device's state; ARGV = reading time (epoch s), power W, threshold W.
# KEYS[2], when given: where the state was kept by name before it was kept by device_gid; taken
# over once (renamed, so one worker takes it) if the device has no state of its own yet.
# Returns {previous state or '', new state or 'seen', event start, peak}.
_HIGH = """
if KEYS[2] and redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[1])
end
local s = redis.call('HMGET', KEYS[1], 'time', 'state', 'since', 'peak')
if s[1] and tonumber(s[1]) >= tonumber(ARGV[1]) then return {s[2] or '', 'seen', '', ''} end
local was = s[2] or ''
if tonumber(ARGV[2]) > tonumber(ARGV[3]) then
  if was == 'high' then
    local peak = s[4]
    if tonumber(ARGV[2]) > tonumber(peak) then peak = ARGV[2] end
    redis.call('HSET', KEYS[1], 'time', ARGV[1], 'peak', peak)
    return {was, 'high', s[3], peak}
  end
  redis.call('HSET', KEYS[1], 'time', ARGV[1], 'state', 'high', 'since', ARGV[1], 'peak', ARGV[2])
  return {was, 'high', ARGV[1], ARGV[2]}
end
redis.call('HSET', KEYS[1], 'time', ARGV[1], 'state', 'normal')
return {was, 'normal', s[3] or '', s[4] or ''}
"""

# (measurement, its tags without empty ones, sorted): exactly one InfluxDB series, so two sites
# or two accounts with a device of the same name never share a baseline.
Series = tuple[str, tuple[tuple[str, str], ...]]


def after_write(target: Target, result: FetchResult) -> None:
    """Every meter adapter's after_write (common.WatchedMeter)."""
    if not result.readings:
        return
    with reachable("The smart meter watch"):
        note_high_power(target, result.readings)
        update_phantom_load(target, result.readings)


# --- high consumption ---


def high_power_key(target: Target, device: str, gid: str = "") -> str:
    """A device's high-consumption state: by its device_gid where it has one, else by name."""
    if gid:
        return make_key("smart_meter_high", target.provider, target.key, "device_gid", gid)
    return make_key("smart_meter_high", target.provider, target.key, device)


def _state_keys(target: Target, reading: Reading, gids: Mapping[str, set[str]]) -> list[str]:
    """The device's state key and, where its name is its alone in this answer, the key the
    name had before the state was kept by device_gid (read once, on the upgrade). Where two
    devices share the name, that old state was a mix of both: neither takes it."""
    device, gid = reading.tags["device"], reading.tags.get("device_gid", "")
    keys = [high_power_key(target, device, gid)]
    if gid and gids[device] == {gid}:
        keys.append(high_power_key(target, device))
    return keys


def note_high_power(target: Target, readings: list[Reading]) -> None:
    """Each whole-home reading, oldest first, through the script; sent in batches (a backfill
    may hold a day of HA states), one round trip each, the script atomic per reading."""
    threshold = float(target.params.get("high_power_w", common.DEFAULT_HIGH_POWER_W))
    homes = sorted(
        (
            r
            for r in readings
            if r.measurement == common.MEASUREMENT
            and isinstance(r.fields.get("total_power_w"), float | int)
        ),
        key=lambda r: r.time,
    )
    gids: dict[str, set[str]] = defaultdict(set)
    for reading in homes:
        gids[reading.tags["device"]].add(reading.tags.get("device_gid", ""))
    redis = get_redis()
    script = redis.register_script(_HIGH)
    for first in range(0, len(homes), BATCH):
        batch = homes[first : first + BATCH]
        pipe = redis.pipeline(transaction=False)
        for reading in batch:
            args = [
                repr(reading.time.timestamp()),
                repr(float(reading.fields["total_power_w"])),
                repr(threshold),
            ]
            script(keys=_state_keys(target, reading, gids), args=args, client=pipe)
        for reading, answer in zip(batch, pipe.execute(), strict=True):
            _log_edge(target, reading, threshold, *answer)


def _log_edge(
    target: Target, reading: Reading, threshold: float, was: str, now: str, since: str, peak: str
) -> None:
    """Log where the script says a high-consumption event started or ended."""
    power = reading.fields["total_power_w"]
    # Two sites' meters, or two Vues of one account, may have one name: the message names which.
    told = [f"{tag} {reading.tags[tag]}" for tag in ("site", "device_gid") if reading.tags.get(tag)]
    where = f"{reading.tags['device']} ({', '.join([target.provider, *told])})"
    if now == "high" and was != "high":
        log.warning(
            "High consumption on %s started at %s: %.1f kW, above %.1f kW",
            where,
            reading.time.isoformat(),
            power / 1000,
            threshold / 1000,
        )
    elif now == "normal" and was == "high":
        began = datetime.fromtimestamp(float(since), reading.time.tzinfo)
        log.info(
            "High consumption on %s ended at %s (now %.1f kW): it lasted %s, peak %.1f kW",
            where,
            reading.time.isoformat(),
            power / 1000,
            reading.time - began,
            float(peak) / 1000,
        )


# --- phantom load ---


def phantom_day_key(target: Target, day: date) -> str:
    return make_key("smart_meter_phantom_day", target.provider, target.key, day.isoformat())


def phantom_memory_key(target: Target) -> str:
    return make_key("smart_meter_phantom", target.provider, target.key)


def update_phantom_load(target: Target, readings: list[Reading]) -> None:
    try:
        zone = ZoneInfo(str(target.params.get("timezone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        log.error("phantom load: %s has an unknown time zone; skipped", target.key)
        return
    newest = max(r.time for r in readings)
    day = newest.astimezone(zone).date()
    if newest < window_over(day, zone):
        return  # tonight's 02:30-03:30 is not over yet: compute once it is
    redis = get_redis()
    if not redis.set(phantom_day_key(target, day), "1", nx=True, ex=3 * 86400):
        return  # done today already (or another worker is on it)
    nights = int(target.params.get("phantom_nights", common.DEFAULT_PHANTOM_NIGHTS))
    series_tags = {series(r.measurement, r.tags): dict(r.tags) for r in readings}
    try:
        baselines = phantom_baselines(target.provider, series_tags, zone, day, nights)
        stamp = datetime.combine(day, WINDOW[1], zone)
        points = [_phantom_reading(s, series_tags[s], stamp, w) for s, w in baselines.items()]
        if points:
            get_timeseries().write(settings.INFLUXDB_DATABASE, points)
    except TimeseriesError as exc:
        redis.delete(phantom_day_key(target, day))  # let the next poll try again
        log.warning("phantom load of %s not computed (InfluxDB): %s", target.key, exc)
        return
    _report_changes(target, baselines, nights)


def window_over(day: date, zone: ZoneInfo) -> datetime:
    """When the night's 02:30-03:30 is over: 03:30 site time, the second one where the clock
    goes back across it (04:00 -> 03:00 in EET zones such as Europe/Helsinki: 03:00-03:30
    happens twice), the later reading where 03:30 does not exist (03:00 -> 04:00)."""
    at = datetime.combine(day, WINDOW[1], zone)
    return max(at.replace(fold=f).astimezone(UTC) for f in (0, 1))  # in UTC: fold counts


def phantom_baselines(
    provider: str, series_tags: dict[Series, dict[str, str]], zone: ZoneInfo, day: date, nights: int
) -> dict[Series, float]:
    """Time-weighted median of each series' 02:30-03:30 local values over `nights` nights
    ending on `day`: the level the series was at or below for half of that time. A value holds
    until the series' next sample (DESIGN's retention semantics; the last one before 02:30 is
    carried in), so a meter that writes when its value changes (Home Assistant) weighs a
    standby that held for an hour over a two-minute spike; evenly spaced samples weigh the
    same. A night counts for a series only when it has a sample inside that night's window."""
    held: dict[Series, list[tuple[float, float]]] = defaultdict(list)
    queries = ((common.MEASUREMENT, "total_power_w"), (common.CIRCUIT_MEASUREMENT, "power_w"))
    sites = {dict(tags).get("site") for _, tags in series_tags}
    site = next(iter(sites)) if len(sites) == 1 else None  # only this site's series are read
    for back in range(nights):
        night = day - timedelta(days=back)
        # 01:00-05:00 local always contains 02:30-03:30, whatever DST does that night.
        start = datetime.combine(night, time(1), zone)
        end = datetime.combine(night, time(5), zone)
        spans = window_spans(night, zone)
        for measurement, field in queries:
            points = _night_points(provider, site, measurement, field, start, end)
            for key, found in points.items():
                if key in series_tags:
                    held[key] += _held_in(sorted(found), spans)
    return {key: _weighted_median(pairs) for key, pairs in held.items() if pairs}


def _night_points(
    provider: str, site: str | None, measurement: str, field: str, start: datetime, end: datetime
) -> dict[Series, list[tuple[datetime, float]]]:
    """Each series' samples of `field` in [start, end), and the last one before `start`
    (within CARRY): the value in effect when the night's samples begin."""
    where = '"provider" = $provider AND time >= $start AND time < $end'
    params: dict[str, object] = {"provider": provider}
    if site is not None:
        where += ' AND "site" = $site'
        params["site"] = site
    statements = (
        (f'SELECT last("{field}") AS "{field}"', start - CARRY, start),
        (f'SELECT "{field}"', start, end),
    )
    points: dict[Series, list[tuple[datetime, float]]] = defaultdict(list)
    ts = get_timeseries()
    for select, since, until in statements:
        influxql = f'{select} FROM "{measurement}" WHERE {where} GROUP BY *'
        bound = {**params, "start": since, "end": until}
        for row in ts.query(settings.INFLUXDB_DATABASE, influxql, bound):
            value = row.values.get(field)
            if value is not None and row.time is not None:
                points[series(measurement, row.tags)].append((row.time, float(value)))
    return points


def window_spans(night: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The UTC spans of `night` whose local time is 02:30-03:30 (one, or two where the clock
    goes back across it; 30 minutes of it where the clock jumps forward)."""
    spans: list[tuple[datetime, datetime]] = []
    moment = datetime.combine(night, time(1), zone).astimezone(UTC)
    end = datetime.combine(night, time(5), zone).astimezone(UTC)
    while moment < end:
        local = moment.astimezone(zone)
        if local.date() == night and WINDOW[0] <= local.time() < WINDOW[1]:
            if spans and spans[-1][1] == moment:
                spans[-1] = (spans[-1][0], moment + MINUTE)
            else:
                spans.append((moment, moment + MINUTE))
        moment += MINUTE
    return spans


def _held_in(
    points: list[tuple[datetime, float]], spans: list[tuple[datetime, datetime]]
) -> list[tuple[float, float]]:
    """(value, seconds it held inside `spans`) of time-ordered samples, each holding until the
    next one (the last: to the window's end); none when no sample lies inside the window."""
    if not spans or not any(a <= t < b for t, _ in points for a, b in spans):
        return []
    found = []
    for i, (since, value) in enumerate(points):
        until = points[i + 1][0] if i + 1 < len(points) else spans[-1][1]
        seconds = sum(max(0.0, (min(until, b) - max(since, a)).total_seconds()) for a, b in spans)
        if seconds > 0:
            found.append((value, seconds))
    return found


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    """The value at half the total weight (between two values where it falls exactly on the
    edge, as statistics.median does for evenly weighted samples)."""
    ordered = sorted(pairs)
    half = sum(weight for _, weight in ordered) / 2
    passed = 0.0
    for i, (value, weight) in enumerate(ordered):
        passed += weight
        if math.isclose(passed, half) and i + 1 < len(ordered):
            return (value + ordered[i + 1][0]) / 2
        if passed >= half:
            return value
    return ordered[-1][0]


def series(measurement: str, tags: Mapping[str, str]) -> Series:
    """The InfluxDB series of a measurement with these tags (empty tags are no tags)."""
    return (measurement, tuple(sorted((k, str(v)) for k, v in tags.items() if v)))


def _phantom_reading(
    series: Series, tags: dict[str, str], stamp: datetime, watts: float
) -> Reading:
    return Reading(series[0], {"phantom_load_w": float(watts)}, stamp, tags)


def _report_changes(target: Target, baselines: dict[Series, float], nights: int) -> None:
    """Log each baseline that moved notably since it was last reported (once per change)."""
    redis = get_redis()
    memory = phantom_memory_key(target)
    for (measurement, tag_key), watts in sorted(baselines.items()):
        tags = dict(tag_key)
        device, circuit = tags.get("device", ""), tags.get("circuit", "")
        gid = f"|{tags['device_gid']}" if "device_gid" in tags else ""  # same-named Vues
        field = f"{measurement}|{device}|{circuit}{gid}"
        name = f"{device} / {circuit}" if circuit else f"{device} (whole home)"
        reported = redis.hget(memory, field)
        if reported is None:
            redis.hset(memory, field, repr(watts))
            log.info(
                "Phantom load of %s: %.0f W (median of 02:30-03:30, %s)",
                name,
                watts,
                counted(nights, "night"),
            )
            continue
        before = float(reported)
        change = watts - before
        if abs(change) > CHANGE_WATTS and abs(change) > CHANGE_RATIO * abs(before):
            redis.hset(memory, field, repr(watts))
            log.warning(
                "Phantom load of %s %s: %.0f W -> %.0f W (%+.0f W, %+.0f %%)",
                name,
                "rose" if change > 0 else "fell",
                before,
                watts,
                change,
                change / before * 100 if before else float("inf"),
            )
