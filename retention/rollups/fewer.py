"""A rebuild and the refresh keep the rows they would build from fewer source points than
they were.

Every view row records the source points it was built from (`source_points`: an entity's or
an area's sensors' raw points of the day or hour, counted through the tier rows that replaced
them where retention deleted them; a region's carbon points of the day). A rebuild or refresh
that reads fewer points for a row than the stored row was built from has not seen all the data
the row counted: InfluxDB may not return points it still holds (1.6 hides series after a
DELETE; Home Assistant's InfluxDB restored from a backup older than enrich's database), and
writing the row would lose its energy or motions. Such a row is kept and named in the run.
The refresh writes the rows of an entity or area whose registry edits are noted: an edit
changes what they read on purpose (a sensor moved to another room), and the follow-up the
refresh runs next computes them again.

A daily_energy_by_device day is read on from the raw point in force at its start (the last
one before it: a meter's first growth of the day is counted from that reading, a power
sensor's value held from it), so points missing before the day change its row too, however
many points of its own it is read from: with a day's points not returned, the next day's
first growth would span both days and count the missing day's energy again. Such a row is
not read on from that point when a day from that point's day up to the day before the row
was built from more points than the rebuild reads there (a day after that point's day and
outside the range reads none: the point is the last before the row). It is kept and named
while the run reads as many points of its own as the stored row was built from (the stored
row holds all they give, and the growth from the point in force then); read from more (today,
its points arriving after a hidden yesterday), it is read again from its own first point on,
nothing carried in (`_own`): the growth before that point left out, it is written partial and
named, so today's row follows its points and the next day reads on from its last. The day
before the first day computed is read too, for its count alone (`day_before`), when its
stored row was built from points: the point in force at the first day's start lies in it for
an entity reporting every day, and the refresh's range starts within a day or two of now. A
point's day earlier still and outside the range is not read: the rows between were built from
none, the entity silent.

A rebuild with `allow_fewer_points` (the command's `--allow-fewer-points`, the API's
`allow_fewer_points`) writes them all the same, for points deleted on purpose; the refresh
has no such switch: it keeps (or reads again) them at every run that reaches their day. A
stored row without a count (built before the rows recorded one) is written over as before:
nothing tells it was more.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from django.db import models

from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.archived import partly_archived
from retention.rollups.energy import energy_rows
from retention.rollups.prices import price_book
from retention.rollups.rows import Outcome
from retention.timeutil import local_date, local_day_start

OPTION = "--allow-fewer-points (POST: allow_fewer_points=true)"
KEPT = f"the row is kept (rebuild with {OPTION} if the points were deleted on purpose)"
OWN = (
    "the row is written from its own {:,} source points, without the growth before the first "
    f"of them (partial; rebuild with {OPTION} if the points were deleted on purpose)"
)


def keep_fuller(
    model: type[models.Model],
    keys: list[str],
    outcome: Outcome,
    edited: Collection[str] = (),
    *,
    now: datetime,
) -> Outcome:
    """The outcome without the rows built from fewer source points than the stored rows of
    their keys (`keys`: the view's unique key), nor those read on across days InfluxDB
    returned fewer points of (`outcome.in_force`), but for those of more points of their own
    than stored: read again from their own first point on (`_own`; `now`: the run's). Each
    one kept or read again is named in `outcome.skipped`. The rows of the entities or areas
    `edited` (registry edits noted for the view, which its follow-up computes again) are all
    written."""
    if not outcome.rows:
        return outcome
    moment = "hour" if "hour" in keys else "date"  # the view's bucket
    named = [key for key in keys if key != moment] + [moment]
    times = [getattr(row, moment) for row in outcome.rows]
    times += [local_date(since) for since in outcome.in_force.values()]
    stored = {
        tuple(found[:-1]): found[-1]
        for found in model.objects.filter(
            **{f"{moment}__gte": min(times), f"{moment}__lte": max(times)},
            source_points__isnull=False,
        ).values_list(*named, "source_points")
    }
    read = {tuple(getattr(row, name) for name in named): row.source_points for row in outcome.rows}
    read = {**outcome.counted, **read}
    written, across = [], {}
    for row in outcome.rows:
        key = tuple(getattr(row, name) for name in named)
        if key[0] in edited:  # the edit explains its points (a sensor moved to another room)
            written.append(row)
            continue
        before = stored.get(key)
        label = " ".join(k.isoformat() if hasattr(k, "isoformat") else str(k) for k in key)
        if before is not None and row.source_points is not None and row.source_points < before:
            outcome.skipped.append(
                f"{label}: read from {row.source_points:,} source points, fewer than the "
                f"{before:,} the stored row was built from (InfluxDB did not return the "
                f"others); {KEPT}"
            )
            outcome.kept.add(key)
        elif (since := outcome.in_force.get(key)) and (lost := _missing(key, since, stored, read)):
            first, last, missing = lost
            rows = "row was" if first == last else "rows were"
            span = str(first) if first == last else f"{first} to {last}"
            across[key] = (
                f"{label}: read on from the point of {since.isoformat()}, the last before it "
                f"InfluxDB returned, across {span}, whose stored {rows} built from "
                f"{missing:,} source points InfluxDB did not return (a meter's growth over "
                "them would land in this row); "
            )
        else:
            written.append(row)
    # The stored row holds all a read of as many points of its own gives, and the growth
    # before them; with more (today's new points), it is behind: read again from them alone.
    own = _own([key for key in across if (read[key] or 0) > stored.get(key, -1)], now)
    for key, said in across.items():
        if (row := own.get(key)) is not None:
            written.append(row)
            outcome.skipped.append(f"{said}{OWN.format(row.source_points)}")
        else:
            outcome.skipped.append(f"{said}{KEPT}")
            outcome.kept.add(key)
    outcome.rows = written
    return outcome


def _own(keys: list[tuple[str, date]], now: datetime) -> dict[tuple, DailyEnergyByDevice]:
    """The daily_energy_by_device rows of `keys` (entity id, day) read from the day's own
    first point on, nothing carried in from before the day: partial, the growth before that
    point left out."""
    entities = Entity.objects.in_bulk({entity_id for entity_id, _ in keys}, field_name="entity_id")
    found = {}
    for entity_id, day in keys:
        start, end = local_day_start(day), min(local_day_start(day + timedelta(days=1)), now)
        prices, partly = price_book(start, end), partly_archived(day, day)
        for row in energy_rows(entities[entity_id], day, day, now, prices, partly, own=True).rows:
            row.partial = True
            found[entity_id, day] = row
    return found


def day_before(plans: list[tuple[Entity, date]]) -> list[tuple[Entity, date]]:
    """The entities of `plans` (entity, the first day computed) whose day before that day has
    a stored row built from points, with that day: its points are counted (`Outcome.counted`)."""
    wanted = [(entity, first - timedelta(days=1)) for entity, first in plans]
    stored = set(
        DailyEnergyByDevice.objects.filter(
            date__in={day for _, day in wanted}, source_points__gt=0
        ).values_list("entity_id", "date")
    )
    return [(entity, day) for entity, day in wanted if (entity.entity_id, day) in stored]


def _missing(
    key: tuple, since: datetime, stored: dict[tuple, int], read: dict[tuple, int | None]
) -> tuple[date, date, int] | None:
    """(first day, last day, points) the stored rows of the days from `since`'s up to the day
    before the row's (`key` ends with it) were built from more than the rebuild reads there,
    None when none was."""
    lost: list[tuple[date, int]] = []
    day = local_date(since)
    while day < key[-1]:
        # A day the rebuild did not compute: none of the entity's points after `since`.
        now = read.get((*key[:-1], day), 0 if day > local_date(since) else None)
        if (
            now is not None
            and (before := stored.get((*key[:-1], day))) is not None
            and now < before
        ):
            lost.append((day, before - now))
        day += timedelta(days=1)
    if not lost:
        return None
    return lost[0][0], lost[-1][0], sum(points for _, points in lost)
