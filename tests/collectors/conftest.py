import pytest


@pytest.fixture(autouse=True)
def fast_http(settings):
    """Real retries and backoff, kept short: one retry after 10 ms, a 5 s timeout."""
    settings.HTTP_BACKOFF_SECONDS = 0.01
    settings.HTTP_MAX_RETRIES = 1
    settings.HTTP_TIMEOUT_SECONDS = 5.0
