"""The admin's site change form, as a browser posts it (no provider rows)."""

from enrich.models import Site


def site_form(site: Site, **changes) -> dict:
    form = {"name": site.name, "latitude": str(site.latitude), "longitude": str(site.longitude),
            "timezone": site.timezone, "grid_region": "", "pricing_region": "", "enabled": "on",
            "providers-TOTAL_FORMS": "0", "providers-INITIAL_FORMS": "0",
            "providers-MIN_NUM_FORMS": "0", "providers-MAX_NUM_FORMS": "1000"}  # fmt: skip
    return form | changes
