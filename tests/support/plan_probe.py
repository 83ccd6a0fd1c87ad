"""The plan probe's yardstick: the best unbroken window by exhaustive search over every start
minute, from per-minute prices and carbon taken straight from the documented payloads (not
with the planner's code), and the comparison of an `/api/plan` answer with it (docs/plan.md).

Its sites, collected through the real pipeline: Berlin on its DST days (aWATTar's quarter
hours, Electricity Maps' hourly forecast ending 4 h before the prices) and Berlin prices with
WattTime's 5-minute forecast (from 14:05 UTC, after the prices start).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tests.support.replay import load_fixture

MINUTE = timedelta(minutes=1)
TIE = 1e-9  # averages closer than this are a tie (float sums of the same prices)


def per_minute(slots) -> dict[datetime, float]:
    """{minute: value} from (start, end, value) slots; a later slot cuts an earlier one short."""
    values = {}
    for start, end, value in sorted(slots):
        moment = start
        while moment < end:
            values[moment] = value
            moment += MINUTE
    return values


def carbon_minutes(forecast, points, now, until) -> dict[datetime, tuple[float, bool]]:
    """{minute: (gCO2/kWh, carried)} from `now` to `until`: a forecast slot's value over its
    own length, else the last value known before the minute (a forecast slot's or a measured
    point's from the last 24 h up to now), carried; nothing before the first known value."""
    forecast = sorted(forecast)
    covered = per_minute(forecast)
    known = sorted([(s, v) for s, _, v in forecast if s >= now - timedelta(hours=24)]
                   + [(t, v) for t, v in points if now - timedelta(hours=24) <= t <= now])  # fmt: skip
    values, moment = {}, now
    while moment < until:
        if moment in covered:
            values[moment] = (covered[moment], False)
        else:
            last = [v for t, v in known if t <= moment]
            if last:
                values[moment] = (last[-1], True)
        moment += MINUTE
    return values


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    price: float
    carbon: float | None
    score: float
    carried_minutes: int


def best_windows(prices, carbon, now, minutes, before, carbon_price):
    """{"chosen", "cheapest", "greenest", "running_now"}: Windows (or None) of `minutes` from
    a whole minute at or after `now`, ending by `before`, by exhaustive search; ties to the
    later. With a carbon price only minutes with a price and a carbon value count."""
    grid, valid, has_carbon, price_avg, carbon_avg, carried_n = _table(
        prices, carbon, now, minutes, before, carbon_price > 0
    )
    per_gram = carbon_price / 1e6

    def window(i):
        if i is None:
            return None
        green = carbon_avg[i] if has_carbon[i] else None
        score = price_avg[i] + (per_gram * green if per_gram else 0.0)
        return Window(grid[i], grid[i] + minutes * MINUTE, price_avg[i], green, score,
                      int(carried_n[i]))  # fmt: skip

    score = price_avg + per_gram * carbon_avg
    return {
        "chosen": window(_latest_best(score, valid)),
        "cheapest": window(_latest_best(price_avg, valid)),
        "greenest": window(_latest_best(carbon_avg, valid & has_carbon)),
        "running_now": window(0 if len(valid) and valid[0] else None),
    }


def _table(prices, carbon, now, minutes, before, need_carbon):
    """Every window of `minutes` from a whole minute at or after `now` ending by `before`:
    (starts, usable, carbon known all through, average price, average carbon, carried
    minutes); usable: a price all through (and carbon with `need_carbon`)."""
    count = int((before - now) / MINUTE)
    grid = [now + i * MINUTE for i in range(count)]
    price = np.array([prices.get(m, np.nan) for m in grid])
    gco2 = np.array([carbon[m][0] if m in carbon else np.nan for m in grid])
    carried = np.array([1 if m in carbon and carbon[m][1] else 0 for m in grid])
    need = ~np.isnan(price) & (~np.isnan(gco2) if need_carbon else True)
    return (
        grid,
        _windows(need.astype(float), minutes) == minutes,
        _windows((~np.isnan(gco2)).astype(float), minutes) == minutes,
        _windows(np.nan_to_num(price), minutes) / minutes,
        _windows(np.nan_to_num(gco2), minutes) / minutes,
        _windows(carried.astype(float), minutes),
    )


def pareto_differences(body, prices, carbon, span, label) -> list[str]:
    """Where an unbroken plan's `pareto` breaks docs/plan.md: at most 5, sorted from cheapest
    to greenest, each window's averages those of its minutes, none both dearer and dirtier than
    another window of the exhaustive search, the chosen, cheapest and greenest among them (or a
    window of the same price and less CO2, or the same CO2 and a lower price, instead)."""
    now, minutes, before = span
    grid, valid, has_carbon, price_avg, carbon_avg, _ = _table(prices, carbon, now, minutes,
                                                               before, True)  # fmt: skip
    ok = valid & has_carbon
    found, shown = [], body["pareto"]
    if not shown or len(shown) > 5:
        return [f"{label}: pareto has {len(shown or [])} windows"]
    index = {m.isoformat(): i for i, m in enumerate(grid)}
    for w in shown:
        i = index[w["start"]]
        if (
            not ok[i]
            or abs(w["average_price"] - price_avg[i]) > 1e-6
            or abs(w["average_carbon"] - carbon_avg[i]) > 1e-3
        ):
            found.append(f"{label}: pareto {w['start']} averages {w['average_price']}, "
                         f"{w['average_carbon']}, minutes say {price_avg[i]}, {carbon_avg[i]}")  # fmt: skip
        better = (
            ok
            & (price_avg <= w["average_price"] + 1e-9)
            & (carbon_avg <= w["average_carbon"] + 1e-6)
            & ((price_avg < w["average_price"] - 1e-9) | (carbon_avg < w["average_carbon"] - 1e-6))
        )
        if better.any():
            j = int(np.nonzero(better)[0][0])
            found.append(f"{label}: pareto {w['start']} ({w['average_price']}, "
                         f"{w['average_carbon']}) is dominated by {grid[j].isoformat()} "
                         f"({price_avg[j]}, {carbon_avg[j]})")  # fmt: skip
    pairs = [(w["average_price"], w["average_carbon"]) for w in shown]
    if any(
        b[0] < a[0] - 1e-9 or b[1] > a[1] + 1e-6 for a, b in zip(pairs, pairs[1:], strict=False)
    ):
        found.append(f"{label}: pareto not sorted from cheapest to greenest: {pairs}")
    for name, figures in (("chosen", body), *((k, body["compared"][k]) for k in ("cheapest", "greenest"))):  # fmt: skip
        p, c = figures["average_price"], figures["average_carbon"]
        if not any((abs(a - p) <= 1e-9 and b <= c + 1e-6) or (abs(b - c) <= 1e-6 and a <= p + 1e-9)
                   for a, b in pairs):  # fmt: skip
            found.append(f"{label}: pareto lacks the {name} window {figures['start']} ({p}, {c})")
    return found


def _windows(values: np.ndarray, minutes: int) -> np.ndarray:
    """Sums of every `minutes` back-to-back values (one per start)."""
    sums = np.concatenate([[0.0], np.cumsum(values)])
    return sums[minutes:] - sums[:-minutes]


def _latest_best(score: np.ndarray, valid: np.ndarray) -> int | None:
    if not valid.any():
        return None
    best = score[valid].min()
    return int(np.nonzero(valid & (score <= best + TIE))[0][-1])


def differences(body: dict, expected: dict, kw: float | None, label: str) -> list[str]:
    """Where an /api/plan answer differs from the exhaustive search (`best_windows`)."""
    found = []
    chosen = expected["chosen"]

    def near(a, b):
        return (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))
        )

    def check(name, shown, want):
        if not near(shown, want):
            found.append(f"{label}: {name} {shown!r}, expected {want!r}")

    if (body["start"], body["end"]) != (chosen.start.isoformat(), chosen.end.isoformat()):
        found.append(f"{label}: window {body['start']}-{body['end']}, expected "
                     f"{chosen.start.isoformat()}-{chosen.end.isoformat()} "
                     f"(score {body['average_score']} vs {chosen.score})")  # fmt: skip
        return found
    check("average_price", body["average_price"], chosen.price)
    check("average_carbon", body["average_carbon"], chosen.carbon)
    check("average_score", body["average_score"], chosen.score)
    check("carbon_last_known_hours", body["carbon_last_known_hours"], chosen.carried_minutes / 60)
    if kw is not None:
        kwh = kw * (chosen.end - chosen.start) / timedelta(hours=1)
        check("kwh", body["kwh"], kwh)
        check("cost", body["cost"], chosen.price * kwh)
        check("emissions_kg", body["emissions_kg"],
              None if chosen.carbon is None else chosen.carbon * kwh / 1000)  # fmt: skip
    spans = [(s["start"], s["end"]) for s in body["slots"]]
    if (
        spans[0][0] != body["start"]
        or spans[-1][1] != body["end"]
        or any(a[1] != b[0] for a, b in zip(spans, spans[1:], strict=False))
    ):
        found.append(f"{label}: slots {spans} do not make the window")
    for name in ("cheapest", "greenest"):
        other, want = body["compared"][name], expected[name]
        if want is None or other is None:
            if (want is None) != (other is None):
                found.append(f"{label}: compared.{name} {other and other['start']}, expected "
                             f"{want and want.start.isoformat()}")  # fmt: skip
            continue
        key = "average_price" if name == "cheapest" else "average_carbon"
        check(
            f"compared.{name}.{key}", other[key], want.price if name == "cheapest" else want.carbon
        )
        if other["start"] != want.start.isoformat():
            found.append(f"{label}: compared.{name} starts {other['start']}, expected "
                         f"{want.start.isoformat()}")  # fmt: skip
    running = body["compared"]["running_now"]
    want = expected["running_now"]
    if (running is None) != (want is None):
        found.append(f"{label}: compared.running_now {running}, expected {want}")
    elif want is not None:
        check("compared.running_now.average_price", running["average_price"], want.price)
    return found


