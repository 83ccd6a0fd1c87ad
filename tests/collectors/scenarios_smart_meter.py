"""Happy paths of the smart-meter adapters for the contract test (and the adapter tests)."""

import json
from datetime import UTC, datetime

from collectors.base import Credentials, SiteInfo
from tests.collectors.sense_feed import shared_feed

SITE = SiteInfo(name="Home", latitude=41.88, longitude=-87.63, timezone="America/Chicago")
EMPORIA_NOW = datetime(2026, 5, 1, 14, 6, 30, tzinfo=UTC)  # the last complete minute is 14:05
SENSE_NOW = datetime(2026, 5, 1, 14, 6, 0, tzinfo=UTC)
HA_NOW = datetime(2026, 5, 1, 14, 5, 30, tzinfo=UTC)
COGNITO_PATH = "/cognito/"
USAGE = {"apiMethod": "getDeviceListUsages"}
MINUTE_USAGE = {**USAGE, "scale": "1MIN"}
# The mains chart of a normal run at EMPORIA_NOW: the 5-minute window from 14:01:30 floored,
# moved back 5 minutes (emporia_vue.LATE_MINUTES), up to the last complete minute.
CHART = {"apiMethod": "getChartUsage", "deviceGid": "1234", "start": "2026-05-01T13:56:00.000Z"}


def cognito_answers(server, *answers: str, path: str = COGNITO_PATH, **reply) -> None:
    """Queue Cognito's answers in this order, each tests/fixtures/emporia/cognito_<answer>.json;
    `reply` holds more of `server.add`'s arguments (status, headers, times)."""
    for answer in answers:
        server.add(
            "POST", path, json=server.load_fixture(f"emporia/cognito_{answer}.json"), **reply
        )


def answer_app_api(server, query: dict[str, str], **reply) -> None:
    """Answer the GET /AppAPI requests whose query holds all of `query`; `reply` holds
    `server.add`'s arguments (json, status, body, times)."""
    server.add("GET", "/AppAPI", query=query, **reply)


def emporia_routes(server, usage="emporia/usage_1min.json") -> None:
    # One login (used up, so a test can queue what a later refresh or login gets).
    cognito_answers(server, "challenge", "tokens", times=1)
    emporia_routes_without_login(server, usage)


def emporia_routes_without_login(server, usage="emporia/usage_1min.json") -> None:
    """The device list, the usage of both scales and the live chart, without the login."""
    server.add("GET", "/customers/devices", json=server.load_fixture("emporia/devices.json"))
    answer_app_api(server, MINUTE_USAGE, json=server.load_fixture(usage))
    answer_app_api(
        server, {**USAGE, "scale": "1D"}, json=server.load_fixture("emporia/usage_1day.json")
    )
    answer_app_api(server, CHART, json=server.load_fixture("emporia/chart_usage_live.json"))


def emporia_credentials(server, **options) -> Credentials:
    return Credentials(
        username="Vue.Owner@example.com",
        password="vue-password-1",
        options={
            "base_url": server.url,
            "cognito_url": server.url_for(COGNITO_PATH),
            "null_retry_seconds": 0.01,
            **options,
        },
    )


def emporia_config(server):
    """A Chicago site ("Vue home") collecting its Emporia Vue every 5 minutes (in the DB)."""
    from enrich.models import ProviderConfig, Site

    site = Site.objects.create(
        name="Vue home", latitude=41.88, longitude=-87.63, timezone="America/Chicago"
    )
    credentials = emporia_credentials(server)
    return ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider="emporia_vue",
        interval_seconds=300,
        username=credentials.username,
        password=credentials.password,
        options=dict(credentials.options),
    )


def zoned_emporia_config(server, site_zone: str, devices: str, zones: dict[str, str]):
    """emporia_config's site in `site_zone` collecting the Emporia account of the fixture
    `devices`, its devices' time zones renamed by `zones` (old: new); charts answer nothing."""
    config = emporia_config(server)
    config.site.timezone = site_zone
    config.site.save()
    text = json.dumps(server.load_fixture(devices))
    for old, new in zones.items():
        text = text.replace(old, new)
    server.add("GET", "/customers/devices", json=json.loads(text), times=1000)
    empty = {"firstUsageInstant": "2026-05-01T00:00:00Z", "usageList": []}
    answer_app_api(server, {"apiMethod": "getChartUsage"}, json=empty)
    emporia_routes(server)
    cognito_answers(server, "refreshed")
    return config


