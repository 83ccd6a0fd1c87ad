"""Each query and path parameter the OpenAPI schema (/api/schema/) declares is read as declared:
its type, enum, minimum and maximum asked at their edges, a time's format (date-time, date) and
a duration's pattern asked in the forms they take and in others, on the populated install of
tests/api/test_schema_answers.py (tests.support.schema_install)."""

from urllib.parse import parse_qsl

import pytest

from tests.support.schema_check import limits, refused, url
from tests.support.schema_install import ASKED

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.influxdb,
    pytest.mark.usefixtures("own_throttle_counts", "many_reads"),
]

# The probes' own base query where a parameter's declared maximum holds only with another
# given (docs/api.md: `hours` at most `within`, and on /api/plan at most 24 without `before`),
# or only on one of the views (`day_of_week`, and `start` and `end` as times, of room activity).
EDGES = {
    "/api/pricing/windows": "?hours=1&within=366d&site={site}",
    "/api/plan": "?hours=1&before=2199-01-01T00:00:00Z&site={site}",
    "/api/views/{name}": "hourly_room_activity?start=2026-04-29&end=2026-04-30",
}
# The views' filters of another view than room activity, each asked of its own view.
FILTERED = {"entity_id": "daily_energy_by_device", "region": "daily_carbon_summary"}


def test_each_parameter_s_declared_type_and_limits_are_those_the_endpoint_reads(install):
    """A value outside a parameter's declared type, enum, minimum, maximum, format or pattern
    is a 400 naming it; an enum value, a boolean, a time in a form of its declared format or
    a duration matching its pattern is taken; a number with no declared maximum is not
    refused for its size, nor a string with no declared format, pattern or enum for its form
    (the schema would call a refused request valid)."""
    client, filled = install
    document = client.get("/api/schema/?format=json").json()
    wrong = []
    for path, queries in ASKED.items():
        base = EDGES.get(path) or next(query for query, status in queries if status == 200)
        for parameter in document["paths"][path]["get"].get("parameters", []):
            name = parameter["name"]
            own = FILTERED.get(name) if path == "/api/views/{name}" else None
            base_path = url(path, own or base, filled)
            given = dict(parse_qsl(base_path.partition("?")[2])).get(name)
            for value, refuse in limits(parameter["schema"], given):
                if parameter["in"] == "path":
                    where = path.replace(f"{{{name}}}", value)
                    if "{" in where:  # the view's name: its rows' base query
                        where = where.replace("{run_id}", str(filled["run"]))
                else:
                    kept = [p for p in base_path.partition("?")[2].split("&") if p and
                            not p.startswith(f"{name}=")]  # fmt: skip
                    where = base_path.partition("?")[0] + "?" + "&".join(kept + [f"{name}={value}"])
                answer = client.get(where)
                if refused(answer, parameter) != refuse:
                    said = "refused" if refuse else "taken"
                    wrong.append(f"GET {where}: the schema says {said}, answered "
                                 f"{answer.status_code} {answer.content[:200]!r}")  # fmt: skip
    assert not wrong, "\n".join(wrong)
