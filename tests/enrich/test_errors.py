"""Every error a door raises says whether trying again can help, and retries read only that."""

import inspect

import pytest

from enrich.errors import Permanent, Transient
from enrich.http import errors as http
from enrich.influx import errors as timeseries
from enrich.mqtt import broker as mqtt_broker
from enrich.mqtt import retained as mqtt_retained
from enrich.redis import cache
from enrich.redis import client as redis_client
from retention.archive import store
from retention.archive import target as archive_target
from retention.entities import discovery

DOORS = (http, timeseries, redis_client, cache, store, mqtt_broker, mqtt_retained)


def door_errors() -> list[type[BaseException]]:
    found = []
    for module in DOORS:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


# Base classes that group a door's errors; what they are raised as is one of their subclasses.
BASES = {
    http.HttpError,
    timeseries.TimeseriesError,
    store.StorageError,
    mqtt_retained.RetainedReadError,
}


@pytest.mark.parametrize("cls", door_errors(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_each_door_error_is_either_transient_or_permanent(cls):
    if cls in BASES:
        assert not issubclass(cls, Transient | Permanent), cls
        return
    assert issubclass(cls, Transient) != issubclass(cls, Permanent), cls


# What a retry can cure, and what it cannot; one line a door.
TRANSIENT = [
    http.TransientError, http.RateLimitedError,
    timeseries.InfluxUnavailable,
    redis_client.RedisUnavailable,
    store.StorageUnavailable,
    mqtt_retained.BrokerOutOfReach,
]  # fmt: skip
PERMANENT = [
    http.AuthError, http.MalformedResponse,
    timeseries.InfluxAuthError, timeseries.InfluxQueryError, timeseries.InfluxWriteError,
    store.StorageRefused,
    mqtt_broker.BadMqttUrl, mqtt_retained.BrokerRefused,
    archive_target.ArchiveNotConfigured,
    discovery.DiscoveryError,
]  # fmt: skip


@pytest.mark.parametrize(
    "cls, transient", [(cls, True) for cls in TRANSIENT] + [(cls, False) for cls in PERMANENT]
)
def test_what_is_worth_retrying(cls, transient):
    assert issubclass(cls, Transient) is transient
    assert issubclass(cls, Permanent) is not transient
