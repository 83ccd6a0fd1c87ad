"""What docs/providers.md states of each provider adapter, checked against the adapter: how far
back a backfill after an outage reaches (Adapter.history)."""

import re
from datetime import timedelta
from pathlib import Path

from collectors.registry import ADAPTERS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
# The enrichment providers as the page names them.
NAMES = {
    "watttime": "WattTime",
    "electricitymaps": "Electricity Maps",
    "uk_carbon_intensity": "UK Carbon Intensity",
    "awattar": "aWATTar",
    "octopus": "Octopus",
    "tibber": "Tibber",
    "airnow": "AirNow",
}


def _in_words(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours > 24 else f"{hours:g} hours"


def test_the_backfill_bound_the_page_gives_each_provider_is_the_adapter_s():
    """The paragraph on outages names each enrichment provider with history and the bound of
    its backfill window (before, it said "as far back as the API allows", while aWATTar's and
    Octopus' windows stop at 7 days of years of history)."""
    paragraphs = re.split(r"\n\s*\n", PAGE.read_text())
    start = "After an outage, providers whose API serves history"
    paragraph = " ".join(next((p for p in paragraphs if p.startswith(start)), "").split())
    assert paragraph, "docs/providers.md has no paragraph on the backfill after an outage"
    names = "|".join(map(re.escape, NAMES.values()))
    stated = dict(re.findall(rf"({names}) (\d+ (?:days|hours))\b", paragraph))
    expected = {
        NAMES[a.provider]: _in_words(a.history)
        for a in ADAPTERS
        if a.provider in NAMES and a.history is not None
    }
    assert stated == expected
