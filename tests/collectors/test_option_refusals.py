"""Provider settings a fuzz run found crashing the pipeline or silently misread, through the
real pipeline (PostgreSQL, Redis, InfluxDB; each provider's API on the replay server, Sense's
feed on its local websocket server): each is now a failed, not transient, run whose error
names the setting, refused before any call. Without the checks they raised out of `collect`
(ValueError, TypeError, ZeroDivisionError, OverflowError), failed saying something else, or
ran with the setting misread."""

from dataclasses import asdict, replace

import pytest

from collectors import pipeline, registry
from collectors.base import Credentials
from collectors.models import CollectorRun
from enrich.models import ProviderConfig, Site
from tests.collectors import refused_options as cases
from tests.collectors.scenarios_air_quality import SCENARIOS as AIR_QUALITY
from tests.collectors.scenarios_carbon import SCENARIOS as CARBON
from tests.collectors.scenarios_pricing import SCENARIOS as PRICING
from tests.collectors.scenarios_smart_meter import SCENARIOS as SMART_METER

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("fresh_adapters"),
]
SCENARIOS = {**AIR_QUALITY, **CARBON, **PRICING, **SMART_METER}
SOURCE = {provider: source for source, provider in registry.BY_KEY}


@pytest.fixture
def fresh_adapters(isolated):
    """Adapters without the logins and sessions earlier tests left in them."""
    registry.adapter_for.cache_clear()
    yield isolated
    registry.adapter_for.cache_clear()


def refused(server, provider: str, *, site: dict | None = None, **options) -> CollectorRun:
    """Collect `provider`'s scenario (its answers served) with `options` (and `site` fields)
    changed; the run it recorded, checked to be a failure not worth retrying, with no call."""
    site_info, credentials, now = SCENARIOS[provider](server)
    username = options.pop("username", credentials.username)
    config = ProviderConfig.objects.create(
        site=Site.objects.create(**asdict(replace(site_info, **(site or {})))),
        source=SOURCE[provider],
        provider=provider,
        interval_seconds=300,
        username=username,
        password=credentials.password,
        api_key=credentials.api_key,
        options={**credentials.options, **options},
    )
    outcome = pipeline.collect(config, now=now)
    run = CollectorRun.objects.get()
    assert (outcome.status, run.status, outcome.transient) == ("failed", "failed", False)
    assert run.error.startswith("ConfigError: "), run.error
    assert server.calls() == []
    return run


@pytest.mark.parametrize("grid_region", ["²", "١٢", "1²"])
def test_a_grid_region_of_other_digits_than_0_9_is_refused_naming_it(replay_server, grid_region):
    # "²".isdigit() is true and int() refuses it; int("١٢") reads region 12.
    run = refused(replay_server, "uk_carbon_intensity", site={"grid_region": grid_region})
    assert f"cannot use grid region {grid_region!r}" in run.error and "GRID_REGION" in run.error


@pytest.mark.parametrize("zip_code", ["١٢٣٤٥", "９８１０４"])
def test_a_zip_code_of_other_digits_than_0_9_is_refused_naming_it(replay_server, zip_code):
    # \d matched Arabic-Indic and full-width digits, sent to AirNow as the zip code.
    run = refused(replay_server, "airnow", zip_code=zip_code)
    assert f"zip_code {zip_code!r} is not a 5-digit US ZIP code" in run.error


@pytest.mark.parametrize("provider", sorted(PRICING))
@pytest.mark.parametrize("hours", cases.HOURS_UNDER_A_MINUTE)
def test_a_window_hours_under_a_minute_is_refused_naming_it(replay_server, provider, hours):
    # Under a minute the cheapest_hours search divided by a window of no time at all.
    run = refused(replay_server, provider, window_hours=hours)
    assert f"options.window_hours {hours!r} is not valid" in run.error
    assert "at least a minute" in run.error


@pytest.mark.parametrize("hours", cases.HOURS_OF_NO_WHOLE_MINUTES)
def test_a_window_hours_of_no_whole_minutes_is_refused_naming_it(replay_server, hours):
    # No window of price slots lasts 19.8 or 60.6 minutes: both lists were empty at every
    # fetch, without a word (the windows API refuses the same `hours` with a 400).
    run = refused(replay_server, "awattar", window_hours=hours)
    assert f"options.window_hours {hours!r} is not valid" in run.error
    assert "a whole number of minutes" in run.error and "0.3333 (20 min)" in run.error


@pytest.mark.parametrize("provider", cases.ROOTED)
def test_a_base_url_that_is_no_http_url_is_refused_naming_it(replay_server, provider):
    # Before, the run called it: "could not call nota url/v1/marketdata: Failed to parse",
    # after spending a call of the provider's budget; and the admin saved it.
    run = refused(replay_server, provider, base_url="nota url")
    assert f"{provider}: options.base_url 'nota url' is not usable" in run.error
    assert "it holds spaces" in run.error
    # aWATTar's root is the site's region's (api.awattar.de or .at): the refusal names both.
    if provider == "awattar":
        assert "e.g. https://api.awattar.de (DE) or https://api.awattar.at (AT), or remove " \
            "the option to use the one of the site." in run.error  # fmt: skip
    else:
        assert "remove the option to use that one." in run.error


