"""Figures on the status page read one way: a single price is a price, not a range "0.1 to 0.1
EUR/kWh"; the storage a retention run freed is in the bytes the rest of the page uses (KiB,
MiB: the archive table, the storage chart), not in decimal MB next to them, and a run after
which storage grew says so instead of a negative "freed"."""

from datetime import UTC, datetime, timedelta

import pytest

from enrich.models import Site
from retention.models import RetentionRun
from tests.dashboard.browser import BROWSER_TEST, open_as_reader
from tests.support.status_home import awattar_site, hour_of

pytestmark = BROWSER_TEST


def test_one_price_slot_reads_as_one_price(
    live_server, browser, isolated, replay_server, read_clock
):
    payload = replay_server.load_fixture("awattar/marketdata_hourly.json")
    start = int(hour_of(read_clock).timestamp() * 1000)
    payload["data"] = [
        {**payload["data"][0], "start_timestamp": start, "end_timestamp": start + 3_600_000,
         "marketprice": 100.0}
    ]  # fmt: skip
    replay_server.add("GET", "/v1/marketdata", json=payload)
    awattar_site(replay_server, "Flat", read_clock)
    open_as_reader(browser, live_server.url)
    summary = browser.find_element("id", "price-summary").text
    assert summary.startswith("1 price slot from "), summary
    # "…, 0.1 to 0.1 EUR/kWh." on main
    assert ", 0.1 EUR/kWh." in summary and " to 0.1 EUR/kWh" not in summary, summary


@pytest.mark.usefixtures("isolated")
def test_storage_freed_is_in_the_pages_bytes(live_server, browser):
    Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    at = datetime.now(UTC) - timedelta(hours=2)
    for hours, freed, settled in ((0, -0.04, None), (1, 1.5, 1.5)):
        RetentionRun.objects.create(
            operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
            status=RetentionRun.Status.OK,
            started=at - timedelta(hours=hours),
            finished=at - timedelta(hours=hours) + timedelta(minutes=1),
            storage_freed_mb=freed,
            storage_settled_freed_mb=settled,
        )
    open_as_reader(browser, live_server.url)
    freed = [
        row.find_elements("tag name", "td")[5].text
        for row in browser.find_elements("css selector", "#runs-table tbody tr")
    ]
    # 40,000 bytes more after the newer run; 1,500,000 bytes freed by the older, settled.
    assert freed == ["grew by 39.1 KiB (before compaction)", "1.4 MiB (settled)"], freed
