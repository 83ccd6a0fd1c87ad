"""An option value every collection refuses from the options alone (before any call, whatever
the credentials) is refused when the provider config is saved too: ProviderConfig.full_clean,
and so the admin form, names it with the error a run fails with, and nothing is saved. Before,
only AirNow's zip_code and the calendar's people were: a window_hours of 0.33, a
null_retry_seconds of "abc" or a realtime_url of "nota url" were saved without a word, and the
user learnt of them from the failed run the next collection recorded. A config saved before is
still refused by its run (test_option_refusals). Real PostgreSQL; the adapters' scenarios on
the replay server give the sites and credentials, no call is made."""

import json
from dataclasses import asdict, replace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from collectors import registry
from collectors.base import ConfigError
from enrich.models import ProviderConfig, Site
from tests.collectors.refused_options import ACCEPTED, REFUSED
from tests.collectors.scenarios_air_quality import SCENARIOS as AIR_QUALITY
from tests.collectors.scenarios_carbon import SCENARIOS as CARBON
from tests.collectors.scenarios_occupancy import SCENARIOS as OCCUPANCY
from tests.collectors.scenarios_pricing import SCENARIOS as PRICING
from tests.collectors.scenarios_smart_meter import SCENARIOS as SMART_METER

pytestmark = pytest.mark.django_db
SCENARIOS = {**AIR_QUALITY, **CARBON, **OCCUPANCY, **PRICING, **SMART_METER}
SOURCE = {provider: source for source, provider in registry.BY_KEY}


def run_error(server, provider: str, options: dict) -> str:
    """The ConfigError a collection of `provider`'s scenario (its site and credentials) with
    `options` over the scenario's fails with before any call."""
    site_info, credentials, _ = SCENARIOS[provider](server)
    changed = replace(credentials, options={**credentials.options, **options})
    adapter = registry.adapter_for(SOURCE[provider], provider)
    with pytest.raises(ConfigError) as raised:  # as pipeline.target_for
        adapter.check_options(changed.options)
        adapter.target(site_info, changed)
    return str(raised.value)


def scenario_config(server, provider: str) -> ProviderConfig:
    """An unsaved config of `provider`'s scenario, its site saved, with the scenario's options
    a config holds (not the calendar's tokens, which its connection keeps)."""
    site_info, credentials, _ = SCENARIOS[provider](server)
    known = registry.BY_KEY[(SOURCE[provider], provider)].known_options()
    return ProviderConfig(
        site=Site.objects.create(**asdict(site_info)),
        source=SOURCE[provider],
        provider=provider,
        options={k: v for k, v in credentials.options.items() if k in known},
    )


@pytest.mark.parametrize(("provider", "options"), REFUSED)
def test_a_value_every_collection_refuses_is_refused_by_the_model_naming_it(
    replay_server, provider, options
):
    said = run_error(replay_server, provider, options)
    [name] = options
    assert name.removesuffix("s") in said  # the option is named
    config = scenario_config(replay_server, provider)
    valid = dict(config.options)
    config.options = {**valid, **options}
    with pytest.raises(ValidationError) as info:
        config.full_clean()
    assert info.value.message_dict == {"options": [said]}
    # the scenario's own options are saved
    config.options = valid
    config.full_clean()
    config.save()
    assert ProviderConfig.objects.get().options == valid


@pytest.mark.parametrize(("provider", "options"), ACCEPTED)
def test_the_bounds_themselves_are_saved(replay_server, provider, options):
    config = scenario_config(replay_server, provider)
    config.options = {**config.options, **options}
    config.full_clean()
    config.save()
    assert ProviderConfig.objects.get().options == config.options


@pytest.mark.parametrize(
    ("provider", "refused", "valid"),
    [
        ("awattar", {"window_hours": 0.33}, {"window_hours": 1.5}),
        ("emporia_vue", {"null_retry_seconds": "abc"}, {"null_retry_seconds": 2}),
        ("sense", {"realtime_timeout": 0}, {"realtime_timeout": 10}),
        ("sense", {"realtime_url": "nota url"}, {"realtime_url": "wss://clientrt.sense.com"}),
    ],
)
def test_the_admin_form_refuses_it_naming_it_and_saves_nothing(
    admin_client, replay_server, provider, refused, valid
):
    site = Site.objects.create(name="Home", latitude=41.88, longitude=-87.63)
    form = {"site": site.pk, "source": SOURCE[provider], "provider": provider,
            "enabled": "on", "interval_seconds": "300", "options": json.dumps(refused)}  # fmt: skip
    page = admin_client.post(reverse("admin:enrich_providerconfig_add"), form)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert errors["options"] == [run_error(replay_server, provider, refused)]
    assert not ProviderConfig.objects.exists()
    form["options"] = json.dumps(valid)
    assert admin_client.post(reverse("admin:enrich_providerconfig_add"), form).status_code == 302
    assert ProviderConfig.objects.get().options == valid
