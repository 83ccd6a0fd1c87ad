"""The OpenAPI declarations of the API's time parameters, saying what enrich.api.params reads
them as (`moment`, `day`, `day_or_moment`, `duration`): a client's generated code checks a
value as the endpoint does, and the description names the forms a format leaves out."""

from drf_spectacular.utils import OpenApiParameter

from enrich.api.params import DURATION_PATTERN, MAX_DURATION, MOMENT_EXAMPLE
from enrich.time_span import SPAN

_MOMENT = {"type": "string", "format": "date-time"}
_DAY_OR_MOMENT = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
MOMENT_FORMS = (
    f"an ISO 8601 time with its zone, e.g. {MOMENT_EXAMPLE} or 2026-11-27T07:00:00%2B01:00 (an "
    f"offset's + written %2B), {SPAN}: any RFC 3339 date-time, and ISO 8601's other forms "
    "with a zone (a space for T, the basic 20261127T060000Z, a week date 2026-W48-5T06:00Z, "
    "minutes or seconds left out); without a zone, or an ordinal date (2026-331), a 400"
)
DURATION_FORMS = (
    "numbers (1.5 and .5 too) each followed by d, h or m in lowercase, each unit once and in "
    f"the order d, h, m, e.g. 24h, 90m, 2d, 1h30m; from 1m to {MAX_DURATION.days}d"
)


def moment(name: str, what: str, required: bool = False) -> OpenApiParameter:
    """A parameter read by `params.moment`: `what` it is, then its forms."""
    return OpenApiParameter(name, _MOMENT, required=required,
                            description=f"{what}: {MOMENT_FORMS}")  # fmt: skip


def day_or_moment(name: str, what: str, moments_on: str) -> OpenApiParameter:
    """A parameter read by `params.day` (YYYY-MM-DD), and on `moments_on` by
    `params.day_or_moment` (also a time)."""
    return OpenApiParameter(name, _DAY_OR_MOMENT,
                            description=f"{what}, YYYY-MM-DD; {moments_on} also {MOMENT_FORMS}")  # fmt: skip


def duration(name: str, what: str) -> OpenApiParameter:
    """A parameter read by `params.duration`."""
    return OpenApiParameter(
        name,
        {"type": "string", "pattern": DURATION_PATTERN},
        description=f"{what}: {DURATION_FORMS}",
    )
