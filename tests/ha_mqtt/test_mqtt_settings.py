"""The MQTT settings: off by default, a wrong value stops the process at start naming it."""

import pytest

from tests.support.startup import load_settings, refused_start


@pytest.mark.parametrize(
    "overrides, named",
    [
        (
            {"MQTT_URL": "tcp://enrich:s3cret@broker:1883"},
            "MQTT_URL='broker:1883' must start with mqtt://",
        ),
        (
            {"MQTT_URL": "mqtt://"},
            "MQTT_URL='mqtt://' must start with mqtt:// or mqtts:// and name a host",
        ),
        # Started, then every publication failed with "invalid port" (or, for port 0, went
        # to 1883): docs/home_assistant.md says anything else stops enrich at start.
        ({"MQTT_URL": "mqtt://enrich:s3cret@broker:99999"}, "'broker:99999' has an invalid port"),
        ({"MQTT_URL": "mqtts://enrich:s3cret@broker:tls"}, "'broker:tls' has an invalid port"),
        ({"MQTT_URL": "mqtt://broker:0"}, "MQTT_URL='mqtt://broker:0' has an invalid port"),
        ({"MQTT_URL": "mqtt://[::1"}, "MQTT_URL='mqtt://[::1' must start with mqtt:// or mqtts://"),
        # Started, then each minute's publication failed to resolve the host.
        (
            {"MQTT_URL": "mqtt://home assistant.local:1883"},
            "MQTT_URL='mqtt://home assistant.local:1883' must start with mqtt:// or mqtts:// and",
        ),
        ({"MQTT_URL": "mqtts://broker?tls=1"}, "MQTT_URL='mqtts://broker?tls=1' names a path"),
        ({"MQTT_URL": "mqtt://broker:1883#enrich"}, "'mqtt://broker:1883#enrich' names a path"),
        (
            {"MQTT_CHEAPEST_WINDOW_HOURS": "25"},
            "MQTT_CHEAPEST_WINDOW_HOURS=25 must be a whole number of minutes from one minute",
        ),
        # Plans are made in whole minutes: 1.01 h (60.6 min) or 36 s was planned as given.
        (
            {"MQTT_CHEAPEST_WINDOW_HOURS": "1.01"},
            "MQTT_CHEAPEST_WINDOW_HOURS=1.01 must be a whole number of minutes",
        ),
        (
            {"MQTT_CHEAPEST_WINDOW_HOURS": "0.01"},
            "MQTT_CHEAPEST_WINDOW_HOURS=0.01 must be a whole number of minutes",
        ),
        ({"MQTT_CHEAPEST_WINDOW_HOURS": "two"}, "MQTT_CHEAPEST_WINDOW_HOURS='two' is not a number"),
        (
            {"MQTT_OFFLINE_AFTER_SECONDS": "0"},
            "MQTT_OFFLINE_AFTER_SECONDS=0 must be between 1 and 86400",
        ),
        # paho refused every publication under these ("Publish topic cannot contain
        # wildcards") and Home Assistant never saw an entity; now enrich does not start.
        ({"MQTT_TOPIC_ROOT": "enrich/#"}, "MQTT_TOPIC_ROOT='enrich/#' must not contain"),
        (
            {"MQTT_DISCOVERY_PREFIX": "homeassistant/+"},
            "MQTT_DISCOVERY_PREFIX='homeassistant/+' must not contain the MQTT wildcards",
        ),
        ({"MQTT_DISCOVERY_PREFIX": "/"}, "MQTT_DISCOVERY_PREFIX is empty"),
        # Started, and published to "/status" and "/site_1/<key>/state" under unique ids
        # "_site_1_<key>".
        ({"MQTT_TOPIC_ROOT": ""}, "MQTT_TOPIC_ROOT is empty: set it to the root of enrich's"),
        ({"MQTT_TOPIC_ROOT": "//"}, "MQTT_TOPIC_ROOT is empty"),
    ],
)
def test_bad_mqtt_setting_fails_at_start_naming_it(overrides, named):
    stderr = refused_start(**overrides)
    assert named in stderr
    assert "s3cret" not in stderr  # the password is never shown


def test_mqtt_is_off_by_default_and_accepts_a_broker_url():
    assert load_settings().returncode == 0
    assert load_settings(MQTT_URL="mqtts://enrich:pw@homeassistant.local:8883").returncode == 0
    # A lone "/" after the address names no path, as mqtt_remove_entities takes it in --url.
    assert load_settings(MQTT_URL="mqtt://homeassistant.local:1883/").returncode == 0


def test_a_topic_written_in_mqtt_url_stops_the_start_as_mqtt_remove_entities_refuses_it():
    """It started and published under MQTT_DISCOVERY_PREFIX and MQTT_TOPIC_ROOT, whatever the
    topic written after the port said; `mqtt_remove_entities --url` refused the same URL."""
    stderr = refused_start(MQTT_URL="mqtt://enrich:s3cret@broker:1883/homeassistant/#")
    assert (
        "ImproperlyConfigured: MQTT_URL='broker:1883/homeassistant/#' names a path or query: a "
        "broker's URL has none (the topics are MQTT_DISCOVERY_PREFIX's and MQTT_TOPIC_ROOT's); "
        "give it without, e.g. mqtt://user:password@homeassistant.local:1883."
    ) in stderr
    assert "s3cret" not in stderr
