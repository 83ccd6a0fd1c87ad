"""API tokens in the admin: staff see a token's first characters, never its whole key (a key
is its user's password), on every page that names it; whoever adds one sees its key once."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKENS = "/admin/authtoken/tokenproxy/"


@pytest.fixture
def token() -> Token:
    # A name without a hex digit: a search by a key's start cannot find it by its name.
    user = get_user_model().objects.create_user("tomorrow")
    return Token.objects.create(user=user)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_no_page_of_the_admin_shows_a_tokens_whole_key(admin_client, token):
    user = token.user.pk
    for url in (
        TOKENS,
        f"{TOKENS}?q=tomorrow",  # the search by user name
        f"{TOKENS}{user}/change/",
        f"{TOKENS}{user}/history/",
        f"{TOKENS}{user}/delete/",
        f"/admin/auth/user/{user}/delete/",  # lists the user's token among what goes with it
    ):
        shown = page(admin_client, url)
        assert token.key not in shown, url
        assert token.key[:12] not in shown, url
    assert f"{token.key[:8]}…" in page(admin_client, TOKENS)
    assert f"{token.key[:8]}…" in page(admin_client, f"{TOKENS}{user}/change/")
    # Not found by its key's start, which would tell the key character by character.
    assert "0 results" in page(admin_client, f"{TOKENS}?q={token.key[:1]}")


def test_adding_a_token_shows_its_key_once_to_whoever_added_it(admin_client):
    user = get_user_model().objects.create_user("automation")

    added = admin_client.post(f"{TOKENS}add/", {"user": user.pk}, follow=True)

    key = Token.objects.get(user=user).key
    assert added.status_code == 200
    said = [str(m) for m in added.context["messages"]]
    assert any(key in m and "shown this once" in m for m in said), said
    assert added.content.decode().count(key) == 1  # in the message only
    again = page(admin_client, TOKENS)
    assert key not in again and f"{key[:8]}…" in again
    assert all(key not in entry.object_repr for entry in LogEntry.objects.all())
