"""What the first-run setup offers: the providers a new site can start with, and which of them
serve a country without a key (those are ticked for that country)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Offer:
    source: str
    provider: str
    label: str
    countries: tuple[str, ...]  # where it serves; empty = anywhere (with its key)
    needs_key: bool = False


OFFERS: tuple[Offer, ...] = (
    Offer("carbon_intensity", "uk_carbon_intensity", "UK Carbon Intensity (no key)", ("GB",)),
    Offer("electricity_pricing", "octopus", "Octopus Agile prices (no key)", ("GB",)),
    Offer("electricity_pricing", "awattar", "aWATTar spot prices (no key)", ("DE", "AT")),
    Offer("carbon_intensity", "electricitymaps", "Electricity Maps (API key)", (), needs_key=True),
)
COUNTRIES = (
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("AT", "Austria"),
    ("", "Another country"),
)


def preselected(country: str, electricitymaps_key: str = "") -> list[str]:
    """The providers ticked for `country`: keyless ones that serve it, and Electricity Maps
    when a key is given."""
    chosen = [o.provider for o in OFFERS if not o.needs_key and country in o.countries]
    if electricitymaps_key:
        chosen.append("electricitymaps")
    return chosen


def offer(provider: str) -> Offer:
    return next(o for o in OFFERS if o.provider == provider)
