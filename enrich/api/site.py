"""The `site` query parameter of every endpoint answering for one site (the values now, the
prices, plans and charts): a site id, optional when exactly one site exists.

An id that is no id (`abc`, `0`), a missing one where it is required, or one given twice is a
400 naming `site`; an id no site has is an `UnknownSite`: DRF answers it as a 404 naming
`site`."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError

from enrich.api import params
from enrich.models import Site

# Its schema states the limits its reader enforces (a value outside is a 400).
SITE = OpenApiParameter(
    "site",
    {"type": "integer", "minimum": 1, "maximum": params.BIGGEST},
    description="site id (optional with one site); an unknown id is a 404",
)


class UnknownSite(NotFound):
    """No site has the id asked for: a 404 whose body names `site`."""

    def __init__(self, message: str) -> None:
        super().__init__({"site": message})


def site_from_query(query) -> Site:
    site_id = params.integer(query, "site", minimum=1)
    if site_id is not None:
        site = Site.objects.filter(pk=site_id).first()
        if site is None:
            raise UnknownSite(f"There is no site with id {site_id}; GET /api/sites/ lists them.")
        return site
    sites = list(Site.objects.all()[:2])
    if len(sites) != 1:
        problem = "no site exists" if not sites else "there are several sites"
        raise ValidationError({"site": f"Required because {problem}: give ?site=<id> "
                               "(GET /api/sites/ lists them)."})  # fmt: skip
    return sites[0]
