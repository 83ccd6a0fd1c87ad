"""Aggregate rows of the tiers in InfluxDB: write, read back, compare.

A row is one point of measurement `entity_aggregates` in retention policy `enrich_hourly` or
`enrich_daily` of TIER_DATABASE: tags `entity_id` (full id) and `kind`, time = the window
start (UTC hour or day), fields = `Aggregate.to_fields()` plus, on rows of ours only:

- `carry_value`, `carry_state`, `carry_attr_<name>`, `carry_gap` (hourly rows): the raw
  sample in force at the window end, exactly as `ha_source` gave it (units converted; an
  energy meter's `carry_last_reset`, and `carry_state_class` when it is `total`). Once
  the raw data of a day is deleted, the next day's first hour is carried in from here, so
  the chain of hours stays exact (time-weighted means, energy reference, state changes);
- `late_times` (rows that took in late points, see `retention.tiers.late`): the microsecond
  times of the raw points folded in, so folding them in again after a crash is a no-op;
- `unit`, `temperature_unit`, ... (a temperature sensor's, a weather entity's rows; a power or
  energy entity's: the registry unit its readings were converted from): the units the row was
  computed in, so its readings are read in the units of now after a switch or a correction
  (`retention.tiers.row_units`).

Rows are written without the fields a reader can derive and read back with them
(`retention.tiers.layout`: `compact`, `expand`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from enrich.influx import InfluxQueryError, get_timeseries, quote_ident
from enrich.readings import EPOCH, Reading
from retention.entities.samples import Sample
from retention.schema import TIER_MEASUREMENT
from retention.tiers.aggregate import Aggregate, FieldValue
from retention.tiers.layout import DAILY_RP, HOURLY_RP, compact, expand  # noqa: F401 (DAILY_RP: re-exported)
from retention.tiers.row_units import UNIT_FIELDS
from retention.tiers.timeline import TOTAL, is_gap
from retention.timeutil import DAY

MEASUREMENT = TIER_MEASUREMENT
CARRY_VALUE = "carry_value"
CARRY_STATE = "carry_state"
CARRY_GAP = "carry_gap"
CARRY_ATTR = "carry_attr_"
CARRY_STATE_CLASS = "carry_state_class"
CARRY_LAST_RESET = "carry_last_reset"
LATE_TIMES = "late_times"
TAGS = ("entity_id", "kind")
REL_TOLERANCE = 1e-9
HOUR = timedelta(hours=1)


def is_own_field(name: str) -> bool:
    """Fields of ours that are not part of the aggregate (carry-in, late bookkeeping, the
    units the row was computed in: `retention.tiers.row_units`)."""
    return name.startswith("carry_") or name == LATE_TIMES or name in UNIT_FIELDS


@dataclass
class TierRow:
    entity_id: str
    kind: str
    start: datetime
    fields: dict[str, FieldValue] = field(default_factory=dict)

    def aggregate(self, width: timedelta) -> Aggregate:
        own = {k: v for k, v in self.fields.items() if not is_own_field(k)}
        return Aggregate.from_fields(self.kind, self.start, self.start + width, own)

    def reading(self, rp: str = HOURLY_RP) -> Reading:
        """The row as written to `rp`: without the fields a reader derives (tier_layout)."""
        return Reading(
            MEASUREMENT,
            compact(rp, self.fields, self.kind),  # type: ignore[arg-type]
            self.start,
            {"entity_id": self.entity_id, "kind": self.kind},
        )

    @property
    def points(self) -> int:
        """Raw points this row accounts for (samples and gaps)."""
        return int(self.fields.get("sample_count", 0)) + int(self.fields.get("gap_count", 0))

    @property
    def energy(self) -> float:
        return float(self.fields.get("total_energy") or 0.0)

    def late_times(self) -> set[int]:
        raw = str(self.fields.get(LATE_TIMES) or "")
        return {int(part) for part in raw.split(",") if part}


# --- Carry-in fields -------------------------------------------------------------------------
def carry_fields(sample: Sample | None) -> dict[str, FieldValue]:
    """The fields describing the sample in force at a window end ({} when none ever was)."""
    if sample is None:
        return {}
    if is_gap(sample):
        return {CARRY_GAP: 1}
    fields: dict[str, FieldValue] = {}
    if sample.value is not None and math.isfinite(sample.value):
        fields[CARRY_VALUE] = float(sample.value)
    if sample.state is not None:
        fields[CARRY_STATE] = str(sample.state)
    for name, value in sorted(sample.attributes.items()):
        if math.isfinite(value):
            fields[CARRY_ATTR + name] = float(value)
    if fields and sample.state_class == TOTAL:  # the default (total_increasing) is not stored
        fields[CARRY_STATE_CLASS] = sample.state_class
    if fields and sample.last_reset is not None:
        fields[CARRY_LAST_RESET] = sample.last_reset
    return fields or {CARRY_GAP: 1}


def carry_sample(fields: Mapping[str, object], at: datetime) -> Sample | None:
    """The sample `carry_fields` described, placed at `at`; None when there was none."""
    if fields.get(CARRY_GAP):
        return Sample(at)
    value = fields.get(CARRY_VALUE)
    state = fields.get(CARRY_STATE)
    attributes = {
        key[len(CARRY_ATTR) :]: float(v)
        for key, v in fields.items()
        if key.startswith(CARRY_ATTR) and v is not None
    }
    if value is None and state is None and not attributes:
        return None
    state_class, last_reset = fields.get(CARRY_STATE_CLASS), fields.get(CARRY_LAST_RESET)
    return Sample(
        at,
        None if value is None else float(value),
        None if state is None else str(state),
        attributes,
        state_class=None if state_class is None else str(state_class),
        last_reset=None if last_reset is None else str(last_reset),
    )


def micros(moment: datetime) -> int:
    """Microseconds since the epoch: the identity of a raw point in `late_times`."""
    return (moment - EPOCH) // timedelta(microseconds=1)


# --- InfluxDB ---------------------------------------------------------------------------------
def _source(rp: str) -> str:
    return f"{quote_ident(settings.TIER_DATABASE)}.{quote_ident(rp)}.{quote_ident(MEASUREMENT)}"


INT_FIELDS = frozenset({"sample_count", "gap_count", "state_changes", CARRY_GAP})
STR_FIELDS = frozenset(
    {"last_state", "last_reset", CARRY_STATE, CARRY_STATE_CLASS, CARRY_LAST_RESET, LATE_TIMES}
)


def _typed(name: str, value: object) -> FieldValue:
    # JSON gives 2.0 back as 2: restore the type the field was written with, so a row read
    # back and written again (late points) keeps its field types (InfluxDB refuses a change).
    if name in STR_FIELDS or isinstance(value, str):
        return str(value)
    if name in INT_FIELDS:
        return int(value)  # type: ignore[call-overload]
    return float(value)  # type: ignore[arg-type]


def _row(rp: str, entity_id: str, time: datetime, values: Mapping[str, object]) -> TierRow:
    kind = str(values.get("kind") or "")
    present = {k: v for k, v in values.items() if v is not None and k not in TAGS}
    fields = {k: _typed(k, v) for k, v in expand(rp, present, kind).items()}
    return TierRow(entity_id, kind, time, fields)


def read_rows(
    rp: str, start: datetime, end: datetime, entity_id: str | Sequence[str] | None = None
) -> dict[str, list[TierRow]]:
    """Rows with start <= time < end per entity id (of `entity_id`: one or several), in time
    order."""
    where = "time >= $start AND time < $end"
    params: dict[str, object] = {"start": start, "end": end}
    if isinstance(entity_id, str):
        where += ' AND "entity_id" = $entity_id'
        params["entity_id"] = entity_id
    elif entity_id is not None:
        if not entity_id:
            return {}
        where += " AND (" + " OR ".join(f'"entity_id" = $e{n}' for n in range(len(entity_id)))
        where += ")"
        params.update({f"e{n}": one for n, one in enumerate(entity_id)})
    query = f'SELECT * FROM {_source(rp)} WHERE {where} GROUP BY "entity_id"'
    found: dict[str, list[TierRow]] = {}
    with get_timeseries().query(settings.TIER_DATABASE, query, params=params) as rows:
        for row in rows:
            entity = row.tags.get("entity_id", "")
            found.setdefault(entity, []).append(_row(rp, entity, row.time, row.values))
    return found


def last_row_before(rp: str, entity_id: str, before: datetime) -> TierRow | None:
    """The entity's newest row before `before`; None also before the tiers exist (a dry run
    before the first run computes the hours as that run will)."""
    query = (
        f'SELECT * FROM {_source(rp)} WHERE "entity_id" = $entity_id AND time < $before '
        "ORDER BY time DESC LIMIT 1"
    )
    params = {"entity_id": entity_id, "before": before}
    try:
        with get_timeseries().query(settings.TIER_DATABASE, query, params=params) as rows:
            row = next(rows, None)
    except InfluxQueryError as exc:
        if "not found" not in exc.server_message:  # database or retention policy not created
            raise
        return None
    return None if row is None else _row(rp, entity_id, row.time, row.values)


def last_rows_before(entity_ids: Sequence[str], before: datetime, group: int,
                     rp: str = HOURLY_RP) -> dict[str, TierRow]:  # fmt: skip
    """Each entity's newest row in `rp` (hourly) before `before`, one query per `group`
    entities (`last_row_before` of each)."""
    found: dict[str, TierRow] = {}
    for n in range(0, len(entity_ids), group):
        part = entity_ids[n : n + group]
        terms = " OR ".join(f'"entity_id" = $e{i}' for i in range(len(part)))
        params: dict[str, Any] = {f"e{i}": entity_id for i, entity_id in enumerate(part)}
        query = (
            f"SELECT * FROM {_source(rp)} WHERE time < $before AND ({terms}) "
            'GROUP BY "entity_id" ORDER BY time DESC LIMIT 1'
        )
        params["before"] = before
        with get_timeseries().query(settings.TIER_DATABASE, query, params) as rows:
            for row in rows:
                entity_id = row.tags.get("entity_id", "")
                found[entity_id] = _row(rp, entity_id, row.time, row.values)
    return found


def recent(hour: TierRow | None, before: datetime) -> bool:
    """Whether the newest hourly row before `before` is of the day before it: no daily row
    can then be newer, and `density.previous_row` needs none."""
    return hour is not None and hour.start >= before - DAY


def newest(hour: TierRow | None, day: TierRow | None, before: datetime
           ) -> tuple[TierRow | None, datetime | None]:  # fmt: skip
    """`density.previous_row` from the entity's newest hourly and daily rows before `before` (the
    daily one is not looked at when the hourly one is `recent`)."""
    if recent(hour, before):
        return hour, hour.start + HOUR  # type: ignore[union-attr]
    if day is not None and (hour is None or day.start + DAY > hour.start + HOUR):
        return day, day.start + DAY
    return hour, None if hour is None else hour.start + HOUR


def write_rows(rp: str, rows: Iterable[TierRow]) -> int:
    return get_timeseries().write(settings.TIER_DATABASE, (r.reading(rp) for r in rows), rp)


def differences(expected: Mapping[str, object], got: Mapping[str, object]) -> list[str]:
    """What differs between written and read-back fields (floats to 1e-9 relative)."""
    problems = []
    for name, want in expected.items():
        have = got.get(name)
        if have is None:
            problems.append(f"{name} missing (expected {want!r})")
        elif isinstance(want, str) or isinstance(have, str):
            if str(want) != str(have):
                problems.append(f"{name}={have!r}, expected {want!r}")
        elif not math.isclose(float(have), float(want), rel_tol=REL_TOLERANCE, abs_tol=1e-12):
            problems.append(f"{name}={have!r}, expected {want!r}")
    return problems
