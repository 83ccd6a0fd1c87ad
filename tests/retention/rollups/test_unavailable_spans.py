"""An entity unavailable in Home Assistant is a gap, not its last value held for days.

A plug at 100 W is unavailable for 3 days (from 12:00 on the 4th to 12:00 on the 7th), then
back at 0 W, at 200 W from 18:00. The official InfluxDB integration writes no point for the
unavailable state: only Home Assistant's recorder (`GET /api/history/period`, replayed by the
local server from HA's documented answer form, window by window) knows it. With HA_URL and
HA_TOKEN the spans are recorded and the views, the raw -> hourly tier and the series API take
them as the HA Ingestor layout's gap point: a twin written by the Ingestor, gap point
included, is the reference. The real PostgreSQL and InfluxDB throughout."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from config.schedule import SCHEDULE
from retention.entities.ha_gaps import record_unavailable
from retention.models import DailyEnergyByDevice, Entity, UnavailableSpan
from retention.rollups.materialized import ENERGY, rebuild_view, refresh_view
from retention.tiers import runner as tiers
from retention.tiers.rows import HOURLY_RP, read_rows
from tests.retention.conftest import T0, HaDatabase
from tests.support.ha_history import Recorder, asked, period, stamp, windows

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
D0 = T0.date()  # 2024-03-04
NOW = T0 + 5 * DAY  # when the spans are read: the recorder keeps the 10 days before
# The first read's start: the oldest raw day the raw -> hourly run still takes (7 days, the
# day itself and the 2 h late margin before NOW), not the recorder's 10 days.
FIRST = T0 - 4 * DAY
AFTER = T0 + 10 * DAY  # "now" for the views: every day closed
GONE, BACK, HIGH = 12 * 3600, 3 * 86400 + 12 * 3600, 3 * 86400 + 18 * 3600
PLUG, TWIN = "sensor.plug_power", "sensor.twin_power"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


HISTORY = period(FIRST)
# The plug's states in Home Assistant's recorder (Home Assistant answers each window the state
# in force at its start, then each change: tests.support.ha_history).
STATES = [
    (NOW - 10 * DAY, "100.0"),
    (T0 + timedelta(seconds=GONE), "unavailable"),
    (T0 + timedelta(seconds=BACK), "0.0"),
    (T0 + timedelta(seconds=HIGH), "200.0"),
]


@pytest.fixture
def ha(settings, replay_server):
    settings.HA_URL, settings.HA_TOKEN = replay_server.url, "long-lived-token"
    settings.HTTP_BACKOFF_SECONDS = 0.0
    return replay_server


def served(ha, start: datetime = FIRST, now: datetime = NOW, states=STATES) -> None:
    Recorder(ha, {PLUG: states}).serve(start, now)


@pytest.fixture
def plugs(ha_db: HaDatabase):
    """The plug (official layout: no point while unavailable) and its Ingestor twin."""
    ha_db.saved_entity("official", PLUG, [(-86400, 100), (BACK, 0), (HIGH, 200)], unit="W")
    ha_db.saved_entity(
        "ingestor", TWIN, [(-86400, 100), (GONE, "unavailable"), (BACK, 0), (HIGH, 200)], unit="W"
    )


def recorded() -> list[tuple[datetime, datetime | None]]:
    return list(UnavailableSpan.objects.values_list("start", "end"))


def energy(entity_id: str) -> dict:
    rows = DailyEnergyByDevice.objects.filter(entity_id=entity_id, date__gte=D0)
    return {row.date: (round(row.total_kwh, 9), row.avg_power, row.peak_power) for row in rows}


def hours(entity_id: str) -> dict:
    found = read_rows(HOURLY_RP, T0, T0 + 5 * DAY, entity_id).get(entity_id, [])
    return {row.start: row.fields for row in found}  # with the carry-in fields


def test_the_spans_home_assistant_recorded_are_read_every_15_minutes(ha, plugs):
    served(ha)

    report = record_unavailable(now=NOW)

    read = windows(FIRST, NOW)  # 6 hours of history a call, from FIRST to NOW
    assert (read[0], read[-1][1]) == ((FIRST, FIRST + 6 * HOUR), NOW)
    progress = f"read up to {stamp(NOW)} for 1 entity"  # the official layout's only
    assert report == {"asked": 1, "changed": 1, "calls": len(read), "behind": 0,
                      "progress": progress, "error": ""}  # fmt: skip
    spans = UnavailableSpan.objects.values_list("entity_id", "start", "end", "state")
    assert list(spans) == [
        (PLUG, T0 + timedelta(seconds=GONE), T0 + timedelta(seconds=BACK), "unavailable")
    ]
    assert {call.headers["Authorization"] for call in ha.calls("GET")} == {
        "Bearer long-lived-token"
    }
    assert asked(ha) == [(start, end, (PLUG,)) for start, end in read]
    assert ha.calls("GET")[-1].query["end_time"] == NOW.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    entry = next(e for e in SCHEDULE if e.task == "retention.record_unavailable")
    assert entry.every_seconds == 900


def test_the_entity_page_lists_its_spans(ha, plugs, admin_client, settings):
    settings.TIME_ZONE = "UTC"
    served(ha)
    record_unavailable(now=NOW)
    plug = Entity.objects.get(entity_id=PLUG)

    page = admin_client.get(reverse("admin:retention_entity_change", args=[plug.pk]))

    assert "unavailable from 2024-03-04 12:00:00 to 2024-03-07 12:00:00" in page.text
    twin = Entity.objects.get(entity_id=TWIN)
    page = admin_client.get(reverse("admin:retention_entity_change", args=[twin.pk]))
    assert "none recorded" in page.text


def test_the_views_count_no_energy_while_it_was_unavailable(ha, plugs, enrich_db):
    served(ha)
    record_unavailable(now=NOW)

    rebuild_view(ENERGY, D0, D0 + 3 * DAY, now=AFTER)

    plug = energy(PLUG)
    # The 4th: 100 W until 12:00 (held across the 3 days before: 7.2 kWh more); the 5th and
    # 6th unknown; the 7th 0 W from 12:00, 200 W from 18:00: 100 W over the 12 h known.
    assert plug[D0] == (1.2, pytest.approx(100), 100)
    assert D0 + DAY not in plug and D0 + 2 * DAY not in plug
    assert plug[D0 + 3 * DAY] == (1.2, pytest.approx(100), 200)
    assert plug == energy(TWIN)


def test_the_hourly_tier_and_the_views_from_it_agree_with_a_gap_point(ha, plugs, enrich_db):
    served(ha)
    record_unavailable(now=NOW)

    run = tiers.downsample_hourly(D0 - DAY, D0 + 4 * DAY)

    assert run.status == "ok", run.errors
    plug, twin = hours(PLUG), hours(TWIN)
    gone = T0 + 12 * HOUR
    assert plug[gone - HOUR]["coverage_seconds"] == 3600 and plug[gone - HOUR]["avg_value"] == 100
    # The hour it went: nothing known from 12:00, and no point (the twin's is its gap_count).
    assert (plug[gone]["coverage_seconds"], plug[gone]["sample_count"], plug[gone]["gap_count"],
            plug[gone]["carry_gap"]) == (0, 0, 0, 1)  # fmt: skip
    assert (twin[gone]["gap_count"], twin[gone]["carry_gap"]) == (1, 1)
    assert not [start for start in plug if T0 + 13 * HOUR <= start < T0 + 3 * DAY + 12 * HOUR]
    assert sum(row.get("total_energy", 0) for row in plug.values()) == pytest.approx(1.2 + 1.2)
    back = T0 + 3 * DAY + 12 * HOUR
    assert [plug[back + n * HOUR]["avg_value"] for n in (0, 6)] == [0, 200]
    assert sum(row["coverage_seconds"] for row in plug.values()) == 24 * 3600
    for start, row in twin.items():
        expected = {**row, "gap_count": 0}
        assert {**plug[start], "gap_count": 0} == expected, start
    assert plug.keys() == twin.keys()
    # Raw deleted: the views rebuild the days from the hourly rows, to the same figures.
    rebuild_view(ENERGY, D0, D0 + 3 * DAY, now=AFTER)
    assert energy(PLUG)[D0] == (1.2, pytest.approx(100), 100)
    assert energy(PLUG) == energy(TWIN)


def test_the_series_api_shows_the_gap_as_the_ingestor_layout_does(ha, plugs):
    served(ha)
    record_unavailable(now=NOW)
    user = get_user_model().objects.create_user("gaps", password="pw-gaps-123")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    window = {"start": T0.isoformat(), "end": (T0 + 4 * DAY).isoformat()}

    plug = api.get("/api/series", {"entity_id": PLUG, **window}).json()["segments"]
    twin = api.get("/api/series", {"entity_id": TWIN, **window}).json()["segments"]

    assert [segment["resolution"] for segment in plug] == ["raw"]
    gap = {"time": iso(T0 + 12 * HOUR), "value": None, "state": None, "attributes": {}}
    assert plug[0]["points"][0] == gap
    assert plug[0]["points"] == twin[0]["points"]


def test_without_ha_url_or_with_a_refused_token_nothing_changes(ha, plugs, enrich_db, settings,
                                                                caplog):  # fmt: skip
    ha.add("GET", HISTORY, status=401, json={"message": "Invalid authentication"})
    with caplog.at_level(logging.ERROR, logger="retention.entities.ha_gaps"):
        report = record_unavailable(now=NOW)
    assert "refused the token (HTTP 401)" in report["error"]
    assert "refused the token" in caplog.text
    settings.HA_URL = ""
    assert record_unavailable(now=NOW) == {
        "asked": 0, "changed": 0, "calls": 0, "behind": 0, "progress": "", "error": ""
    }  # fmt: skip
    assert len(ha.calls("GET", HISTORY)) == 1
    assert not UnavailableSpan.objects.exists()

    rebuild_view(ENERGY, D0, D0 + 3 * DAY, now=AFTER)

    # InfluxDB alone: 100 W holds across the 3 days (the limitation docs/storage.md names).
    assert [energy(PLUG)[D0 + n * DAY][0] for n in range(4)] == [2.4, 2.4, 2.4, 2.4]


def test_a_span_still_open_is_closed_by_the_next_read_and_the_refresh_reaches_back_to_it(
    ha, plugs, enrich_db
):
    refresh_view(ENERGY, now=AFTER)  # before anything was recorded: 100 W held
    assert energy(PLUG)[D0 + DAY][0] == 2.4
    first = T0 + 2 * DAY  # the plug still unavailable when its history is first read
    served(ha, T0 - 7 * DAY, first, STATES[:2])  # the oldest raw day then: 8 days 2 h before
    record_unavailable(now=first)
    assert recorded() == [(T0 + 12 * HOUR, None)]
    # The next read from where the first got to (5 minutes before, a late commit still seen):
    # Home Assistant stamps the state in force then (unavailable) with that time.
    since = first - timedelta(minutes=5)
    served(ha, since, NOW)
    read = windows(since, NOW)
    assert record_unavailable(now=NOW) == {
        "asked": 1, "changed": 1, "calls": len(read), "behind": 0,
        "progress": f"read up to {stamp(NOW)} for 1 entity", "error": "",
    }  # fmt: skip
    assert asked(ha)[-len(read) :] == [(start, end, (PLUG,)) for start, end in read]
    assert read[0] == (since, since + 6 * HOUR)

    assert recorded() == [(T0 + 12 * HOUR, T0 + 3 * DAY + 12 * HOUR)]
    refresh_view(ENERGY, now=AFTER + HOUR)  # 6 h of late margin, and back to the span

    plug = energy(PLUG)
    assert (plug[D0][0], plug[D0 + 3 * DAY][0]) == (1.2, 1.2)
    assert plug == energy(TWIN)
