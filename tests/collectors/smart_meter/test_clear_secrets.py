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


@pytest.mark.parametrize(
    ("provider", "session"),
    [("sense", SENSE_LOGIN_SESSION), ("emporia_vue", EMPORIA_SESSION)],
)
def test_clearing_secrets_removes_the_saved_login_session(
    admin_client, replay_server, provider, session
):
    site = Site.objects.create(name="Home", latitude=41.88, longitude=-87.63)
    config = ProviderConfig.objects.create(
        site=site,
        source="smart_meter",
        provider=provider,
        username="sense.owner@example.com",
        password="app-password-1",
        options={"base_url": replay_server.url},
    )
    config.save_session(session)

    page = clear_secrets(admin_client, config).content.decode()

    assert f"{config}: removed the stored API key and password and the saved login session." in page
    config.refresh_from_db()
    assert (config.password, config.session, config.saved_session()) == ("", "", {})
    outcome = pipeline.collect(config)
    assert outcome.status == "failed"
    assert "needs the e-mail and password" in outcome.error
    assert replay_server.requests == []  # no call with the old session
