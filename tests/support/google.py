"""Google as the replay server plays it for the calendar tests: its paths, the answers to a
code exchange and to a day's events, a connection already stored, and "Connect" pressed on the
setup page, and the consents it started."""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from collectors import clock
from collectors.base import Credentials, SiteInfo, Window
from collectors.occupancy.google.adapter import GoogleCalendarAdapter
from collectors.occupancy.google.oauth import _state_key
from enrich.models import OAuthConnection
from enrich.redis.client import get_redis

PRIMARY = "/calendar/v3/calendars/primary/events"
CALENDAR_LIST = "/calendar/v3/users/me/calendarList"
ACCOUNT = "alex.morgan@example.com"
NOW = datetime(2026, 5, 4, 6, 5, tzinfo=UTC)  # 08:05 in Berlin, the day of the events


def start(client, site) -> dict[str, str]:
    """Press "Connect" for `site`: the query of the consent URL it redirects to."""
    response = client.post("/oauth/google/connect", {"site": site.pk})
    assert response.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


def consents() -> list[dict]:
    """The consents started and not yet used (pending in Redis): each its site_id, user_id...
    A pattern of `_state_key("*")` matches no key: the key escapes "*" as %2A."""
    pattern = _state_key("-")[:-1] + "*"
    return [json.loads(get_redis().get(key)) for key in get_redis().scan_iter(pattern)]


def google_answers(server):
    """Google's answers to the code exchange and to the calendar list that follows it."""
    server.add("POST", "/token", json=server.load_fixture("google/token_exchange.json"))
    server.add("GET", CALENDAR_LIST, json=server.load_fixture("google/calendar_list.json"))


def connect(config, expires_in: timedelta) -> OAuthConnection:
    """A stored connection of ACCOUNT to `config`, its access token expiring in `expires_in`."""
    return OAuthConnection.objects.create(
        provider_config=config,
        account_email=ACCOUNT,
        calendars=[{"id": ACCOUNT, "summary": ACCOUNT, "primary": True}],
        access_token="ya29.a0stored-access-token",
        refresh_token="1//0gstored-refresh-token",
        token_expiry=datetime.now(UTC) + expires_in,
    )


def workday(server):
    """The primary calendar's events around a DST change in Berlin, in one page."""
    server.add("GET", PRIMARY, json=server.load_fixture("google/events_dst_berlin.json"))


def workday_pages(server) -> dict:
    """The workday's events in two pages (Google's pageToken); returns the first page."""
    page1 = server.load_fixture("google/events_workday_page1.json")
    server.add("GET", PRIMARY, json=page1)
    server.add(
        "GET",
        PRIMARY,
        json=server.load_fixture("google/events_workday_page2.json"),
        query={"pageToken": page1["nextPageToken"]},
    )
    return page1


def workday_with_the_dentist(server, start: str, end: str) -> list[dict]:
    """The workday's documented events, the dentist moved to `start`-`end` (Berlin)."""
    items = []
    for page in (1, 2):
        items += server.load_fixture(f"google/events_workday_page{page}.json")["items"]
    [dentist] = [e for e in items if e.get("summary") == "Dentist"]
    dentist["start"]["dateTime"] = f"2026-05-04T{start}:00+02:00"
    dentist["end"]["dateTime"] = f"2026-05-04T{end}:00+02:00"
    return items


BERLIN = SiteInfo(name="Berlin flat", latitude=52.52, longitude=13.405, timezone="Europe/Berlin")


def creds(server, **options) -> Credentials:
    """Credentials of a connected account on `server`, the access token valid 50 minutes."""
    base = {
        "base_url": server.url,
        "token": "ya29.a0current-access-token",
        "refresh_token": "1//0gstored-refresh-token",
        "token_expiry": (datetime.now(UTC) + timedelta(minutes=50)).isoformat(),
        "token_uri": server.url_for("/token"),
        "client_id": "123-test.apps.googleusercontent.com",
        "client_secret": "GOCSPX-test-secret",
        "account": ACCOUNT,
    }
    return Credentials(options={**base, **options})


def run(server, now, site=BERLIN, **options):
    """The adapter's target and fetch for `site` at `now` (the last 15 minutes)."""
    adapter = GoogleCalendarAdapter()
    credentials = creds(server, **options)
    target = adapter.target(site, credentials)
    return target, adapter.fetch(target, credentials, Window(now - timedelta(minutes=15), now, now))


def entry_at(client, monkeypatch, moment: datetime) -> dict:
    """The occupancy entry of GET /api/enrichment/current with the clock at `moment`."""
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    body = client.get("/api/enrichment/current").json()
    [entry] = body["sources"]["occupancy"]["providers"]
    return entry


def newest_points(influx, database: str, moment: datetime) -> dict:
    """The newest `occupancy_prediction` point of each person (and the household) up to now."""
    rows = influx.query(
        database,
        'SELECT * FROM "occupancy_prediction" WHERE time <= $now '
        "GROUP BY * ORDER BY time DESC LIMIT 1",
        params={"now": moment},
    )
    return {row.tags["person"]: row for row in rows}
