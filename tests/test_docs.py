"""docs/configuration.md and .env.example document every variable the settings read; README.md
shows the two commands."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Every module of config/ may read variables (settings.py, security.py, api_access.py, ...).
SETTINGS = "".join(path.read_text() for path in sorted((ROOT / "config").glob("*.py")))
VARIABLES = sorted(
    set(re.findall(r'(?:env\.\w+|required|choice|number)\(\s*f?"([A-Z][A-Z0-9_]+)"', SETTINGS))
)


def test_settings_variables_were_found():
    assert {"DJANGO_SECRET_KEY", "INFLUXDB_URL", "REDIS_URL", "DATABASE_URL"} <= set(VARIABLES)


@pytest.mark.parametrize("document", ["docs/configuration.md", ".env.example"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text()
    missing = [name for name in VARIABLES if name != "ENRICH_ENV_FILE" and name not in text]
    assert not missing, f"{document} does not mention: {', '.join(missing)}"


def test_cache_ttl_variables_are_documented():
    from django.conf import settings

    for source in settings.CACHE_TTL_SECONDS:
        name = f"CACHE_TTL_{source.upper()}_SECONDS"
        assert name in (ROOT / "docs" / "configuration.md").read_text()
        assert name in (ROOT / ".env.example").read_text()


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
