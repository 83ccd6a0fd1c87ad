"""First start fills the site and providers from the PRD's environment variables, once."""

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from enrich.models import SOURCES, ProviderConfig, Site
from tests.support.doc_pages import ROOT

pytestmark = pytest.mark.django_db

ENV = dict(
    SITE_NAME="Lake house",
    LATITUDE="52.52",
    LONGITUDE="13.40",
    TIME_ZONE="Europe/Berlin",
    GRID_REGION="DE",
    PRICING_REGION="DE",
    CARBON_PROVIDER="",
    ELECTRICITYMAPS_API_KEY="",
    WATTTIME_USERNAME="",
    WATTTIME_PASSWORD="",
    WATTTIME_API_TOKEN="wtuser:wtpass",
    PRICING_PROVIDER="Tibber",
    PRICING_API_KEY="tibber-token",
    AIRNOW_API_KEY="airnow-key",
    METER_TYPE="emporia_vue,sense",
    METER_USERNAME="me@example.org",
    METER_PASSWORD="meter-pw",
    GOOGLE_CLIENT_ID="",
)


def test_bootstrap_creates_site_and_providers_from_environment(capsys):
    with override_settings(**ENV):
        call_command("bootstrap")
    site = Site.objects.get()
    assert (site.name, site.latitude, site.longitude) == ("Lake house", 52.52, 13.40)
    assert (site.timezone, site.grid_region, site.pricing_region) == ("Europe/Berlin", "DE", "DE")
    got = {(p.source, p.provider): p for p in site.providers.all()}
    assert set(got) == {
        ("carbon_intensity", "watttime"),
        ("electricity_pricing", "tibber"),
        ("air_quality", "airnow"),
        ("smart_meter", "emporia_vue"),
        ("smart_meter", "sense"),
    }
    watttime = got[("carbon_intensity", "watttime")]
    assert (watttime.username, watttime.password, watttime.interval_seconds) == (
        "wtuser",
        "wtpass",
        900,
    )
    assert got[("electricity_pricing", "tibber")].api_key == "tibber-token"
    assert got[("electricity_pricing", "tibber")].interval_seconds == 3600
    assert got[("smart_meter", "sense")].interval_seconds == 300
    assert capsys.readouterr().out == (
        "Created site 'Lake house' with providers: airnow (air quality), watttime (carbon "
        "intensity), tibber (electricity pricing), emporia_vue (smart meter) and sense (smart "
        "meter).\n"
    )


def test_the_meter_account_goes_to_the_cloud_meters_only():
    # METER_TYPE=emporia_vue,home_assistant: the Emporia e-mail and password were stored in the
    # Home Assistant config too, a meter that takes a token, never that account.
    with override_settings(**{**ENV, "METER_TYPE": "emporia_vue, home_assistant"}):
        call_command("bootstrap")
    meters = {p.provider: p for p in ProviderConfig.objects.filter(source="smart_meter")}
    emporia, home_assistant = meters["emporia_vue"], meters["home_assistant"]
    assert (emporia.username, emporia.password) == ("me@example.org", "meter-pw")
    assert (home_assistant.username, home_assistant.password) == ("", "")


def test_a_home_assistant_meter_takes_ha_url_and_ha_token_and_is_told_what_it_needs(capsys):
    # It got neither: its first run failed asking for options.base_url, and then for a token,
    # although the environment held Home Assistant's address and token.
    ha = {"METER_TYPE": "home_assistant", "HA_URL": "http://ha.lan:8123", "HA_TOKEN": "ha-tok"}
    with override_settings(**{**ENV, **ha}):
        call_command("bootstrap")
    meter = ProviderConfig.objects.get(source="smart_meter")
    assert (meter.provider, meter.options, meter.api_key) == (
        "home_assistant",
        {"base_url": "http://ha.lan:8123"},
        "ha-tok",
    )
    assert (meter.username, meter.password) == ("", "")
    note = (
        "home_assistant (smart meter) runs once you give it, in the admin (Provider configs): "
        "options total_entity (the whole-home power sensor) and/or circuits."
    )
    unused = (
        "Not used, as no provider created takes them: METER_USERNAME and METER_PASSWORD "
        "(METER_TYPE names no emporia_vue or sense)."
    )
    assert capsys.readouterr().out.splitlines()[1:] == [note, unused]
    assert note in " ".join((ROOT / "docs/providers.md").read_text().split())  # quoted there


def test_without_ha_url_and_ha_token_the_first_start_says_what_the_meter_needs(capsys):
    with override_settings(**{**ENV, "METER_TYPE": "home_assistant", "HA_URL": "", "HA_TOKEN": ""}):
        call_command("bootstrap")
    meter = ProviderConfig.objects.get(source="smart_meter")
    assert (meter.options, meter.api_key) == ({}, "")
    assert capsys.readouterr().out.splitlines()[1:] == [
        "home_assistant (smart meter) runs once you give it, in the admin (Provider configs): "
        "options total_entity (the whole-home power sensor) and/or circuits; options base_url "
        "(HA_URL is not set), e.g. http://homeassistant.local:8123; a long-lived access token "
        "as its API key (HA_TOKEN is not set).",
        "Not used, as no provider created takes them: METER_USERNAME and METER_PASSWORD "
        "(METER_TYPE names no emporia_vue or sense).",
    ]


