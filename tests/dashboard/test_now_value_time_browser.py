"""The Now table tells the time a value is of from the time it was fetched: a price slot that
began 40 minutes ago and a carbon value of three hours ago, both fetched seconds ago. Its one
"Age" column showed the fetch's age ("19 s") for both, which a user reads as how old the value
is."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collectors import clock
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support import status_home as home

pytestmark = BROWSER_TEST


def shown(browser, moment: datetime, weekday: str | None = "short") -> str:
    """`moment` as the page writes a time (weekday, hour) on the home's (Berlin's) clock; with
    `weekday` None the hour only (a slot's end on its start's day)."""
    return browser.execute_script(
        "return new Date(arguments[0]).toLocaleString([], {timeZone: 'Europe/Berlin',"
        " weekday: arguments[1] || undefined, hour: '2-digit', minute: '2-digit'});",
        moment.isoformat(),
        weekday,
    )


def test_the_now_table_shows_the_time_of_the_value_and_of_the_fetch(
    live_server, browser, isolated, replay_server, monkeypatch
):
    # 40 minutes into the last hour: the price slot running began 40 minutes before.
    now = home.hour_of(datetime.now(UTC)) - timedelta(minutes=20)
    monkeypatch.setattr(clock, "utc_now", lambda: now)
    slot = home.hour_of(now)
    home.register_awattar(replay_server, now)
    measured = slot - timedelta(hours=3)  # Electricity Maps' latest value: of 3 hours ago
    home.register_electricitymaps(replay_server, measured)
    site = home.create_site(replay_server)
    site.providers.filter(provider="electricitymaps").update(
        options={"base_url": replay_server.url, "forecast": False}
    )  # no stored forecast slot to serve instead: the fetched value is served as it is
    assert home.collect_all(site)["awattar"] == "ok"  # fetched now (the wall clock)

    open_as_reader(browser, live_server.url)
    headers = [th.text for th in browser.find_elements("css selector", "#now-table thead th")]
    assert headers[2:5] == ["Value", "Value of", "Fetched"]

    def cells(provider: str) -> tuple[str, str]:
        row = f"tr[data-provider={provider}]"
        return tuple(
            browser.find_element("css selector", f"{row} td.{name}").text
            for name in ("value-time", "fetched")
        )

    value_of, fetched = cells("awattar")
    end = slot + timedelta(hours=1)
    berlin = ZoneInfo("Europe/Berlin")
    same_day = slot.astimezone(berlin).date() == end.astimezone(berlin).date()
    running = f"{shown(browser, slot)} to {shown(browser, end, None if same_day else 'short')}"
    assert value_of == f"{running}, running now"
    assert re.fullmatch(r"[0-9]+ s ago", fetched), fetched

    value_of, fetched = cells("electricitymaps")
    assert value_of == f"{shown(browser, measured)}, 3.7 h ago"  # 3 h 40 min before now
    assert re.fullmatch(r"[0-9]+ s ago", fetched), fetched
