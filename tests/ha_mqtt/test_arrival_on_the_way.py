"""The next arrival while the person is on the way home: climbing ends at 20:00 (Berlin) and,
with 30 minutes of travel, they are home at 20:30. Between the quarter-hour fetches (and when
they fail) the entities follow the predictions the last fetch made ahead: from 20:00 to 20:30
the arrival is still tonight's 20:30 (prepare time 19:30), and from 20:30 on the next one.
Before, the arrival jumped to the next away day's the minute the event ended: at 20:10 Home
Assistant showed an arrival after midnight while the person was 20 minutes from home. And
"home occupied" turned on at 20:00, half an hour before anyone could be home: it stays off
until the arrival."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.ha_mqtt import homes

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

BERLIN_2000 = datetime(2026, 5, 4, 18, 0, tzinfo=UTC)  # climbing ends


def test_the_arrival_holds_while_the_person_is_on_the_way(
    topics, subscriber, broker, settings, monkeypatch
):
    site = homes.berlin_calendar(settings)  # fetched at 08:05; none since

    def shown(now: datetime) -> tuple[str, str, str]:
        homes.publication(broker, topics, subscriber, now, monkeypatch)
        found = homes.states(subscriber, topics, site)
        return found["next_arrival_time"], found["prepare_time"], found["occupancy_prediction"]

    tonight = ("2026-05-04T20:30:00+02:00", "2026-05-04T19:30:00+02:00", "OFF")
    for minute in (-1, 0, 1, 10, 29):
        assert shown(BERLIN_2000 + timedelta(minutes=minute)) == tonight, minute
    later = shown(BERLIN_2000 + timedelta(minutes=30))
    assert later[2] == "ON" and later[0] > tonight[0]