def test_bootstrap_never_overwrites_what_the_admin_changed(capsys):
    with override_settings(**ENV):
        call_command("bootstrap")
        ProviderConfig.objects.filter(provider="tibber").update(enabled=False)
        call_command("bootstrap")
    assert Site.objects.count() == 1
    assert ProviderConfig.objects.get(provider="tibber").enabled is False
    assert "nothing to do" in capsys.readouterr().out


def notes_after_bootstrap(capsys, change: dict) -> list[str]:
    """The lines `bootstrap` writes after "Created site ..." with ENV changed by `change`."""
    with override_settings(**{**ENV, **change}):
        call_command("bootstrap")
    return capsys.readouterr().out.splitlines()[1:]


def test_the_first_start_names_each_provider_that_cannot_collect_yet(capsys):
    # A Tibber token, an Octopus region, a Google connection or a meter login left out: the
    # providers were created in silence, and only their first runs failed.
    change = {
        "PRICING_PROVIDER": "octopus",
        "PRICING_REGION": "I",
        "METER_TYPE": "sense",
        "METER_USERNAME": "",
        "METER_PASSWORD": "",
        "GOOGLE_CLIENT_ID": "client.apps.googleusercontent.com",
    }
    assert notes_after_bootstrap(capsys, change) == [
        "octopus (electricity pricing) cannot collect yet: Octopus Agile needs the GSP region "
        "letter, but site 'Lake house' has pricing region 'I'. Set Site.pricing_region (or "
        "PRICING_REGION) to one of A, B, C, D, E, F, G, H, J, K, L, M, N, P (the last letter "
        "of your tariff code, e.g. C for London), or set options.tariff_code.",
        "google_calendar (occupancy) cannot collect yet: Google Calendar is not connected for "
        "site Lake house: open /oauth/google/ and click 'Connect Google Calendar' (or set "
        "GOOGLE_REFRESH_TOKEN).",
        "sense (smart meter) cannot collect yet: Sense needs the e-mail and password of the "
        "Sense app: set METER_USERNAME and METER_PASSWORD, or enter them in the provider "
        "settings.",
    ]
    assert ProviderConfig.objects.count() == 5  # created all the same, to finish in the admin


def test_the_first_start_gives_the_providers_their_provider_base_urls():
    # Only the setup page read PROVIDER_BASE_URLS, and `make run` bootstraps before it: a
    # proxy set in .env reached no provider created from the environment.
    urls = {"tibber": "http://proxy:8080", "home_assistant": "http://proxy:9090"}
    change = {"PROVIDER_BASE_URLS": urls, "METER_TYPE": "sense,home_assistant"}
    with override_settings(**{**ENV, **change, "HA_URL": "http://ha.lan:8123"}):
        call_command("bootstrap")
    options = {p.provider: p.options for p in ProviderConfig.objects.all()}
    assert options["tibber"] == {"base_url": "http://proxy:8080"}
    assert options["home_assistant"] == {"base_url": "http://ha.lan:8123"}  # HA_URL is its own
    assert options["sense"] == options["watttime"] == {}


