"""What docs/providers.md states of each provider adapter, checked against the adapter: how far
back a backfill after an outage reaches (Adapter.history), and the `window_hours` tag a price
config's option gives."""

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collectors.answers import api_root
from collectors.pricing.adapter import window_hours
from collectors.pricing.slots import PriceSlot, headline, headline_reading
from collectors.registry import ADAPTERS, BY_KEY

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
    Octopus' windows stop at 7 days of years of history). A provider with history missing from
    NAMES fails here: it was left out of the check, so a new one's bound went unchecked."""
    paragraphs = re.split(r"\n\s*\n", PAGE.read_text())
    start = "After an outage, providers whose API serves history"
    paragraph = " ".join(next((p for p in paragraphs if p.startswith(start)), "").split())
    assert paragraph, "docs/providers.md has no paragraph on the backfill after an outage"
    with_history = [a.provider for a in ADAPTERS if a.history and a.source != "smart_meter"]
    assert "awattar" in with_history
    assert [p for p in with_history if p not in NAMES] == [], "give its name as the page writes it"
    names = "|".join(map(re.escape, NAMES.values()))
    stated = dict(re.findall(rf"({names}) (\d+ (?:days|hours))\b", paragraph))
    expected = {
        NAMES[a.provider]: _in_words(a.history)
        for a in ADAPTERS
        if a.provider in NAMES and a.history is not None
    }
    assert stated == expected


def test_the_window_hours_tags_the_page_gives_are_those_written():
    """`0.333333` for 0.3333: the tag is not the option as typed (before, the page said only
    "its option", and a query for '0.3333' found no point)."""
    text = " ".join(PAGE.read_text().split())
    sentence = re.search(r"adds `WHERE \"window_hours\" = '6'` \(its option(.*?)\)\.", text)
    pairs = re.findall(r"`([^`]+)` for (\S+?)(?: or (\S+?))?[,:)]", sentence[1] + ")")
    assert len(pairs) == 2, sentence[1]
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    day = [
        PriceSlot(now + timedelta(hours=h), now + timedelta(hours=h + 1), 0.1) for h in range(24)
    ]
    for tag, *options in pairs:
        for option in filter(None, options):
            value = option.strip('"') if option.startswith('"') else float(option)
            hours = window_hours({"window_hours": value})
            written = headline_reading(headline(day, now, hours), {"provider": "awattar"})
            assert written.tags["window_hours"] == tag, option


def test_the_octopus_region_letters_the_page_gives_are_those_the_adapter_takes():
    """Octopus' GSP regions skip I and O: a page saying "A–P" offered two letters every run
    refuses. Each letter the page lists is taken, every other one refused."""
    from collectors.base import ConfigError, Credentials, SiteInfo

    text = " ".join(PAGE.read_text().split())
    listed = re.search(r"`pricing_region` = the region letter, one of `([A-Z]+)`", text)[1]
    taken = set()
    for letter in map(chr, range(ord("A"), ord("Z") + 1)):
        site = SiteInfo("Home", 51.5, -0.1, pricing_region=letter)
        try:
            BY_KEY[("electricity_pricing", "octopus")]().target(site, Credentials())
        except ConfigError:
            continue
        taken.add(letter)
    assert set(listed) == taken


def _default_roots(adapter: type) -> list[str]:
    """The API roots `adapter` appends its paths to when `base_url` is left out: those of its
    module's `HOSTS` (aWATTar: one per country, one `base_url` for both), else the default of
    its `collectors.answers.api_root` parser (none: Google's libraries, a Home Assistant's URL)."""
    if hosts := getattr(sys.modules[adapter.__module__], "HOSTS", None):
        return list(hosts.values())
    parser = api_root("https://example.org", "example").__qualname__
    return [parse({}) for parse in adapter.option_parsers if parse.__qualname__ == parser]


def test_the_default_api_roots_the_page_gives_are_the_adapters():
    """A proxy for Electricity Maps set as `http://proxy:8080` asked /carbon-intensity/latest
    (a 404): its root holds the version, which the page did not say. Each root it names is the
    one the adapter appends its paths to when `base_url` is left out, in the registry's order;
    the roots were read from a list of modules in this test, so a new provider's was checked
    only once someone added its module there."""
    roots = [root for adapter in ADAPTERS for root in _default_roots(adapter)]
    assert "https://api.electricitymaps.com/v3" in roots and len(roots) >= 10
    text = " ".join(PAGE.read_text().split())
    stated = re.search(r"the defaults are (.*?)\. A root that misses", text)
    assert stated, "docs/providers.md does not list the default API roots"
    assert re.findall(r"`(https://[^`]+)`", stated.group(1)) == roots
