"""Fixtures of the materialized-view tests: view locks under a prefix of the test's own, an
enrichment database for the prices and carbon the views read, and for the tests of the
follow-up of registry changes on a real worker: empty Celery queues, a broker out of reach."""

import uuid
from collections.abc import Iterator

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from tests.retention.conftest import at
from tests.support.broker import broker_down, empty_queues  # noqa: F401  (fixtures)
from tests.support.isolation import fresh_database


@pytest.fixture(autouse=True)
def own_locks(settings):
    """A Redis key prefix of this test's own: the view locks of another (or a killed) test
    run must not make this one's refreshes skip."""
    settings.REDIS_KEY_PREFIX = f"test-views-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def enrich_db(settings) -> Iterator[str]:
    """A fresh enrichment database (prices, carbon) named by INFLUXDB_DATABASE."""
    settings.ENERGY_FLAT_TARIFF = None
    settings.ENERGY_FLAT_TARIFF_CURRENCY = "EUR"
    settings.TIME_ZONE = "UTC"
    with fresh_database("enrich") as settings.INFLUXDB_DATABASE:
        yield settings.INFLUXDB_DATABASE


def write_prices(db: str, slots: list[tuple[float, int, float]], provider: str = "awattar"):
    """slots: (start seconds after T0, minutes, EUR/kWh)."""
    tags = {"provider": provider, "region": "DE", "currency": "EUR"}
    get_timeseries().write(
        db,
        [
            Reading(
                "electricity_pricing_forecast",
                {"price": price, "slot_minutes": float(minutes)},
                at(start),
                tags,
            )
            for start, minutes, price in slots
        ],
    )