def split_differences(body, prices, carbon, first, span, carbon_price, share, label,
                      max_windows=None):  # fmt: skip
    """Where a split plan (contiguous=false) differs from the best set of whole minutes
    (`minute_sets.best_minutes`, from `first`: now's whole minute or the next), running
    now or the best unbroken window, by the judged average (average plus the interruptions'
    penalty), or names other runs than its slots make (`max_windows` caps them)."""
    from tests.support.minute_sets import best_minutes

    now, minutes, before = span
    per_gram = carbon_price / 1e6
    values = {}
    m = now
    while m < before:
        if m in prices and (m in carbon or carbon_price == 0):
            values[m] = (prices[m], carbon[m][0] if m in carbon else 0.0)
        m += MINUTE
    found = best_minutes(values, first, minutes * MINUTE, per_gram, share, max_windows)
    # running now, and any unbroken window (`best_windows`: it may start at now, inside a
    # minute)
    unbroken = best_windows(prices, carbon, now, minutes, before, carbon_price)["chosen"]
    if unbroken is not None:
        found = unbroken.score if found is None else min(found, unbroken.score)
    judged = body["average_score"] + body["penalty_cost"]
    taken = []
    for s in body["slots"]:
        a, b = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        taken += [a + i * MINUTE for i in range(round((b - a) / MINUTE))]
    problems = []
    if (
        len(taken) != minutes
        or len(set(taken)) != minutes
        or min(taken) < now
        or max(taken) >= before
    ):
        problems.append(f"{label}: split slots {[(s['start'], s['end']) for s in body['slots']]}")
        return problems
    if found is None or abs(judged - found) > 1e-9 * max(1.0, abs(found)):
        problems.append(f"{label}: split judged {judged}, best {found}")
    runs = 1 + sum(a + MINUTE != b for a, b in zip(sorted(taken), sorted(taken)[1:], strict=False))
    penalty = (runs - 1) * share * abs(body["average_score"])
    if body["windows_used"] != runs or abs(body["penalty_cost"] - penalty) > 1e-9:
        problems.append(f"{label}: windows_used {body['windows_used']}, penalty_cost "
                        f"{body['penalty_cost']}; the slots make {runs} runs, {penalty}")  # fmt: skip
    if max_windows is not None and runs > max_windows:
        problems.append(f"{label}: {runs} runs, max_windows {max_windows}")
    price = sum(prices[m] for m in taken) / minutes
    if abs(body["average_price"] - price) > 1e-6 * max(1, abs(price)):
        problems.append(
            f"{label}: split average_price {body['average_price']}, minutes say {price}"
        )
    return problems


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


