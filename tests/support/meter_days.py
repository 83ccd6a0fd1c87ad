"""Meter day totals across zones: the moved clock, the served totals read every minute; the
meters' schedules kept in Redis forgotten (forget_schedules)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from collectors import clock, pipeline
from enrich.redis.client import get_redis, make_key
from retention.timeutil import day_start

MINUTE, RUN_EVERY = timedelta(minutes=1), timedelta(minutes=5)


def utc(month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def day_of(moment: datetime, zone: str) -> tuple[date, datetime]:
    """The local date holding `moment` in `zone`, and its first instant (UTC)."""
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz).date()
    return local, day_start(local, tz).astimezone(UTC)


def served(site_id: int) -> dict[str, tuple]:
    """Per device of the meter's answer: (daily_kwh, its time, zone, date), those with one."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get_or_create(username="viewer")[0])
    body = client.get(f"/api/enrichment/current?site={site_id}").json()
    [entry] = body["sources"]["smart_meter"]["providers"]
    return {
        name: tuple(
            device.get(f)
            for f in ("daily_kwh", "daily_kwh_time", "daily_kwh_zone", "daily_kwh_date")
        )  # fmt: skip
        for name, device in entry["value"]["devices"].items()
        if "daily_kwh" in device
    }


class Moved:
    """The moved clock of the pipeline's runs, the API's reads and the adapter's schedule."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


def moved_adapter(monkeypatch, adapter_class, start: datetime) -> Moved:
    """The pipeline's runs collect with one `adapter_class` instance, the API reads and the
    adapter's schedule all at the returned clock (starting at `start`)."""
    moved = Moved(start)
    adapter = adapter_class(clock=moved)
    monkeypatch.setattr(pipeline, "adapter_for", lambda source, provider: adapter)
    monkeypatch.setattr(clock, "utc_now", lambda: moved.now)
    return moved


def last_asked(asked: list[datetime], now: datetime, zone: str) -> tuple[datetime, str] | None:
    """The last of the instants `asked` in the local day of `now` in `zone`, and that day."""
    local, start = day_of(now, zone)
    mine = [at for at in asked if start <= at <= now]
    return (max(mine), local.isoformat()) if mine else None


def run_and_read(config, moved, segments, run, want) -> None:
    """Over each (first run, last read) segment: a run every 5 minutes (`run`), the answer
    read every minute and compared with `want(now)`."""
    for first, last in segments:
        moved.now = first
        while moved.now <= last:
            if (moved.now - first) % RUN_EVERY == timedelta(0):
                run(moved.now)
            assert served(config.site_id) == want(moved.now), moved.now
            moved.now += MINUTE


def answer_usage(server, body: dict, at: datetime, **query) -> None:
    """Emporia answers getDeviceListUsages at the minute `at` (in the scale of `body`, a
    usage_1min or usage_1day answer) with `body`; `query` narrows the route."""
    usages = body["deviceListUsages"]
    usages["instant"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    asked = {"apiMethod": "getDeviceListUsages", "scale": usages["scale"],
             "instant": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), **query}  # fmt: skip
    server.add("GET", "/AppAPI", query=asked, json=body)


def day_calls(server) -> list[datetime]:
    """The instants of Emporia's day totals (getDeviceListUsages 1D) asked, in order."""
    calls = [r.query for r in server.calls("GET", "/AppAPI") if r.query.get("scale") == "1D"]
    return [datetime.fromisoformat(q["instant"]) for q in calls]


def forget_schedules(kind: str = "") -> None:
    """Drop the meters' schedules kept in Redis under this test's key prefix
    (collectors/smart_meter/shared.py): those of `kind` (e.g. "emporia_devices": the next run
    asks the device list, as once its hour passed), else all."""
    redis = get_redis()
    for key in redis.scan_iter(match=make_key("smart_meter", *filter(None, [kind])) + ":*"):
        redis.delete(key)
