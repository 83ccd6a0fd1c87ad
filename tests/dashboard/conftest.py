"""Own InfluxDB database and Redis keys per test: the collectors' fixture; one clock for the
read-time answers of a browser test; the demo site collected at that moment."""

from datetime import UTC, datetime

import pytest

from collectors import clock
from tests.collectors.conftest import isolated
from tests.support.status_home import (
    collect_all,
    create_site,
    register_awattar,
    register_electricitymaps,
)

__all__ = ["isolated"]


@pytest.fixture
def read_clock(monkeypatch) -> datetime:
    """One moment for every read-time answer of the test (the price now, windows, plans, chart
    series: `collectors.clock`), so no slot edge or deadline passes between the moment the page
    asks and the moment the test asks. Returned, to seed the data for the same moment."""
    moment = datetime.now(UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    return moment


@pytest.fixture
def collected(isolated, replay_server, read_clock):
    """The demo site (aWATTar, Electricity Maps) collected once at `read_clock`."""
    register_awattar(replay_server, read_clock)
    register_electricitymaps(replay_server, read_clock)
    site = create_site(replay_server)
    assert collect_all(site, read_clock) == {"awattar": "ok", "electricitymaps": "ok"}
    return site
