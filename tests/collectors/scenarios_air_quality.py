"""Happy-path scenarios of the air-quality adapters for the shared contract test."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from celery.schedules import crontab

from collectors.base import Credentials, SiteInfo
from config.schedule import SCHEDULE
from tests.support.replay import ReplayServer

AIRNOW_CURRENT_PATH = "/aq/observation/current/ziplatlong/"


def airnow(server: ReplayServer) -> tuple[SiteInfo, Credentials, datetime]:
    """The current (2026) observation service answering for Seattle at 03:00 PDT."""
    server.add(
        "GET", AIRNOW_CURRENT_PATH, json=server.load_fixture("airnow/observation_current.json")
    )
    site = SiteInfo(
        name="Seattle home", latitude=47.6021, longitude=-122.3290, timezone="America/Los_Angeles"
    )
    credentials = Credentials(api_key="test-airnow-key-123", options={"base_url": server.url})
    return site, credentials, datetime(2026, 10, 8, 10, 40, tzinfo=UTC)


def observed_in(server: ReplayServer, hour: datetime) -> list[dict]:
    """The documented answer (observation_current.json) as observed in `hour`, on Seattle's
    clock: an hour's observation spares calls only within that hour (collectors.freshness)."""
    rows = server.load_fixture("airnow/observation_current.json")
    local = hour.astimezone(ZoneInfo("America/Los_Angeles"))
    for row in rows:
        row |= {"dateObserved": local.date().isoformat(), "hourObserved": f"{local:%H}:00",
                "localTimeZone": local.tzname()}  # fmt: skip
    return rows


def inside_an_hour() -> datetime:
    """Now, but a minute before its hour ends at the latest: a run at it is served the
    hour's observation from the cache (not within 30 s of the hour's end, when it fetches)."""
    now = datetime.now(UTC)
    return min(now, now.replace(minute=59, second=0, microsecond=0))


def beat_runs(start: datetime, end: datetime) -> list[datetime]:
    """When beat runs the air quality dispatch from `start` to `end` (its entry's crontab)."""
    [entry] = [e for e in SCHEDULE if e.task == "collectors.dispatch_air_quality"]
    minute, hour, day_of_month, month_of_year, day_of_week = entry.crontab.split()
    runs = crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    moments = (
        start + timedelta(minutes=m) for m in range(int((end - start) / timedelta(minutes=1)))
    )
    return [m for m in moments if m.minute in runs.minute and m.hour in runs.hour]


SCENARIOS = {"airnow": airnow}
