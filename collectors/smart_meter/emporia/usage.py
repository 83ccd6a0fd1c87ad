"""Emporia's usage answers as readings: devices, channel usages, and the minutes of the mains.

`getDeviceListUsages` answers a tree (devices, their channels, nested devices under a
channel); `getChartUsage` answers one channel's list of kWh per minute. Both give kWh per
minute, turned into the average W of that minute (x 60 x 1000, as the decimal Emporia wrote:
0.0169 kWh is 1014.0 W, answers.scaled).
"""

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import Answer, scaled
from collectors.base import Target
from collectors.circuit_keys import Keys, owner
from collectors.smart_meter import common
from collectors.smart_meter.emporia import PROVIDER
from enrich.readings import Reading

MAINS, BALANCE = "1,2,3", "Balance"
# Whole-panel figures Emporia answers beside the mains (grid import, grid export, the home's
# consumption with solar): no circuit, and counted as one they double the circuits' sum.
AGGREGATES = frozenset({"MainsFromGrid", "MainsToGrid", "TotalUsage"})
KWH_PER_MINUTE_TO_W = 60 * 1000  # kWh in one minute -> average W over that minute


@dataclass(frozen=True)
class Device:
    gid: int
    name: str
    top_level: bool
    channels: dict[str, str]  # channelNum -> name
    zone: str | None = None  # locationProperties.timeZone: the device's day is that zone's


@dataclass(frozen=True)
class Usage:
    gid: int
    channel: str
    name: str
    kwh: float | None
    percentage: float | None


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _tags(target: Target, device: Device) -> dict[str, str]:
    return common.tags(target, device.name, device_gid=str(device.gid))


def _gid(answer: Answer, raw: Any, what: str) -> int:
    """A device's `deviceGid`: an integer, as the device list and usage answers give it."""
    gid = answer.get(raw, "deviceGid", what)
    if isinstance(gid, bool) or not isinstance(gid, int):
        raise answer.bad(f"{what}: deviceGid should be an integer, got {gid!r}", raw)
    return gid


def _listed(answer: Answer, obj: Any, key: str, what: str) -> list[Any]:
    """`obj[key]` as a list: absent or null is none, anything but a list is malformed."""
    return [] if obj.get(key) is None else answer.items(obj, key, what)


def device_tree(answer: Answer, raw: Any, devices: dict[int, Device], top_level: bool) -> None:
    gid = _gid(answer, raw, "a device")
    props = raw.get("locationProperties") or {}
    name = props.get("deviceName") if isinstance(props, dict) else None
    zone = props.get("timeZone") if isinstance(props, dict) else None
    channels: dict[str, str] = {}
    for channel in _listed(answer, raw, "channels", f"device {gid}"):
        if isinstance(channel, dict) and isinstance(channel.get("channelNum"), str):
            number, label = channel["channelNum"], channel.get("name")
            if number in channels:
                raise answer.bad(f"device {gid}: channels list channelNum {number!r} twice", raw)
            channels[number] = label if isinstance(label, str) else ""
    label = name if isinstance(name, str) and name else str(gid)
    zone = zone if isinstance(zone, str) and zone else None
    devices.setdefault(gid, Device(gid, label, top_level, channels, zone))
    for nested in _listed(answer, raw, "devices", f"device {gid}"):
        device_tree(answer, nested, devices, top_level=False)


def walk(answer: Answer, device: Any, found: list[Usage]) -> None:
    gid = _gid(answer, device, "a device usage")
    seen: set[str] = set()
    for channel in answer.items(device, "channelUsages", f"device usage {gid}"):
        number = answer.text(channel, "channelNum", "a channel usage")
        if number in seen:  # two values for one channel and minute: which is right is a guess
            raise answer.bad(f"device usage {gid}: channelNum {number!r} is answered twice", device)
        seen.add(number)
        name = channel.get("name")
        found.append(
            Usage(
                gid=gid,
                channel=number,
                name=name if isinstance(name, str) else "",
                kwh=answer.maybe_number(channel, "usage", "a channel usage"),
                percentage=(
                    answer.maybe_number(channel, "percentage", "a channel usage")
                    if "percentage" in channel
                    else None
                ),
            )
        )
        for nested in _listed(answer, channel, "nestedDevices", f"channel {gid}/{number}"):
            walk(answer, nested, found)


