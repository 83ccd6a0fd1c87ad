"""Each enum entity's `options`, as a real Mosquitto broker carries its discovery config, are
exactly the states it publishes: Home Assistant logs a state that is not among them, and an
option that never comes misleads an automation written for it. The last retention run's
status listed `dry_run` and `skipped`, which it never publishes (such runs are left out)."""

import json
from datetime import UTC, datetime

import pytest

from collectors.ha_mqtt.publisher import publish_all
from retention.models import RetentionRun
from tests.collectors import scenarios_air_quality
from tests.ha_mqtt import homes

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


def _published(subscriber, broker, topics, site, key: str) -> tuple[list[str], str | None]:
    """The options of entity `key` and its state, once all that was published arrived."""
    assert subscriber.caught_up(broker)
    node = f"{topics.root}_site_{site.pk}"
    config = json.loads(
        subscriber.messages[f"{topics.discovery_prefix}/sensor/{node}/{key}/config"]
    )
    return config["options"], subscriber.messages.get(f"{topics.root}/site_{site.pk}/{key}/state")


def test_the_last_run_status_options_are_the_statuses_it_publishes(
    topics, subscriber, broker, settings
):
    site = homes.home()
    published, listed = set(), set()
    for minute, status in enumerate(RetentionRun.Status.values):  # each the newest run in turn
        started = datetime(2026, 12, 1, 2, minute, tzinfo=UTC)
        RetentionRun.objects.create(operation="archive", status=status, started=started)
        publish_all(broker, topics)
        options, state = _published(subscriber, broker, topics, site, "last_retention_run_status")
        assert state in options, (status, state, options)
        published.add(state)
        listed.update(options)
    assert published == listed == {"running", "ok", "failed"}


# A reporting area's PM2.5 AQI in each EPA category (the other pollutants are lower).
AQI_OF_CATEGORY = (25, 75, 125, 175, 250, 400)


def test_the_air_quality_category_options_are_the_categories_it_publishes(
    topics, subscriber, broker, settings
):
    site = homes.home()
    config = homes.airnow_config(site)
    published, listed = set(), set()
    for aqi in AQI_OF_CATEGORY:

        def airnow(server, aqi=aqi):
            answer = scenarios_air_quality.airnow(server)  # its site, credentials and time
            server.reset()
            fixture = server.load_fixture("airnow/observation_current.json")
            fixture[0]["nowcastAQI"] = aqi  # PM2.5
            server.add("GET", scenarios_air_quality.AIRNOW_CURRENT_PATH, json=fixture)
            return answer

        assert homes.collect(config, airnow).status == "ok"
        publish_all(broker, topics)
        options, state = _published(subscriber, broker, topics, site, "aqi_category")
        assert state in options, (aqi, state, options)
        published.add(state)
        listed.update(options)
    assert published == listed and len(published) == len(AQI_OF_CATEGORY)
