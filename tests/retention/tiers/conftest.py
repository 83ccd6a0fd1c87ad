"""Fixtures of the tier tests."""

import uuid

import pytest


@pytest.fixture(autouse=True)
def own_redis_prefix(settings):
    """Locks of this test under their own prefix (parallel test runs share Redis)."""
    settings.REDIS_KEY_PREFIX = f"test-tiers-{uuid.uuid4().hex[:8]}"