@pytest.mark.parametrize("provider", [*cases.ROOTED, "home_assistant"])
def test_a_base_url_holding_a_login_is_refused_without_showing_it(replay_server, provider):
    url = replay_server.url.replace("://", "://alice:pw-SECRET-77@")
    run = refused(replay_server, provider, base_url=url)
    assert "pw-SECRET-77" not in run.error + run.target
    assert f"options.base_url {replay_server.url!r} holds a login (user:password@)" in run.error


def test_an_austrian_sites_base_url_refusal_offers_the_austrian_root(replay_server):
    # It said "e.g. https://api.awattar.de, or remove the option to use that one": removing it
    # uses api.awattar.at for an AT site.
    run = refused(replay_server, "awattar", site={"pricing_region": "AT"}, base_url="nota url")
    assert "https://api.awattar.at (AT)" in run.error
    assert "e.g. https://api.awattar.de, or remove the option to use that one" not in run.error


def test_a_base_url_at_port_0_is_refused_naming_it(replay_server):
    # Before, each run called it and was refused by the system (no server listens on port 0),
    # a transient failure tried again and again.
    run = refused(replay_server, "awattar", base_url="http://127.0.0.1:0")
    assert "options.base_url 'http://127.0.0.1:0' is not usable: its port is 0" in run.error


@pytest.mark.parametrize("value", cases.NULL_RETRY_SECONDS)
def test_a_null_retry_seconds_that_is_no_pause_is_refused_naming_it(replay_server, value):
    run = refused(replay_server, "emporia_vue", null_retry_seconds=value)
    assert f"options.null_retry_seconds {value!r} is not valid" in run.error
    assert "0 or more and at most 30" in run.error


@pytest.mark.parametrize("value", cases.REALTIME_TIMEOUTS)
def test_a_realtime_timeout_that_is_no_wait_is_refused_naming_it(replay_server, feed, value):
    run = refused(replay_server, "sense", realtime_url=feed.url, realtime_timeout=value)
    assert f"options.realtime_timeout {value!r} is not valid" in run.error
    assert "more than 0 and at most 60" in run.error
    assert feed.connections == []


@pytest.mark.parametrize(("url", "problem"), cases.REALTIME_URLS)
def test_a_realtime_url_that_is_no_websocket_url_is_refused_naming_it(replay_server, url, problem):
    run = refused(replay_server, "sense", realtime_url=url)
    assert f"options.realtime_url {url!r} is not usable: " in run.error
    assert problem in run.error and "ws:// or wss://" in run.error


@pytest.mark.parametrize("pool", cases.USER_POOL_IDS)
def test_a_user_pool_id_that_is_no_cognito_pool_is_refused_naming_it(replay_server, pool):
    # "_x" built the host cognito-idp..amazonaws.com (cognito_url set: a login to the wrong
    # pool).
    run = refused(replay_server, "emporia_vue", user_pool_id=pool)
    assert f"options.user_pool_id {pool!r} is not a Cognito user pool id" in run.error


@pytest.mark.parametrize(
    ("provider", "options", "said"),
    [
        ("sense", {"device_id": "a\nb"}, "Sense: options.device_id 'a\\nb' cannot be sent as a"),
        ("sense", {"device_id": "☃"}, "Sense: options.device_id '☃' cannot be sent as a header"),
        ("emporia_vue", {"cognito_url": "cognito.test"}, "options.cognito_url 'cognito.test' is"),
        ("emporia_vue", {"client_id": "4qte/47jb"}, "client_id '4qte/47jb' is not a Cognito app"),
    ],
)
def test_a_login_option_no_login_could_use_is_refused_naming_it(
    replay_server, provider, options, said
):
    # Each login failed: requests refused the header (InvalidHeader, UnicodeEncodeError),
    # "cognito.test" was no URL to post to, Cognito refuses a client id of that form.
    run = refused(replay_server, provider, **options)
    assert said in run.error


@pytest.mark.parametrize("provider", ["emporia_vue", "sense"])
@pytest.mark.parametrize("username", ["  ", "\t\n"])
def test_an_e_mail_of_spaces_only_is_the_missing_login(replay_server, provider, username):
    # It made the account (the target and the budget's key) empty, which Redis keys refuse.
    run = refused(replay_server, provider, username=username)
    assert "needs the e-mail and password" in run.error and "METER_USERNAME" in run.error


@pytest.mark.parametrize("forecast", cases.FORECASTS)
def test_a_forecast_other_than_true_or_false_is_refused_naming_it(replay_server, forecast):
    # `is True` asked no forecast for "true", 1 or "yes", without a word.
    run = refused(replay_server, "electricitymaps", forecast=forecast)
    assert f"options.forecast {forecast!r} is not valid" in run.error


@pytest.mark.parametrize(("provider", "options"), cases.ACCEPTED)
def test_the_bounds_themselves_are_accepted(replay_server, provider, options):
    site_info, credentials, _ = SCENARIOS[provider](replay_server)
    changed = Credentials(
        username=credentials.username,
        password=credentials.password,
        api_key=credentials.api_key,
        options={**credentials.options, **options},
    )
    assert registry.adapter_for(SOURCE[provider], provider).target(site_info, changed).key


@pytest.mark.parametrize(("options", "said"), cases.HOME_ASSISTANT_NAMES)
def test_a_home_assistant_name_a_tag_cannot_hold_is_refused_before_any_call(
    replay_server, options, said
):
    # They are the circuit and device tags of smart_meter_circuit and smart_meter: the write
    # refused them only after every state had been fetched.
    assert said in refused(replay_server, "home_assistant", **options).error
