"""One contract, every adapter: each provider in the registry runs against its replayed
fixtures (tests/collectors/scenarios_<kind>.py) and must honour what the pipeline relies on."""

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

import tests.collectors as scenarios_package
from collectors.base import Adapter, FetchResult, Target, Window
from collectors.registry import ADAPTERS, BY_KEY
from enrich.http import AuthError, MalformedResponse, TransientError
from enrich.redis.budget import parse_budget

# Measurements each source may write (DESIGN.md; new measurements need a row there first).
MEASUREMENTS = {
    "carbon_intensity": {"carbon_intensity", "carbon_intensity_forecast"},
    "electricity_pricing": {"electricity_pricing", "electricity_pricing_forecast"},
    "air_quality": {"air_quality"},
    "occupancy": {"occupancy_prediction"},
    "smart_meter": {"smart_meter", "smart_meter_circuit"},
}


def _scenarios() -> dict:
    found = {}
    for module in pkgutil.iter_modules(scenarios_package.__path__):
        if module.name.startswith("scenarios_"):
            found.update(importlib.import_module(f"tests.collectors.{module.name}").SCENARIOS)
    return found


SCENARIOS = _scenarios()
ROOT = Path(__file__).resolve().parents[2]


def test_the_registry_lists_each_provider_once():
    assert len(BY_KEY) == len(ADAPTERS) == 11
    assert all(issubclass(adapter, Adapter) for adapter in ADAPTERS)


def test_the_registry_serves_every_provider_a_site_can_choose_and_beat_dispatches_each_source():
    from config.celery import app
    from enrich.models import SOURCES

    assert set(BY_KEY) == {(s, p) for s, providers in SOURCES.items() for p in providers}
    app.loader.import_default_modules()
    for source in SOURCES:
        assert f"collectors.dispatch_{source}" in app.tasks, source


PROVIDERS = sorted(BY_KEY, key=lambda k: k[1])


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_MAX_RETRY_AFTER_SECONDS = 1


def fresh(source: str, provider: str) -> Adapter:
    return BY_KEY[(source, provider)]()  # no token or endpoint memory from other tests


def run(source, provider, server):
    site, credentials, now = SCENARIOS[provider](server)
    adapter = fresh(source, provider)
    target = adapter.target(site, credentials)
    window = Window(start=now - adapter_interval(source), end=now, now=now)
    return adapter, target, adapter.fetch(target, credentials, window)


def adapter_interval(source):
    from datetime import timedelta

    from enrich.models import DEFAULT_INTERVAL_SECONDS

    return timedelta(seconds=DEFAULT_INTERVAL_SECONDS[source])


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_every_adapter_has_fixtures(source, provider):
    assert provider in SCENARIOS, f"{provider} has no scenario in tests/collectors/scenarios_*.py"
    adapter = fresh(source, provider)
    assert (adapter.source, adapter.provider) == (source, provider)
    assert adapter.budget_scope in ("account", "target", "login")


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_the_default_budget_is_one_the_pipeline_reads(source, provider):
    """An adapter's `budget` the pipeline cannot read ("1000/days") passed the contract and
    docs tests, and then every run of the provider failed, blaming an options.budget nobody
    had set."""
    adapter = BY_KEY[(source, provider)]
    try:
        assert adapter.budget is None or parse_budget(adapter.budget)
    except ValueError as exc:
        pytest.fail(f"{adapter.__name__}.budget: {exc}")


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_happy_path_honours_the_contract(source, provider, replay_server):
    adapter, target, result = run(source, provider, replay_server)
    assert isinstance(target, Target) and (target.source, target.provider) == (source, provider)
    assert target.key
    json.dumps(dict(target.params))
    assert isinstance(result, FetchResult) and result.readings
    for reading in result.readings:
        assert reading.measurement in MEASUREMENTS[source], reading.measurement
        assert reading.tags.get("provider") == provider
        assert reading.time.tzinfo is not None
        reading.to_line()  # encodable
    assert "time" in json.loads(json.dumps(result.current))
    assert replay_server.requests, "the adapter called nothing"
    assert all(r.matched for r in replay_server.requests)


def first_request(source, provider, server):
    run(source, provider, server)
    first = server.requests[0]
    server.reset()
    return first.method, first.path, first.query


def fail_first_request(server, first, status, **reply):
    """The adapter's first request fails every time; the scenario's own routes are registered
    again by run(), but this one matches the exact query, so it wins and never runs out."""
    method, path, query = first
    server.add(method, path, status=status, query=query, times=50, **reply)
    return method, path


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_401_is_an_auth_error_and_not_retried(source, provider, replay_server):
    method, path = fail_first_request(
        replay_server,
        first_request(source, provider, replay_server),
        401,
        json={"error": "invalid credentials"},
    )
    with pytest.raises(AuthError):
        run(source, provider, replay_server)
    assert len(replay_server.calls(method, path)) in (1, 2)  # 2 only where a token is renewed once


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_500_is_transient_after_the_retries(source, provider, replay_server):
    method, path = fail_first_request(
        replay_server, first_request(source, provider, replay_server), 500, body="internal error"
    )
    with pytest.raises(TransientError):
        run(source, provider, replay_server)
    assert len(replay_server.calls(method, path)) == 2  # 1 + HTTP_MAX_RETRIES


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_non_json_answer_is_malformed(source, provider, replay_server):
    fail_first_request(
        replay_server,
        first_request(source, provider, replay_server),
        200,
        body="<html>maintenance</html>",
        headers={"Content-Type": "text/html"},
    )
    with pytest.raises(MalformedResponse):
        run(source, provider, replay_server)


# The section of docs/providers.md that describes each source's points: from its heading to
# the next heading of its level.
SECTIONS = {
    "carbon_intensity": "### Carbon intensity",
    "electricity_pricing": "### Electricity prices",
    "air_quality": "### Air quality",
    "occupancy": "## Calendar occupancy",
    "smart_meter": "## Smart meters",
}


def section(source: str) -> str:
    text = (ROOT / "docs" / "providers.md").read_text()
    heading = SECTIONS[source]
    body = text.split("\n" + heading, 1)[1]
    level = heading.split(" ")[0]
    return re.split(rf"\n{level} ", body, maxsplit=1)[0]


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_every_field_and_tag_a_provider_writes_is_named_on_the_page(
    source, provider, replay_server
):
    """Each field and tag key of the points a provider's documented payloads give (its
    scenario, through the adapter) is named, in backticks, in docs/providers.md's section of
    its source (not only somewhere on the page: another source's `provider` or `region` does
    not document this one's)."""
    _, _, result = run(source, provider, replay_server)
    named = set(re.findall(r"`([a-z_0-9.]+)`", section(source)))
    written = {
        f"{reading.measurement}: {key}"
        for reading in result.readings
        for key in [reading.measurement, *reading.fields, *reading.tags]
    }
    assert {w for w in written if w.split(": ")[1] not in named} == set()