BERLIN = ZoneInfo("Europe/Berlin")
# local midnight (UTC) and hours of Berlin's DST days
DST_DAYS = {"spring": (utc(2026, 3, 28, 23), 23), "autumn": (utc(2026, 10, 24, 22), 25)}
LBS_PER_MWH_IN_G_PER_KWH = 0.453592  # as docs/providers.md converts WattTime's MOER


def awattar_slots(fixture: str):
    """(start, end, EUR/kWh): the payload's EUR/MWh / 1000."""
    return [(datetime.fromtimestamp(r["start_timestamp"] / 1000, UTC),
             datetime.fromtimestamp(r["end_timestamp"] / 1000, UTC),
             r["marketprice"] / 1000) for r in load_fixture(fixture)["data"]]  # fmt: skip


def watttime_slots():
    """(start, end, gCO2/kWh) of WattTime's 25 h forecast (5-minute lbs/MWh points)."""
    data = load_fixture("watttime/forecast_25h.json")["data"]
    return [(datetime.fromisoformat(p["point_time"]),
             datetime.fromisoformat(p["point_time"]) + timedelta(minutes=5),
             p["value"] * LBS_PER_MWH_IN_G_PER_KWH) for p in data]  # fmt: skip


def _em_time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", ".000Z")


def berlin_dst_site(replay_server, kind: str):
    """The Berlin site of a DST day ("spring", "autumn"): aWATTar's documented quarter hours and
    Electricity Maps (its documented answers, times and an hourly forecast of that day up to 4 h
    before the prices end), both collected at local midnight + 5 h 7 min. Returns (site, forecast slots, measured points)."""
    start, length = DST_DAYS[kind]
    collected = start + timedelta(hours=5, minutes=7)
    # the last hour is the cleanest: its value, carried to the prices' end, makes the greenest
    forecast = [
        (
            start + timedelta(hours=h),
            start + timedelta(hours=h + 1),
            float(250 + 40 * ((h * 5) % 7) - 4 * h),
        )
        for h in range(-1, length - 5)
    ]
    end = forecast[-1][1]
    forecast.append((end, end + timedelta(hours=1), 120.0))  # fmt: skip
    replay_server.add("GET", "/v1/marketdata",
                      json=load_fixture(f"awattar/marketdata_quarter_dst_{kind}.json"))  # fmt: skip
    latest = {**load_fixture("electricitymaps/carbon_intensity_latest.json"),
              "carbonIntensity": 333, "datetime": _em_time(collected.replace(minute=0))}  # fmt: skip
    replay_server.add("GET", "/v3/carbon-intensity/latest", json=latest)
    replay_server.add("GET", "/v3/power-breakdown/latest",
                      json=load_fixture("electricitymaps/power_breakdown_latest.json"))  # fmt: skip
    replay_server.add("GET", "/v3/carbon-intensity/forecast", json={"zone": "DE", "forecast": [
        {"carbonIntensity": v, "datetime": _em_time(a)} for a, _, v in forecast]})  # fmt: skip
    site = awattar_site(replay_server, "electricitymaps", em_config(replay_server),
                        (collected, collected))  # fmt: skip
    return site, forecast, [(collected.replace(minute=0), 333.0)]


