"""UK Carbon Intensity (NESO, no key): national or regional half-hourly intensity, 48 h ahead.

The site's `grid_region` picks what to ask for: empty, "GB" or "national" for Great Britain; a
region id 1-17 (e.g. "12" = South England); or a postcode, spaced or not (its outward code, e.g.
"RG10" of "RG10 1AA" or "RG101AA", is sent). The current half hour stores `actual` when NESO has
it and the forecast otherwise, with `is_forecast` saying which. NESO publishes `actual` only
once a half hour has ended, so the national forecast call starts an hour before the current half
hour (`RECHECK`): the finished half hours in it that now have an actual are written again with
it (`is_forecast` false), replacing the forecast a fetch wrote while they ran. Regional data has
no actual. `renewable_percentage` (regional answers carry a generation mix) counts wind, solar,
hydro and biomass, as NESO does; an empty mix is malformed (no mix is not 0 % renewable), as are
slots of one answer that overlap and values outside 0-5000 gCO2/kWh or 0-100 % (`common`).
Backfill: `/intensity/{from}/{to}` nationally, `pt24h` regionally (24 h either way); a failing
backfill call leaves the current half hour and the forecast in place (`history_error`).
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.answers import Answer, api_root
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.carbon import common
from enrich.http import PermanentError, get_json
from enrich.readings import Reading

PROVIDER = "uk_carbon_intensity"
ROOT = api_root("https://api.carbonintensity.org.uk", PROVIDER)
NATIONAL = ("", "gb", "national")
REGION_IDS = range(1, 18)
POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][0-9A-Z]?)(?:[0-9][A-Z]{2})?")
# ASCII digits only: str.isdigit() also takes "²" or "١٢", which int() refuses or reads.
REGION_ID = re.compile(r"[0-9]+")
INDEX_VALUES = ("very low", "low", "moderate", "high", "very high")
RENEWABLE_FUELS = ("wind", "solar", "hydro", "biomass")
BACKFILL_AFTER = timedelta(minutes=30)  # one half-hour slot
# How far before the current half hour the national forecast call starts: each finished half
# hour is asked again at the fetches up to 45 minutes after its end, for its actual.
RECHECK = timedelta(hours=1)
# NESO rounds each fuel's share to 0.1 %: the renewable fuels may add up to a little over 100.
MIX_ROUNDING = 0.5


class UKCarbonIntensityAdapter(common.CarbonAdapter):
    source = "carbon_intensity"
    provider = PROVIDER
    slot = timedelta(minutes=30)  # NESO gives half hours; no published budget (None)
    options = frozenset({"base_url"})
    option_parsers = (ROOT,)
    budget_scope = "account"  # one API for every region: a 429 or a budget is this client's
    history = timedelta(days=1)
    calls_per_fetch = 2  # current half hour + 48 h forecast

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        raw = site.grid_region.strip()
        if raw.lower() in NATIONAL:
            return Target(self.source, PROVIDER, "GB", {"scope": "national"})
        if REGION_ID.fullmatch(raw):
            if int(raw) not in REGION_IDS:
                raise ConfigError(
                    f"UK Carbon Intensity region id {raw} does not exist: use 1-17 (e.g. 12 = "
                    "South England, 13 = London), a postcode, or GB for the national figure."
                )
            return Target(
                self.source, PROVIDER, f"regionid/{int(raw)}", {"scope": "regionid", "id": int(raw)}
            )
        postcode = POSTCODE.fullmatch(raw.upper().split()[0])
        if not postcode:
            raise ConfigError(
                f"UK Carbon Intensity cannot use grid region {raw!r}: set GRID_REGION to a "
                "postcode (e.g. RG10), a region id 1-17, or GB for the national figure."
            )
        outward = postcode[1]
        return Target(
            self.source, PROVIDER, f"postcode/{outward}", {"scope": "postcode", "id": outward}
        )

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        base = ROOT(credentials.options)
        scope, place = target.params["scope"], target.params.get("id")
        now = _t(_half_hour(window.now))
        if scope == "national":
            tags = {"region": "GB", "grid_operator": "GB", "provider": PROVIDER}
            slots = _slots(*_holder(base, "/intensity", regional=False))
            since = _t(_half_hour(window.now) - RECHECK)
            ahead = _slots(*_holder(base, f"/intensity/{since}/fw48h", regional=False))
        else:
            url = base + f"/regional/{scope}/{place}"
            block, tags = _region(url, _place(url, scope, place))
            slots = _slots(url, block)
            path = f"/regional/intensity/{now}/fw48h/{scope}/{place}"
            ahead = _slots(*_holder(base, path, regional=True))
        if not slots:
            raise Answer(PROVIDER, base).bad("the answer has no current half hour (empty data)")
        slot = slots[-1]
        # Half hours that ended before the current one and have their actual by now.
        ended = [s for s in ahead if s["end"] <= slot["start"]]
        forecast = _forecast([s for s in ahead if s["end"] > slot["start"]])
        fields = {**_fields(slot), **common.horizon_fields(forecast, window.now)}
        readings = [Reading(common.MEASUREMENT, fields, slot["start"], tags)]
        readings += common.forecast_readings(forecast, tags)
        measured = {s["start"]: s for s in ended if s["actual"] is not None}
        failed = None
        if window.start < window.now - BACKFILL_AFTER and not window.history_skipped:
            past, failed = common.read_history(
                PROVIDER, lambda: self._backfill(base, scope, place, window, slot["start"], tags)
            )
            readings += past
            for reading in past:  # the same half hour once
                measured.pop(reading.time, None)
        readings += [
            Reading(common.MEASUREMENT, _fields(s), start, tags) for start, s in measured.items()
        ]
        headline = common.current(slot["start"], fields, region=tags["region"])
        return FetchResult(readings, headline, history_error=failed)

    def _backfill(
        self, base: str, scope: str, place: Any, window: Window, before: datetime, tags: dict
    ) -> list[Reading]:
        """The half hours from window.start (at most a day back) up to the current one."""
        start = _half_hour(max(window.start, window.now - self.history))
        if scope == "national":
            past = _slots(*_holder(base, f"/intensity/{_t(start)}/{_t(before)}", regional=False))
        else:
            path = f"/regional/intensity/{_t(before)}/pt24h/{scope}/{place}"
            past = _slots(*_holder(base, path, regional=True))
        return [
            Reading(common.MEASUREMENT, _fields(s), s["start"], tags)
            for s in past
            if start <= s["start"] < before
        ]


def _t(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _half_hour(when: datetime) -> datetime:
    """The start of the half hour holding `when` (NESO's slots are UTC half hours)."""
    when = when.astimezone(UTC)
    return when.replace(minute=when.minute - when.minute % 30, second=0, microsecond=0)


def _place(url: str, scope: str, place: Any) -> Any:
    """The region's current answer; NESO's 400 for a postcode names the setting holding it."""
    try:
        return get_json(PROVIDER, url)
    except PermanentError as error:
        if scope != "postcode" or error.status != 400:
            raise
        raise common.refused(
            error,
            f"answered HTTP 400: {place!r}, from the site's grid_region setting, is not a postcode "
            "NESO knows. Set grid_region to a UK outward code (e.g. RG10), a region id 1-17 or GB.",
        ) from None


def _holder(base: str, path: str, *, regional: bool) -> tuple[str, Any]:
    """(url, the object whose `data` lists the slots): regional answers wrap it in a region."""
    url = base + path
    body = get_json(PROVIDER, url)
    return url, (_region(url, body)[0] if regional else body)


def _region(url: str, body: Any) -> tuple[Any, dict[str, str]]:
    """The region block and its tags. `data` is an array on /regional/postcode|regionid and an
    object on /regional/intensity/.../fw48h|pt24h/...: both are accepted."""
    answer = Answer(PROVIDER, url)
    data = answer.get(body, "data")
    if isinstance(data, list):
        if len(data) != 1:
            raise answer.bad(f"expected one region in data, got {len(data)}", body)
        data = data[0]
    operator = answer.text(data, "dnoregion", "the region")
    region = answer.text(data, "shortname", "the region")
    return data, {"region": region, "grid_operator": operator, "provider": PROVIDER}


def _slots(url: str, holder: Any) -> list[dict[str, Any]]:
    """Half-hour slots of `holder["data"]`, checked and sorted by start (one answer's slots
    may not overlap or repeat a start)."""
    answer = Answer(PROVIDER, url)
    slots = []
    for raw in answer.items(holder, "data"):
        start, end = answer.when(raw, "from", "a slot"), answer.when(raw, "to", "a slot")
        if end <= start:
            raise answer.bad("a slot ends before it starts", raw)
        intensity = answer.get(raw, "intensity", "a slot")
        index = answer.get(intensity, "index", "intensity")
        if index not in INDEX_VALUES:
            raise answer.bad(
                f"intensity.index {index!r} is not one of {', '.join(INDEX_VALUES)}", raw
            )
        forecast = answer.number(intensity, "forecast", "intensity")
        # Regional answers have no `actual`; national ones have null until the slot ends.
        actual = (
            answer.maybe_number(intensity, "actual", "intensity") if "actual" in intensity else None
        )
        slot = {
            "start": start,
            "end": end,
            "minutes": (end - start).total_seconds() / 60,
            "forecast": _grams(answer, forecast, "forecast", raw),
            "actual": None if actual is None else _grams(answer, actual, "actual", raw),
            "index": index,
        }
        if "generationmix" in raw:
            slot["renewable"] = _renewable(answer, raw)
        slots.append(slot)
    common.no_overlap(answer, [(s["start"], s["end"]) for s in slots], "data")
    return sorted(slots, key=lambda s: s["start"])


def _grams(answer: Answer, value: float, key: str, slot: Any) -> float:
    return common.intensity(answer, value, f"a slot: intensity.{key}", slot)


def _renewable(answer: Answer, slot: Any) -> float:
    """The renewable share of a slot's generation mix (%); an empty mix or a fuel listed
    twice is malformed (no mix is not 0 % renewable)."""
    mix = answer.items(slot, "generationmix", "a slot")
    if not mix:
        raise answer.bad("a slot: generationmix is empty, so its renewable share is unknown", slot)
    fuels: dict[str, float] = {}
    for m in mix:
        fuel = answer.text(m, "fuel", "generationmix")
        if fuel in fuels:
            raise answer.bad(f"a slot: generationmix lists fuel {fuel!r} twice", slot)
        share = answer.number(m, "perc", "generationmix")
        fuels[fuel] = common.percentage(answer, share, f"generationmix: {fuel} perc", slot)
    renewable = sum(fuels.get(f, 0.0) for f in RENEWABLE_FUELS)
    if renewable > 100 + MIX_ROUNDING:
        raise answer.bad(f"a slot: generationmix renewable fuels add up to {renewable:g} %", slot)
    return min(renewable, 100.0)


def _fields(slot: dict[str, Any]) -> dict[str, Any]:
    actual = slot["actual"]
    fields: dict[str, Any] = {
        common.GCO2_KWH: actual if actual is not None else slot["forecast"],
        common.IS_FORECAST: actual is None,
        "intensity_index": slot["index"],
    }
    if "renewable" in slot:
        fields["renewable_percentage"] = round(slot["renewable"], 6)
    return fields


def _forecast(slots: list[dict[str, Any]]) -> list[common.Slot]:
    return [common.Slot(s["start"], s["minutes"], {common.GCO2_KWH: s["forecast"]}) for s in slots]
