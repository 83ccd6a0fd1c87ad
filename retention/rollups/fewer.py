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
kept and named as well when a day from that point's day up to the day before the row was
built from more points than the rebuild reads there (a day after that point's day and outside
the range reads none: the point is the last before the row). The day before the first day
computed is read too, for its count alone (`day_before`), when its stored row was built from
points: the point in force at the first day's start lies in it for an entity reporting every
day, and the refresh's range starts within a day or two of now. A point's day earlier still
and outside the range is not read: the rows between were built from none, the entity silent.

A rebuild with `allow_fewer_points` (the command's `--allow-fewer-points`, the API's
`allow_fewer_points`) writes them all the same, for points deleted on purpose; the refresh
has no such switch: it keeps them at every run that reaches their day. A stored row without
a count (built before the rows recorded one) is written over as before: nothing tells it was
more.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from django.db import models

from retention.models import DailyEnergyByDevice, Entity
from retention.rollups.rows import Outcome
from retention.timeutil import local_date

OPTION = "--allow-fewer-points (POST: allow_fewer_points=true)"
KEPT = f"the row is kept (rebuild with {OPTION} if the points were deleted on purpose)"


def keep_fuller(
    model: type[models.Model], keys: list[str], outcome: Outcome, edited: Collection[str] = ()
) -> Outcome:
    """The outcome without the rows built from fewer source points than the stored rows of
    their keys (`keys`: the view's unique key), nor those read on across days InfluxDB
    returned fewer points of (`outcome.in_force`); each one kept is named in
    `outcome.skipped`. The rows of the entities or areas `edited` (registry edits noted for
    the view, which its follow-up computes again) are all written."""
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
    written = []
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
        elif (since := outcome.in_force.get(key)) and (lost := _missing(key, since, stored, read)):
            first, last, missing = lost
            rows = "row was" if first == last else "rows were"
            span = str(first) if first == last else f"{first} to {last}"
            outcome.skipped.append(
                f"{label}: read on from the point of {since.isoformat()}, the last before it "
                f"InfluxDB returned, across {span}, whose stored {rows} built from "
                f"{missing:,} source points InfluxDB did not return (a meter's growth over "
                f"them would land in this row); {KEPT}"
            )
        else:
            written.append(row)
            continue
        outcome.kept.add(key)
    outcome.rows = written
    return outcome


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
