"""API tokens in the admin: staff see a token's first characters, never its whole key (a key
is its user's password), on every page that names it, also in changes logged before it did; whoever adds one sees its
key once, and its user is not changed after."""

from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from rest_framework.authtoken.models import Token, TokenProxy

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


def test_no_filter_in_a_lists_address_tells_a_keys_characters(admin_client, token):
    # ?key__startswith=3f listed the token only while the guess was right, as a search by the
    # key's start would: a key in at most 16 tries a character, also through the users' list.
    start = token.key[:9]
    for lookup in (
        f"{TOKENS}?key__startswith={start}",
        f"{TOKENS}?pk__startswith={start}",
        f"{TOKENS}?key__gt={start}",
        f"/admin/auth/user/?auth_token__key__startswith={start}",
        f"/admin/auth/user/?auth_token__startswith={start}",
        f"/admin/auth/user/?auth_token__pk__startswith={start}",
    ):
        assert admin_client.get(lookup).status_code == 400, lookup  # as Django's by a password
    assert "tomorrow" in page(admin_client, f"{TOKENS}?created__year__gte=2000")
    assert "tomorrow" in page(admin_client, "/admin/auth/user/?is_staff__exact=0")


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


def test_a_tokens_change_page_keeps_its_user(admin_client, token):
    owner = token.user
    other = get_user_model().objects.create_superuser("root", password="x")

    shown = page(admin_client, f"{TOKENS}{owner.pk}/change/")
    saved = admin_client.post(f"{TOKENS}{owner.pk}/change/", {"user": other.pk})

    assert saved.status_code == 302
    token.refresh_from_db()
    assert token.user == owner
    assert not Token.objects.filter(user=other).exists()
    user = f'<div class="readonly"><a href="/admin/auth/user/{owner.pk}/change/">tomorrow</a>'
    assert user in shown and '<select name="user"' not in shown  # read, not chosen


def test_log_entries_from_before_name_a_token_by_its_keys_start(token):
    """Entries logged before the admin named a token by its key's start hold the whole key."""
    logged = {}
    for model in (Token, TokenProxy, get_user_model()):
        logged[model] = LogEntry.objects.create(
            user=token.user,
            content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
            object_id=token.pk,
            object_repr=token.key,
            action_flag=ADDITION,
        )
    already = LogEntry.objects.create(
        user=token.user,
        content_type=ContentType.objects.get_for_model(Token),
        object_id=token.pk,
        object_repr=f"{token.key[:8]}…",
        action_flag=CHANGE,
    )

    migration = import_module("enrich.migrations.0009_token_log_entries_by_key_start")
    migration.name_tokens_by_key_start(apps, None)

    reprs = {model: LogEntry.objects.get(pk=e.pk).object_repr for model, e in logged.items()}
    assert reprs == {
        Token: f"{token.key[:8]}…",
        TokenProxy: f"{token.key[:8]}…",
        get_user_model(): token.key,  # another model's entry, whatever its text, is its own
    }
    assert LogEntry.objects.get(pk=already.pk).object_repr == f"{token.key[:8]}…"