def watttime_site(replay_server):
    """aWATTar's hourly day (2026-05-01) and WattTime's 5-minute forecast (CAISO_NORTH, from
    14:05 UTC) on one site, each collected by the real pipeline."""
    from tests.collectors import scenarios_carbon

    scenarios_carbon.watttime(replay_server)
    replay_server.add("GET", "/v1/marketdata", json=load_fixture("awattar/marketdata_hourly.json"))
    watttime = {"username": "enrich-test", "password": "test-watttime-password",
                "options": {"base_url": replay_server.url, "plan": "forecast"}}  # fmt: skip
    times = (utc(2026, 4, 30, 22, 20), scenarios_carbon.WATTTIME_NOW)
    return awattar_site(replay_server, "watttime", watttime, times, grid_region="CAISO_NORTH")


def em_config(replay_server) -> dict:
    """Electricity Maps' settings (zone DE, with its forecast) on the replay server."""
    return {"api_key": "test-em-token-abc",
            "options": {"base_url": replay_server.url + "/v3", "forecast": True}}  # fmt: skip


def awattar_site(replay_server, carbon: str, settings: dict, times: tuple, grid_region="DE"):
    """A Berlin site with aWATTar prices and the `carbon` provider (its config's `settings`),
    each collected by the real pipeline at its time of `times` (prices, carbon)."""
    from collectors import pipeline
    from enrich.models import ProviderConfig, Site

    site = Site.objects.create(name="Berlin", latitude=52.52, longitude=13.405,
                               timezone="Europe/Berlin", pricing_region="DE",
                               grid_region=grid_region)  # fmt: skip
    configs = (("electricity_pricing", "awattar", {"options": {"base_url": replay_server.url}}),
               ("carbon_intensity", carbon, settings))  # fmt: skip
    for (source, provider, extra), at in zip(configs, times, strict=True):
        config = ProviderConfig.objects.create(site=site, source=source, provider=provider, **extra)
        assert pipeline.collect(config, now=at).status == "ok"
    return site


def local_deadline(wall: time, now: datetime, hours: float, zone=BERLIN) -> datetime:
    """By scanning minutes, not the planner's code: on the first local day that leaves room for
    `hours` from now, the first minute whose clock reads `wall` or later."""
    day = now.astimezone(zone).date()
    for days in range(3):
        target = datetime.combine(day + timedelta(days=days), wall)
        moment = target.replace(tzinfo=UTC) - timedelta(hours=3)
        while moment.astimezone(zone).replace(tzinfo=None) < target:
            moment += MINUTE
        if moment >= now + timedelta(hours=hours):
            return moment
    raise AssertionError(f"no deadline {wall} after {now}")