def emporia(server):
    emporia_routes(server)
    return SITE, emporia_credentials(server), EMPORIA_NOW


PANEL = "Main panel"
SECOND_VUE = {  # a second Vue the owner also called "Main panel", with its furnace
    "deviceGid": 1235,
    "locationProperties": {"deviceGid": 1235, "deviceName": PANEL},
    "channels": [
        {"deviceGid": 1235, "name": None, "channelNum": "1,2,3"},
        {"deviceGid": 1235, "name": "Furnace", "channelNum": "7"},
    ],
    "devices": [],
}
SECOND_USAGE = {  # kWh of the minute: 300 W in all, the furnace 180 W
    "deviceGid": 1235,
    "channelUsages": [
        {"name": "Main", "usage": 0.005, "deviceGid": 1235, "channelNum": "1,2,3"},
        {"name": "Furnace", "usage": 0.003, "deviceGid": 1235, "channelNum": "7"},
    ],
}


def two_panels(server, second_chart: list[float] | None = None):
    """tests/fixtures/emporia's account (Vue 1234 "Main panel": 1026-1116 W from 13:56 to
    14:05, its furnace 432 W) with the second Vue above, whose mains chart answers 0.005 kWh
    (300 W) each minute, or the kWh of `second_chart` (13:56-14:05)."""
    cognito_answers(server, "challenge", "tokens", times=1)
    devices = server.load_fixture("emporia/devices.json")
    devices["devices"].append(SECOND_VUE)
    server.add("GET", "/customers/devices", json=devices)
    minute = server.load_fixture("emporia/usage_1min.json")
    minute["deviceListUsages"]["devices"].append(SECOND_USAGE)
    answer_app_api(server, MINUTE_USAGE, json=minute)
    day = server.load_fixture("emporia/usage_1day.json")
    answer_app_api(server, {**USAGE, "scale": "1D"}, json=day)
    chart = server.load_fixture("emporia/chart_usage_live.json")
    answer_app_api(server, CHART, json=chart)
    second = chart | {"usageList": second_chart or [0.005] * len(chart["usageList"])}
    answer_app_api(server, {**CHART, "deviceGid": "1235"}, json=second)
    return SITE, emporia_credentials(server), EMPORIA_NOW


def sense_routes(server) -> None:
    server.add("POST", "/authenticate", json=server.load_fixture("sense/authenticate.json"))
    server.add("GET", "/app/history/trends", json=server.load_fixture("sense/trends_day.json"))


def sense_mfa_routes(server, code_accepted: bool = True) -> None:
    """A Sense account with MFA: the login asks for a code; the code is accepted or not."""
    mfa = server.load_fixture("sense/authenticate_mfa.json")
    server.add("POST", "/authenticate", status=401, json=mfa)
    if code_accepted:
        server.add("POST", "/authenticate/mfa", json=server.load_fixture("sense/authenticate.json"))
    else:
        refused = server.load_fixture("sense/authenticate_refused.json")
        server.add("POST", "/authenticate/mfa", status=401, json=refused)


# The session a login answered by sense/authenticate.json leaves (the MFA login too): what the
# adapter reports as renewed and `sense_login` saves.
SENSE_LOGIN_SESSION = {
    "account": "sense.owner@example.com",
    "access_token": "t1.v2.access-one",
    "user_id": "512345",
    "refresh_token": "refresh-one",
    "monitor_id": "98765",
    "time_zone": "America/New_York",  # the zone of the account's days
}


def sense_credentials(server, feed_url: str, **options) -> Credentials:
    return Credentials(
        username="sense.owner@example.com",
        password="sense-password-1",
        options={"base_url": server.url, "realtime_url": feed_url, **options},
    )


def sense(server):
    sense_routes(server)
    return SITE, sense_credentials(server, shared_feed().url), SENSE_NOW


HA_OPTIONS = {
    "total_entity": "sensor.home_power",
    "circuits": {"Heat pump": "sensor.heat_pump_power", "Oven": "sensor.oven_power"},
    "daily_energy_entity": "sensor.home_energy_today",
}


def home_assistant_routes(server) -> None:
    for entity, fixture in (
        ("sensor.home_power", "state_total_w"),
        ("sensor.heat_pump_power", "state_heat_pump_kw"),
        ("sensor.oven_power", "state_unavailable"),
        ("sensor.home_energy_today", "state_daily_wh"),
    ):
        server.add(
            "GET",
            f"/api/states/{entity}",
            json=server.load_fixture(f"home_assistant/{fixture}.json"),
        )
    server.add("GET", "/api/config", json=server.load_fixture("home_assistant/config.json"))