def test_the_first_start_names_the_account_variables_it_did_not_use(capsys):
    # A Tibber token without PRICING_PROVIDER, a meter login without METER_TYPE, an Electricity
    # Maps key beside WattTime's login: no provider took them, and nothing said so.
    change = {"PRICING_PROVIDER": "", "METER_TYPE": "", "ELECTRICITYMAPS_API_KEY": "em-key"}
    assert notes_after_bootstrap(capsys, change) == [
        "Not used, as no provider created takes them: ELECTRICITYMAPS_API_KEY (the carbon "
        "provider is watttime: set CARBON_PROVIDER=electricitymaps to use it), PRICING_API_KEY "
        "(PRICING_PROVIDER is not set) and METER_USERNAME and METER_PASSWORD (METER_TYPE names "
        "no emporia_vue or sense)."
    ]
    assert {p.provider for p in ProviderConfig.objects.all()} == {"watttime", "airnow"}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"PRICING_PROVIDER": "nordpool"},
            "PRICING_PROVIDER='nordpool' is no electricity pricing provider; use one of: awattar, ",
        ),
        ({"METER_TYPE": "shelly"}, "METER_TYPE='shelly' is no smart meter provider"),
        ({"LATITUDE": "north"}, "LATITUDE='north' is not a number"),
        # Read as 12 and 34: the admin and the setup form refuse them.
        ({"LATITUDE": "١٢"}, "LATITUDE='١٢' is not a number in the digits 0-9"),
        ({"LONGITUDE": "３４"}, "LONGITUDE='３４' is not a number in the digits 0-9"),
        ({"LATITUDE": "5_2"}, "LATITUDE='5_2' is not a number in the digits 0-9"),
        ({"LONGITUDE": ""}, "LATITUDE and LONGITUDE are both needed"),
        ({"WATTTIME_API_TOKEN": "just-a-token"}, "WATTTIME_API_TOKEN must be 'username:password'"),
        ({"SITE_NAME": "Lake house\\"}, r"SITE_NAME='Lake house\\\\': InfluxDB tags cannot hold"),
        # Each was a DataError traceback ("value too long for type character varying(100)").
        ({"SITE_NAME": "L" * 101}, r"^SITE_NAME is 101 characters long: at most 100 fit\.$"),
        ({"GRID_REGION": "D" * 65}, r"^GRID_REGION is 65 characters long: at most 64 fit\.$"),
        ({"PRICING_REGION": "D" * 65}, r"^PRICING_REGION is 65 characters long: at most 64"),
        ({"METER_USERNAME": "m" * 201}, r"^METER_USERNAME is 201 characters long: at most 200"),
        ({"WATTTIME_USERNAME": "w" * 201, "WATTTIME_PASSWORD": "pw"},
         r"^WATTTIME_USERNAME is 201 characters long: at most 200"),
        # The password is not said.
        ({"WATTTIME_API_TOKEN": "w" * 201 + ":secret-pw"},
         r"^WATTTIME_API_TOKEN's username \(before the colon\) is 201 characters long: at most "
         r"200 fit\.$"),
    ],
)  # fmt: skip
def test_bad_environment_value_is_named_and_nothing_is_written(change, message):
    with override_settings(**{**ENV, **change}):
        with pytest.raises(CommandError, match=message):
            call_command("bootstrap")
    assert not Site.objects.exists()
    assert not ProviderConfig.objects.exists()


def test_nothing_set_creates_nothing():
    empty = {k: "" for k in ENV if k not in ("SITE_NAME", "TIME_ZONE")}
    with override_settings(**empty):
        call_command("bootstrap")
    assert not Site.objects.exists()


def test_a_meter_the_first_start_cannot_make_is_refused_not_made_a_home_assistant_one(
    monkeypatch,
):
    # A smart meter provider added to SOURCES (development.md, "add a provider") and named in
    # METER_TYPE became a Home Assistant meter, with HA_URL and HA_TOKEN.
    monkeypatch.setitem(SOURCES, "smart_meter", (*SOURCES["smart_meter"], "shelly"))
    with override_settings(**{**ENV, "METER_TYPE": "shelly"}):
        with pytest.raises(CommandError) as refused:
            call_command("bootstrap")
    assert str(refused.value) == (
        "METER_TYPE='shelly': the first start creates emporia_vue, sense and home_assistant "
        "meters only; add the shelly meter in the admin (Provider configs)."
    )
    assert not ProviderConfig.objects.exists()


def test_the_google_oauth_client_alone_asks_for_no_site(admin_client, capsys):
    """GOOGLE_CLIENT_ID is the OAuth client of every site's calendar (providers.md, step 5),
    set for a site made on the setup page too. With it set and no LATITUDE/LONGITUDE, deleting
    that site in the admin made the next start fail ("LATITUDE and LONGITUDE are both needed
    to create the first site": manage.py bootstrap stops the start script)."""
    empty = {k: "" for k in ENV if k not in ("SITE_NAME", "TIME_ZONE")}
    with override_settings(**{**empty, "GOOGLE_CLIENT_ID": "client.apps.googleusercontent.com"}):
        site = Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)  # the setup page
        deleted = admin_client.post(f"/admin/enrich/site/{site.pk}/delete/", {"post": "yes"})
        assert deleted.status_code == 302
        call_command("bootstrap")
    assert not Site.objects.exists()
    assert "Sites: nothing to do" in capsys.readouterr().out


def test_deleting_the_last_site_says_the_next_start_creates_it_again(admin_client):
    """With LATITUDE and LONGITUDE set, a start with no site creates one from the environment:
    the admin says so when the last site is deleted, as it does for a deleted beat entry."""
    site = Site.objects.create(name="Home", latitude=51.5, longitude=-0.1)
    other = Site.objects.create(name="Cabin", latitude=60.1, longitude=10.2)
    with override_settings(**ENV):
        page = admin_client.post(f"/admin/enrich/site/{other.pk}/delete/", {"post": "yes"},
                                 follow=True)  # fmt: skip
        assert [str(m) for m in page.context["messages"]] == [
            "The site “Cabin” was deleted successfully."
        ]
        page = admin_client.post(f"/admin/enrich/site/{site.pk}/delete/", {"post": "yes"},
                                 follow=True)  # fmt: skip
    assert [str(m) for m in page.context["messages"]] == [
        "No site is left: the next start creates site 'Lake house' again from the environment "
        "(LATITUDE, LONGITUDE and the provider variables, manage.py bootstrap). To stop "
        "collecting for good, disable a site instead of deleting it, or empty those variables.",
        "The site “Home” was deleted successfully.",
    ]
