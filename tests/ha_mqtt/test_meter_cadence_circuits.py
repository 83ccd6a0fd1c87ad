"""A meter account collected at a lowered cadence (collectors.cadence: six Emporia Vues within
2,000 requests a day are fetched every second 5-minute run, within 1,000 every third) keeps its
circuits' Home Assistant entities fresh between two fetches, as its whole-home power: they are
read with its answer, stale once the fetch the cadence planned brought nothing newer. They
turned stale once their data was twice the cache time (600 s) old: a minute before each
fetch at a 10-minute cadence, five minutes of every fifteen at a 15-minute one, with Emporia
answering every call."""

import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta

import pytest

from collectors import pipeline, registry
from collectors.ha_mqtt.publisher import publish_all
from collectors.models import CollectorRun
from tests.collectors import scenarios_smart_meter as scenarios

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

MINUTE = timedelta(minutes=1)
START = datetime(2026, 5, 1, 14, 6, 10, tzinfo=UTC)  # the usage answer's minute is 14:05
CYCLES = 3


def minute_answer(server, instant: datetime) -> dict:
    answer = deepcopy(server.load_fixture("emporia/usage_1min_six_vues.json"))
    answer["deviceListUsages"]["instant"] = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    return answer


def published(broker, topics, subscriber, site, now: datetime) -> dict[str, dict]:
    """Publish for `now`; {entity key: attributes} of the site's circuit entities."""
    assert publish_all(broker, topics, now=now)["status"] == "ok"
    assert subscriber.caught_up(broker)
    base = f"{topics.root}/site_{site.pk}/"
    shown = {
        topic.removeprefix(base).split("/")[0]: json.loads(payload)
        for topic, payload in subscriber.messages.items()
        if topic.startswith(f"{base}circuit_") and topic.endswith("/attributes") and payload
    }
    assert len(shown) == 6, now  # each Vue's heater
    return shown


# (budget, minutes between fetches, the lowered interval the runs record)
@pytest.mark.parametrize(
    ("budget", "every", "lowered"), [("2000/day", 10, 6), ("1000/day", 15, 12)]
)
def test_circuits_stay_fresh_at_a_lowered_cadence_until_a_planned_fetch_fails(
    topics, subscriber, broker, replay_server, settings, budget, every, lowered
):
    config = scenarios.six_vues(replay_server, budget)
    fetches = [START + k * every * MINUTE for k in range(CYCLES + 1)]
    for fetched in fetches[1:]:  # each fetch's usage answer is of its last complete minute
        answer = minute_answer(replay_server, fetched.replace(second=0) - MINUTE)
        replay_server.add("GET", "/AppAPI", query=scenarios.MINUTE_USAGE, json=answer)
    try:
        # Beat's run every 5 minutes and the publication every minute, for CYCLES cycles.
        for minute in range(CYCLES * every):
            now = START + minute * MINUTE
            if minute % 5 == 0:
                status = pipeline.collect(config, now=now).status
                assert status == ("ok" if now in fetches else "budget"), now
            shown = published(broker, topics, subscriber, config.site, now)
            assert not [key for key, about in shown.items() if about["stale"]], now
        skipped = CollectorRun.objects.filter(status="budget").first()
        assert skipped.served.startswith(f"cadence lowered to every {lowered} min")
        # The data the entities show is of the last fetch, 14:05 + CYCLES cycles: not older.
        newest = (fetches[-2].replace(second=0) - MINUTE).isoformat()
        assert {about["data_time"] for about in shown.values()} == {newest}

        # The next planned fetch fails: the circuits are stale from then on.
        settings.HTTP_MAX_RETRIES = 0
        replay_server.reset()
        replay_server.add("GET", "/AppAPI", status=503, body="down")
        replay_server.add("GET", "/customers/devices", status=503, body="down")
        now = fetches[-1]
        assert pipeline.collect(config, now=now).status == "failed"
        for later in (now, now + MINUTE, now + 5 * MINUTE):
            shown = published(broker, topics, subscriber, config.site, later)
            assert [about["stale"] for about in shown.values()] == [True] * 6, later
    finally:
        registry.adapter_for.cache_clear()


def test_circuits_turn_stale_when_the_planned_fetch_never_comes(
    topics, subscriber, broker, replay_server
):
    """Beat stopped after the skipped run: stale the collect task's time limit (150 s) after
    the fetch that was due, as the whole-home power."""
    config = scenarios.six_vues(replay_server, "2000/day")
    try:
        assert pipeline.collect(config, now=START).status == "ok"
        assert pipeline.collect(config, now=START + 5 * MINUTE).status == "budget"
        due = START + 10 * MINUTE + timedelta(seconds=pipeline.RUN_TIME_LIMIT_SECONDS)
        for now, stale in ((due - MINUTE, False), (due, True)):
            shown = published(broker, topics, subscriber, config.site, now)
            assert [about["stale"] for about in shown.values()] == [stale] * 6, now
    finally:
        registry.adapter_for.cache_clear()
