"""A REST client signed in with a new user's API token, as Home Assistant or a person is, a
token made by `manage.py create_token`, the answer the API gives a bad parameter, and an
entity's series as GET /api/series gives it."""

from __future__ import annotations

from datetime import datetime
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(username: str, *, staff: bool = False) -> APIClient:
    """A client carrying the token of a new user `username` (staff: may trigger work)."""
    user = get_user_model().objects.create_user(
        username, password=f"pw-{username}-123", is_staff=staff
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def create_token(*args: str) -> str:
    """Run `manage.py create_token` with `args`; return the token it printed (second line)."""
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().splitlines()[1]


def assert_400_naming_only(response, name: str, text: str) -> None:
    """A 400 whose body names the one parameter `name`, with `text` in what it says of it."""
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [name]
    assert text in str(response.json()[name])


def series_answer(client: APIClient, entity_id: str, start: datetime, end: datetime) -> dict:
    """GET /api/series's answer (asserted 200) for the entity over [start, end)."""
    query = {"entity_id": entity_id, "start": start.isoformat(), "end": end.isoformat()}
    answer = client.get("/api/series", query)
    assert answer.status_code == 200, answer.content
    return answer.json()