def parse_devices(url: str, body: Any) -> dict[int, Device]:
    """The devices of a `customers/devices` answer by gid, nested ones included."""
    answer = Answer(PROVIDER, url)
    devices: dict[int, Device] = {}
    for raw in answer.items(body, "devices", "the device list"):
        device_tree(answer, raw, devices, top_level=True)
    return devices


def usage_query(devices: dict[int, Device], instant: datetime, scale: str) -> dict[str, str]:
    """`getDeviceListUsages` of every channel of every device at `instant` (1MIN or 1D)."""
    return {
        "apiMethod": "getDeviceListUsages",
        "deviceGids": "+".join(str(gid) for gid in sorted(devices)),
        "instant": iso(instant),
        "scale": scale,
        "energyUnit": "KilowattHours",
    }


def parse_usages(url: str, body: Any) -> tuple[list[Usage], datetime]:
    """Every channel usage of a `getDeviceListUsages` answer, and the minute it answers for."""
    answer = Answer(PROVIDER, url)
    usage = answer.get(body, "deviceListUsages")
    answered = common.minute(answer.when(usage, "instant", "deviceListUsages"))
    found: list[Usage] = []
    for device in answer.items(usage, "devices", "deviceListUsages"):
        walk(answer, device, found)
    return found, answered


def chart_query(device: Device, start: datetime, end: datetime) -> dict[str, str]:
    """`getChartUsage` of the device's mains, every minute from `start` to `end`."""
    return {
        "apiMethod": "getChartUsage",
        "deviceGid": str(device.gid),
        "channel": MAINS,
        "start": iso(start),
        "end": iso(end),
        "scale": "1MIN",
        "energyUnit": "KilowattHours",
    }


def chart_minutes(
    url: str, body: Any, start: datetime, end: datetime
) -> tuple[dict[datetime, float], int]:
    """kWh of each minute in [start, end) of a `getChartUsage` answer, and how many of those
    minutes Emporia answered `null` (not ready, or no data: left out)."""
    answer = Answer(PROVIDER, url)
    first = common.minute(answer.when(body, "firstUsageInstant", "getChartUsage"))
    minutes: dict[datetime, float] = {}
    missing = 0
    for i, kwh in enumerate(answer.items(body, "usageList", "getChartUsage")):
        if isinstance(kwh, bool) or not isinstance(kwh, int | float | None):
            raise answer.bad(f"usageList[{i}] should be a number or null, got {kwh!r}")
        moment = first + timedelta(minutes=i)  # Answer.when keeps `first` before 2262
        if not start <= moment < end:
            continue  # e.g. the current, incomplete minute
        if kwh is None:
            missing += 1
        else:
            minutes[moment] = answer.a_number(kwh, f"getChartUsage: usageList[{i}]")
    return minutes, missing


