"""Own InfluxDB database and Redis keys per test: the collectors' fixture; one clock for the
read-time answers of a browser test."""

from datetime import UTC, datetime

import pytest

from collectors import clock
from tests.collectors.conftest import isolated

__all__ = ["isolated"]


@pytest.fixture
def read_clock(monkeypatch) -> datetime:
    """One moment for every read-time answer of the test (the price now, windows, plans, chart
    series: `collectors.clock`), so no slot edge or deadline passes between the moment the page
    asks and the moment the test asks. Returned, to seed the data for the same moment."""
    moment = datetime.now(UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    return moment
