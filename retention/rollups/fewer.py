"""A rebuild keeps the rows it would build from fewer source points than they were.

Every view row records the source points it was built from (`source_points`: an entity's or
an area's sensors' raw points of the day or hour, counted through the tier rows that replaced
them where retention deleted them; a region's carbon points of the day). A rebuild that reads
fewer points for a row than the stored row was built from has not seen all the data the row
counted: InfluxDB may not return points it still holds (1.6 hides series after a DELETE),
and writing the row would lose its energy or motions. Such a row is kept and named in the run;
`allow_fewer_points` (the command's `--allow-fewer-points`, the API's `allow_fewer_points`)
writes it all the same, for points deleted on purpose. A stored row without a count (built
before the rows recorded one) is written over as before: nothing tells it was more.
"""

from __future__ import annotations

from django.db import models

from retention.rollups.rows import Outcome

OPTION = "--allow-fewer-points (POST: allow_fewer_points=true)"


def keep_fuller(model: type[models.Model], keys: list[str], outcome: Outcome) -> Outcome:
    """The outcome without the rows built from fewer source points than the stored rows of
    their keys (`keys`: the view's unique key); each one kept is named in `outcome.skipped`."""
    if not outcome.rows:
        return outcome
    moment = "hour" if "hour" in keys else "date"  # the view's bucket
    named = [key for key in keys if key != moment] + [moment]
    times = [getattr(row, moment) for row in outcome.rows]
    stored = {
        tuple(found[:-1]): found[-1]
        for found in model.objects.filter(
            **{f"{moment}__gte": min(times), f"{moment}__lte": max(times)},
            source_points__isnull=False,
        ).values_list(*named, "source_points")
    }
    written = []
    for row in outcome.rows:
        key = tuple(getattr(row, name) for name in named)
        before = stored.get(key)
        if before is None or row.source_points is None or row.source_points >= before:
            written.append(row)
            continue
        label = " ".join(k.isoformat() if hasattr(k, "isoformat") else str(k) for k in key)
        outcome.skipped.append(
            f"{label}: read from {row.source_points:,} source points, fewer than the "
            f"{before:,} the stored row was built from (InfluxDB did not return the others); "
            f"the row is kept (rebuild with {OPTION} if the points were deleted on purpose)"
        )
        outcome.kept.add(key)
    outcome.rows = written
    return outcome
