"""The words the API's answer shapes (OpenAPI 3.0 schemas, given to drf-spectacular's
`extend_schema` as they are) are written in: each API package keeps its endpoints' shapes in
its `schemas.py`, tests/api/test_schema_answers.py checks them against real answers."""

from typing import Any

STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": "string", "format": "date-time"}  # ISO 8601 with its offset
DATE: dict[str, Any] = {"type": "string", "format": "date"}  # YYYY-MM-DD


def shape(required: dict, optional: dict | None = None, description: str = "") -> dict:
    """An object with the `required` keys always in it, the `optional` ones where they apply."""
    said: dict[str, Any] = {"type": "object", "properties": {**required, **(optional or {})}}
    if required:
        said["required"] = list(required)
    if description:
        said["description"] = description
    return said


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def one_of(*schemas: dict) -> dict:
    return {"oneOf": list(schemas)}


def listing(items: dict) -> dict:
    return {"type": "array", "items": items}


def mapping(values: dict, description: str = "") -> dict:
    """An object whose keys are data (a status, a provider), each holding `values`."""
    said = {"type": "object", "additionalProperties": values}
    return {**said, "description": description} if description else said


def choice(values, base: dict = STRING) -> dict:
    return {**base, "enum": list(values)}
