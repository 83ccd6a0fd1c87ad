"""The start page's public URL, for links that leave enrich (Home Assistant's device page):
only what the settings say, never a guessed host."""

import pytest

from enrich.public_url import status_page_url

EXAMPLE = "https://enrich.example.org"


@pytest.mark.parametrize(
    ("redirect", "origins", "expected"),
    [
        ("", [], None),
        (f"{EXAMPLE}/oauth/google/callback", [], f"{EXAMPLE}/"),
        ("https://example.org/enrich/oauth/google/callback", [], "https://example.org/enrich/"),
        ("https://auth.example.org/google/back", [], None),  # not enrich's callback: not its base
        ("", [EXAMPLE], f"{EXAMPLE}/"),
        (f"{EXAMPLE}/oauth/google/callback", ["https://other.example.org"], f"{EXAMPLE}/"),
        ("", [EXAMPLE, "https://enrich.example.net"], None),  # which one users open is unknown
        ("", ["https://*.example.org"], None),
    ],
)
def test_the_status_page_url_comes_from_the_settings_or_not_at_all(
    settings, redirect, origins, expected
):
    settings.GOOGLE_REDIRECT_URI, settings.CSRF_TRUSTED_ORIGINS = redirect, origins
    assert status_page_url() == expected
