"""Fixtures shared by all tests."""

from collections.abc import Iterator

import pytest

from tests.support.replay import ReplayServer


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A fresh local HTTP server replaying scripted API answers (see tests/support/replay.py)."""
    with ReplayServer() as server:
        yield server
