"""A site or provider config deleted in the admin while its run fetches (real PostgreSQL, Redis,
InfluxDB and the Emporia Vue's replayed answers, the meter's usage answer held until the
deletion is committed): the run ends recorded, with one WARNING line, and writes nothing for
what is gone; a config sharing its target keeps the answer."""

import logging
import threading

import pytest

from collectors import circuit_keys, pipeline, registry
from collectors.models import CircuitKey, CollectorRun
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_smart_meter import (
    EMPORIA_NOW,
    MINUTE_USAGE,
    answer_app_api,
    cognito_answers,
    emporia_config,
    emporia_routes,
    emporia_routes_without_login,
)
from tests.support.held_run import run_holding
from tests.support.isolation import own_storage

pytestmark = [pytest.mark.influxdb, pytest.mark.django_db(transaction=True)]
GONE = "was deleted during the run: its answer (15 points) is not written"


@pytest.fixture
def isolated(settings):
    with own_storage(settings, "gone") as ts:
        registry.adapter_for.cache_clear()  # no tokens or devices of another test's server
        yield ts
        registry.adapter_for.cache_clear()


def collect_deleting(replay_server, config, delete, login=False) -> pipeline.Outcome:
    """Run `config`'s collection; `delete` is called once the meter's usage (with `login`: the
    login's tokens) was asked for, before it is answered."""
    held = threading.Event()
    if login:
        cognito_answers(replay_server, "challenge", times=1)
        cognito_answers(replay_server, "tokens", times=1, held=held)
        emporia_routes_without_login(replay_server)
        asked = 2, "POST", "/cognito/"
    else:
        answer_app_api(replay_server, MINUTE_USAGE, json=replay_server.load_fixture(
            "emporia/usage_1min.json"), held=held)  # fmt: skip
        emporia_routes(replay_server)
        asked = 1, "GET", "/AppAPI"
    return run_holding(
        lambda: pipeline.collect(config, now=EMPORIA_NOW),
        lambda: len(replay_server.calls(*asked[1:])) >= asked[0], delete, held,
    )  # fmt: skip


def points(ts, settings) -> int:
    rows = ts.query(settings.INFLUXDB_DATABASE, "SELECT count(power_w) FROM /smart_meter.*/")
    return sum(r.values["count"] for r in rows)


@pytest.mark.parametrize("deleted", ["site", "provider config"])
def test_a_run_whose_site_or_config_is_deleted_writes_nothing_and_says_so(
    isolated, settings, replay_server, caplog, deleted
):
    config = ProviderConfig.objects.select_related("site").get(pk=emporia_config(replay_server).pk)
    gone = config.site if deleted == "site" else ProviderConfig.objects.get(pk=config.pk)

    with caplog.at_level(logging.INFO, logger="collectors"):
        outcome = collect_deleting(replay_server, config, gone.delete)

    said = f"provider config {config.pk} (site Vue home) {GONE}"
    assert (outcome.status, outcome.points_written, outcome.error) == ("failed", 0, said)
    run = CollectorRun.objects.get()
    assert (run.status, run.target, run.points_written) == ("failed", "vue.owner@example.com", 0)
    assert run.message == said
    assert points(isolated, settings) == 0
    assert CircuitKey.objects.count() == 0
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "collectors"]
    assert lines == [("WARNING", f"collect: smart_meter/emporia_vue vue.owner@example.com: {said}")]

    # The next run of a config made again for the meter writes its answer.
    if deleted == "site":
        site = Site.objects.create(name="Vue home", latitude=41.88, longitude=-87.63,
                                   timezone="America/Chicago")  # fmt: skip
    else:
        site = config.site
    config.pk, config.site = None, site
    config.save()
    replay_server.reset()
    emporia_routes(replay_server)
    assert pipeline.collect(config, now=EMPORIA_NOW).points_written == 15
    assert points(isolated, settings) > 0


def test_a_login_renewed_for_a_deleted_config_is_not_saved_and_the_log_says_why(
    isolated, settings, replay_server, caplog
):
    config = ProviderConfig.objects.select_related("site").get(pk=emporia_config(replay_server).pk)
    gone = ProviderConfig.objects.filter(pk=config.pk).delete

    with caplog.at_level(logging.INFO):
        outcome = collect_deleting(replay_server, config, gone, login=True)

    assert outcome.status == "failed" and outcome.points_written == 0
    assert not ProviderConfig.objects.exists()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name != "enrich.http"]
    # Before: "its secrets were cleared; the login session is not saved".
    assert lines == [
        ("INFO", f"{config}: it was deleted; the login session is not saved"),
        ("WARNING", f"collect: smart_meter/emporia_vue vue.owner@example.com: provider config "
                    f"{config.pk} (site Vue home) {GONE}"),
    ]  # fmt: skip


def test_a_config_sharing_the_target_keeps_the_answer(isolated, settings, replay_server):
    # Two sites collect one Emporia account; the config the run is for is deleted meanwhile:
    # the answer serves the other site, and is written.
    config = emporia_config(replay_server)
    other = Site.objects.create(name="Vue home 2", latitude=41.9, longitude=-87.6)
    ProviderConfig.objects.create(site=other, source=config.source, provider=config.provider,
                                  interval_seconds=300, username=config.username,
                                  password=config.password, options=config.options)  # fmt: skip

    outcome = collect_deleting(replay_server, config, config.delete)

    assert (outcome.status, outcome.points_written) == ("ok", 15)
    assert points(isolated, settings) > 0


def test_keys_given_for_a_site_deleted_meanwhile_are_not_saved(isolated):
    # A publication (or a run) gave a site's circuits keys while the site was deleted: nothing
    # is saved for it, and nothing fails (a key of no site broke the run or the publication).
    site = Site.objects.create(name="Gone", latitude=1, longitude=2)
    site_id = site.pk
    site.delete()

    circuit_keys.save(site_id, {circuit_keys.MQTT_SCOPE: {"circuit_a": '["a"]'}})

    assert CircuitKey.objects.count() == 0


@pytest.mark.parametrize("disabled", ["site", "provider config"])
def test_a_run_whose_site_or_config_is_disabled_meanwhile_writes_its_answer(
    isolated, settings, replay_server, disabled
):
    # Disabling stops the runs dispatched after it; the one fetching finishes as it went.
    config = ProviderConfig.objects.select_related("site").get(pk=emporia_config(replay_server).pk)
    switched = config.site if disabled == "site" else ProviderConfig.objects.get(pk=config.pk)

    def disable() -> None:
        switched.enabled = False
        switched.save()

    outcome = collect_deleting(replay_server, config, disable)

    assert (outcome.status, outcome.points_written) == ("ok", 15)
    assert CollectorRun.objects.get().status == "ok"
    assert points(isolated, settings) > 0
