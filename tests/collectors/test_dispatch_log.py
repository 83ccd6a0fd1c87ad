"""Beat's dispatch logs how many collect tasks it sent in words: "1 collect task", not
"1 collect task(s) for 1 target(s)" (one number said twice: a task per target)."""

import logging

import pytest

from collectors import tasks
from config.celery import app
from enrich.models import Site
from tests.support import configs


@pytest.fixture
def queue():
    """The collectors queue of this test's Redis database, emptied after the test: the
    dispatch sends real tasks to the broker, and no worker takes them here."""
    yield
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("collectors")


@pytest.mark.django_db
def test_dispatch_counts_its_collect_tasks_in_words(isolated, replay_server, queue, caplog):
    caplog.set_level(logging.INFO, logger="collectors")
    assert tasks.dispatch("air_quality") == 0
    site = Site.objects.create(name="Seattle", latitude=47.6021, longitude=-122.3290)
    configs.airnow(site, replay_server.url)
    assert tasks.dispatch("air_quality") == 1
    far = Site.objects.create(name="far", latitude=40.0, longitude=-105.0)
    configs.airnow(far, replay_server.url)
    assert tasks.dispatch("air_quality") == 2
    said = [m for m in caplog.messages if m.startswith("dispatch: ")]
    assert said == [
        "dispatch: air_quality: 0 collect tasks sent, one per target",
        "dispatch: air_quality: 1 collect task sent, one per target",
        "dispatch: air_quality: 2 collect tasks sent, one per target",
    ]
