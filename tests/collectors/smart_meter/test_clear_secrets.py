"""The admin's "Clear secrets" on a meter that logs in: its saved login session goes too, so no
run uses the account again. Real PostgreSQL and Redis; the maker's API on the replay server."""

import pytest

from collectors import pipeline
from enrich.models import ProviderConfig, Site
from tests.collectors.scenarios_smart_meter import SENSE_LOGIN_SESSION
from tests.support.configs import clear_secrets

pytestmark = pytest.mark.django_db

EMPORIA_SESSION = {
    "account": "sense.owner@example.com",
    "id_token": "eyJ.saved-id",
    "access_token": "eyJ.saved-access",
    "refresh_token": "eyJ.saved-refresh",
    "expires_at": 4102444800,
}


def meter(provider: str, **options) -> ProviderConfig:
    """A meter config of site Home logged in with an app's e-mail and password."""
    site = Site.objects.create(name="Home", latitude=41.88, longitude=-87.63)
    return ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider=provider,
        username="sense.owner@example.com",
        password="app-password-1",
        options=options,
    )


@pytest.mark.parametrize(
    ("provider", "session"),
    [("sense", SENSE_LOGIN_SESSION), ("emporia_vue", EMPORIA_SESSION)],
)
def test_clearing_secrets_removes_the_saved_login_session(
    admin_client, replay_server, provider, session
):
    config = meter(provider, base_url=replay_server.url)
    config.save_session(session)

    page = clear_secrets(admin_client, config).content.decode()

    assert f"{config}: removed the stored API key and password and the saved login session." in page
    config.refresh_from_db()
    assert (config.password, config.session, config.saved_session()) == ("", "", {})
    outcome = pipeline.collect(config)
    assert outcome.status == "failed"
    assert "needs the e-mail and password" in outcome.error
    assert replay_server.requests == []  # no call with the old session


def test_a_fetch_running_while_secrets_are_cleared_does_not_save_its_session(admin_client):
    config = meter("sense")
    fetching = ProviderConfig.objects.get(pk=config.pk)  # the worker's copy, read before

    clear_secrets(admin_client, config)
    fetching.save_session(SENSE_LOGIN_SESSION)  # the fetch reports the login it made

    config.refresh_from_db()
    assert (config.password, config.session) == ("", "")
    fetching.save_session({})  # removing one is never refused