def home_assistant_credentials(server, **options) -> Credentials:
    return Credentials(
        api_key="ha-long-lived-token-xyz",
        options={"base_url": server.url, **HA_OPTIONS, **options},
    )


def home_assistant(server):
    home_assistant_routes(server)
    return SITE, home_assistant_credentials(server), HA_NOW


SCENARIOS = {"emporia_vue": emporia, "sense": sense, "home_assistant": home_assistant}


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 5, 1, hour, minute, tzinfo=UTC)


# The whole-home watts of each minute (kWh per minute x 60 x 1000): 13:56..14:05 as
# chart_usage_live.json has them, 14:06..14:10 as the second of test_emporia_vue's two_runs_answers
# does. Each is the decimal Emporia wrote x 60,000 (0.0169 kWh is 1014.0 W, not 1013.9999999999999).
MAINS_MINUTES = {
    at(13, 56): 1026.0,  # 0.0171
    at(13, 57): 1044.0,  # 0.0174
    at(13, 58): 1014.0,  # 0.0169
    at(13, 59): 1080.0,  # 0.0180
    at(14, 0): 1062.0,  # 0.0177
    at(14, 1): 1092.0,  # 0.0182
    at(14, 2): 1074.0,  # 0.0179
    at(14, 3): 1098.0,  # 0.0183
    at(14, 4): 1110.0,  # 0.0185 (null in the first of the two runs, answered in the second)
    at(14, 5): 1116.0,  # 0.0186 (the device list usage's minute)
    at(14, 6): 1200.0,  # 0.02
    at(14, 7): 1260.0,  # 0.021
    at(14, 8): 1320.0,  # 0.022
    at(14, 9): 1380.0,  # 0.023
    at(14, 10): 1116.0,  # null in the chart: the second run's device list usage minute
}


def mains_minutes(first: datetime, last: datetime, left_out=()) -> dict[datetime, float]:
    """The minutes first..last of MAINS_MINUTES, without those `left_out`."""
    return {m: w for m, w in MAINS_MINUTES.items() if first <= m <= last and m not in left_out}


SIX_VUES = range(3001, 3007)


def six_vues(server, budget: str):
    """A site ("Farm") whose Emporia account has six Vues (tests/fixtures/emporia/*_six_vues.json),
    collected every 5 minutes within `budget` (options.budget): 2000/day lowers its cadence."""
    from collectors import registry
    from enrich.models import ProviderConfig, Site

    registry.adapter_for.cache_clear()  # a fresh adapter: no device list known yet
    cognito_answers(server, "challenge", "tokens")
    server.add(
        "GET", "/customers/devices", json=server.load_fixture("emporia/devices_six_vues.json")
    )
    for scale, name in (("1MIN", "usage_1min_six_vues"), ("1D", "usage_1day_six_vues")):
        answer = server.load_fixture(f"emporia/{name}.json")
        server.add("GET", "/AppAPI", query={**USAGE, "scale": scale}, json=answer)
    for gid in SIX_VUES:
        chart = {"apiMethod": CHART["apiMethod"], "deviceGid": str(gid)}
        minutes = {"firstUsageInstant": "2026-05-01T13:56:00Z", "usageList": [0.012] * 30}
        server.add("GET", "/AppAPI", query=chart, json=minutes)
    credentials = emporia_credentials(server, budget=budget)
    site = Site.objects.create(
        name="Farm", latitude=41.88, longitude=-87.63, timezone="America/Chicago"
    )
    return ProviderConfig.objects.create(
        site=site, source="smart_meter", provider="emporia_vue", interval_seconds=300,
        username=credentials.username, password=credentials.password,
        options=dict(credentials.options),
    )  # fmt: skip


def day_totals(isolated, settings, device: str | None = None) -> dict[datetime, float]:
    """The `daily_kwh` points InfluxDB holds (of the `device` tag `device`), by their time."""
    where, params = ("WHERE device = $device", {"device": device}) if device else ("", {})
    rows = isolated.query(
        settings.INFLUXDB_DATABASE, f"SELECT daily_kwh FROM smart_meter {where}", params=params
    )
    return {r.time: r.values["daily_kwh"] for r in rows if r.values.get("daily_kwh") is not None}