def circuit_names(
    usages: list[Usage], devices: dict[int, Device], kept: Mapping[str, Mapping[str, str]]
) -> tuple[dict[tuple[int, str], str], dict[str, dict[str, str]]]:
    """The `circuit` tag of each (device, channel), and the tags given for good by this answer
    (by scope, collectors.circuit_keys). The tag is the channel's name in the app (else
    `Channel N`), kept by the channel that first had it: a name two channels of one device
    share (a channel named `Balance` too) gets ` (channel N)`, on every such channel when they
    come together (with one tag set for two circuits InfluxDB kept one circuit's value and
    dropped the other's), else on the newcomer only: the channel holding the plain name keeps
    it, also while it is missing from an answer, so its series never changes hands."""
    names: dict[tuple[int, str], str] = {}
    for u in usages:
        device = devices.get(u.gid)
        named = u.name or (device.channels.get(u.channel) if device else "")
        names[u.gid, u.channel] = (
            BALANCE if u.channel == BALANCE else named or f"Channel {u.channel}"
        )
    shared = Counter((gid, name) for (gid, channel), name in names.items() if channel != MAINS)
    books: dict[str, Keys] = {}
    tags: dict[tuple[int, str], str] = {}
    for (gid, channel), name in names.items():
        if channel in (MAINS, BALANCE):  # the mains are no circuit; Emporia's Balance is its own
            tags[gid, channel] = name
            continue
        scope = f"{PROVIDER}/{gid}"
        keys = books.setdefault(scope, Keys(kept.get(scope)))
        free = shared[gid, name] == 1 and name != BALANCE
        tags[gid, channel] = keys.key(
            owner(channel, name), name, f"{name} (channel {channel})", free
        )
    return tags, {scope: keys.given for scope, keys in books.items() if keys.given}


def readings(
    target: Target,
    usages: list[Usage],
    devices: dict[int, Device],
    moment: datetime,
    daily: dict[int, float],
    mains: dict[int, dict[datetime, float]],
    kept: Mapping[str, Mapping[str, str]],
) -> tuple[list[Reading], dict[str, dict[str, str]]]:
    """Every minute of the mains charts, then the one minute of `getDeviceListUsages`: its
    mains (the chart's value where it said null), nested devices and circuits (every channel
    but the mains and the AGGREGATES); and the circuit tags given for good (circuit_names)."""
    totals: dict[int, float] = {}
    for u in usages:
        if u.channel == MAINS and u.kwh is not None:
            totals[u.gid] = scaled(u.kwh, times=KWH_PER_MINUTE_TO_W)
    for gid, minutes in mains.items():
        if gid not in totals and moment in minutes:
            totals[gid] = scaled(minutes[moment], times=KWH_PER_MINUTE_TO_W)
    found: list[Reading] = []
    for gid, minutes in mains.items():
        tag_set = _tags(target, devices[gid])
        for when, kwh in sorted(minutes.items()):
            if when != moment:
                found.append(
                    common.home_reading(tag_set, when, scaled(kwh, times=KWH_PER_MINUTE_TO_W))
                )
    for gid, total in totals.items():
        device = devices.get(gid) or Device(gid, str(gid), False, {})
        found.append(common.home_reading(_tags(target, device), moment, total, daily.get(gid)))
    for gid, kwh in daily.items():  # a device whose minute is null: its day total still is
        if gid not in totals and gid in devices:
            found.append(day_total(target, devices[gid], moment, kwh))
    circuits = [u for u in usages if u.channel != MAINS and u.channel not in AGGREGATES]
    names, given = circuit_names(circuits, devices, kept)
    for u in circuits:
        if u.kwh is None:
            continue
        device = devices.get(u.gid) or Device(u.gid, str(u.gid), False, {})
        circuit = names[u.gid, u.channel]
        power = scaled(u.kwh, times=KWH_PER_MINUTE_TO_W)
        percentage = (
            u.percentage if u.percentage is not None else common.share(power, totals.get(u.gid))
        )
        found.append(
            common.circuit_reading(_tags(target, device), circuit, moment, power, percentage)
        )
    return found, given


def day_totals(usages: list[Usage]) -> dict[int, float]:
    """kWh of each device's mains in a 1D answer, by gid (a null one left out)."""
    return {u.gid: u.kwh for u in usages if u.channel == MAINS and u.kwh is not None}


def day_total(target: Target, device: Device, at: datetime, kwh: float) -> Reading:
    """`daily_kwh` of `device` at `at`: its day's total up to that minute."""
    return Reading(common.MEASUREMENT, {"daily_kwh": kwh}, at, _tags(target, device))
