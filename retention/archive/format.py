"""Daily aggregate rows <-> Arrow table <-> Parquet bytes: the archive's file format.

A row is a dict: `time` (aware UTC datetime, the day's start), `entity_id`, `kind`, and the
aggregate fields of `retention.tiers.aggregate.Aggregate.to_fields` (absent = None). A file has the
columns `time` (timestamp, UTC), `entity_id`, `kind`, every known aggregate field (nullable,
so every file has the same core schema), then any other field found (weather attribute means,
a `total` energy meter's `last_reset` string; sorted by name). Rows are sorted by entity, then
time: similar values sit together, which is what makes Parquet small
(reference/retention_semantics.md: ~13 B per daily row).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from enrich.wording import counted

TIME_TYPE = pa.timestamp("us", tz="UTC")
TAG_COLUMNS = ("entity_id", "kind")
# Aggregate.to_fields' fields, in a fixed order with fixed types (retention/tiers/aggregate.py);
# `last_reset` (only `total` energy meters have it) and `first_reading_time` (only the row of a
# meter's first reading) are among the other fields found.
KNOWN_FIELDS: dict[str, pa.DataType] = {
    "sample_count": pa.int64(),
    "coverage_seconds": pa.float64(),
    "gap_count": pa.int64(),
    "avg_value": pa.float64(),
    "min_value": pa.float64(),
    "max_value": pa.float64(),
    "last_value": pa.float64(),
    "total_energy": pa.float64(),
    "state_changes": pa.int64(),
    "on_seconds": pa.float64(),
    "last_state": pa.string(),
}
# InfluxDB's field types (SHOW FIELD KEYS) as Arrow types, for fields not known above.
INFLUX_TYPES: dict[str, pa.DataType] = {
    "float": pa.float64(),
    "integer": pa.int64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
}
# zstd level 9 is about as small as gzip's default and much faster to read back.
COMPRESSION_LEVELS = {"gzip": None, "zstd": 9}

Row = dict[str, Any]


def field_types(influx_types: Mapping[str, str]) -> dict[str, pa.DataType]:
    """Column types of the fields: the known ones, then the others InfluxDB reports."""
    types = dict(KNOWN_FIELDS)
    for name in sorted(influx_types):
        if name not in types:
            # A field written with two types shows as e.g. "float,integer": float holds both.
            kinds = influx_types[name].split(",")
            types[name] = (
                pa.float64() if len(kinds) > 1 else INFLUX_TYPES.get(kinds[0], pa.string())
            )
    return types


def _convert(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_floating(kind):
        return float(value)  # JSON turns 2.0 into 2
    if pa.types.is_integer(kind):
        return int(value)
    if pa.types.is_boolean(kind):
        return bool(value)
    return str(value)


def sort_key(row: Mapping[str, Any]) -> tuple[str, datetime]:
    return (row["entity_id"], row["time"])


def rows_to_table(rows: Iterable[Row], types: Mapping[str, pa.DataType]) -> pa.Table:
    """The rows as a table sorted by entity then time; fields not in `types` are an error."""
    ordered = sorted(rows, key=sort_key)
    unknown = sorted({k for r in ordered for k in r} - {"time", *TAG_COLUMNS, *types})
    if unknown:
        raise ValueError(f"fields {unknown} have no column type; pass them in `types`")
    used = [n for n in types if n in KNOWN_FIELDS or any(r.get(n) is not None for r in ordered)]
    columns: dict[str, pa.Array] = {
        "time": pa.array([r["time"] for r in ordered], type=TIME_TYPE),
        "entity_id": pa.array([r["entity_id"] for r in ordered], type=pa.string()),
        "kind": pa.array([r["kind"] for r in ordered], type=pa.string()),
    }
    for name in used:
        kind = types[name]
        columns[name] = pa.array([_convert(r.get(name), kind) for r in ordered], type=kind)
    return pa.table(columns)


def table_rows(table: pa.Table | pa.RecordBatch) -> list[Row]:
    """Rows of a table, None values left out (as InfluxDB has no such field)."""
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def row_index(rows: Iterable[Row]) -> dict[tuple[str, datetime], Row]:
    """Rows by (entity_id, time), None values left out: equal dicts mean equal rows."""
    return {sort_key(r): {k: v for k, v in r.items() if v is not None} for r in rows}


def to_parquet(table: pa.Table, compression: str) -> bytes:
    if compression not in COMPRESSION_LEVELS:
        raise ValueError(f"ARCHIVE_COMPRESSION={compression!r}: use gzip or zstd")
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression=compression,
        compression_level=COMPRESSION_LEVELS[compression],
        use_dictionary=True,
    )
    return sink.getvalue()


def from_parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data))


# The columns every archive file has, with the types `rows_to_table` gives them.
REQUIRED_COLUMNS: dict[str, pa.DataType] = {
    "time": TIME_TYPE,
    "entity_id": pa.string(),
    "kind": pa.string(),
}


def table_problems(table: pa.Table) -> list[str]:
    """Why a table read from a store is not an archive file as `rows_to_table` writes it (a
    file of another tool or shape, which restore could neither sort nor write to InfluxDB);
    empty when it is one."""
    problems = []
    names = table.schema.names
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column {name!r} appears {names.count(name)} times")
    for name, kind in REQUIRED_COLUMNS.items():
        if name not in names:
            problems.append(f"no column {name!r}")
        elif names.count(name) == 1 and not table.schema.field(name).type.equals(kind):
            problems.append(f"column {name!r} is {table.schema.field(name).type}, not {kind}")
        elif names.count(name) == 1 and table[name].null_count:
            problems.append(f"column {name!r} has {counted(table[name].null_count, 'empty value')}")
    allowed = set(INFLUX_TYPES.values())
    fields = [c for c in table.schema if c.name not in REQUIRED_COLUMNS]
    for column in fields:
        expected = KNOWN_FIELDS.get(column.name)
        if not column.name:
            problems.append("a column has no name")
        elif names.count(column.name) > 1:
            continue
        elif expected is not None and not column.type.equals(expected):
            problems.append(f"column {column.name!r} is {column.type}, not {expected}")
        elif expected is None and column.type not in allowed:
            problems.append(f"column {column.name!r} is {column.type}, which InfluxDB cannot hold")
        elif pa.types.is_floating(column.type):
            if bad := pc.sum(pc.invert(pc.is_finite(table[column.name]))).as_py():
                problems.append(
                    f"column {column.name!r} has {counted(bad, 'value')} NaN or infinite"
                )
    if problems:
        return problems
    for name in TAG_COLUMNS:
        if empty := pc.sum(pc.equal(table[name], "")).as_py():
            problems.append(f"column {name!r} has {counted(empty, 'empty value')}")
    # InfluxDB has no point without a field: such a row could never be restored.
    no_field = functools.reduce(
        pc.and_, (pc.is_null(table[c.name]) for c in fields), pa.scalar(True)
    )
    bare = table.num_rows if not fields else pc.sum(pc.cast(no_field, pa.int64())).as_py()
    if bare:
        problems.append(f"{counted(bare, 'row')} {'holds' if bare == 1 else 'hold'} no field value")
    distinct = table.group_by(["entity_id", "time"]).aggregate([]).num_rows
    if distinct != table.num_rows:
        again = table.num_rows - distinct
        problems.append(
            f"{counted(again, 'row')} {'repeats' if again == 1 else 'repeat'} an entity and day"
        )
    return problems


def concat(tables: list[pa.Table]) -> pa.Table:
    """Tables of several files (their extra columns may differ) as one, sorted."""
    if not tables:
        return rows_to_table([], KNOWN_FIELDS)
    table = pa.concat_tables(tables, promote_options="default")
    return table.sort_by([("entity_id", "ascending"), ("time", "ascending")])
