"""More sites of the plan probe (tests/support/plan_probe.py), each collected through the real
pipeline from documented payloads, and their per-minute prices taken from the payloads by the
rules docs/providers.md states (not with the adapters' code):

- Twyford (Octopus Agile, region C; UK Carbon Intensity, RG10) across local midnight into the
  UK's DST days: the documented DST day and the day before it, and a half-hourly forecast
  ending before the prices do (its last value carried);
- Uppsala with Tibber's documented answers (hourly, hourly then quarter hours, a quarter-hour
  day whose one hour has a lone entry) and a carbon provider;

and the comparisons of `/api/plan`, `/api/plan/loads` and `/api/pricing/windows` with it.
"""

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.plan_probe import best_windows, em_config, per_minute, split_differences, utc
from tests.support.replay import load_fixture

RATES = "/v1/products/AGILE-24-10-01/electricity-tariffs/E-1R-AGILE-24-10-01-C/standard-unit-rates/"
# UK local midnight before each DST day (UTC), the documented DST day's payload
UK_DST = {"spring": (utc(2026, 3, 28), "octopus/agile_dst_spring.json"),
          "autumn": (utc(2026, 10, 23, 23), "octopus/agile_dst_autumn.json")}  # fmt: skip
HALF_HOUR = timedelta(minutes=30)


def _day_before(start: datetime) -> list[dict]:
    """The 48 half hours of the local day before a DST day, in Octopus' shape (p/kWh)."""
    rates = []
    for i in range(48):
        value = round(9 + 2.5 * ((i * 7) % 13) + (14 if 32 <= i < 38 else 0), 4)
        rates.append({"value_exc_vat": round(value / 1.05, 4), "value_inc_vat": value,
                      "valid_from": _z(start + i * HALF_HOUR),
                      "valid_to": _z(start + (i + 1) * HALF_HOUR), "payment_method": None})  # fmt: skip
    return rates


