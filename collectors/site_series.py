"""Which of enrich's measurements hold points tagged with a site's name (`site`: the smart
meters' and the calendar occupancy's): a rename splits those series in two, so the admin
warns before it (enrich.admin.SiteForm, through enrich.models.site_series)."""

from collectors.occupancy.google import now as occupancy
from collectors.smart_meter import common as meters
from enrich.influx import quote_ident, stored_rows

SITE_TAGGED = (meters.MEASUREMENT, meters.CIRCUIT_MEASUREMENT, occupancy.MEASUREMENT)


def tagged_measurements(sender: object, name: str, **_: object) -> list[str]:
    """Receiver of enrich.models.site_series: the measurements with points of site `name`."""
    sources = ", ".join(quote_ident(measurement) for measurement in SITE_TAGGED)
    rows = stored_rows(f'SHOW TAG VALUES FROM {sources} WITH KEY = "site"')
    return sorted({row.measurement for row in rows if row.values.get("value") == name})
