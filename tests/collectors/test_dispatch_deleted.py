"""A provider config deleted in the admin while beat's dispatch reads the configs (real
PostgreSQL and the Redis broker): the dispatch still sends a collect for every other target,
and a target the deleted config shared goes to the next config sharing it."""

import logging

import pytest

from collectors import sharing, tasks
from collectors.models import CollectorRun
from config.celery import app
from enrich.models import ProviderConfig, Site

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """The collectors queue of this test's Redis database, emptied after the test."""
    yield
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("collectors")


def carbon(name: str, region: str) -> ProviderConfig:
    site = Site.objects.create(name=name, latitude=52.5, longitude=13.4, grid_region=region)
    return ProviderConfig.objects.create(site=site, source="carbon_intensity",
                                         provider="electricitymaps", api_key="em-key")  # fmt: skip


def deleting_while_read(monkeypatch, *gone: ProviderConfig) -> None:
    """`gone` are deleted once dispatch has read the first config's row (the first time)."""
    read, pks = sharing.keyed_rows, [config.pk for config in gone]

    def rows(source, provider=None):
        for n, row in enumerate(read(source, provider)):
            yield row
            if n == 0 and pks:
                ProviderConfig.objects.filter(pk__in=pks).delete()
                pks.clear()

    monkeypatch.setattr(sharing, "keyed_rows", rows)


def test_configs_deleted_while_dispatch_reads_them_leave_the_others_collected(
    isolated, queue, monkeypatch, caplog
):
    berlin, paris, paris_too, amsterdam = (carbon("Berlin", "DE"), carbon("Paris", "FR"),
                                           carbon("Paris 2", "FR"), carbon("Amsterdam", "NL"))  # fmt: skip
    deleting_while_read(monkeypatch, paris, amsterdam)
    # Before: KeyError, and no collect was sent for any site that cycle.
    chosen = tasks.configs_by_target("carbon_intensity")
    assert {key: config.pk for (_, key), config in chosen.items()} == {
        "DE": berlin.pk,
        "FR": paris_too.pk,  # Paris's target, shared
    }

    deleting_while_read(monkeypatch, berlin)
    with caplog.at_level(logging.INFO, logger="collectors"):
        assert tasks.dispatch("carbon_intensity") == 1
    assert caplog.messages == ["dispatch: carbon_intensity: 1 collect task sent, one per target"]


def test_a_meter_config_read_whole_or_failing_deleted_meanwhile_is_passed_over(monkeypatch):
    # A config with a saved login session is loaded whole to find its target, one that cannot
    # be collected to record its failure: deleted since its row was read, dispatch went on
    # with neither (ProviderConfig.DoesNotExist, no collect sent that cycle).
    def meter(name: str, **login) -> ProviderConfig:
        site = Site.objects.create(name=name, latitude=52.5, longitude=13.4)
        return ProviderConfig.objects.create(site=site, source="smart_meter", provider="sense",
                                             **login)  # fmt: skip

    kept = meter("Kept", username="me@example.org", password="secret",
                 session='{"access_token": "t", "monitor_id": 7}')  # fmt: skip
    deleted = meter("Deleted", username="you@example.org", password="secret",
                    session='{"access_token": "u", "monitor_id": 8}')  # fmt: skip
    without_login = meter("No login")
    deleting_while_read(monkeypatch, deleted, without_login)

    assert list(tasks.configs_by_target("smart_meter").values()) == [kept]
    assert not CollectorRun.objects.exists()
