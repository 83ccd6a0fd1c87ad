"""A REST client signed in with a new user's API token, as Home Assistant or a person is."""

from __future__ import annotations

from django.contrib.auth import get_user_model
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
