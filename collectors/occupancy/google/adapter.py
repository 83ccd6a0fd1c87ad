"""Google Calendar occupancy adapter: today's and tomorrow's events -> who is home.

Reads every configured calendar (events.list with singleEvents, ordered by start, all pages
up to listing.MAX_PAGES, status events requested explicitly) through google-api-python-client
(see client.py for how its HTTP follows enrich.http's timeouts, retries and error
classes), then applies the rules in prediction.py. Writes `occupancy_prediction` per person
and for the household, tagged with the site: the prediction for the start of the 15-minute
slot of "now" at that moment (a rerun in the same slot overwrites), and those of the event
edges since, each at its moment (now.timeline); every point stored since the slot's start is
replaced.

Options (ProviderConfig.options; tokens and endpoints are added by collectors.occupancy.google.oauth):
  calendars      ["primary"] | ["id", {"id": "...", "person": "..."}]
  person         name of the person whose calendars these are (default: the account email);
                 never "household", the name of the household's points
  home_keywords  ["WFH", "HOME"]; home_address ""; online_keywords (see prediction.py)
  travel_minutes 30; lead_minutes 60; base_url (API root, default https://www.googleapis.com)
  working_hours  "09:00-17:00": when an all-day office working location has the person away
They are read (and refused, naming the option) in options.py.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from collectors.base import (
    Adapter,
    ConfigError,
    Credentials,
    FetchResult,
    Replaced,
    SiteInfo,
    Target,
    Window,
)
from collectors.occupancy.google import listing, prediction
from collectors.occupancy.google import now as ahead
from collectors.occupancy.google.connection import DEFAULT_TOKEN_URI, PROVIDER, Tokens, api_root
from collectors.occupancy.google.events import CalendarEvent, horizon, parse_event
from collectors.occupancy.google.options import calendars_from, rules_from
from enrich.http import HttpPolicy, malformed
from enrich.models import is_zone_name
from enrich.readings import Reading

EVENT_TYPES = ["default", "focusTime", "outOfOffice", "workingLocation", "fromGmail"]


def _expiry(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None  # unknown expiry: google-auth renews on the first 401
    return moment if moment.tzinfo else None


def _report_renewal(credentials: Credentials, fresh: Tokens | None) -> None:
    if fresh is None:
        return
    credentials.report_renewed(
        Credentials(
            options={
                **credentials.options,
                "token": fresh.access_token,
                "refresh_token": fresh.refresh_token,
                "token_expiry": fresh.expiry.isoformat() if fresh.expiry else "",
            }
        )
    )


class GoogleCalendarAdapter(Adapter):
    source = "occupancy"
    provider = PROVIDER
    budget = None  # Google's Calendar quota is per project (1M/day) and far above 96 runs/day
    # The tokens, client and account are added by credentials(), never read from the config.
    options = frozenset({"base_url", "calendars", "person", "home_keywords", "home_address",
                         "online_keywords", "travel_minutes", "lead_minutes", "working_hours"})  # fmt: skip
    budget_scope = "account"
    history = None  # a prediction is about now; nothing to backfill
    calls_per_fetch = 1
    # A prediction's points are replaced whole, served or a rerun's (maybe_served: always).
    served_measurement = ahead.MEASUREMENT
    # The calendars and the people they belong to, the prediction rules, the API root.
    option_parsers = (calendars_from, rules_from, api_root)

    # The OAuth tokens live in enrich.models.OAuthConnection (collectors.occupancy.google.tokens).
    def credentials(self, config: Any, *, fetching: bool) -> Credentials:
        from collectors.occupancy.google.tokens import calendar_credentials

        return calendar_credentials(config, fetching=fetching)

    def on_renewed(self, config: Any, previous: Credentials, renewed: Credentials) -> None:
        from collectors.occupancy.google.tokens import save_renewed_credentials

        save_renewed_credentials(config, previous, renewed)

    def on_auth_failure(self, config: Any, error: Any, started_with: Any) -> None:
        from collectors.occupancy.google.tokens import note_auth_failure

        note_auth_failure(config, error, started_with)

    def forget_login(self, config: Any) -> list[str]:
        from collectors.occupancy.google.tokens import disconnect

        return disconnect(config)

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        options = credentials.options
        if not is_zone_name(site.timezone):
            raise ConfigError(
                f"google_calendar: site {site.name!r} has time zone {site.timezone!r}, not an IANA name."
            )
        calendars = [c["id"] for c in calendars_from(options)]
        rules_from(options)  # fail at dispatch, with the option named, not mid-fetch
        api_root(options)
        # One connection per site: the site is what the answer is for (its zone, its people).
        return Target(
            source=self.source,
            provider=self.provider,
            key=site.name,
            # `site`: the points' tag (every site has a household; people may share a name).
            params={"timezone": site.timezone, "calendars": calendars, "site": site.name},
        )

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        # Google's libraries are imported by a fetch, not at each start (connection.py).
        from collectors.occupancy.google import client as google_client

        options = credentials.options
        if not (options.get("token") or options.get("refresh_token")):
            raise ConfigError(
                "google_calendar: no Google account is connected. Open /oauth/google/ and click "
                "'Connect Google Calendar', or set GOOGLE_REFRESH_TOKEN."
            )
        zone = zoneinfo.ZoneInfo(target.params["timezone"])
        rules = rules_from(options)
        policy = HttpPolicy.from_settings()
        tokens = Tokens(
            access_token=str(options.get("token") or ""),
            refresh_token=str(options.get("refresh_token") or ""),
            expiry=_expiry(options.get("token_expiry")),
            client_id=str(options.get("client_id") or ""),
            client_secret=str(options.get("client_secret") or ""),
            token_uri=str(options.get("token_uri") or DEFAULT_TOKEN_URI),
        )
        auth = google_client.google_credentials(tokens)
        service = google_client.calendar_service(auth, api_root(options), policy)
        # Predicted from the slot's start, where the points are stored (every zone's midnight
        # is a quarter hour: the slot is on the run's local day).
        slot = prediction.slot_start(window.now)
        start, end = horizon(slot, zone)
        # Google lists the events ending after timeMin: one that ended up to travel_minutes
        # before midnight still has the person on the way home after it.
        since = (start.astimezone(UTC) - timedelta(minutes=rules.travel_minutes)).astimezone(zone)
        events: dict[str, list[CalendarEvent]] = {}
        try:
            # People are resolved now: the account may only be known since the token renewal.
            for calendar in calendars_from(options):
                found = events.setdefault(calendar["person"], [])
                found.extend(self._events(service, calendar["id"], since, end, zone, policy))
        finally:
            # google-auth renews the access token on a 401; the new one is valid even when a
            # later call fails, and without reporting it the next run would renew again.
            _report_renewal(credentials, google_client.renewed(tokens, auth))
        current, readings = ahead.timeline(
            events, slot, window.now, end, zone, rules, target.params["site"]
        )
        # The answer says who is home at every moment from its slot's start on: what an
        # earlier answer stored there (an event deleted since) is replaced, not left beside it.
        # No point lies ahead of the clock; one the minute task wrote from the earlier answer
        # after `now` was taken, before this run held the fetch lock, goes too.
        site = {"source": PROVIDER, "provider": PROVIDER, "site": target.params["site"]}
        replaces = (Replaced(ahead.MEASUREMENT, site, slot, end),)
        return FetchResult(readings=readings, current=current, replaces=replaces)

    def current_at_read(self, config: Any, target: Target, answer: Any) -> dict | None:
        return ahead.current_value(answer)

    def current_readings(self, config: Any, target: Target, answer: Any) -> list[Reading]:
        return ahead.current_readings(answer, target.params["site"])

    def _events(self, service, calendar_id, start, end, zone, policy) -> list[CalendarEvent]:
        parsed: list[CalendarEvent] = []

        def request_for(token: str | None) -> Any:
            return service.events().list(
                calendarId=calendar_id,
                timeMin=start.isoformat(),
                timeMax=end.isoformat(),
                singleEvents=True,
                orderBy="startTime",
                eventTypes=EVENT_TYPES,
                maxResults=listing.PAGE_SIZE,
                pageToken=token,
            )

        for url, items in listing.pages(request_for, policy, "the events page"):
            for item in items:
                try:
                    event = parse_event(item, zone)
                except ValueError as exc:
                    raise malformed(PROVIDER, url, str(exc)) from None
                if event is not None:
                    parsed.append(event)
        return parsed
