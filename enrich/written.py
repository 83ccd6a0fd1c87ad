"""Which times the collectors' writes reached back to, noted for the readers of recent data.

The collectors write a fetch's points at the data's own times; after an outage a fetch
backfills (prices: up to 7 days, carbon: up to 30 days) and writes points far older than
the run. A reader that recomputes only the recent past from time to time (the materialized
views' refresh, `retention.rollups.materialized`) would leave what it computed from the
time before the backfill as it was. So every write of a fetch is noted here, per
measurement, after it succeeded (`note_written`): the earliest point time written since a
reader last took the note (`WrittenSince`). The reader reads the note before it reads the
data (`written_since`) and, once what it computed is stored, forgets it (`forget`) unless a
write was noted meanwhile (its points may have come after the reader's reads).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, models, transaction
from django.db.models.functions import Least

from enrich.models import WrittenSince
from enrich.readings import Reading


@dataclass(frozen=True)
class Note:
    measurement: str
    earliest: datetime
    version: int


def note_written(readings: Iterable[Reading]) -> None:
    """Note the earliest time of the written `readings` per measurement."""
    earliest: dict[str, datetime] = {}
    for reading in readings:
        if reading.measurement not in earliest or reading.time < earliest[reading.measurement]:
            earliest[reading.measurement] = reading.time
    for measurement, moment in sorted(earliest.items()):
        if _lower(measurement, moment):
            continue
        try:
            with transaction.atomic():
                WrittenSince.objects.create(measurement=measurement, earliest=moment)
        except IntegrityError:  # another writer created it first
            _lower(measurement, moment)


def _lower(measurement: str, moment: datetime) -> bool:
    value = models.Value(moment, output_field=models.DateTimeField())
    return bool(
        WrittenSince.objects.filter(measurement=measurement).update(
            earliest=Least("earliest", value), version=models.F("version") + 1
        )
    )


def written_since(measurement: str) -> Note | None:
    """What was written to `measurement` since the note was last forgotten (None: nothing)."""
    found = WrittenSince.objects.filter(measurement=measurement).first()
    return None if found is None else Note(measurement, found.earliest, found.version)


def forget(note: Note) -> None:
    """Forget the note read, unless a write was noted since it was read."""
    WrittenSince.objects.filter(measurement=note.measurement, version=note.version).delete()
