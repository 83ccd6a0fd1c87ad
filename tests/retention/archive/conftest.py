"""Fixtures of the archive tests: a staff user's token client."""

import pytest

from tests.support.api import token_client


@pytest.fixture
def client():
    return token_client("ops", staff=True)
