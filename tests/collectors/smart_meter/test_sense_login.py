"""The saved Sense session: `manage.py sense_login` (with the one-time code of an MFA account),
the encrypted ProviderConfig.session, and the pipeline handing it to the adapter and saving
what the adapter renews. REST against the replay server, realtime against a local feed."""

from dataclasses import replace
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from collectors import pipeline
from collectors.base import Window
from collectors.smart_meter.sense.adapter import SenseAdapter
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_smart_meter import (
    SENSE_LOGIN_SESSION,
    SENSE_NOW,
    SITE,
    sense_mfa_routes,
    sense_routes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sense_config(replay_server, feed):
    site = Site.objects.create(name="Maple house", latitude=40.71, longitude=-74.0)
    return ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider="sense",
        username="sense.owner@example.com",
        password="sense-password-1",
        options={"base_url": replay_server.url, "realtime_url": feed.url},
    )


def stored_session_column(config: ProviderConfig) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT session FROM enrich_providerconfig WHERE id = %s", [config.pk])
        return cursor.fetchone()[0]


def test_the_command_logs_in_with_the_code_and_saves_the_session_encrypted(
    replay_server, sense_config
):
    sense_mfa_routes(replay_server)
    out = StringIO()
    call_command("sense_login", "--site", "Maple house", "--code", "654321", stdout=out)
    assert "logged in as sense.owner@example.com (monitor 98765)" in out.getvalue()
    assert "saved for Maple house" in out.getvalue()
    [mfa] = replay_server.calls("POST", "/authenticate/mfa")
    assert parse_qs(mfa.text)["totp"] == ["654321"]
    sense_config.refresh_from_db()
    assert sense_config.saved_session() == SENSE_LOGIN_SESSION
    raw = stored_session_column(sense_config)
    assert raw and "refresh-one" not in raw and "t1.v2.access-one" not in raw  # encrypted


def test_the_collector_then_starts_from_the_saved_session(replay_server, feed, sense_config):
    sense_mfa_routes(replay_server)
    call_command("sense_login", "--code", "654321", stdout=StringIO())  # the only Sense site
    replay_server.reset()
    sense_routes(replay_server)  # a login would now be answered, but must not be needed

    sense_config.refresh_from_db()
    credentials = pipeline.credentials(sense_config, fetching=True)
    assert credentials.session == SENSE_LOGIN_SESSION
    adapter = SenseAdapter()  # a fresh worker: nothing in memory
    window = Window(start=SENSE_NOW - timedelta(minutes=5), end=SENSE_NOW, now=SENSE_NOW)
    result = adapter.fetch(adapter.target(SITE, credentials), credentials, window)
    assert result.readings[0].fields["total_power_w"] == 11163.86
    assert replay_server.calls("POST", "/authenticate") == []
    assert feed.connections[-1][1] == {"access_token": "t1.v2.access-one"}


def test_a_session_the_adapter_renews_is_saved_by_the_pipeline(sense_config):
    sense_config.save_session(SENSE_LOGIN_SESSION)
    credentials = pipeline.credentials(sense_config, fetching=True)
    renewed = {
        **SENSE_LOGIN_SESSION,
        "access_token": "t1.v2.access-two",
        "refresh_token": "refresh-two",
    }
    credentials.report_renewed(replace(credentials, session=renewed))
    assert ProviderConfig.objects.get(pk=sense_config.pk).saved_session() == renewed
    # Reading (fetching=False: dispatch, the API) hands the session over but saves nothing.
    assert pipeline.credentials(sense_config).on_renewed is None


def test_a_damaged_saved_session_is_ignored_and_means_a_login(sense_config, caplog):
    sense_config.session = "{not json"
    assert sense_config.saved_session() == {}
    assert "the saved login session is not JSON" in caplog.text


def test_the_command_without_a_code_off_a_terminal_says_to_pass_one(
    replay_server, sense_config, monkeypatch
):
    sense_mfa_routes(replay_server)
    monkeypatch.setattr("sys.stdin", StringIO(""))
    with pytest.raises(CommandError, match="pass the current code with --code"):
        call_command("sense_login", stdout=StringIO())
    assert ProviderConfig.objects.get(pk=sense_config.pk).session == ""


def test_a_refused_code_saves_nothing_and_says_why(replay_server, sense_config):
    sense_mfa_routes(replay_server, code_accepted=False)
    with pytest.raises(CommandError, match="one-time code was refused"):
        call_command("sense_login", "--code", "000000", stdout=StringIO())
    assert ProviderConfig.objects.get(pk=sense_config.pk).session == ""


def test_the_command_names_what_is_missing(replay_server, feed, sense_config):
    with pytest.raises(CommandError) as missing:
        call_command("sense_login", "--site", "Elsewhere")
    assert str(missing.value).startswith(  # the source as the admin's form names it
        "No Sense provider settings for site 'Elsewhere': add one (source 'Smart meter', "
        "provider sense) in the admin, or set METER_TYPE=sense"
    )
    other = Site.objects.create(name="Cabin", latitude=44.0, longitude=-72.0)
    ProviderConfig.objects.create(site=other, source="smart_meter", provider="sense")
    with pytest.raises(CommandError, match=r"Several sites use Sense \(Cabin, Maple house\)"):
        call_command("sense_login")
    with pytest.raises(CommandError, match="no e-mail or password"):
        call_command("sense_login", "--site", "Cabin")


def test_the_admin_shows_whether_a_session_is_saved_never_the_tokens(admin_client, sense_config):
    sense_config.save_session(SENSE_LOGIN_SESSION)
    page = admin_client.get("/admin/enrich/providerconfig/").content.decode().lower()
    assert "login session saved" in page and "refresh-one" not in page
    form = admin_client.get(f"/admin/enrich/providerconfig/{sense_config.pk}/change/")
    assert form.status_code == 200 and "t1.v2.access-one" not in form.content.decode()


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("typed", ["", "\n", "  \n"])
def test_no_code_typed_at_the_prompt_asks_sense_nothing(replay_server, sense_config,
                                                          monkeypatch, typed):  # fmt: skip
    # Ctrl-D at the prompt was an EOFError traceback; Enter sent an empty code to Sense.
    sense_mfa_routes(replay_server)
    monkeypatch.setattr("sys.stdin", Terminal(typed))
    with pytest.raises(CommandError, match=r"^No one-time code was typed: run this again and "
                       "type the code of your authenticator app, or pass it with --code"):  # fmt: skip
        call_command("sense_login", stdout=StringIO())
    assert replay_server.calls("POST", "/authenticate/mfa") == []
    assert ProviderConfig.objects.get(pk=sense_config.pk).session == ""
