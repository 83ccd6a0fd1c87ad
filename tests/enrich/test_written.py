"""enrich.written: the earliest point time the collectors wrote per measurement, kept until
the reader that read it forgets it, and only if nothing was written since it read it."""

from datetime import UTC, datetime, timedelta

import pytest

from enrich.readings import Reading
from enrich.written import forget, note_written, written_since

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 4, tzinfo=UTC)


def point(measurement: str, hours: float) -> Reading:
    return Reading(measurement, {"value": 1.0}, T0 + timedelta(hours=hours), {})


def test_the_earliest_time_written_per_measurement_is_noted():
    assert written_since("electricity_pricing_forecast") is None
    note_written([point("electricity_pricing_forecast", 5), point("carbon_intensity", 2),
                  point("electricity_pricing_forecast", -30)])  # fmt: skip
    note_written([point("electricity_pricing_forecast", 1)])  # later: the earliest stays

    assert written_since("electricity_pricing_forecast").earliest == T0 - timedelta(hours=30)
    assert written_since("carbon_intensity").earliest == T0 + timedelta(hours=2)
    note_written([point("carbon_intensity", -72)])  # a backfill
    assert written_since("carbon_intensity").earliest == T0 - timedelta(hours=72)


def test_a_note_is_forgotten_only_when_nothing_was_written_since_it_was_read():
    note_written([point("electricity_pricing_forecast", -30)])
    read = written_since("electricity_pricing_forecast")
    # Written while the reader computed: its points may have come after the reader's reads.
    note_written([point("electricity_pricing_forecast", 3)])
    forget(read)
    assert written_since("electricity_pricing_forecast").earliest == read.earliest

    forget(written_since("electricity_pricing_forecast"))
    assert written_since("electricity_pricing_forecast") is None