def _z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uk(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def uk_block(slots) -> dict:
    """South England's block (RG10) of /regional/... answers listing `slots` (start, end, g)."""
    mix = [{"fuel": "gas", "perc": 40.0}, {"fuel": "wind", "perc": 60.0}]
    return {"regionid": 12, "dnoregion": "SSE South", "shortname": "South England",
            "postcode": "RG10",
            "data": [{"from": _uk(a), "to": _uk(b), "intensity": {"forecast": g, "index": "low"},
                      "generationmix": mix} for a, b, g in slots]}  # fmt: skip


def uk_dst_site(replay_server, kind: str):
    """Twyford on the eve of a UK DST day ("spring", "autumn"), everything collected at 22:07
    local: Octopus' rates of that day (made here) and of the DST day (documented), and UK
    Carbon Intensity's current half hour and a forecast ending 3 h before the prices end (its
    last, cleanest value carried to their end). Returns (site, price slots, forecast slots,
    measured points)."""
    from collectors import pipeline
    from enrich.models import ProviderConfig, Site

    start, fixture = UK_DST[kind]
    rates = _day_before(start) + load_fixture(fixture)["results"]
    slots = sorted((datetime.fromisoformat(r["valid_from"]), datetime.fromisoformat(r["valid_to"]),
                    r["value_inc_vat"] / 100) for r in rates)  # fmt: skip
    collected = start + timedelta(hours=22, minutes=7)
    half = collected.replace(minute=0)
    end = slots[-1][1] - timedelta(hours=3)
    forecast, moment, i = [], half, 0
    while moment < end:
        forecast.append((moment, moment + HALF_HOUR, float(180 + 35 * ((i * 5) % 9) - i)))
        moment, i = moment + HALF_HOUR, i + 1
    forecast[-1] = (*forecast[-1][:2], 60.0)
    replay_server.add("GET", RATES, json={"count": len(rates), "next": None, "previous": None,
                                          "results": rates[::-1]})  # fmt: skip
    replay_server.add("GET", "/regional/postcode/RG10",
                      json={"data": [uk_block([(half, half + HALF_HOUR, 266.0)])]})  # fmt: skip
    replay_server.add("GET", f"/regional/intensity/{_uk(half)}/fw48h/postcode/RG10",
                      json={"data": uk_block(forecast)})  # fmt: skip
    site = Site.objects.create(name="Twyford", latitude=51.48, longitude=-0.86,
                               timezone="Europe/London", pricing_region="C",
                               grid_region="RG10 9XX")  # fmt: skip
    options = {"base_url": replay_server.url}
    for source, provider, extra in (("electricity_pricing", "octopus", {"product_code": "AGILE-24-10-01"}),
                                    ("carbon_intensity", "uk_carbon_intensity", {})):  # fmt: skip
        config = ProviderConfig.objects.create(site=site, source=source, provider=provider,
                                               options={**options, **extra})  # fmt: skip
        assert pipeline.collect(config, now=collected).status == "ok"
    return site, slots, forecast, [(half, 266.0)]


def tibber_slots(payload: dict) -> list[tuple[datetime, datetime, float]]:
    """(start, end, price) as docs/providers.md says a Tibber entry lasts: to the next start,
    or its day's usual step (the most common distance between the day's entries; a day of one
    entry takes the whole answer's, else the quarter hour asked for) where the next is further
    away; `current` is a slot only where no listed entry starts then."""
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    days = [[(datetime.fromisoformat(e["startsAt"]).astimezone(UTC), e["total"]) for e in info[d]]
            for d in ("today", "tomorrow")]  # fmt: skip

    def step(starts):
        starts = sorted(starts)
        gaps = Counter(b - a for a, b in zip(starts, starts[1:], strict=False))
        return gaps.most_common(1)[0][0] if gaps else None

    every = step([s for day in days for s, _ in day]) or timedelta(minutes=15)
    entries = {}
    for day in days:
        own = step([s for s, _ in day]) or every
        for start, price in day:
            entries.setdefault(start, (price, own))
    starts = sorted(entries)
    return [(s, min(nxt, s + entries[s][1]) if nxt else s + entries[s][1], entries[s][0])
            for s, nxt in zip(starts, [*starts[1:], None], strict=True)]  # fmt: skip


def lone_hour(payload: dict, at: str) -> dict:
    """The quarter-hour `payload` with the hour from `at` (a startsAt) listed as one entry:
    the 3 quarter hours after it left out."""
    import copy

    payload = copy.deepcopy(payload)
    info = payload["data"]["viewer"]["home"]["currentSubscription"]["priceInfo"]
    first = datetime.fromisoformat(at)
    dropped = {first + k * timedelta(minutes=15) for k in (1, 2, 3)}
    info["today"] = [e for e in info["today"]
                     if datetime.fromisoformat(e["startsAt"]) not in dropped]  # fmt: skip
    return payload


def tibber_site(replay_server, payload: dict, carbon: str, settings: dict, times, grid_region):
    """Uppsala with Tibber answering `payload` and the `carbon` provider (its `settings`), each
    collected at its time of `times` (prices, carbon)."""
    from collectors import pipeline
    from enrich.models import ProviderConfig
    from tests.support.stored_prices import tibber_config

    config = tibber_config(replay_server, payload, timezone="Europe/Stockholm",
                           grid_region=grid_region)  # fmt: skip
    assert pipeline.collect(config, now=times[0]).status == "ok"
    carbon_config = ProviderConfig.objects.create(site=config.site, source="carbon_intensity",
                                                  provider=carbon, **settings)  # fmt: skip
    assert pipeline.collect(carbon_config, now=times[1]).status == "ok"
    return config.site


def em_forecast(replay_server, start: datetime, hours: int, collected: datetime):
    """Electricity Maps' answers (zone SE3 here: the documented shapes, values made here): the
    latest hour and an hourly forecast of `hours` from `start`. Returns (settings, forecast
    slots, measured points)."""
    forecast = [(start + timedelta(hours=h), start + timedelta(hours=h + 1),
                 float(30 + 11 * ((h * 5) % 7) - h / 2)) for h in range(hours)]  # fmt: skip
    stamp = collected.replace(minute=0)
    latest = {**load_fixture("electricitymaps/carbon_intensity_latest.json"),
              "carbonIntensity": 44, "datetime": stamp.isoformat().replace("+00:00", ".000Z")}  # fmt: skip
    replay_server.add("GET", "/v3/carbon-intensity/latest", json=latest)
    replay_server.add("GET", "/v3/power-breakdown/latest",
                      json=load_fixture("electricitymaps/power_breakdown_latest.json"))  # fmt: skip
    replay_server.add("GET", "/v3/carbon-intensity/forecast", json={"zone": "SE", "forecast": [
        {"carbonIntensity": v, "datetime": a.isoformat().replace("+00:00", ".000Z")}
        for a, _, v in forecast]})  # fmt: skip
    return em_config(replay_server), forecast, [(stamp, 44.0)]


def first_start(now: datetime) -> datetime:
    """Where split sets begin: now's whole minute, or the next (the running slot's rest is
    planned from there)."""
    whole = now.replace(second=0, microsecond=0)
    return whole if whole == now else whole + timedelta(minutes=1)


def loads_differences(api, site, data, loads, now: datetime, share: float) -> list[str]:
    """Where /api/plan/loads at `now` differs from the exhaustive search for each of `loads`
    whose deadline the prices reach; `data`: (price slots, forecast slots, measured points)."""
    from tests.support import plan_probe as probe

    slots, forecast, points = data
    prices, zone = per_minute(slots), ZoneInfo(site.timezone)
    body = api.get("/api/plan/loads", {"site": site.pk}).json()
    found = []
    for load, shown in zip(loads, body["loads"], strict=True):
        label, before = (
            f"{load.name} at {now.isoformat()}",
            probe.local_deadline(load.deadline, now, load.hours, zone),
        )
        if before > slots[-1][1]:
            continue  # beyond the prices: not planned
        if shown["before"] != before.isoformat() or shown["plan"] is None:
            found.append(f"{label}: before {shown['before']}, {shown.get('message')}")
            continue
        carbon, minutes = (
            probe.carbon_minutes(forecast, points, now, before),
            round(load.hours * 60),
        )
        if load.contiguous:
            expected = probe.best_windows(prices, carbon, now, minutes, before, load.carbon_price)
            found += probe.differences(shown["plan"], expected, load.kw, label)
        else:
            found += split_differences(shown["plan"], prices, carbon, first_start(now),
                                             (now, minutes, before), load.carbon_price, share,
                                             label, load.max_windows)  # fmt: skip
    return found


def plan_differences(api, data, now: datetime, before: datetime, rules) -> list[str]:
    """Where /api/plan at `now` differs from the exhaustive search: for each (hours, carbon
    price, penalty_percent, max_windows) of `rules`, the unbroken plan with pareto=true and
    the split plan with that penalty and cap."""
    from tests.support import plan_probe as probe

    slots, forecast, points = data
    prices, carbon = per_minute(slots), probe.carbon_minutes(forecast, points, now, before)
    found = []
    for hours, carbon_price, penalty, max_windows in rules:
        minutes, label = round(hours * 60), f"{hours} h, {carbon_price}/t at {now.isoformat()}"
        query = {"hours": str(hours), "carbon_price": str(carbon_price), "kw": "3",
                 "before": before.isoformat()}  # fmt: skip
        body = api.get("/api/plan", {**query, "pareto": "true"}).json()
        expected = probe.best_windows(prices, carbon, now, minutes, before, carbon_price)
        found += probe.differences(body, expected, 3.0, label)
        if carbon_price > 0 and body["compared"]["greenest"] is not None:
            found += probe.pareto_differences(body, prices, carbon, (now, minutes, before), label)
        split = {**query, "contiguous": "false", "penalty_percent": str(penalty)}
        split |= {} if max_windows is None else {"max_windows": str(max_windows)}
        found += split_differences(api.get("/api/plan", split).json(), prices, carbon,
                                         first_start(now), (now, minutes, before),
                                         carbon_price, penalty / 100,
                                         f"split {label}, {penalty} %, {max_windows}",
                                         max_windows)  # fmt: skip
    return found


def tibber_case(replay_server, case: str):
    """Uppsala with Tibber and a carbon provider, collected: "hourly_uk" (the documented hourly
    days, UK Carbon Intensity's documented 48 h from 12:00 UTC), "switch_watttime" (hourly
    today, quarter hours tomorrow; WattTime's 5-minute forecast from 14:05 UTC), "lone_em" (a
    quarter-hour day whose 15:00 UTC hour is one entry; an Electricity Maps hourly forecast of 8
    h from 12:00 UTC). Returns (site, (price slots, forecast slots, measured points))."""
    from tests.collectors import scenarios_carbon
    from tests.support.plan_probe import watttime_slots

    collected = utc(2026, 5, 1, 12, 20)
    if case == "hourly_uk":
        payload = load_fixture("tibber/price_info_hourly.json")
        scenarios_carbon.uk_carbon_intensity(replay_server)
        block = load_fixture("uk_carbon_intensity/regional_fw48h_postcode.json")["data"]["data"]
        forecast = [(datetime.fromisoformat(s["from"]), datetime.fromisoformat(s["to"]),
                     float(s["intensity"]["forecast"])) for s in block]  # fmt: skip
        carbon = ("uk_carbon_intensity", {"options": {"base_url": replay_server.url}}, "RG10 9XX")
        times, points = (collected, collected), [(utc(2026, 5, 1, 12), 266.0)]
    elif case == "switch_watttime":
        payload = load_fixture("tibber/price_info_hourly_today_quarter_tomorrow.json")
        scenarios_carbon.watttime(replay_server)
        settings = {"username": "enrich-test", "password": "test-watttime-password",
                    "options": {"base_url": replay_server.url, "plan": "forecast"}}  # fmt: skip
        carbon, forecast, points = ("watttime", settings, "CAISO_NORTH"), watttime_slots(), []
        times = (collected, scenarios_carbon.WATTTIME_NOW)
    else:
        payload = lone_hour(load_fixture("tibber/price_info_today_only.json"),
                            "2026-05-01T17:00:00.000+02:00")  # fmt: skip
        settings, forecast, points = em_forecast(replay_server, utc(2026, 5, 1, 12), 8, collected)
        carbon, times = ("electricitymaps", settings, "DE"), (collected, collected)
    site = tibber_site(replay_server, payload, carbon[0], carbon[1], times, carbon[2])
    return site, (tibber_slots(payload), forecast, points)


def windows_differences(api, slots, now: datetime, before: datetime, rule) -> list[str]:
    """Where /api/pricing/windows at `now` differs from the exhaustive search over the price
    slots `slots`: the cheapest and the dearest unbroken window (most_expensive=true) of
    `rule`'s hours, and the split set with its penalty_percent and max_windows."""
    hours, penalty, max_windows = rule
    prices, minutes = per_minute(slots), round(hours * 60)
    query = {"hours": str(hours), "before": before.isoformat()}
    label, found = f"windows {rule} at {now.isoformat()}", []
    for flag, sign in (("false", 1), ("true", -1)):  # the dearest: the cheapest of -price
        signed = {m: sign * p for m, p in prices.items()}
        want = best_windows(signed, {}, now, minutes, before, 0)["chosen"]
        body = api.get("/api/pricing/windows", {**query, "most_expensive": flag}).json()
        shown = (body["start"], body["end"], sign * body["average_price"])
        if shown[:2] != (want.start.isoformat(), want.end.isoformat()) or not math.isclose(
            shown[2], want.price, abs_tol=1e-9
        ):
            found.append(f"{label}, most_expensive={flag}: {shown}, expected {want}")
    split = {**query, "contiguous": "false", "penalty_percent": str(penalty)}
    split |= {} if max_windows is None else {"max_windows": str(max_windows)}
    body = api.get("/api/pricing/windows", split).json()  # its score is the price
    found += split_differences({**body, "average_score": body["average_price"]}, prices, {},
                               first_start(now), (now, minutes, before), 0, penalty / 100,
                               f"split {label}", max_windows)  # fmt: skip
    return found
