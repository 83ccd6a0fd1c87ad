"""Credential-carrying dataclasses keep their secrets out of repr(): reprs end up in logs,
tracebacks and error reports."""

import dataclasses
import importlib
import pkgutil
import re
from datetime import UTC, datetime

import pytest

import collectors
import enrich
import retention
from collectors.base import Credentials
from collectors.occupancy.google.connection import Tokens as GoogleTokens
from collectors.occupancy.google.oauth import PendingConsent
from collectors.smart_meter.emporia.cognito import Tokens as CognitoTokens
from collectors.smart_meter.sense.auth import Session as SenseSession
from enrich.bootstrap import PlannedProvider

SECRET_NAME = re.compile(r"(^|_)(password|secret|token|api_key|verifier)$")


def project_dataclasses() -> list[type]:
    found = []
    for package in (collectors, enrich, retention):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            loaded = importlib.import_module(module.name)
            found += [
                value
                for value in vars(loaded).values()
                if dataclasses.is_dataclass(value)
                and isinstance(value, type)
                and value.__module__ == loaded.__name__
            ]
    return found


@pytest.mark.django_db
def test_every_field_named_like_a_secret_is_left_out_of_repr():
    classes = project_dataclasses()
    assert {GoogleTokens, CognitoTokens, SenseSession, Credentials} <= set(classes)
    shown = [
        f"{cls.__module__}.{cls.__qualname__}.{f.name}"
        for cls in classes
        for f in dataclasses.fields(cls)
        if SECRET_NAME.search(f.name) and f.repr
    ]
    assert shown == []


SECRETS = [f"SECRET-{n}-value" for n in range(6)]
INSTANCES = [
    Credentials(
        username="alex@example.com",
        password=SECRETS[0],
        api_key=SECRETS[1],
        options={"token": SECRETS[2], "client_secret": SECRETS[3]},
        session={"access_token": SECRETS[4]},
    ),
    GoogleTokens(
        access_token=SECRETS[0],
        refresh_token=SECRETS[1],
        expiry=datetime(2026, 5, 4, tzinfo=UTC),
        client_id="123-test.apps.googleusercontent.com",
        client_secret=SECRETS[2],
    ),
    CognitoTokens(
        id_token=SECRETS[0], access_token=SECRETS[1], refresh_token=SECRETS[2], expires_in=3600
    ),
    SenseSession(
        access_token=SECRETS[0], user_id="1234", refresh_token=SECRETS[1], monitor_id="5678"
    ),
    PendingConsent(
        state="state-abc",
        code_verifier=SECRETS[0],
        site_id=1,
        user_id=2,
        redirect_uri="http://x/cb",
    ),
    PlannedProvider(
        "carbon_intensity", "watttime", "alex", api_key=SECRETS[0], password=SECRETS[1]
    ),
]


@pytest.mark.parametrize("instance", INSTANCES, ids=lambda i: type(i).__qualname__)
def test_repr_shows_what_it_is_but_no_secret(instance):
    text = repr(instance)
    assert not [s for s in SECRETS if s in text], text
    assert text.startswith(type(instance).__name__ + "(") and len(text) > 20
