"""What the OpenAPI schema (/api/schema/) declares set against a real answer: its `$ref`s
resolved, `nullable` read as OpenAPI 3.0 means it, and an object that lists its properties
closed to any other (a field an answer holds that the schema does not name is a lie of
omission), by jsonschema; and the values a parameter's declared schema lets through or not."""

import json
import re
from datetime import datetime, timedelta

import jsonschema
import yaml


def as_json_schema(node, document: dict):
    """`node` of the OpenAPI 3.0 `document` as JSON Schema: each `$ref` replaced by what it
    points to, `nullable: true` read as "or null", an object listing its `properties` without
    saying what else it may hold closed to other keys."""
    if isinstance(node, list):
        return [as_json_schema(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if ref := node.get("$ref"):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return as_json_schema(target, document)
    schema = {key: as_json_schema(value, document) for key, value in node.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    if schema.pop("nullable", False):
        return {"anyOf": [schema, {"type": "null"}]}
    return schema


def mismatch(document: dict, path: str, answer, method: str = "get") -> str | None:
    """What the schema's operation (`method`, `path`) says that `answer` contradicts, or None."""
    responses = document["paths"][path][method]["responses"]
    status = str(answer.status_code)
    if status not in responses:
        return f"answered {status}, the schema declares only {sorted(responses)}"
    content = responses[status].get("content", {})
    kind = answer["Content-Type"].partition(";")[0]
    if kind not in content:
        return f"{status} answered as {kind}, the schema declares {sorted(content)}"
    if not kind.endswith("json"):
        return None
    schema = as_json_schema(content[kind].get("schema", {}), document)
    errors = sorted(
        jsonschema.Draft4Validator(schema).iter_errors(json.loads(answer.content)),
        key=lambda error: list(error.absolute_path),
    )
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "the body"
        return f"{status}: {where}: {errors[0].message[:300]} ({len(errors)} errors)"
    return None


def url(path: str, query: str, filled: dict) -> str:
    query = query.format(**filled)
    if "{" in path:
        return path[: path.index("{")] + query
    return path + query


def asked(client, document: dict, cases: dict, filled: dict) -> list[str]:
    wrong = []
    for path, queries in cases.items():
        for query, status in queries:
            answer = client.get(url(path, query, filled))
            where = f"GET {url(path, query, filled)}"
            if answer.status_code != status:
                wrong.append(f"{where}: asked for a {status}, got {answer.status_code}")
            elif said := mismatch(document, path, answer):
                wrong.append(f"{where}: {said}")
    return wrong


def refused(answer, parameter: dict) -> bool:
    """Whether `answer` is a 400 naming the parameter (JSON, or the docs page's plain text),
    or for a part of the path that names one of a list a 404 (an unknown view's)."""
    name = parameter["name"]
    if "enum" in parameter["schema"] and parameter["in"] == "path":
        return answer.status_code == 404
    if answer.status_code != 400:
        return False
    if answer["Content-Type"].startswith("text/plain"):
        return answer.content.decode().startswith(f"{name}: ")
    return name in yaml.safe_load(answer.content)  # JSON, or the schema's YAML


def limits(schema: dict, given: str | None = None) -> list[tuple[str, bool]]:
    """(value, refused) of what a parameter's schema lets through and what it does not: each
    enum value and one outside, true, false and one neither, a number's declared edges and
    just past them (an integer's past the largest id with no maximum declared), a string's
    `forms` (`given`: its value in the probes' base query)."""
    kind = schema.get("type")
    if "enum" in schema:
        return [(value, False) for value in schema["enum"]] + [("zz-none-of-them", True)]
    if kind == "boolean":
        return [("true", False), ("false", False), ("maybe", True)]
    if kind == "string" or "anyOf" in schema:
        return forms(schema, given)
    if kind not in ("integer", "number"):
        return []
    step = 1 if kind == "integer" else 1 / 120  # half a minute below the shortest `hours`

    def written(value) -> str:
        return str(value) if kind == "integer" else f"{value:.16g}"

    said = [("1.5", True)] if kind == "integer" else []
    if (low := schema.get("minimum")) is not None:
        if schema.get("exclusiveMinimum"):
            said.append((written(low), True))
        else:
            said += [(written(low), False), (written(low - step), True)]
    if (high := schema.get("maximum")) is not None:
        said += [(written(high), False), (written(high + step), True)]
    else:
        said.append((str(2**63) if kind == "integer" else "1" + "0" * 300, False))
    return said


# Durations written each way enrich.api.params.duration is asked about, each at least an hour
# (so `hours=1` fits in): its forms, a unit in capitals, one given twice, a number without
# its unit, a unit without its number, a space, an unknown unit.
DURATIONS = ("2d", "1.5h", ".5d", "1h30m", "90m", "1d2h3m", "1H", "1h1h", "24", "h", "1 h", "1x")


def forms(schema: dict, given: str | None) -> list[tuple[str, bool]]:
    """(value, refused) of a string parameter. A time (`format` date-time or date, or either
    of them: `anyOf`): the moment `given` (else 2199-01-01, which leaves room for any plan)
    written in each form the declared formats take (a date as YYYY-MM-DD; RFC 3339 with Z and
    with an offset, and the ISO 8601 forms the description names: a space for T, the basic
    form, a week date) and in the others, refused: a time without its zone, a date without
    its leading zeros, no time at all. A `pattern`: DURATIONS, refused where it does not match.
    A string declared with neither (nor an enum): any text is taken."""
    if pattern := schema.get("pattern"):
        return [(value, not re.search(pattern, value)) for value in DURATIONS]
    formats = {alternative.get("format") for alternative in schema.get("anyOf", [schema])}
    if not formats & {"date", "date-time"}:
        return [("zz-any-text", False)]
    moment = datetime.fromisoformat(given or "2199-01-01T00:00:00Z").replace(tzinfo=None)
    offset = (moment + timedelta(hours=1)).isoformat() + "%2B01:00"  # "+" would read as a space
    week = moment.isocalendar()
    times = [moment.isoformat() + "Z", offset, moment.isoformat(sep=" ").replace(" ", "%20") + "Z",
             moment.strftime("%Y%m%dT%H%M%SZ"),
             f"{week.year}-W{week.week:02}-{week.weekday}T{moment:%H:%M}Z"]  # fmt: skip
    return [
        (moment.date().isoformat(), "date" not in formats),
        *((time, "date-time" not in formats) for time in times),
        (moment.isoformat(), True),
        (f"{moment.year}-{moment.month}-{moment.day}", True),
        ("zz-no-time", True),
    ]


def _alternatives(schema: dict) -> list[dict]:
    """`schema` and each schema of its `anyOf` (a nullable's) and `oneOf`, at any depth."""
    nested = schema.get("anyOf", []) + schema.get("oneOf", [])
    return [schema] + [alternative for inner in nested for alternative in _alternatives(inner)]


def field_names(answer, schema: dict) -> set[str]:
    """The names of the fields `answer` holds at any depth, as its JSON Schema (`as_json_schema`)
    declares them: keys an object declares as data (`additionalProperties`: a status, an
    attribute) are not names, what they hold is read on."""
    if isinstance(answer, list):
        return {name for item in answer for name in field_names(item, schema.get("items", schema))}
    if not isinstance(answer, dict):
        return set()
    alternatives = _alternatives(schema)
    properties = {k: v for a in alternatives for k, v in a.get("properties", {}).items()}
    data = next((a["additionalProperties"] for a in alternatives
                 if isinstance(a.get("additionalProperties"), dict)), {})  # fmt: skip
    names = set()
    for key, value in answer.items():
        names |= {key} if key in properties else set()
        names |= field_names(value, properties.get(key, data))
    return names
