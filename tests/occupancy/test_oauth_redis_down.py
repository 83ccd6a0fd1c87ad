"""The Google Calendar connect button and callback while Redis, where a consent in progress
waits, is out of reach (REDIS_URL where nothing listens): a 503 page saying so, nothing started
or used up; the consent started before goes through once Redis answers again. The page said
it already; docs/api.md did not."""

import re

import pytest

from enrich.models import OAuthConnection
from tests.support.doc_pages import flat
from tests.support.google import consents, google_answers, start
from tests.support.ports import free_port

pytestmark = pytest.mark.django_db


def redis_is_unavailable(answer) -> None:
    assert answer.status_code == 503, answer.content
    page = answer.content.decode()
    assert '<h1 class="problem">Redis is unavailable</h1>' in page, page
    [message] = re.findall(r'<p id="message">(.*?)</p>', page, re.S)
    assert message.startswith("The OAuth state store is unavailable: cannot reach Redis at "
                              "REDIS_URL="), message  # fmt: skip


def test_a_consent_is_neither_started_nor_used_up_while_redis_is_out_of_reach(
    admin_client, google, site, settings
):
    google_answers(google)
    query = start(admin_client, site)  # a consent waiting in Redis
    shared, settings.REDIS_URL = settings.REDIS_URL, f"redis://127.0.0.1:{free_port()}/0"
    try:
        redis_is_unavailable(admin_client.post("/oauth/google/connect", {"site": site.pk}))
        callback = {"state": query["state"], "code": "4/0AQlEd-test-code"}
        redis_is_unavailable(admin_client.get("/oauth/google/callback", callback))
    finally:
        settings.REDIS_URL = shared
    assert len(consents()) == 1 and not OAuthConnection.objects.exists()
    assert google.calls("POST", "/token") == []
    # Redis back: the same answer from Google (the page reloaded) connects the calendar.
    assert admin_client.get("/oauth/google/callback", callback).status_code == 200
    assert OAuthConnection.objects.get().status == "connected"


def test_the_api_page_says_it():
    assert ("`connect` and `callback` answer a 503 page, \"Redis is unavailable\" (\"The OAuth "
            "state store is unavailable: cannot reach Redis at REDIS_URL=") in flat("docs/api.md")  # fmt: skip
