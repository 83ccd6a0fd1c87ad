"""docs/providers.md names what each provider writes: every tag and field an adapter's
happy path (its replayed fixtures, tests/collectors/scenarios_<kind>.py) writes is named, in
backticks, in the page's section of its source, so a field added or renamed in the code
without the page fails here."""

import re

import pytest

from tests.collectors.test_contract import PROVIDERS, run
from tests.support.doc_pages import ROOT

# The section of docs/providers.md that describes each source's points: from its heading to
# the next heading of its level.
SECTIONS = {
    "carbon_intensity": "### Carbon intensity",
    "electricity_pricing": "### Electricity prices",
    "air_quality": "### Air quality",
    "occupancy": "## Calendar occupancy",
    "smart_meter": "## Smart meters",
}


def section(source: str) -> str:
    text = (ROOT / "docs" / "providers.md").read_text()
    heading = SECTIONS[source]
    body = text.split("\n" + heading, 1)[1]
    level = heading.split(" ")[0]
    return re.split(rf"\n{level} ", body, maxsplit=1)[0]


@pytest.mark.parametrize("source, provider", PROVIDERS)
def test_every_tag_and_field_an_adapter_writes_is_named_in_its_section(
    source, provider, replay_server
):
    _, _, result = run(source, provider, replay_server)
    named = set(re.findall(r"`([a-z][a-z0-9_]*)`", section(source)))
    written = {
        f"{reading.measurement} {kind} {name}"
        for reading in result.readings
        for kind, names in (("tag", reading.tags), ("field", reading.fields))
        for name in names
        if name not in named
    } | {f"measurement {r.measurement}" for r in result.readings if r.measurement not in named}
    assert not written, f"written by {provider}, not named in its section: {sorted(written)}"
